"""The review app serves PHI only to the page `radlabel review` printed: per-launch token,
Host and Origin checks (review/guard.py) on every request and on the websocket, checked on a
real `radlabel review` with raw HTTP, raw websocket upgrades and headless Chromium (a
DNS-rebinding page is simulated by mapping evil.example to 127.0.0.1 in the browser).
Also: a taken port is one line and a non-zero exit, not a silent 0."""
import base64
import http.client
import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from support.review_data import write_labels
from test_review_browser import CHROMIUM_ARGS, WAIT_MS, _free_port, running_app  # noqa: F401

from radlabel.review.guard import AccessGuard, allowed_hosts, host_allowed


def _get(port, path, host=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest("GET", path, skip_host=True)
    c.putheader("Host", host or f"127.0.0.1:{port}")
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def _upgrade(port, host, origin=None, cookie=None, path="/_stcore/stream") -> str:
    """The status line the server answers a websocket upgrade with."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)).decode(),
             "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"]
    if origin:
        lines.append(f"Origin: {origin}")
    if cookie:
        lines.append(f"Cookie: {cookie}")
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    status = s.recv(4096).decode("latin-1").split("\r\n", 1)[0]
    s.close()
    return status


def _parts(url):
    u = urlsplit(url)
    return u.port, u.query.split("token=", 1)[1]


@pytest.mark.browser
def test_http_needs_the_host_and_the_token(running_app):
    _, url, _, _ = running_app
    port, token = _parts(url)
    here = f"127.0.0.1:{port}"
    assert _get(port, "/")[0] == 403                                   # no token
    assert _get(port, "/?token=not-the-token")[0] == 403
    assert _get(port, f"/?token={token}", host=f"evil.example:{port}")[0] == 421  # rebinding
    assert _get(port, f"/?token={token}", host=f"127.0.0.1.evil.example:{port}")[0] == 421
    assert _get(port, f"/?token={token}", host=f"127.0.0.1:{port}@evil.example")[0] == 421
    assert _get(port, f"/?token={token}", host="localhost:9000")[0] == 200  # ssh -L 9000:...
    # Origin must be the page's own: another site, or another local port, is refused
    assert _get(port, f"/?token={token}", headers={"Origin": f"http://localhost:{port}"})[0] == 403
    assert _get(port, f"/?token={token}", headers={"Origin": "http://127.0.0.1:3000"})[0] == 403
    assert _get(port, f"/?token={token}", headers={"Origin": f"http://{here}"})[0] == 200
    assert _get(port, f"/?token={token}", headers={"Origin": "http://evil.example"})[0] == 403
    status, headers, body = _get(port, f"/?token={token}")
    assert status == 200 and b"<html" in body.lower()
    cookie = headers["set-cookie"].split(";", 1)[0]
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    assert _get(port, "/", headers={"Cookie": cookie})[0] == 200
    assert _get(port, "/", host=f"evil.example:{port}", headers={"Cookie": cookie})[0] == 421
    assert _get(port, "/_stcore/health")[0] == 200                      # says only "ok"
    assert _get(port, "/_stcore/health", host=f"evil.example:{port}")[0] == 421
    # the websocket carries the data: refused from another Host, another Origin, without token
    assert " 101 " in _upgrade(port, here, f"http://{here}", cookie)
    assert " 101 " not in _upgrade(port, here, "http://evil.example", cookie)
    assert " 101 " not in _upgrade(port, f"evil.example:{port}", f"http://evil.example:{port}", cookie)
    assert " 101 " not in _upgrade(port, here, f"http://{here}", None)
    assert " 101 " not in _upgrade(port, here, f"http://{here}", f"radlabel_review_{port}=guess")


@pytest.mark.browser
def test_browser_gets_nothing_without_token_or_from_another_host(running_app):
    from playwright.sync_api import expect, sync_playwright

    chromium, url, _, _ = running_app
    port, token = _parts(url)
    args = CHROMIUM_ARGS + ["--no-proxy-server", "--host-resolver-rules=MAP evil.example 127.0.0.1"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page()
        # missing token
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.locator("body")).to_contain_text("refused", timeout=WAIT_MS)
        assert page.locator("h3").count() == 0 and "rv-" not in page.content()
        # a DNS-rebinding page: evil.example resolves to 127.0.0.1; even with the token
        page.goto(f"http://evil.example:{port}/?token={token}")
        expect(page.locator("body")).to_contain_text("unknown Host", timeout=WAIT_MS)
        assert "rv-" not in page.content()
        # the printed URL works, and the cookie it sets keeps working without the query
        page.goto(url)
        expect(page.locator("h3").first).to_contain_text("rv-4", timeout=WAIT_MS)
        page.goto(f"http://127.0.0.1:{port}/")
        expect(page.locator("h3").first).to_contain_text("rv-", timeout=WAIT_MS)
        browser.close()


def test_port_taken_is_one_line_and_a_non_zero_exit(tmp_path):
    labels = write_labels(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "radlabel.cli", "review", "--labels", str(labels),
                            "--review-db", str(tmp_path / "r.db"), "--port", str(port)],
                           capture_output=True, text=True, timeout=300)
    assert r.returncode == 3, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port}" in lines[0] and "in use" in lines[0], r.stderr
    assert not (tmp_path / "r.db").exists()


# -- the gate itself, as ASGI (no server) -------------------------------------------------
def _call(guard, *, kind="http", path="/", host="127.0.0.1:8501", query=b"", headers=()):
    sent, reached = [], []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive():
        return {"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}

    async def send(msg):
        sent.append(msg)

    g = AccessGuard(app, token=guard[0], hosts=guard[1])
    scope = {"type": kind, "path": path, "query_string": query,
             "headers": [(b"host", host.encode())] + [(k.encode(), v.encode()) for k, v in headers]}
    import asyncio

    asyncio.run(g(scope, receive, send))
    return reached, sent


def test_gate_fails_closed_and_refuses_duplicate_host():
    hosts = allowed_hosts("127.0.0.1", 8501)
    assert hosts == ["127.0.0.1:8501", "localhost:8501", "[::1]:8501"]
    assert host_allowed("LOCALHOST:9000", hosts) and host_allowed("[::1]", hosts)
    for bad in ("evil.example:8501", "127.0.0.1:x", "[::1", "127.0.0.1:8501:1", "", None,
                "localhost.evil.example"):
        assert not host_allowed(bad, hosts), bad
    reached, sent = _call((None, hosts), query=b"token=x")       # started without a token
    assert not reached and sent[0]["status"] == 503
    reached, sent = _call(("t", hosts), query=b"token=t", headers=[("host", "evil.example")])
    assert not reached and sent[0]["status"] == 400
    reached, sent = _call(("t", hosts), kind="websocket", query=b"token=t",
                          headers=[("origin", "http://evil.example")])
    assert not reached and sent == [{"type": "websocket.close", "code": 1008}]
    reached, sent = _call(("t", hosts), query=b"token=t")
    assert reached == ["/"] and any(k == b"set-cookie" for k, _ in sent[0]["headers"])
