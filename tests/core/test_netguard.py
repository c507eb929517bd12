"""The PHI guard, one test per bypass an audit found: backslash before '@', user-info, a proxy
in the environment (checked end to end: a real DSPy/LiteLLM request to a local OpenAI-compatible
server while HTTP_PROXY points at a listener that counts connects), --chroma-url, and
allow_remote coming from a --config file."""
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from radlabel.errors import InputError
from radlabel.lm.config import LMConfig, load_config
from radlabel.netguard import exempt_from_proxies, guard_url, parse_url


# -- strict parsing ----------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://10.0.0.1\\@127.0.0.1:8000/v1",      # urllib: 127.0.0.1, WHATWG/httpx: 10.0.0.1
    "http://10.0.0.1\\@127.0.0.1",
    "http://127.0.0.1\\.evil.example/v1",
    "http://user:pw@127.0.0.1:8000/v1",          # user-info
    "http://evil.example@127.0.0.1/v1",
    "http://127.0.0.1@evil.example/v1",
    "http://127.0.0.1%2f@evil.example/",         # percent-escape in the authority
    "http://127.0.0.1:8000/v1?x=@evil.example",  # query
    "http://127.0.0.1:8000/v1#@evil.example",
    "http://127.0.0.1 .evil.example/",
    "http://127.0.0.1\t/v1",
    "file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/", "127.0.0.1:8000",
    "http://[::1/v1", "http://[zz::1]/", "http://127.0.0.1:99999/", "http:///v1", "",
])
def test_urls_clients_could_read_differently_are_refused(url):
    with pytest.raises(InputError, match="refusing URL"):
        guard_url(url, field="api-base", allow_remote=True)  # refused even when remote is allowed


@pytest.mark.parametrize("url,host,loopback", [
    ("http://127.0.0.1:8000/v1", "127.0.0.1", True), ("http://localhost:11434/v1", "localhost", True),
    ("http://[::1]:8000/v1", "::1", True), ("https://127.0.0.2/v1", "127.0.0.2", True),
    ("HTTP://LOCALHOST:1/", "LOCALHOST", True),
    ("http://10.0.0.1:8000/v1", "10.0.0.1", False), ("https://api.example.com/v1", "api.example.com", False),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", False), ("http://0.0.0.0:8000/", "0.0.0.0", False),
    ("http://127.1/", "127.1", False), ("http://localhost.evil.example/", "localhost.evil.example", False),
])
def test_host_and_loopback(url, host, loopback):
    g = parse_url(url, field="api-base")
    assert (g.host, g.loopback) == (host, loopback)
    if loopback:
        assert guard_url(url, field="api-base").url == g.url
    else:
        with pytest.raises(InputError, match="PHI"):
            guard_url(url, field="api-base")
        assert guard_url(url, field="api-base", allow_remote=True).host == host


def test_the_backslash_url_is_refused_by_the_lm_config():
    cfg = LMConfig(model="openai/x", api_base="http://10.0.0.1\\@127.0.0.1:8000/v1")
    with pytest.raises(InputError, match="backslash"):
        cfg.check_privacy()
    with pytest.raises(InputError, match="user-info"):
        LMConfig(model="openai/x", api_base="http://a@127.0.0.1:8000/v1").check_privacy()


def test_an_ipv6_loopback_leaves_no_proxy_readable_by_httpx(monkeypatch):
    import httpx

    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    guard_url("http://[::1]:9/v1", field="api-base")
    assert "::1" in os.environ["NO_PROXY"].split(",")
    httpx.Client().close()          # a bracketed entry made this raise "Invalid port: ':1]'"


def test_loopback_hosts_are_put_on_no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "corp.example")
    monkeypatch.delenv("no_proxy", raising=False)
    guard_url("http://127.0.0.5:9/v1", field="api-base")
    for var in ("NO_PROXY", "no_proxy"):
        hosts = os.environ[var].split(",")
        assert "127.0.0.5" in hosts and "localhost" in hosts and "127.0.0.1" in hosts
    assert os.environ["NO_PROXY"].startswith("corp.example,")
    monkeypatch.setenv("NO_PROXY", "*")
    exempt_from_proxies("127.0.0.9")
    assert os.environ["NO_PROXY"] == "*"


