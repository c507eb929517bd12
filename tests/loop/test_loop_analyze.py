"""radlabel analyze: planted label errors must surface at the top of issues.jsonl.

Tests that cross-validate a classifier are marked slow (tens of seconds on a busy 2-core box)."""
import json

import numpy as np
import pytest

from support.loop_corpus import flip, synthetic, write
from radlabel.cli import main
from radlabel.eval.analyze import run_analysis, write_analysis
from radlabel.eval.issues import rank_label_issues
from radlabel.labels import read_labels
from radlabel.ontology import Ontology

N, FLIPS = 400, 20


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted")
    rows = synthetic(N, seed=3)
    flipped, truth = flip(rows, FLIPS, seed=11)
    labels = write(d / "labels.jsonl", [{**r, "meta": {"source": "pseudo"}} for r in flipped])
    ontology = Ontology.load(None)
    records = read_labels(labels, ontology)
    texts = {r["id"]: r["text"] for r in rows}
    a = run_analysis(records, texts, ontology, gold={r["id"]: r["labels"] for r in rows})
    write_analysis(a, d / "out", texts=texts)
    return d, a, truth


@pytest.mark.slow
def test_planted_flips_rank_at_the_top(planted):
    d, a, truth = planted
    issues = [json.loads(line) for line in open(d / "out" / "issues.jsonl")]
    top = {(r["id"], r["class"]) for r in issues[:FLIPS]}
    hit_rate = len(top & truth) / FLIPS
    # A random ranking of the 400 x 14 pairs would put about 0.07 flips in the top 20.
    assert hit_rate >= 0.4, f"only {len(top & truth)}/{FLIPS} planted flips in the top {FLIPS}"


@pytest.mark.slow
def test_issue_lines_are_ordered_and_well_formed(planted):
    d, a, _ = planted
    issues = [json.loads(line) for line in open(d / "out" / "issues.jsonl")]
    assert issues, "no issues found in a corpus with planted errors"
    keys = [(not r["flagged"], -r["score"]) for r in issues]
    assert keys == sorted(keys)
    for r in issues:
        assert {"id", "class", "given", "suggested", "score"} <= set(r)
        assert r["given"] != r["suggested"]
        assert (r["given"] == "present") != (r["suggested"] == "present")


@pytest.mark.slow
def test_report_and_confusion_are_written(planted):
    d, a, _ = planted
    summary = json.loads((d / "out" / "summary.json").read_text())
    assert summary["reports"] == N and summary["gold_reports"] == N
    # the audited labels carry exactly the planted errors: micro-F1 below 1, but not by much
    assert 0.9 < summary["labels_vs_gold_micro_f1"] < 1.0
    md = (d / "out" / "report.md").read_text()
    assert "## Most suspect reports" in md and "issues_per_class.png" in md
    assert (d / "out" / "issues_per_class.png").stat().st_size > 1000
    assert sum(1 for _ in open(d / "out" / "proba.jsonl")) == N


@pytest.mark.slow
def test_trusted_reports_are_not_queued_again(tmp_path):
    rows = synthetic(120, seed=5)
    flipped, truth = flip(rows, 10, seed=2)
    flipped_ids = {i for i, _ in truth}
    recs = [{**r, "meta": {"source": "reviewed" if r["id"] in flipped_ids else "pseudo"}} for r in flipped]
    ontology = Ontology.load(None)
    records = read_labels(write(tmp_path / "l.jsonl", recs), ontology)
    a = run_analysis(records, {r["id"]: r["text"] for r in rows}, ontology, folds=3)
    assert a.trusted == flipped_ids
    assert not {r["id"] for r in a.issues} & flipped_ids


def test_rank_label_issues_scores_follow_the_classifier():
    Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]] * 10)
    P = np.where(Y == 1, 0.9, 0.1).astype(float)
    P[0, 0] = 0.02  # label 1, classifier sure it is 0
    r = rank_label_issues(Y, P)
    assert r.score.shape == Y.shape
    assert np.unravel_index(np.argmax(r.score), Y.shape) == (0, 0)


def test_analyze_cli_bad_state_names_file_line_and_field(tmp_path, capsys):
    rows = synthetic(10, seed=1)
    rows[3] = {**rows[3], "labels": {**rows[3]["labels"], "Edema": "maybe"}}
    labels = write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(SystemExit) as e:
        main(["analyze", "--labels", str(labels), "-o", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "4" in err and "Edema" in err


@pytest.mark.slow
def test_analyze_cli_writes_the_queue(tmp_path):
    rows = synthetic(60, seed=2)
    labels = write(tmp_path / "labels.jsonl", rows)
    main(["analyze", "--labels", str(labels), "-o", str(tmp_path / "out"), "--folds", "3"])
    assert (tmp_path / "out" / "issues.jsonl").exists()
    assert (tmp_path / "out" / "report.md").exists()
