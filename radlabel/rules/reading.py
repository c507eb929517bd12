"""The rule stage's reading of one report: per class, the ConText states of its mentions
combined, and the normal class derived from them; what ``Labeler(judge="none")`` labels. The
mention student (``training/mention.py``) reads it to learn from gold where the rules go wrong.
"""
from __future__ import annotations

from radlabel.ontology import Ontology
from radlabel.rules.mentions import combine_states, find_mentions
from radlabel.rules.normality import normal_state
from radlabel.sections import report_sentences


def rule_reading(text: str, ontology: Ontology, sentences=None, cache: dict | None = None) -> dict[str, str]:
    """The labeller's rule stage on one report, what `Labeler(judge="none")` returns: the
    mentions' ConText states combined per class, the normal class derived from them.

    ``cache`` (sentence text -> its {class: state}) keeps each distinct sentence's mentions
    across calls; the report state is the strongest over its sentences either way."""
    sents = sentences if sentences is not None else report_sentences(text)
    per: dict[str, list[str]] = {}
    for sent in sents:
        got = cache.get(sent.text) if cache is not None else None
        if got is None:
            ms = find_mentions(sent.text, ontology, sentences=[sent])
            got = {c: combine_states([m.state for m in v]) for c, v in ms.items()}
            if cache is not None:
                if len(cache) >= 50_000:
                    cache.clear()
                cache[sent.text] = got
        for c, st in got.items():
            per.setdefault(c, []).append(st)
    out = {c.name: combine_states(per.get(c.name, [])) for c in ontology.finding_classes}
    if ontology.normal_class is not None:
        out[ontology.normal_class.name] = normal_state(out, sents, ontology)[0]
    return out
