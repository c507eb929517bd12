"""DSPy modules that label one report for every class of an ontology.

`MentionLabeler` (the default) spends LM tokens only where they matter: a rule stage finds which
classes the report mentions and what negation/hedging cues say; the LM judges one finding at a
time from just its sentences; unmentioned classes cost nothing. `FullReportLabeler` is the naive
one-prompt baseline, kept for comparison.
"""
from __future__ import annotations

import dspy

from radlabel.ontology import Ontology
from radlabel.programs import likelihood
from radlabel.programs.demos import demo_example, judge_demos
from radlabel.rules.mentions import (Mention, combine_states, find_mentions, mention_sentences,
                                     sentence_state)
from radlabel.rules.normality import normal_state
from radlabel.programs.signatures import JudgeFinding, LabelFullReport
from radlabel.sections import report_sentences

JUDGE_POLICIES = ("all", "ambiguous", "none")
SCORERS = ("likelihood", "generate")
JUDGED_STATES = ("present", "absent", "uncertain")
NOT_MENTIONED_HINT = ("not_mentioned: the sentences do not talk about this finding at all "
                      "(they describe something else).")


class LabelingFailed(RuntimeError):
    """The LM gave no valid answer after retries; the report is recorded as failed."""


def with_retries(call, retries: int, prefix: str = ""):
    """``call(config)``, retried with a fresh sampled rollout on any error (unparseable answer,
    server error after the LM's own retries); after the last try raise LabelingFailed with why."""
    error = None
    for attempt in range(retries + 1):
        config = {"rollout_id": attempt, "temperature": 0.7} if attempt else {}
        try:
            return call(config)
        except Exception as e:
            error = f"{prefix}{type(e).__name__}: {str(e)[:300]}"
    raise LabelingFailed(error)


def make_judge(ontology: Ontology | None = None, demos: bool = True) -> dspy.Predict:
    """The trainable judge, (finding, sentences) -> state, with the ontology's default demos."""
    judge = dspy.Predict(JudgeFinding)
    judge.demos = judge_demos(ontology) if demos else []
    return judge


def judge_inputs(cls, mentions: list[Mention]) -> tuple[str, str]:
    """The (finding, sentences) the judge reads for a class: its definition and the distinct
    sentences of its mentions, in report order."""
    return f"{cls.name}: {cls.definition}", mention_sentences(mentions)


def is_ambiguous(mentions: list[Mention]) -> bool:
    """Rules are unsure: the report's reading of the class rests on a hedge.

    Mentions that disagree (present in one sentence, negated in another) are not sent: the
    report-level rule "any present mention wins" resolves them, and on the IU dev sample the
    1.5B judge resolved them worse than that rule (docs/benchmarks.md).
    """
    return combine_states([m.state for m in mentions]) == "uncertain"


