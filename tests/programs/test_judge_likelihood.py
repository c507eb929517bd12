"""The likelihood judge, its demos, calibration and the on-disk judgment cache (issue 11)."""
import multiprocessing as mp

import pytest

from radlabel.ontology import ClassDef, Ontology
from radlabel.programs import likelihood
from radlabel.programs.demos import judge_demos
from radlabel.programs.judge_cache import JudgmentCache, judgment_key

HEAD_CT = Ontology([
    ClassDef(name="Intracranial Hemorrhage", definition="bleeding inside the skull."),
    ClassDef(name="Hydrocephalus", definition="enlarged ventricles from too much cerebrospinal fluid."),
    ClassDef(name="Midline Shift", definition="displacement of brain structures across the midline."),
], source="head_ct_test")

CHEST_WORDS = ("heart", "pleural", "lung", "pneumonia", "opacity", "basilar", "effusion", "pneumothorax")


def test_chest_ontology_keeps_the_default_chest_demos():
    demos = judge_demos(Ontology.load())
    assert len(demos) == 6
    assert {d.state for d in demos} == {"present", "absent", "uncertain"}


def test_another_ontology_gets_demos_from_its_own_classes_not_chest_ones():
    demos = judge_demos(HEAD_CT)
    assert [d.state for d in demos] == ["present", "absent", "uncertain"]
    text = " ".join(f"{d.finding} {d.sentences}" for d in demos).lower()
    assert not any(w in text for w in CHEST_WORDS)
    assert {d.finding.split(":")[0] for d in demos} <= {c.name for c in HEAD_CT}


def test_calibration_divides_out_the_prior():
    # the model says "present" for anything (prior 0.8); 0.6 for present is then weak evidence
    out = likelihood.calibrate({"present": 0.6, "absent": 0.4}, {"present": 0.8, "absent": 0.2})
    assert out["absent"] > out["present"]
    assert abs(sum(out.values()) - 1) < 1e-9
    assert likelihood.calibrate({"a": 0.3, "b": 0.7}, None) == {"a": 0.3, "b": 0.7}


def test_judgment_key_ignores_case_and_spacing_but_not_program_or_model():
    k = judgment_key("Ascites: free fluid.", "No  ascites.\n", "p1", "m1")
    assert k == judgment_key("Ascites: free fluid.", "no ascites.", "p1", "m1")
    assert k != judgment_key("Ascites: free fluid.", "no ascites.", "p2", "m1")
    assert k != judgment_key("Ascites: free fluid.", "no ascites.", "p1", "m2")
    assert k != judgment_key("Splenomegaly: big spleen.", "no ascites.", "p1", "m1")


def test_judgment_key_depends_on_the_retrieved_demos():
    plain = judgment_key("Ascites: free fluid.", "Possible ascites.", "p", "m")
    assert plain == judgment_key("Ascites: free fluid.", "Possible ascites.", "p", "m", demos=())
    one = judgment_key("Ascites: free fluid.", "Possible ascites.", "p", "m",
                       demos=[("Trace ascites.", "present")])
    assert one != plain
    assert one != judgment_key("Ascites: free fluid.", "Possible ascites.", "p", "m",
                               demos=[("Trace ascites.", "uncertain")])
    assert one == judgment_key("Ascites: free fluid.", "Possible ascites.", "p", "m",
                               demos=[("trace  ascites.", "present")])


def test_retrieved_demos_follow_the_static_ones_in_the_likelihood_prompt():
    from radlabel.programs.demos import demo_example
    from radlabel.programs.modules import judge_messages, make_judge

    judge = make_judge(HEAD_CT)
    extra = [demo_example("Hydrocephalus: enlarged ventricles.", "Ventricles may be prominent.", "uncertain")]
    msgs = judge_messages(judge, "Hydrocephalus: enlarged ventricles.", "Mild ventriculomegaly.", demos=extra)
    assert len(msgs) == 1 + 2 * (len(judge.demos) + 1) + 1
    assert "Ventricles may be prominent." in msgs[-3]["content"] and msgs[-2]["content"] == "uncertain"
    assert "Mild ventriculomegaly." in msgs[-1]["content"]
    assert judge_messages(judge, "H: e.", "s")[1:-1] == judge_messages(judge, "H: e.", "s", demos=[])[1:-1]
    assert len(judge.demos) == 3                                # the predictor is left as it was


