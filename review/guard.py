"""Who may talk to the review app: the ASGI gate in front of Streamlit (no Streamlit import).

Reports are PHI and the app has no login, so `radlabel review` makes a secret token per launch
and prints it in the URL (as Jupyter does). Every HTTP request and websocket upgrade must

* carry a ``Host`` header whose name is one the app was started on (``127.0.0.1``,
  ``localhost``, ``[::1]`` or the ``--host`` given; any port, so ``ssh -L 9000:127.0.0.1:8501``
  works): a DNS-rebinding page sends its own name (``Host: evil.example:8501``) and is refused,
  so it can read nothing;
* carry no ``Origin`` but the page's own (``http://`` + that Host): a websocket or fetch from
  any other page, another local port included, is refused before the upgrade;
* carry the token, as ``?token=`` (first visit; answered with an HttpOnly SameSite=Strict
  cookie) or as that cookie (the page's assets and its websocket).

``/_stcore/health`` answers without the token (it says only "ok"), still Host-checked.
Configuration comes from the environment the CLI sets: RADLABEL_REVIEW_TOKEN and
RADLABEL_REVIEW_HOSTS (comma-separated host:port). Without a token everything is refused.
"""
from __future__ import annotations

import hmac
import os
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

TOKEN_ENV = "RADLABEL_REVIEW_TOKEN"
HOSTS_ENV = "RADLABEL_REVIEW_HOSTS"
OPEN_PATHS = ("/_stcore/health", "/healthz")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(host: str, port: int) -> list[str]:
    """The Host header values a browser sends for this app (the bind address and loopback)."""
    bind = f"[{host}]" if ":" in host and not host.startswith("[") else host
    names = list(LOOPBACK_NAMES) + ([bind] if bind not in LOOPBACK_NAMES else [])
    if host in ("0.0.0.0", "::", "[::]"):  # every interface: the machine's own names too
        import socket

        names += [n for n in {socket.gethostname(), socket.getfqdn()} if n and n not in names]
    return [f"{n}:{port}".lower() for n in names]


def host_name(host_header: str) -> str | None:
    """'name' of a Host header 'name[:port]' (lower-case; IPv6 in brackets), None if malformed."""
    h = host_header.strip().lower()
    if h.startswith("["):
        end = h.find("]")
        name, rest = h[:end + 1], h[end + 1:]
        if end < 0:
            return None
    else:
        name, _, port = h.partition(":")
        rest = ":" + port if _ else ""
    if rest and not (rest[0] == ":" and rest[1:].isdigit()):
        return None
    return name or None


def host_allowed(host_header: str | None, hosts: list[str]) -> bool:
    names = {host_name(h) for h in hosts}
    return bool(host_header) and host_name(host_header) in names - {None}


def cookie_name(hosts: list[str]) -> str:
    """Per port: browsers share cookies between the ports of one host."""
    port = hosts[0].rsplit(":", 1)[-1] if hosts else "0"
    return f"radlabel_review_{port}"


def token_matches(given: str | None, token: str | None) -> bool:
    return bool(token) and given is not None and hmac.compare_digest(given.encode(), token.encode())


class AccessGuard:
    """Pure ASGI middleware (works for Starlette's HTTP and websocket scopes)."""

    def __init__(self, app, token: str | None = None, hosts: list[str] | None = None):
        self.app = app
        self.token = token if token is not None else os.environ.get(TOKEN_ENV)
        env_hosts = [h.strip().lower() for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()]
        self.hosts = [h.lower() for h in hosts] if hosts is not None else env_hosts
        self.cookie = cookie_name(self.hosts)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers: dict[str, str] = {}
        for k, v in scope.get("headers") or []:
            key = k.decode("latin-1").lower()
            if key in headers and key in ("host", "origin"):  # two Host headers: refuse
                return await self._deny(scope, receive, send, 400, "duplicate header")
            headers[key] = v.decode("latin-1")
        if not self.token or not self.hosts:
            return await self._deny(scope, receive, send, 503, "not started by `radlabel review`")
        host = headers.get("host", "")
        if not host_allowed(host, self.hosts):
            return await self._deny(scope, receive, send, 421, "unknown Host")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in (f"http://{host.lower()}",
                                                          f"https://{host.lower()}"):
            return await self._deny(scope, receive, send, 403, "cross-origin request")
        if scope["type"] == "http" and scope.get("path") in OPEN_PATHS:
            return await self.app(scope, receive, send)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [None])[-1]
        jar = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:
            pass
        from_cookie = jar[self.cookie].value if self.cookie in jar else None
        if token_matches(from_cookie, self.token):
            return await self.app(scope, receive, send)
        if not token_matches(from_query, self.token):
            return await self._deny(scope, receive, send, 403,
                                    "open the URL that `radlabel review` printed (it holds the token)")
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        set_cookie = (f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict").encode()

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + [(b"set-cookie", set_cookie)])
            await send(message)

        return await self.app(scope, receive, send_with_cookie)

    @staticmethod
    async def _deny(scope, receive, send, status: int, why: str):
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        body = f"radlabel review: refused ({why})\n".encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