class MentionLabeler(dspy.Module):
    """Label a report class by class, asking the LM only about mentioned classes.

    Args:
        ontology: the class set.
        judge: which mentioned classes go to the LM: "all", "ambiguous" (only where the rules
            see a hedge) or "none" (rules only, zero tokens).
        retriever: optional `radlabel.retrieval.CandidateRetriever` adding candidate classes for
            ontologies whose synonyms are sparse. An embedding-only candidate (one that passed the
            retriever's rank gate) is read like a mention: the sentence's cues give its rule state,
            so under "ambiguous" (kept cheap) only hedged ones reach the LM; under "all" the LM
            judges each with a fourth answer, not_mentioned (the sentence is about something
            else), so a class with thin vocabulary is read by the LM, not taken on a cue.
        retries: extra attempts when the LM answer does not parse.
        scorer: "likelihood" (default): the judge's answer is the state the LM itself finds most
            likely, read from its next-token log-probabilities in one forward pass (a confidence
            comes with it); an LM that gives no log-probabilities falls back to "generate", the
            DSPy ``Predict`` answer. Both use the same trainable predictor (instructions + demos),
            so `radlabel compile` optimizes either.
        calibrate: divide out the LM's content-free prior per class (Zhao et al. 2021; default:
            on, 3 extra calls per class, once, kept in the cache).
        cache: optional `JudgmentCache`; answers are reused per (class, normalised sentences,
            program, model, retrieved demos).
        demo_retriever: optional `radlabel.retrieval.SentenceDemos`: for each judge call the k
            most similar already-labelled sentences of the class (gold/reviewed first) become
            demonstrations after the predictor's own, nearest the question; they are part of the
            cache key and of the calibration prompt.
        override_at: under "all", where the rules read a mention (clear or hedged) and the LM
            answers otherwise, the LM's answer stands only if its calibrated confidence is at
            least this (default 0.8; 0 lets the LM decide everything, as before; above 1 never).
            Embedding-only candidates and answers without a confidence (a server without
            log-probabilities) are the LM's alone, and so are hedged mentions under "ambiguous",
            the policy that asks the LM about those only. On 120 IU dev reports every
            disagreement of the 1.5B judge with a clear rule reading came below 0.8 and 40 of 42
            were wrong; on all 1,197, 31 of the 39 hedged mentions it called present were not
            coded present, all but one below 0.8 (docs/benchmarks.md).
    """

    def __init__(self, ontology: Ontology, judge: str = "ambiguous", retriever=None,
                 retries: int = 1, scorer: str = "likelihood", calibrate: bool = True, cache=None,
                 demo_retriever=None, override_at: float = 0.8):
        super().__init__()
        if judge not in JUDGE_POLICIES:
            raise ValueError(f"judge must be one of {JUDGE_POLICIES}")
        if scorer not in SCORERS:
            raise ValueError(f"scorer must be one of {SCORERS}")
        self.ontology, self.judge_policy, self.retriever, self.retries = ontology, judge, retriever, retries
        self.scorer, self.calibrate, self.cache = scorer, calibrate, cache
        self.demo_retriever = demo_retriever
        self.override_at = float(override_at)
        self.judge = make_judge(ontology)
        self._priors: dict = {}
        self._no_logprobs: set[str] = set()
        self.usage = {"calls": 0, "tokens": 0}
        self.confidence: dict[str, float] = {}

    def forward(self, report: str) -> dspy.Prediction:
        self.usage = {"calls": 0, "tokens": 0}
        self.confidence = {}
        sentences = report_sentences(report)
        mentions = find_mentions(report, self.ontology, sentences=sentences)
        if self.retriever is not None:
            self._add_retrieved(mentions, sentences)
        labels, evidence, judged = {}, {}, []
        for cls in self.ontology.finding_classes:
            ms = mentions.get(cls.name, [])
            if not ms:
                labels[cls.name] = "not_mentioned"
                continue
            if self._needs_lm(ms):
                retrieved_only = all(m.via == "retrieved" for m in ms)
                state = self._ask(cls, ms, JUDGED_STATES + (("not_mentioned",) if retrieved_only else ()))
                judged.append(cls.name)
                if state == "not_mentioned":
                    labels[cls.name] = state
                    continue
                if self.judge_policy == "all" and not retrieved_only:
                    state = self._overrides(cls.name, state, combine_states([m.state for m in ms]))
            else:
                state = combine_states([m.state for m in ms])
            labels[cls.name] = state
            evidence[cls.name] = _evidence_for(ms, state)
        normal = self.ontology.normal_class
        if normal is not None:
            state, ev = normal_state(labels, sentences, self.ontology)
            labels[normal.name] = state
            if ev:
                evidence[normal.name] = ev
        return dspy.Prediction(states=labels, evidence=evidence, judged=judged,
                               confidence=dict(self.confidence), extra_usage=dict(self.usage))

    def _overrides(self, cls_name: str, lm_state: str, rule_state: str) -> str:
        """The state of a class whose mentions the rules read and the LM also judged
        (``judge="all"``): the LM's answer where it agrees or is sure, else the rules'."""
        conf = self.confidence.get(cls_name)
        if lm_state == rule_state or conf is None or conf >= self.override_at:
            return lm_state
        return rule_state

    def _needs_lm(self, ms: list[Mention]) -> bool:
        if self.judge_policy == "none":
            return False
        if self.judge_policy == "all":
            return True
        return is_ambiguous(ms)

    # -- the judge -------------------------------------------------------------------------
    def judge_hash(self) -> str:
        """Identity of what answers a judgment: predictor state, scorer, calibration."""
        import hashlib
        import json

        blob = json.dumps({"judge": self.judge.dump_state(), "scorer": self.scorer,
                           "calibrate": self.calibrate}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _ask(self, cls, ms: list[Mention], options=JUDGED_STATES) -> str:
        finding, sentences = judge_inputs(cls, ms)
        demos = self.retrieved_demos(cls.name, finding, sentences, options)
        state, conf = self.decide(finding, sentences, options, label=cls.name, demos=demos)
        if conf is not None:
            self.confidence[cls.name] = round(conf, 4)
        return state

    def retrieved_demos(self, cls_name: str, finding: str, sentences: str,
                        options=JUDGED_STATES) -> list[dspy.Example]:
        """The demo retriever's labelled sentences of this class, as judge demonstrations
        (only states the judge may answer here)."""
        if self.demo_retriever is None:
            return []
        return [demo_example(finding, d.sentence, d.state)
                for d in self.demo_retriever.retrieve(cls_name, sentences) if d.state in options]

    def decide(self, finding: str, sentences: str, options=JUDGED_STATES,
               label: str = "", demos: list[dspy.Example] = ()) -> tuple[str, float | None]:
        """(state, confidence) for one finding and its sentences, through the cache; ``demos``
        (retrieved for this call) follow the predictor's own demos."""
        from radlabel.programs.judge_cache import judgment_key

        lm = dspy.settings.lm
        key = None
        shown = demo_pairs(demos)
        if self.cache is not None:
            key = judgment_key(finding, sentences, self.judge_hash(), lm_identity(lm), options,
                               demos=shown)
            hit = self.cache.get(key)
            if hit is not None:
                return hit
        out = None
        model = str(getattr(lm, "model", lm))
        if self.scorer == "likelihood" and model not in self._no_logprobs:
            out = self._likelihood(lm, finding, sentences, options, demos)
            if out is None:  # this LM gives no log-probabilities: generate from now on
                self._no_logprobs.add(model)
        if out is None:
            all_demos = list(self.judge.demos) + list(demos)
            state = with_retries(
                lambda config: self.judge(finding=finding, sentences=sentences, demos=all_demos,
                                          config=config).state,
                self.retries, prefix=f"{label}: ")
            out = (state, None)
        if key is not None:
            self.cache.put(key, *out)
        return out

    def _likelihood(self, lm, finding: str, sentences: str, options, demos=()) -> tuple[str, float] | None:
        probs = self._score(lm, judge_messages(self.judge, finding, sentences, options, demos), options)
        if probs is None:
            return None
        if self.calibrate:
            probs = likelihood.calibrate(probs, self._prior(lm, finding, options, demos))
        state = max(options, key=lambda o: probs[o])
        return state, probs[state]

    def _score(self, lm, messages, options):
        lps, tokens = likelihood.option_logprobs_usage(lm, messages, options)
        if lps is None:
            return None
        self.usage["calls"] += 1
        self.usage["tokens"] += tokens
        return dict(zip(options, likelihood.normalise(lps)))

    def _prior(self, lm, finding: str, options, demos=()) -> dict[str, float] | None:
        """Content-free prior for this finding's prompt, retrieved demos included (memory, then
        the disk cache)."""
        import json

        from radlabel.programs.judge_cache import judgment_key

        shown = demo_pairs(demos)
        mkey = (finding, tuple(options), lm_identity(lm), self.judge_hash(), shown)
        if mkey in self._priors:
            return self._priors[mkey]
        dkey = judgment_key("prior:" + finding, "", self.judge_hash(), mkey[2], options, demos=shown)
        hit = self.cache.get(dkey) if self.cache is not None else None
        if hit is not None:
            prior = json.loads(hit[0])
        else:
            acc = None
            for x in likelihood.CONTENT_FREE:
                p = self._score(lm, judge_messages(self.judge, finding, x, options, demos), options)
                if p is None:
                    return None
                acc = p if acc is None else {k: acc[k] + p[k] for k in acc}
            prior = {k: v / len(likelihood.CONTENT_FREE) for k, v in acc.items()}
            if self.cache is not None:
                self.cache.put(dkey, json.dumps(prior), None)
        self._priors[mkey] = prior
        return prior

    def _add_retrieved(self, mentions: dict[str, list[Mention]], sentences) -> None:
        hits = self.retriever.candidates([s.text for s in sentences])
        for cls, places in hits.items():
            if cls in mentions or cls not in self.ontology.by_name:
                continue
            for idx, _score in places:
                s = sentences[idx]
                state, cue = sentence_state(s.text)
                mentions.setdefault(cls, []).append(Mention(cls, s, s.start, s.end, state, cue,
                                                            via="retrieved"))


def lm_identity(lm) -> str:
    """Model name plus the server it is served from (two servers may both call theirs "local")."""
    base = (getattr(lm, "kwargs", None) or {}).get("api_base") or ""
    return f"{getattr(lm, 'model', lm)}@{base}" if base else str(getattr(lm, "model", lm))


def demo_pairs(demos) -> tuple[tuple[str, str], ...]:
    """(sentences, state) of each demo: what identifies retrieved demos in cache keys."""
    return tuple((str(d["sentences"]), str(d["state"])) for d in demos)


def judge_messages(predictor: dspy.Predict, finding: str, sentences: str, options=JUDGED_STATES,
                   demos=()) -> list[dict]:
    """Chat messages for likelihood scoring, from the predictor's own instructions and demos
    (so a compiled judge's instructions and demos are what the likelihood judge reads), then
    ``demos`` retrieved for this call, nearest the question."""
    words = ", ".join(options[:-1]) + " or " + options[-1]
    system = predictor.signature.instructions.strip()
    if "not_mentioned" in options:
        system += "\n" + NOT_MENTIONED_HINT
    system += f"\nAnswer with one word: {words}."
    msgs = [{"role": "system", "content": system}]
    for d in list(predictor.demos) + list(demos):
        msgs.append({"role": "user", "content": _judge_query(d["finding"], d["sentences"])})
        msgs.append({"role": "assistant", "content": str(d["state"])})
    msgs.append({"role": "user", "content": _judge_query(finding, sentences)})
    return msgs


def _judge_query(finding: str, sentences: str) -> str:
    return f"Finding: {finding}\nSentences: {sentences}\nWhat do the sentences say about this finding?"


def _evidence_for(ms: list[Mention], state: str) -> str:
    """The sentence of the first mention whose rule reading agrees with the final state."""
    for m in ms:
        if m.state == state:
            return m.sentence.text
    return ms[0].sentence.text


class FullReportLabeler(dspy.Module):
    """Naive baseline: one prompt, every class, evidence copied by the LM.

    Args:
        ontology: the class set; all its classes go into every prompt.
        retries: extra attempts when the answer is malformed or names an unknown class
            (evidence is checked against the report afterwards, by the Labeler).
    """

    def __init__(self, ontology: Ontology, retries: int = 1):
        super().__init__()
        self.ontology, self.retries = ontology, retries
        self.predict = dspy.Predict(LabelFullReport)

    def forward(self, report: str) -> dspy.Prediction:
        findings = "\n".join(f"{c.name}: {c.definition}" for c in self.ontology)

        def attempt(config):
            out = self.predict(findings=findings, report=report, config=config)
            labels = _resolve_labels(out["labels"], self.ontology)
            evidence = {self.ontology.resolve(k): v for k, v in (out["evidence"] or {}).items()
                        if self.ontology.resolve(k) and labels.get(self.ontology.resolve(k)) != "not_mentioned"}
            return dspy.Prediction(states=labels, evidence=evidence, judged=list(labels))

        return with_retries(attempt, self.retries)


def _resolve_labels(raw: dict, ontology: Ontology) -> dict[str, str]:
    """Map LM class names to the ontology; unknown names are an error, missing ones not_mentioned."""
    labels = {c.name: "not_mentioned" for c in ontology}
    for k, v in (raw or {}).items():
        name = ontology.resolve(k)
        if name is None:
            raise ValueError(f"unknown class {k!r} in LM answer")
        labels[name] = v
    return labels