def test_cache_persists_and_stores_no_report_text(tmp_path):
    path = tmp_path / "j.sqlite"
    c = JudgmentCache(path)
    key = judgment_key("Ascites: free fluid.", "Small amount of ascites near the liver.", "p", "m")
    assert c.get(key) is None
    c.put(key, "present", 0.93)
    assert JudgmentCache(path).get(key) == ("present", 0.93)
    assert b"ascites" not in path.read_bytes().lower()


def _writer(path, start):
    c = JudgmentCache(path)
    for i in range(start, start + 50):
        c.put(f"k{i}", "absent", None)


def test_cache_takes_concurrent_writers(tmp_path):
    path = tmp_path / "j.sqlite"
    JudgmentCache(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), n * 50)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert len(JudgmentCache(path)) == 150


def test_a_server_without_logprobs_gives_none_so_the_judge_falls_back():
    import dspy

    lm = dspy.LM("openai/local", api_base="http://127.0.0.1:9/v1", api_key="x", num_retries=0)
    assert likelihood.score_options(lm, "Is the sky blue?", ["yes", "no"]) is None


def test_program_hash_names_the_scorer():
    from radlabel.programs.labeler import Labeler

    a = Labeler(judge="all", scorer="likelihood", judge_cache=False)
    b = Labeler(judge="all", scorer="generate", judge_cache=False)
    assert a.program_hash != b.program_hash


# -- on the embedded model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def lm():
    from radlabel.lm.embedded import installed

    if not installed():
        pytest.skip("embedded model not installed")
    from radlabel.lm.factory import make_lm

    return make_lm()


@pytest.mark.slow
def test_score_options_reads_the_models_likelihoods(lm):
    p = likelihood.score_options(lm, "Answer yes or no: is 7 greater than 3?", ["yes", "no"])
    assert set(p) == {"yes", "no"} and p["yes"] > 0.5


@pytest.mark.slow
@pytest.mark.parametrize("finding,sentences,expected", [
    ("Pneumonia: infection of the lung.", "Pneumonia in the right lower lobe.", "present"),
    pytest.param("Hydronephrosis: dilatation of the renal collecting system.",
                 "Mild left hydronephrosis without hydroureter.", "present",
                 marks=pytest.mark.xfail(strict=True, reason="measured: with the 3 synthetic head-CT "
                                         "demos the 1.5B answers uncertain (it passes with the bench's "
                                         "demos); demo choice for foreign ontologies is still open")),
    ("Pneumothorax: air in the pleural space.", "No pneumothorax is identified after line placement.", "absent"),
    ("Joint Effusion: excess fluid in the knee joint.", "No knee joint effusion.", "absent"),
])
def test_likelihood_judge_on_plain_statements(lm, finding, sentences, expected):
    import dspy

    from radlabel.programs.modules import MentionLabeler

    prog = MentionLabeler(HEAD_CT, judge="all")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        state, conf = prog.decide(finding, sentences)
    assert state == expected and 0 < conf <= 1


@pytest.mark.slow
def test_judge_all_pays_once_per_distinct_sentence(lm, tmp_path):
    from radlabel.programs.labeler import Labeler

    lab = Labeler(judge="all", lm=lm, judge_cache=tmp_path / "j.sqlite")
    text = "FINDINGS: Small right pleural effusion. The heart is enlarged.\nIMPRESSION: Effusion."
    first = lab(text, id="a")
    assert first.meta.status == "ok" and first.meta.lm_calls >= 2
    again = lab(text.replace("Small", "small"), id="b")
    assert again.meta.lm_calls == 0 and again.labels == first.labels
