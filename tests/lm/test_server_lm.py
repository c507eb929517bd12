"""The OpenAI-compatible path, against a real llama.cpp server on 127.0.0.1 (the 0.5B model).

The same code path serves vLLM, Ollama and hosted APIs: `--lm openai/<model> --api-base URL`.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from radlabel.labels import read_labels

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from radlabel.lm.embedded import model_path

    gguf = model_path("qwen2.5-coder-0.5b")
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
                             "--model_alias", "local", "--host", "127.0.0.1", "--port", str(port),
                             "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1"],
                            stdout=log, stderr=subprocess.STDOUT)  # a file: a full pipe would block it
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama.cpp server died: " + log_path.read_text()[-2000:])
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not come up")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_label_through_openai_compatible_server_in_parallel(server, tmp_path, reports):
    src = tmp_path / "reports.jsonl"
    src.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in reports.items()))
    out = tmp_path / "labels.jsonl"
    r = subprocess.run([sys.executable, "-m", "radlabel.cli", "label", str(src), "-o", str(out),
                        "--lm", "openai/local", "--api-base", server, "--judge", "all", "--parallel", "2"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    recs = read_labels(out, keep_failed=True)
    assert set(recs) == set(reports)
    for rec in recs.values():
        # a weak 0.5B model may fail a report, but then it must say why, never guess
        assert rec.ok or rec.meta.error
        assert rec.meta.model == "openai/local"
    ok = [r for r in recs.values() if r.ok]
    assert ok and all(r.meta.lm_calls >= 1 and r.meta.tokens > 0 for r in ok)
