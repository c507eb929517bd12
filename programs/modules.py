"""DSPy modules that label one report for every class of an ontology.

`MentionLabeler` (the default) spends LM tokens only where they matter: a rule stage finds which
classes the report mentions and what negation/hedging cues say; the LM judges one finding at a
time from just its sentences; unmentioned classes cost nothing. `FullReportLabeler` is the naive
one-prompt baseline, kept for comparison.
"""
from __future__ import annotations

import dspy

from radlabel.ontology import Ontology
from radlabel.programs.demos import judge_demos
from radlabel.programs.mentions import Mention, combine_states, find_mentions
from radlabel.programs.normality import normal_state
from radlabel.programs.signatures import JudgeFinding, LabelFullReport
from radlabel.sections import report_sentences

JUDGE_POLICIES = ("all", "ambiguous", "none")


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
            see a hedge or conflicting mentions) or "none" (rules only, zero tokens).
        retriever: optional `radlabel.retrieval.CandidateRetriever` adding candidate classes for
            ontologies whose synonyms are sparse. An embedding-only candidate (one that passed the
            retriever's rank gate) is read like a mention: the sentence's cues give its rule
            state, so under "ambiguous" only hedged ones reach the LM; "all" asks about each.
        retries: extra attempts when the LM answer does not parse.
    """

    def __init__(self, ontology: Ontology, judge: str = "ambiguous", retriever=None,
                 retries: int = 1):
        super().__init__()
        if judge not in JUDGE_POLICIES:
            raise ValueError(f"judge must be one of {JUDGE_POLICIES}")
        self.ontology, self.judge_policy, self.retriever, self.retries = ontology, judge, retriever, retries
        self.judge = dspy.Predict(JudgeFinding)
        self.judge.demos = judge_demos()

    def forward(self, report: str) -> dspy.Prediction:
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
                state = self._ask(cls, ms)
                judged.append(cls.name)
            else:
                state = combine_states([m.state for m in ms])
            labels[cls.name] = state
            evidence[cls.name] = _evidence_for(ms, state)
        normal = self.ontology.normal_class
        if normal is not None:
            state, ev = normal_state(labels, sentences)
            labels[normal.name] = state
            if ev:
                evidence[normal.name] = ev
        return dspy.Prediction(states=labels, evidence=evidence, judged=judged)

    def _needs_lm(self, ms: list[Mention]) -> bool:
        if self.judge_policy == "none":
            return False
        if self.judge_policy == "all":
            return True
        return is_ambiguous(ms)

    def _ask(self, cls, ms: list[Mention]) -> str:
        seen, sents = set(), []
        for m in ms:
            if m.sentence.start not in seen:
                seen.add(m.sentence.start)
                sents.append(m.sentence.text)
        finding = f"{cls.name}: {cls.definition}"
        return with_retries(
            lambda config: self.judge(finding=finding, sentences=" ".join(sents), config=config).state,
            self.retries, prefix=f"{cls.name}: ")

    def _add_retrieved(self, mentions: dict[str, list[Mention]], sentences) -> None:
        from radlabel.programs.mentions import sentence_state

        hits = self.retriever.candidates([s.text for s in sentences])
        for cls, places in hits.items():
            if cls in mentions or cls not in self.ontology.by_name:
                continue
            for idx, _score in places:
                s = sentences[idx]
                state, cue = sentence_state(s.text)
                mentions.setdefault(cls, []).append(Mention(cls, s, s.start, s.end, state, cue,
                                                            via="retrieved"))


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
