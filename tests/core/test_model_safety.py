"""Issue 12, item 8: loading a model folder or a class set never runs code from the folder, and
every pinned requirement is installed from a hash-locked file.

Each payload below, if it were ever unpickled, would write a marker file; the tests assert the
marker does not exist and that the user gets one clear InputError naming the file.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.training.registry import load_classifier
from radlabel.training.tfidf import MODEL_JSON, WEIGHTS, TfidfClassifier
from support.paths import ROOT


TEXTS = ["FINDINGS: The heart is enlarged. IMPRESSION: Cardiomegaly.",
         "FINDINGS: Heart size is normal. Lungs are clear.",
         "FINDINGS: Small left pleural effusion. IMPRESSION: Effusion.",
         "FINDINGS: No pleural effusion. The heart is enlarged.",
         "FINDINGS: Clear lungs. Normal heart size. No effusion.",
         "FINDINGS: Moderate cardiomegaly with bilateral pleural effusions."]
Y = np.array([[1, 0], [0, 0], [0, 1], [1, 0], [0, 0], [1, 1]], dtype=float)
CLASSES = ["Cardiomegaly", "Pleural Effusion"]


class _Payload:
    """Unpickling this calls exec(), which writes the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def _model_folder(tmp_path: Path, variant: str = "tfidf", classes=CLASSES) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "radlabel_model.json").write_text(json.dumps(
        {"variant": variant, "classes": classes, "four_state": False, "thresholds": [0.5] * len(classes)}))
    return d


def _trained(tmp_path: Path, four_state: bool = False) -> tuple[TfidfClassifier, Path]:
    Yk = Y.copy()
    if four_state:  # states 0..3 (present, absent, uncertain, not_mentioned)
        Yk = np.array([[0, 3], [1, 3], [3, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    clf = TfidfClassifier.fit(TEXTS, Yk, CLASSES, four_state=four_state, info={"note": "test"})
    out = tmp_path / ("m4" if four_state else "m")
    clf.save(out)
    return clf, out


# -- TF-IDF: a format that cannot run code ------------------------------------------------------
@pytest.mark.parametrize("four_state", [False, True])
def test_round_trip_gives_identical_predictions(tmp_path, four_state):
    clf, out = _trained(tmp_path, four_state)
    again = load_classifier(out)
    probe = TEXTS + ["FINDINGS: unseen words only here.", ""]
    np.testing.assert_array_equal(clf.predict_proba(probe), again.predict_proba(probe))
    assert clf.predict(probe) == again.predict(probe)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MODEL_JSON, WEIGHTS, "radlabel_model.json"])
    with np.load(out / WEIGHTS, allow_pickle=False) as npz:  # plain arrays only
        assert all(npz[k].dtype != object for k in npz.files)


def test_heads_match_scikit_learn(tmp_path):
    """The array heads compute what LogisticRegression.predict_proba computes."""
    from sklearn.linear_model import LogisticRegression

    clf, _ = _trained(tmp_path)
    X = clf.vectorizer.transform(TEXTS)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=0)
    lr.fit(X, Y[:, 0].astype(int))
    np.testing.assert_allclose(clf.heads[0].predict_proba(X), lr.predict_proba(X), rtol=0, atol=1e-12)


def test_legacy_joblib_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "marker"
    d = _model_folder(tmp_path)
    (d / "tfidf.joblib").write_bytes(pickle.dumps({"vectorizer": _Payload(marker), "heads": []}))
    with pytest.raises(InputError, match=r"tfidf\.joblib.*old pickle format.*retrain"):
        load_classifier(d)
    assert not marker.exists()


