"""What `radlabel review` runs: the review page (app.py) as a Streamlit ``App`` whose every
request and websocket passes the access guard first (review/guard.py: Host, Origin, token)."""
from pathlib import Path

from starlette.middleware import Middleware
from streamlit.starlette import App

from radlabel.review.guard import AccessGuard

app = App(Path(__file__).with_name("app.py"), middleware=[Middleware(AccessGuard)])