# -- proxy in the environment: a real request, counted ----------------------------------
class _Counter:
    """A TCP listener that counts connections (a stand-in proxy: it answers 502 and closes)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connects = 0
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connects += 1
            try:
                c.recv(65536)
                c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            c.close()


class _OpenAIish(BaseHTTPRequestHandler):
    hits: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).hits.append(body)
        out = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": "served locally"}}],
                          "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


@pytest.fixture
def proxy_and_server():
    proxy = _Counter()
    _OpenAIish.hits = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIish)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield proxy, srv.server_address[1]
    srv.shutdown()
    proxy.sock.close()


def _env_with_proxy(proxy_port):
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env[var] = f"http://127.0.0.1:{proxy_port}"
    env["HF_HUB_OFFLINE"] = "1"
    return env


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_proxy_in_the_environment_never_sees_a_loopback_lm_request(proxy_and_server, host):
    proxy, port = proxy_and_server
    code = textwrap.dedent(f"""
        import radlabel
        from radlabel.lm.config import load_config
        from radlabel.lm.factory import make_lm
        lm = make_lm(load_config(model="openai/local-test", api_base="http://{host}:{port}/v1"))
        print(lm("the heart is normal in size")[0])
    """)
    out = subprocess.run([sys.executable, "-c", code], env=_env_with_proxy(proxy.port),
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "served locally" in out.stdout
    assert _OpenAIish.hits and "heart is normal" in json.dumps(_OpenAIish.hits[0])
    assert proxy.connects == 0


def test_the_counting_proxy_does_count_when_nothing_exempts_loopback(proxy_and_server):
    """The check above can fail: without NO_PROXY, the same client goes through the proxy."""
    proxy, port = proxy_and_server
    code = textwrap.dedent(f"""
        import httpx
        try:
            httpx.post("http://127.0.0.1:{port}/v1/chat/completions", json={{}}, timeout=10)
        except Exception:
            pass
    """)
    subprocess.run([sys.executable, "-c", code], env=_env_with_proxy(proxy.port),
                   capture_output=True, text=True, timeout=120)
    assert proxy.connects >= 1


# -- --chroma-url and allow_remote from a file --------------------------------------------
@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "10.0.0.1:8000", "chroma.example.com",
                                 "http://10.0.0.1\\@127.0.0.1:8000", "http://u@127.0.0.1:8000"])
def test_chroma_url_goes_through_the_guard(url):
    pytest.importorskip("chromadb")
    from radlabel.retrieval.store import open_store

    with pytest.raises(InputError, match="chroma-url"):
        open_store(url=url)


def test_remote_chroma_is_one_line_exit_2_and_the_cli_offers_allow_remote():
    pytest.importorskip("chromadb")
    r = subprocess.run([sys.executable, "-m", "radlabel.cli", "search", "effusion",
                        "--chroma-url", "http://10.0.0.1:8000"], capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "chroma-url" in lines[0] and "PHI" in lines[0], r.stderr
    h = subprocess.run([sys.executable, "-m", "radlabel.cli", "search", "--help"],
                       capture_output=True, text=True, timeout=240)
    assert "--allow-remote" in h.stdout


def test_allow_remote_from_a_config_file_is_announced(tmp_path, capsys):
    f = tmp_path / "team.yaml"
    f.write_text("lm:\n  model: openai/llama\n  api_base: https://llm.example.org/v1\n  allow_remote: true\n")
    cfg = load_config(f)
    assert cfg.check_privacy() == "https://llm.example.org/v1"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(f) in err[0] and "llm.example.org" in err[0] and "PHI" in err[0]
    # a loopback target is not announced; a flag typed by the user is not either
    f.write_text("lm:\n  model: openai/llama\n  api_base: http://127.0.0.1:8000/v1\n  allow_remote: true\n")
    load_config(f).check_privacy()
    f.write_text("lm:\n  model: openai/llama\n  api_base: https://llm.example.org/v1\n")
    load_config(f, allow_remote=True).check_privacy()
    assert capsys.readouterr().err == ""
    # without allow_remote the file's remote host is refused
    with pytest.raises(InputError, match="PHI"):
        load_config(f).check_privacy()


def test_a_proxy_in_the_environment_never_sees_a_loopback_chroma_server(tmp_path):
    import importlib.util
    from pathlib import Path

    pytest.importorskip("chromadb")
    # the chroma server helpers live with the server tests (not importable by name when only
    # tests/core is collected)
    path = Path(__file__).parents[1] / "retrieval" / "test_retrieval_server.py"
    spec = importlib.util.spec_from_file_location("_retrieval_server_helpers", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    CHROMA, _free_port = helpers.CHROMA, helpers._free_port

    if CHROMA is None:
        pytest.skip("the chroma CLI is not installed")
    proxy = _Counter()
    port = _free_port()
    log = open(tmp_path / "chroma.log", "wb")
    srv = subprocess.Popen([CHROMA, "run", "--path", str(tmp_path / "srv"), "--host", "127.0.0.1",
                            "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                           env=dict(os.environ, HOME=str(tmp_path), ANONYMIZED_TELEMETRY="False"))
    try:
        code = textwrap.dedent(f"""
            import time
            from radlabel.retrieval.store import open_store
            for _ in range(120):
                try:
                    s = open_store(url="http://127.0.0.1:{port}")
                    break
                except Exception:
                    time.sleep(0.5)
            s.client.get_or_create_collection("proxy-check", embedding_function=None)
            print(sorted(s.list_collections()))
        """)
        out = subprocess.run([sys.executable, "-c", code], env=_env_with_proxy(proxy.port),
                             capture_output=True, text=True, timeout=240)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "proxy-check" in out.stdout
        assert proxy.connects == 0
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        log.close()
        proxy.sock.close()
