"""The same indexes through a real Chroma server (`chroma run` on 127.0.0.1) and HttpClient."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology

pytest.importorskip("chromadb")

CHROMA = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def chroma_server(tmp_path):
    if CHROMA is None:
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    env = dict(os.environ, HOME=str(tmp_path), ANONYMIZED_TELEMETRY="False")
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen([CHROMA, "run", "--path", str(tmp_path / "srv"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail("chroma run did not start: " + (tmp_path / "chroma.log").read_text()[-2000:])
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_indexes_work_through_a_chroma_server(chroma_server):
    from radlabel.retrieval import get_embedder, open_store
    from radlabel.retrieval.candidates import CandidateRetriever
    from radlabel.retrieval.fewshot import SentenceDemos
    from radlabel.retrieval.reports_index import LabelledReport, index_reports

    emb = get_embedder()
    store = open_store(url=chroma_server)
    assert store.location == chroma_server
    onto = Ontology.load()
    r = CandidateRetriever(store, emb, onto, k=1, min_score=0.4)
    got = r.candidates(["Small bilateral pleural effusions.", "Left seventh rib fracture, healing."])
    assert (0, 1.0) in got["Pleural Effusion"] and 1 in [i for i, _ in got["Fracture"]]
    index_reports(store, emb, [LabelledReport("x1", "FINDINGS: Enlarged heart. IMPRESSION: Cardiomegaly.",
                                              {"Cardiomegaly": "present"}, "gold"),
                               LabelledReport("x2", "FINDINGS: Clear lungs. IMPRESSION: Normal chest.",
                                              {"No Finding": "present"}, "gold")], ontology=onto)
    (best,) = SentenceDemos(store, emb, k=1).retrieve("Cardiomegaly", "The cardiac silhouette is enlarged.")
    assert best.report_id == "x1" and best.source == "gold" and best.state == "present"
    # A second client sees the same server-side collections.
    again = open_store(url=chroma_server)
    assert set(again.list_collections()) >= {"radlabel-classes", "radlabel-reports"}


def test_unreachable_server_is_an_input_error():
    from radlabel.retrieval import open_store

    with pytest.raises(InputError, match="cannot reach the Chroma server"):
        open_store(url=f"http://127.0.0.1:{_free_port()}")