def test_pickle_inside_the_npz_is_not_executed(tmp_path):
    marker = tmp_path / "marker"
    _, out = _trained(tmp_path)
    with np.load(out / WEIGHTS, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["idf"] = np.array([_Payload(marker)], dtype=object)  # an object array = a pickle
    with open(out / WEIGHTS, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(InputError, match=r"tfidf_weights\.npz.*not a plain-array"):
        load_classifier(out)
    assert not marker.exists()


def test_raw_pickle_renamed_to_npz_is_not_executed(tmp_path):
    marker = tmp_path / "marker"
    _, out = _trained(tmp_path)
    (out / WEIGHTS).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(InputError, match="not a plain-array"):
        load_classifier(out)
    assert not marker.exists()


def test_extra_pickle_file_in_a_tfidf_folder_is_refused(tmp_path):
    marker = tmp_path / "marker"
    _, out = _trained(tmp_path)
    (out / "extra.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(InputError, match=r"extra\.pkl.*pickle-format"):
        load_classifier(out)
    assert not marker.exists()


@pytest.mark.parametrize("edit, field", [
    (lambda d: d.update(format_version=99), "format_version"),
    (lambda d: d.update(format="sklearn-joblib"), "format"),
    (lambda d: d["vectorizer"].update(analyzer="os.system"), "vectorizer.analyzer"),
    (lambda d: d["vectorizer"].update(tokenizer="builtins.exec"), "vectorizer.tokenizer"),
    (lambda d: d.update(heads=["pickle", "linear"]), "heads[0]"),
    (lambda d: d.update(vocabulary=d["vocabulary"][:-1]), "idf"),
])
def test_unknown_or_tampered_format_is_refused(tmp_path, edit, field):
    _, out = _trained(tmp_path)
    doc = json.loads((out / MODEL_JSON).read_text())
    edit(doc)
    (out / MODEL_JSON).write_text(json.dumps(doc))
    with pytest.raises(InputError) as e:
        load_classifier(out)
    assert f"[{field}]" in str(e.value)


def test_cli_predict_refuses_a_pickle_model_without_running_it(tmp_path):
    """The path the audit used: `radlabel predict --model DIR` with a crafted tfidf.joblib."""
    marker = tmp_path / "marker"
    d = _model_folder(tmp_path)
    (d / "tfidf.joblib").write_bytes(pickle.dumps(_Payload(marker)))
    reports = tmp_path / "r.jsonl"
    reports.write_text(json.dumps({"id": "a", "text": TEXTS[0]}) + "\n")
    exe = Path(sys.executable).with_name("radlabel")
    r = subprocess.run([str(exe), "predict", str(reports), "--model", str(d), "-o",
                        str(tmp_path / "p.jsonl")], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "RADLABEL_THREADS": "1"})
    assert r.returncode == 2, r.stderr
    assert "old pickle format" in r.stderr and "Traceback" not in r.stderr
    assert not marker.exists() and not (tmp_path / "p.jsonl").exists()


# -- transformer folders: safetensors only ------------------------------------------------------
@pytest.mark.parametrize("variant, name", [("lora", "pytorch_model.bin"), ("full", "model.pt"),
                                           ("decoder-lora", "adapter_model.bin")])
def test_transformer_folder_with_pickle_weights_is_refused(tmp_path, variant, name):
    marker = tmp_path / "marker"
    d = _model_folder(tmp_path, variant)
    (d / "config.json").write_text("{}")
    (d / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(InputError, match=re.escape(name) + ".*pickle-format"):
        load_classifier(d)
    assert not marker.exists()


def test_transformer_folder_without_safetensors_is_refused(tmp_path):
    d = _model_folder(tmp_path, "lora")
    (d / "config.json").write_text("{}")
    with pytest.raises(InputError, match=r"no model\.safetensors"):
        load_classifier(d)


# -- class sets: a bundled name is a plain name ---------------------------------------------------
def test_bundled_name_cannot_escape_the_resources_folder(tmp_path, monkeypatch):
    """`--classes ../x` (no such file here) used to read x.yaml relative to the bundled folder."""
    from importlib import resources

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.yaml").write_text(
        "classes:\n  - name: Evil\n    definition: loaded from outside the bundled folder\n")
    bundled = Path(str(resources.files("radlabel.resources")))
    rel = os.path.relpath(outside / "evil", bundled)
    assert rel.startswith("..")
    monkeypatch.chdir(tmp_path / "outside")  # `rel` names no file from here
    assert not Path(rel).exists()
    with pytest.raises(InputError, match="not a bundled class set name.*chest_xray"):
        Ontology.load(rel)
    for name in ("../chest_xray", "..\\chest_xray", "sub/chest_xray", "./chest_xray"):
        with pytest.raises(InputError, match="not a bundled class set name"):
            Ontology.load(name)


def test_plain_bundled_names_and_real_files_still_load(tmp_path):
    assert Ontology.load("chest_xray").names == Ontology.load(None).names
    assert "mesh" in Ontology.load("mesh_iu").source
    f = tmp_path / "mine.yaml"
    f.write_text("classes:\n  - name: Mass\n    definition: a mass\n")
    assert Ontology.load(str(f)).names == ["Mass"]
    with pytest.raises(InputError, match="not a file"):
        Ontology.load(str(tmp_path))


# -- the hash lock ------------------------------------------------------------------------------
def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def test_every_requirement_is_locked_with_a_hash():
    lock = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock)
    hashed = {}
    for entry in entries:
        pin = _pins(entry)
        if pin:
            (name, version), = pin.items()
            hashed[name] = (version, re.findall(r"--hash=sha256:[0-9a-f]{64}", entry))
    wanted = _pins((ROOT / "requirements.txt").read_text())
    assert wanted, "no pins read from requirements.txt"
    for name, version in wanted.items():
        assert name in hashed, f"{name} is in requirements.txt but not in requirements.lock"
        assert hashed[name][0].split("+")[0] == version, (name, hashed[name][0], version)
        assert hashed[name][1], f"{name} has no --hash in requirements.lock"
    for name, (version, hashes) in hashed.items():  # transitive ones too
        assert hashes, f"{name}=={version} has no --hash"


def test_setup_installs_from_the_lock_with_require_hashes():
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert re.search(r"pip install[^\n]*--require-hashes[^\n]*-r requirements\.lock", setup)


def test_every_configurable_variant_is_registered_and_an_unknown_one_is_refused(tmp_path):
    from typing import get_args

    from radlabel.training.base import META_FILE
    from radlabel.training.config import Variant
    from radlabel.training.registry import VARIANTS

    assert set(VARIANTS) == set(get_args(Variant))  # `train --variant X` can always be loaded back
    for name, spec in VARIANTS.items():
        assert spec.classifier.variant in (name, "")  # the encoder class serves lora and full
    (tmp_path / META_FILE).write_text(json.dumps({"variant": ["tfidf"], "classes": CLASSES}))
    with pytest.raises(InputError, match="unknown variant") as e:
        load_classifier(tmp_path)
    assert e.value.field == "variant"
