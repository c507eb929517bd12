"""ConText-style reading of a mention: negated, hedged, hypothetical, historical or asserted.

The cues are data (``radlabel/resources/context_rules.yaml``, generic English; see that file for
the categories), in the spirit of NegEx/ConText (Chapman et al.) and medspaCy's rule files. This
module only compiles and applies them:

- a *forward* cue before the mention governs it when no terminator ("but", "who presents
  with", ";") stands between them; the nearest cue wins, and cues inside a matched phrase with a
  gap ("heart ... enlarged" on "heart is not enlarged") count as the nearest;
- a *backward* cue after the mention governs it within a few words, up to a terminator;
- a *hypothetical* cue governs its whole clause, whatever comes nearer;
- *pseudo* cues ("no change in") are masked first, so they never negate.

>>> rules = ContextRules.default()
>>> rules.state("The heart is not enlarged.", 4, 25)
('absent', 'not')
>>> rules.state("No change in the small effusion.", 23, 31)
('present', None)
>>> rules.state("Return if fever develops.", 10, 15)
('not_mentioned', 'Return if')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from radlabel.errors import InputError

STATES = ("present", "absent", "uncertain", "not_mentioned")
CATEGORIES = ("negated", "uncertain", "hypothetical", "historical")
_WORD = r"[A-Za-z0-9]"


def _alt(cues: list[str]) -> str:
    # Longest first, so "no evidence of" wins over "no" at the same place.
    return r"(?:" + "|".join(sorted(cues, key=len, reverse=True)) + r")"


def _bounded(cues: list[str]) -> re.Pattern:
    """Cues on word boundaries; a cue that is only punctuation ("?") needs none."""
    return re.compile(r"(?<![\w-])" + _alt(cues) + r"(?![\w-])", re.I)


def _check_strings(data, source: str, where: str = "") -> None:
    """Every cue must be a string (YAML reads a bare no/on/yes as a boolean: quote it)."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k not in ("within", "commas"):
                _check_strings(v, source, f"{where}.{k}" if where else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_strings(v, source, f"{where}[{i}]")
    elif not isinstance(data, str):
        raise InputError(f"cue must be a string, got {data!r} (quote it in YAML)", path=source,
                         field=where)


def _gap(rule: dict) -> str:
    """What may stand between words of a bounded scope: any non-word character, or (with
    ``commas: false``) any but a comma, so "heart is enlarged, lungs are clear" stays two
    statements."""
    return r"\W" if rule.get("commas", True) else r"[^\w,]"


@dataclass(frozen=True)
class _Backward:
    category: str
    pattern: re.Pattern


class ContextRules:
    """Compiled cue rules; ``state(sentence, start, end) -> (state, cue)``."""

    def __init__(self, data: dict, source: str = "<memory>"):
        self.source = source
        _check_strings(data, source)
        try:
            self.states = {c: data["states"][c] for c in CATEGORIES}
            for c, s in self.states.items():
                if s not in STATES:
                    raise InputError(f"state must be one of {', '.join(STATES)}", path=source,
                                     field=f"states.{c}")
            fwd = data["forward"]
            self.forward = {c: _bounded(fwd[c]) for c in CATEGORIES if fwd.get(c)}
            self.backward = [
                _Backward(b["category"],
                          re.compile(r"^%s*(?:\w+%s+){0,%d}?" % (*[_gap(b)] * 2, int(b.get("within", 3)))
                                     + _alt(b["cues"]) + r"(?![\w-])", re.I))
                for b in data.get("backward", [])]
            self.near = [
                _Backward(b["category"],
                          re.compile(r"(?<![\w-])" + _alt(b["cues"]) + r"(?:%s+\w+){0,%d}?%s*$"
                                     % (_gap(b), int(b.get("within", 0)), _gap(b)), re.I))
                for b in data.get("near", [])]
            self.pseudo = _bounded(data["pseudo"]) if data.get("pseudo") else None
            terms = data["terminators"]
            self.terminators = re.compile(
                "|".join(r"(?<![\w-])" + t + r"(?![\w-])" if re.match(_WORD, t) else re.escape(t)
                         for t in sorted(terms, key=len, reverse=True)), re.I)
            self.normal_wording = _bounded(data["normal_wording"])
            self.stop_words = frozenset(w.lower() for w in data.get("stop_words", []))
        except (KeyError, TypeError, re.error) as e:
            raise InputError(f"malformed cue rules ({type(e).__name__}: {e})", path=source) from None
        for field in ("backward", "near"):
            for b in getattr(self, field):
                if b.category not in CATEGORIES:
                    raise InputError(f"unknown category {b.category!r}", path=source, field=field)

    @classmethod
    def load(cls, path: str | Path) -> "ContextRules":
        p = Path(path)
        try:
            return cls(yaml.safe_load(p.read_text(encoding="utf-8")), source=str(p))
        except FileNotFoundError:
            raise InputError("cue file not found", path=str(p)) from None

    @staticmethod
    @lru_cache(maxsize=1)
    def default() -> "ContextRules":
        text = resources.files("radlabel.resources").joinpath("context_rules.yaml").read_text()
        return ContextRules(yaml.safe_load(text), source="bundled:context_rules")

    # -- reading one mention ---------------------------------------------------------------
    def _mask_pseudo(self, text: str) -> str:
        if self.pseudo is None:
            return text
        return self.pseudo.sub(lambda m: " " * len(m.group(0)), text)

    def crosses_clause(self, text: str, *, words: bool = True) -> bool:
        """Does this stretch (the gap inside a matched phrase) contain a clause boundary?

        ``words=False`` counts only punctuation (";"): a normal wording such as "lungs ... clear"
        reads through "otherwise" and "but" ("lungs are hyperexpanded but clear").
        """
        return any(m.group(0) != ":" and (words or not m.group(0)[:1].isalpha())
                   for m in self.terminators.finditer(text))

    def state(self, sent: str, a: int, b: int) -> tuple[str, str | None]:
        """(state, cue) for the mention at ``sent[a:b]``."""
        # Forward window: from the last terminator before the mention up to the start of the
        # mention's last word, so a cue inside a gap phrase is read as the nearest one.
        span = sent[a:b]
        last_word = re.search(r"[\w-]+\W*$", span)
        inner_end = a + (last_word.start() if last_word else len(span))
        before = sent[:a]
        terms = list(self.terminators.finditer(before))
        start = terms[-1].end() if terms else 0
        window = self._mask_pseudo(sent[start:inner_end])
        found = []
        for cat, pat in self.forward.items():
            for m in pat.finditer(window):
                found.append((m.start(), m.end(), cat, m.group(0)))
        if found:
            # 'or' only hedges when no negation governs the list ("no effusion or pneumothorax").
            if any(c == "negated" for _s, _e, c, _t in found):
                found = [f for f in found if not (f[2] == "uncertain" and f[3].lower() == "or")]
        if not found:
            near = self._mask_pseudo(sent[start:a])
            for rule in self.near:  # a cue right before the mention ("normal heart size")
                m = rule.pattern.search(near)
                if m:
                    return self.states[rule.category], m.group(0).strip(" \t:,")
        if found:
            # A condition governs its whole clause ("if pneumonia is suspected"); otherwise the
            # cue nearest the mention wins.
            hypo = [f for f in found if f[2] == "hypothetical"]
            s, e, cat, cue = max(hypo or found, key=lambda f: (f[0], f[1] - f[0]))
            return self.states[cat], cue
        after = sent[b:]
        after = after[len(after) - len(after.lstrip(" :")):] if after.lstrip().startswith(":") else after
        m = self.terminators.search(after)
        if m:
            after = after[: m.start()]
        after = self._mask_pseudo(after)
        for rule in self.backward:
            m = rule.pattern.search(after)
            if m:
                return self.states[rule.category], m.group(0).strip(" \t:,")
        return "present", None

    def sentence_state(self, sent: str) -> tuple[str, str | None]:
        """State of a whole sentence, as for a mention at its end (embedding-only candidates)."""
        return self.state(sent, len(sent), len(sent))

    def states_normality(self, text: str) -> bool:
        """Does the text carry negation or normal wording ("no", "normal", "unremarkable")?"""
        return bool(self.normal_wording.search(text))
