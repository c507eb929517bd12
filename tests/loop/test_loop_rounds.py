"""radlabel loop: rounds accumulate reviewed labels, and an interrupted run resumes."""
import json
import os

import pytest

from support.loop_corpus import positives_only, synthetic, write
from radlabel.errors import InputError
from radlabel.loop import STEPS, Loop, LoopConfig


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("loopdata")
    rows = synthetic(190, seed=9)
    seed, pool, test = rows[:20], rows[20:150], rows[150:]
    return {
        "reports": str(write(d / "reports.jsonl", [{"id": r["id"], "text": r["text"]} for r in seed + pool])),
        "seed_gold": str(write(d / "seed.jsonl", positives_only(seed))),
        "oracle": str(write(d / "oracle.jsonl", positives_only(pool))),
        "eval_gold": str(write(d / "test.jsonl", positives_only(test))),
    }


def config(files, rounds, **kw):
    return LoopConfig(rounds=rounds, judge="none", folds=3, review_budget=10, **files, **kw)


def run(cfg, out):
    log = []
    Loop(cfg, out, progress=False, log=log.append).run()
    return log


def reviewed_ids(out, k):
    return [json.loads(x)["id"] for x in open(out / f"round-{k}" / "feedback" / "reviewed.jsonl")]


@pytest.mark.slow
def test_rounds_resume_and_accumulate_corrections(files, tmp_path):
    out = tmp_path / "runs"
    log1 = run(config(files, 1), out)
    assert log1 == [f"round 1: {s}" for s in STEPS]
    first = {s: os.stat(out / "round-1" / f".step-{s}.json").st_mtime_ns for s in STEPS}

    log2 = run(config(files, 2), out)               # more rounds: round 1 is not redone
    assert log2 == [f"round 2: {s}" for s in STEPS]
    assert {s: os.stat(out / "round-1" / f".step-{s}.json").st_mtime_ns for s in STEPS} == first

    r1, r2 = reviewed_ids(out, 1), reviewed_ids(out, 2)
    assert len(r1) == 10 and len(r2) == 10 and not set(r1) & set(r2)
    label2 = json.loads((out / "round-2" / ".step-label.json").read_text())
    assert label2["reused_from_previous_round"] == 150   # same rules, same classes: nothing relabelled
    train2 = json.loads((out / "round-2" / ".step-train.json").read_text())
    assert train2["trusted"] == 20 + 10
    rows = [json.loads(x) for x in open(out / "round-2" / "train_labels.jsonl")]
    by_source = {r["id"]: r["meta"]["source"] for r in rows}
    assert all(by_source[i] == "reviewed" for i in r1)
    assert sum(s == "gold" for s in by_source.values()) == 20

    summary = (out / "summary.md").read_text()
    assert summary.count("\n| 1 |") == 1 and summary.count("\n| 2 |") == 1
    assert (out / "f1_per_round.png").exists()
    metrics = json.loads((out / "round-2" / ".step-score.json").read_text())
    assert 0 < metrics["heldout_labels"]["micro_f1"] <= 1 and metrics["heldout_labels"]["reports"] == 40
    # the pool's labels after review can only get closer to the oracle's answers
    assert metrics["pool_labels_corrected"]["micro_f1"] >= metrics["pool_labels_raw"]["micro_f1"]

    # an interruption in the middle of round 2: labelling half done, later steps never ran
    labels = out / "round-2" / "labels.jsonl"
    lines = labels.read_text().splitlines(keepends=True)
    labels.write_text("".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:25])
    for s in ("label", "feedback", "recompile", "score"):
        (out / "round-2" / f".step-{s}.json").unlink()
    log3 = run(config(files, 2), out)
    assert log3 == [f"round 2: {s}" for s in ("label", "feedback", "recompile", "score")]
    assert reviewed_ids(out, 2) == r2
    assert len(labels.read_text().splitlines()) == 150


def test_other_settings_in_the_same_folder_are_refused(files, tmp_path):
    out = tmp_path / "runs"
    Loop(config(files, 1), out, log=lambda m: None)     # records its settings in runs/loop.json
    Loop(config(files, 3), out, log=lambda m: None)     # asking for more rounds is a resume
    with pytest.raises(InputError, match="review_budget"):
        Loop(LoopConfig(rounds=1, judge="none", folds=3, review_budget=99, **files), out, log=lambda m: None)


def test_evaluation_reports_must_be_unseen(files, tmp_path):
    leaky = dict(files, eval_gold=files["seed_gold"])
    with pytest.raises(InputError, match="unseen"):
        Loop(config(leaky, 1), tmp_path / "runs", log=lambda m: None)


def test_loop_cli_names_the_file_when_seed_gold_is_not_among_the_reports(files, tmp_path, capsys):
    from radlabel.cli import main

    stray = write(tmp_path / "stray.jsonl", [{"id": "not-a-report", "text": "Normal chest.",
                                             "labels": {"Edema": 1}}])
    with pytest.raises(SystemExit) as e:
        main(["loop", "--reports", files["reports"], "--gold", str(stray), "-o", str(tmp_path / "runs")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "stray.jsonl" in err and "not-a-report" in err


@pytest.mark.slow
def test_corrections_recompile_the_lm_judge_for_the_next_round(files, tmp_path):
    """judge=ambiguous on a scripted LM: round 1's examples compile the judge round 2 labels with."""
    import dspy
    from dspy.utils import DummyLM

    lm = DummyLM({"## sentences ##": {"state": "uncertain"}}, adapter=dspy.JSONAdapter())
    cfg = LoopConfig(rounds=2, judge="ambiguous", folds=3, review_budget=10, compile_optimizer="labeled",
                     **files)
    out = tmp_path / "runs"
    Loop(cfg, out, lm=lm, progress=False, log=lambda m: None).run()
    r1 = json.loads((out / "round-1" / ".step-label.json").read_text())
    r2 = json.loads((out / "round-2" / ".step-label.json").read_text())
    assert r1["lm_calls"] > 0
    recompiled = json.loads((out / "round-1" / ".step-recompile.json").read_text())
    assert recompiled["compiled"] is True
    manifest = json.loads((out / "round-1" / "recompiled" / "program" / "radlabel_program.json").read_text())
    assert manifest["optimizer"] == "labeled" and manifest["demos"] > 0
    assert r2["program"] != r1["program"]           # round 2 labelled with the recompiled judge


def test_demos_need_the_loop_to_index_them(files, tmp_path):
    with pytest.raises(InputError, match="--index-demos"):
        Loop(config(files, 1, demos=2), tmp_path / "runs", log=lambda m: None)


@pytest.mark.slow
def test_later_rounds_judge_with_the_sentences_earlier_rounds_reviewed(files, tmp_path):
    out = tmp_path / "runs"
    run(config(files, 1, index_demos=True, demos=2), out)
    loop = Loop(config(files, 2, index_demos=True, demos=2), out, progress=False, log=lambda m: None)
    assert loop.labeler_for(1).program.demo_retriever is None      # nothing indexed before round 1
    demos = loop.labeler_for(2).program.demo_retriever
    assert demos is not None and demos.k == 2
    reviewed = [json.loads(x) for x in open(out / "round-1" / "feedback" / "reviewed.jsonl")]
    rec = next(r for r in reviewed if r.get("evidence"))
    cls, sentence = next(iter(rec["evidence"].items()))
    got = demos.retrieve(cls, sentence)
    assert got and all(d.cls == cls for d in got) and got[0].trusted
