"""Compiling the judge with DSPy optimizers on a scripted LM, saving, loading, and the CLI."""
from __future__ import annotations

import json

import dspy
import pytest
from dspy.utils import DummyLM

from support.compile_gold import FOUR_STATE_ROWS, positives_only, write_rows
from radlabel.cli import main
from radlabel.errors import InputError
from radlabel.labels import load_gold
from radlabel.ontology import Ontology
from radlabel.programs import Labeler
from radlabel.programs.compile import BUDGETS, compile_program, parse_budget
from radlabel.programs.judge_examples import judge_examples
from radlabel.programs.modules import MentionLabeler

# The scripted LM answers by what the prompt's last message contains (the judged sentences).
ANSWERS = {
    "Possible small left pleural effusion.": "uncertain",
    "The heart is enlarged.": "present",
    "Heart size is normal.": "absent",
    "No pleural effusion or pneumothorax.": "absent",
    "may represent pneumonia": "uncertain",
    "Pneumothorax versus skin fold": "uncertain",
    "Small right pleural effusion.": "present",
    "No pneumothorax.": "absent",
    "Mild cardiomegaly.": "present",
    "cannot be excluded": "uncertain",
    "Calcified granuloma": "present",
    "Healed left rib fracture": "present",
    "## sentences ##": "absent",  # anything else (e.g. "Lungs are otherwise clear.")
}


def scripted_lm():
    return DummyLM({k: {"state": v} for k, v in ANSWERS.items()}, adapter=dspy.JSONAdapter())


@pytest.fixture
def gold(tmp_path):
    return load_gold(write_rows(tmp_path / "gold.jsonl", FOUR_STATE_ROWS))


def test_judge_examples_are_exactly_what_the_labeler_asks_its_judge(gold):
    ontology = Ontology.load(None)
    examples = judge_examples(gold, ontology, "all")
    program = MentionLabeler(ontology, judge="all")
    asked, skipped = [], []
    for rep in gold.reports:
        with dspy.context(lm=scripted_lm(), adapter=dspy.JSONAdapter(), trace=[]):
            program(report=rep.text)
            for _, inp, _ in dspy.settings.trace:
                cls = inp["finding"].split(":", 1)[0]
                # four-state gold that calls a found mention not_mentioned gives no example
                target = skipped if rep.labels[cls] == "not_mentioned" else asked
                target.append((inp["finding"], inp["sentences"]))
    assert sorted(asked) == sorted((e.finding, e.sentences) for e in examples)
    assert skipped == [(f"Opacity: {ontology.by_name['Opacity'].definition}", "Lungs are otherwise clear.")]
    by = {(e.report_id, e.cls): e.state for e in examples}
    assert by[("g1", "Pleural Effusion")] == "uncertain" and by[("g2", "Cardiomegaly")] == "absent"


def test_ambiguous_policy_keeps_only_hedged_or_conflicting_mentions(gold):
    ontology = Ontology.load(None)
    amb = judge_examples(gold, ontology, "ambiguous")
    everything = judge_examples(gold, ontology, "all")
    assert 0 < len(amb) < len(everything)
    keys = {(e.report_id, e.cls) for e in amb}
    assert ("g1", "Pleural Effusion") in keys and ("g1", "Cardiomegaly") not in keys


def test_positives_only_zero_takes_the_rule_reading(tmp_path):
    gold = load_gold(write_rows(tmp_path / "g.jsonl", positives_only(FOUR_STATE_ROWS)))
    by = {(e.report_id, e.cls): e.state for e in judge_examples(gold, Ontology.load(None), "all")}
    assert by[("g1", "Pleural Effusion")] == "uncertain"  # 0 + hedge
    assert by[("g2", "Pleural Effusion")] == "absent"     # 0 + negation
    assert by[("g1", "Cardiomegaly")] == "present"        # 1


def test_budget_presets_and_overrides():
    assert parse_budget(None) == BUDGETS["light"]
    b = parse_budget("medium,num_candidates=3")
    assert b["num_candidates"] == 3 and b["val_size"] == BUDGETS["medium"]["val_size"]
    assert parse_budget("val_size=5")["val_size"] == 5
    for bad in ("huge", "light,unknown=1", "light,val_size=x"):
        with pytest.raises(InputError):
            parse_budget(bad)


