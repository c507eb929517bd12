"""Decide the ontology's 'normal' class (e.g. No Finding) from everything else in the report.

The normal class is present only when no finding class is present or uncertain and no sentence
of the findings/impression states some other abnormality. What "states an abnormality" means is
the ontology's own vocabulary: its ``vocabulary.abnormal_terms`` when the class file lists them
(the bundled chest set does: degenerative change, a tortuous aorta, ...), otherwise the content
words of its classes' names and synonyms (learned ones too; definitions name anatomy, which is
no abnormality), plus the ``abnormal_term`` words `radlabel classes expand` learned for the normal
class. Negation and normal wording come from the
generic cue file. Nothing here knows a modality.
"""
from __future__ import annotations

import re
from functools import lru_cache

from radlabel.ontology import Ontology
from radlabel.rules.context import ContextRules
from radlabel.sections import Sentence


def term_pattern(term: str) -> str:
    """Regex for one abnormal term: ``*`` is any letters, spaces any whitespace.

    >>> bool(re.fullmatch(term_pattern("degenerat*"), "degenerative"))
    True
    """
    out = []
    for ch in term.strip():
        out.append(r"\w*" if ch == "*" else r"\s+" if ch.isspace() else re.escape(ch))
    return re.sub(r"(?:\\s\+)+", r"\\s+", "".join(out))


def uninformative_words(ontology: Ontology, rules: ContextRules | None = None) -> frozenset[str]:
    """Generic stop words plus the ontology's own where-not-what words."""
    rules = rules or ContextRules.default()
    return rules.stop_words | {w.lower() for w in ontology.vocabulary.uninformative_words}


def _derived_terms(ontology: Ontology, rules: ContextRules) -> list[str]:
    skip = uninformative_words(ontology, rules) | {w.lower() for w in _word_list(rules)}
    words = set()
    for c in ontology.finding_classes:
        for text in (c.name, *c.synonyms, *c.learned_synonyms):
            for w in re.findall(r"[a-z]+", text.lower()):
                if len(w) > 3 and w not in skip:
                    words.add(w[:5] + "*" if len(w) > 5 else w)
    return sorted(words)


def _word_list(rules: ContextRules) -> list[str]:
    return re.findall(r"[a-z]+", rules.normal_wording.pattern.lower())


def terms_regex(terms) -> re.Pattern:
    """One compiled pattern for abnormal terms, each matched as whole words.

    >>> bool(terms_regex(["degenerat*"]).search("Disc degeneration.")), bool(terms_regex(["post"]).search("postop"))
    (True, False)
    """
    return re.compile(r"(?<![\w-])(?:" + "|".join(term_pattern(t) for t in terms) + r")(?![\w-])", re.I)


@lru_cache(maxsize=64)
def _abnormal_re(key: str, terms: tuple[str, ...]) -> re.Pattern | None:
    return terms_regex(terms) if terms else None


def abnormal_pattern(ontology: Ontology, rules: ContextRules | None = None) -> re.Pattern | None:
    """The compiled "states an abnormality" vocabulary of an ontology (None: it has no words)."""
    rules = rules or ContextRules.default()
    terms = ontology.vocabulary.abnormal_terms or _derived_terms(ontology, rules)
    learned = [t for c in ontology.classes for t in c.learned_abnormal_terms]  # classes expand
    terms = list(dict.fromkeys([*terms, *learned]))
    return _abnormal_re(ontology.hash, tuple(terms))


def states_abnormality(text: str, ontology: Ontology, rules: ContextRules | None = None) -> bool:
    """An abnormality word of the ontology, no negation or normal wording, and not hypothetical
    ("return if hemorrhage develops" asserts nothing).

    >>> ct = Ontology.from_yaml("classes: [{name: Hemorrhage, definition: Blood in the brain.}]")
    >>> states_abnormality("Acute hemorrhage in the left frontal lobe.", ct)
    True
    >>> states_abnormality("No hemorrhage.", ct), states_abnormality("Mild cardiomegaly.", ct)
    (False, False)
    """
    rules = rules or ContextRules.default()
    pat = abnormal_pattern(ontology, rules)
    return (pat is not None and bool(pat.search(text)) and not rules.states_normality(text)
            and rules.sentence_state(text)[0] != "not_mentioned")


def abnormal_sentences(sentences: list[Sentence], ontology: Ontology,
                       rules: ContextRules | None = None) -> list[Sentence]:
    """Finding/impression sentences that state an abnormality and carry no negation."""
    return [s for s in sentences if states_abnormality(s.text, ontology, rules)]


def normal_state(finding_states: dict[str, str], sentences: list[Sentence], ontology: Ontology,
                 rules: ContextRules | None = None) -> tuple[str, str | None]:
    """(state, evidence) for the normal class."""
    if any(s in ("present", "uncertain") for s in finding_states.values()):
        return "absent", None
    other = abnormal_sentences(sentences, ontology, rules)
    if other:
        return "absent", other[0].text
    if not sentences:
        return "not_mentioned", None
    return "present", sentences[-1].text