def test_labeled_few_shot_save_load_round_trip_gives_identical_outputs(gold, tmp_path, reports):
    result = compile_program(gold, "labeled", "light,max_labeled=3", lm=scripted_lm(), judge="all",
                             score=False, progress=False)
    assert result.manifest["cost"]["compile"]["lm_calls"] == 0
    fields = ("finding", "sentences", "state")
    demos = [tuple(d[k] for k in fields) for d in result.labeler.program.judge.demos]
    assert len(demos) == 3
    train = {tuple(e[k] for k in fields) for e in judge_examples(gold, Ontology.load(None), "all")}
    assert set(demos) <= train
    out = tmp_path / "program"
    result.save(out)

    loaded = Labeler.load(out, lm=scripted_lm())
    assert loaded.judge == "all"
    assert [tuple(d[k] for k in fields) for d in loaded.program.judge.demos] == demos
    assert loaded.program_hash == result.labeler.program_hash
    texts = [r["text"] for r in FOUR_STATE_ROWS] + list(reports.values())
    first = [result.labeler(t, id=str(i)) for i, t in enumerate(texts)]
    second = [loaded(t, id=str(i)) for i, t in enumerate(texts)]
    assert all(r.ok for r in first) and sum(r.meta.lm_calls for r in first) > 0
    assert [r.labels for r in first] == [r.labels for r in second]
    assert [r.evidence for r in first] == [r.evidence for r in second]
    # the prompts themselves are the same, and carry the compiled demos
    p1 = [h["messages"] for h in result.labeler.lm.history]
    p2 = [h["messages"] for h in loaded.lm.history]
    assert p1 == p2
    assert demos[0][1] in json.dumps(p2[0])
    manifest = json.loads((out / "radlabel_program.json").read_text())
    for key in ("optimizer", "settings", "gold", "lm", "classes_hash", "scores", "date",
                "radlabel_version"):
        assert key in manifest
    assert manifest["gold"]["hash"] == gold.hash and manifest["optimizer"] == "labeled"


def test_bootstrap_keeps_only_demos_the_metric_accepts(gold):
    always_present = DummyLM([{"state": "present"}] * 200, adapter=dspy.JSONAdapter())
    result = compile_program(gold, "bootstrap", "light,max_demos=3,max_labeled=3", lm=always_present,
                             judge="all", score=True, progress=False)
    demos = result.judge.judge.demos
    boot = [d for d in demos if d.get("augmented")]
    assert boot and len(demos) <= 3
    assert all(d.state == "present" for d in boot)  # the LM only says present; only those pass
    m = result.manifest
    assert m["cost"]["compile"]["lm_calls"] > 0
    assert m["scores"]["before"] is not None and 0 <= m["scores"]["after"] <= 1


def test_heldout_gold_scores_before_and_after(gold, tmp_path):
    from radlabel.labels import split_gold

    train, held = split_gold(gold, 5, seed=0)
    result = compile_program(train, "labeled", "light", lm=scripted_lm(), judge="all",
                             heldout=held, progress=False)
    s = result.manifest["scores"]
    assert s["scored_on"] == "heldout" and s["examples"] == len(judge_examples(held, Ontology.load(None), "all"))
    assert s["before"] == 1.0 and s["after"] == 1.0  # the scripted LM is always right here


def test_compile_refuses_judge_none_and_unknown_optimizers(gold):
    with pytest.raises(InputError, match="judge"):
        compile_program(gold, "labeled", lm=scripted_lm(), judge="none")
    with pytest.raises(InputError, match="optimizer"):
        compile_program(gold, "annealing", lm=scripted_lm())


def test_cli_compile_reports_bad_input_without_traceback(gold, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["compile", "--gold", gold.source, "--optimizer", "annealing", "-o", str(tmp_path / "p")])
    assert e.value.code == 2
    assert "unknown optimizer" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x", "labels": {"Cardiomegaly": "big"}}\n')
    with pytest.raises(SystemExit) as e:
        main(["compile", "--gold", str(bad), "-o", str(tmp_path / "p")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "bad.jsonl:1" in err and "labels.Cardiomegaly" in err


def test_optimizer_table_is_the_one_list_of_choices(monkeypatch):
    from radlabel.programs import cli as compile_cli
    from radlabel.programs.compile import OPTIMIZER_TABLE, OPTIMIZERS, optimizer_spec

    assert OPTIMIZERS == ("labeled", "bootstrap", "random-search", "mipro", "gepa", "simba")
    assert compile_cli.OPTIMIZER_HELP == " | ".join(OPTIMIZERS)  # the CLI help names the same set
    # labeled/bootstrap train on every example; the searching optimizers keep a validation split
    assert [n for n, spec in OPTIMIZER_TABLE.items() if spec.all_examples] == ["labeled", "bootstrap"]
    assert optimizer_spec("mipro").needs == "optuna"
    with pytest.raises(InputError, match="unknown optimizer 'annealing'; use one of labeled, bootstrap"):
        optimizer_spec("annealing")


def test_missing_optional_package_fails_before_any_lm_call(gold, monkeypatch):
    import sys

    lm = scripted_lm()
    monkeypatch.setitem(sys.modules, "optuna", None)  # what `import optuna` sees when it is not installed
    with pytest.raises(InputError, match="mipro optimizer needs optuna"):
        compile_program(gold, "mipro", lm=lm, judge="all")
    assert lm.history == []
