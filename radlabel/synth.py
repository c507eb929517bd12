"""Synthetic chest X-ray reports whose labels are true by construction.

Real reports may never enter the repository, so tests, fixtures and benchmarks use these. Each
report is planned first (a state per class, drawn from a prevalence table), then written from
the sentence templates in `radlabel.synth_phrases`; every sentence declares which classes it
asserts and in which state, and the report's labels are merged from those declarations
(present > uncertain > absent > not_mentioned). The indication section may ask about a finding
("Evaluate for pneumonia.") but declares nothing, so it never sets a label.

"No Finding" is present exactly when no other class is present or uncertain and no incidental
abnormality (degenerative spine, tortuous aorta, surgical clips, ...) was written; otherwise it is
absent. Generation is deterministic per seed, and report i does not depend on n.
"""
from __future__ import annotations

import json
import os
import random
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

from pydantic import BaseModel, Field

from radlabel import synth_phrases as P
from radlabel.errors import InputError
from radlabel.ontology import Ontology
from radlabel.schema import State

STYLES = ("chest", "head_ct")

# Share of reports in which the class is present or uncertain (chest X-ray practice, rounded).
# "No Finding" is the share of wholly normal reports.
DEFAULT_PREVALENCE: dict[str, float] = {
    P.NO_FINDING: 0.35,
    P.CARDIO: 0.18, P.EFFUSION: 0.15, P.ATELECTASIS: 0.14, P.OPACITY: 0.20, P.EDEMA: 0.08,
    P.CONSOLIDATION: 0.06, P.PNEUMONIA: 0.07, P.NODULE: 0.05, P.PTX: 0.02, P.FRACTURE: 0.03,
    P.EMPHYSEMA: 0.06, P.GRANULOMA: 0.07, P.DEVICES: 0.15,
}
# Given a finding, how often it is only hedged.
UNCERTAIN_RATE = {
    P.CARDIO: 0.06, P.EFFUSION: 0.12, P.ATELECTASIS: 0.15, P.PTX: 0.15, P.EDEMA: 0.15,
    P.CONSOLIDATION: 0.15, P.PNEUMONIA: 0.40, P.NODULE: 0.25, P.FRACTURE: 0.15, P.EMPHYSEMA: 0.08,
    P.GRANULOMA: 0.08, P.OPACITY: 0.08, P.DEVICES: 0.0,
}
# Given no finding, how often the report says so (abnormal reports / normal reports).
NEGATION_RATE = {
    P.CARDIO: 0.65, P.EFFUSION: 0.55, P.PTX: 0.50, P.OPACITY: 0.45, P.CONSOLIDATION: 0.30,
    P.EDEMA: 0.30, P.PNEUMONIA: 0.12, P.ATELECTASIS: 0.05, P.NODULE: 0.05, P.FRACTURE: 0.08,
    P.EMPHYSEMA: 0.02, P.GRANULOMA: 0.0, P.DEVICES: 0.03,
}
NORMAL_NEGATION_RATE = {
    P.CARDIO: 0.85, P.EFFUSION: 0.60, P.PTX: 0.55, P.OPACITY: 0.85, P.CONSOLIDATION: 0.30,
    P.EDEMA: 0.25, P.PNEUMONIA: 0.10, P.ATELECTASIS: 0.03, P.NODULE: 0.05, P.FRACTURE: 0.06,
    P.EMPHYSEMA: 0.02, P.GRANULOMA: 0.0, P.DEVICES: 0.01,
}
INCIDENTAL_RATE = 0.30        # abnormal reports that also mention a non-class abnormality
COMBO_RATE = 0.45             # chance a fitting multi-class sentence is used
INDICATION_QUESTION_RATE = 0.45
ANSWER_RATE = 0.5             # impression answers the indication's question with a negation

LAYOUTS = (("sections", 0.60), ("findings_only", 0.06), ("impression_only", 0.12), ("headerless", 0.22))
DEID_STYLES = (("openi", 0.45), ("mimic", 0.35), ("plain", 0.20))
HEADERS = {
    "INDICATION": ["INDICATION", "HISTORY", "CLINICAL HISTORY", "REASON FOR EXAM", "INDICATIONS"],
    "TECHNIQUE": ["TECHNIQUE", "EXAMINATION", "EXAM"],
    "COMPARISON": ["COMPARISON", "COMPARISONS"],
    "FINDINGS": ["FINDINGS", "FINDINGS", "FINDINGS", "REPORT"],
    "IMPRESSION": ["IMPRESSION", "IMPRESSION", "IMPRESSION", "CONCLUSION"],
}
IMPRESSION_ORDER = [P.PTX, P.PNEUMONIA, P.CONSOLIDATION, P.EDEMA, P.EFFUSION, P.OPACITY, P.NODULE,
                    P.FRACTURE, P.ATELECTASIS, P.CARDIO, P.EMPHYSEMA, P.GRANULOMA, P.DEVICES]
CHRONIC = frozenset({P.CARDIO, P.EMPHYSEMA, P.GRANULOMA, P.DEVICES})
POSITIVE = frozenset({"present", "uncertain"})
RANK = {"not_mentioned": 0, "absent": 1, "uncertain": 2, "present": 3}
PHRASE_KINDS = {"np": "np", "neg": "neg_np", "unc": "unc_np", "prior": "prior_np"}


class SyntheticReport(BaseModel):
    """A generated report with its labels over the ontology and the sentence behind each label."""

    id: str
    text: str
    labels: dict[str, State]
    evidence: dict[str, str] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    def to_gold(self) -> dict:
        """One gold JSONL record (four-state labels), as `radlabel.labels.load_gold` reads it."""
        return {"id": self.id, "text": self.text, "labels": dict(self.labels),
                "evidence": dict(self.evidence)}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def iter_reports(n: int, seed: int = 0, ontology: Ontology | None = None, style: str = "chest",
                 prevalence: dict[str, float] | None = None) -> Iterator[SyntheticReport]:
    """Yield n reports one by one (constant memory, for 100k-scale runs).

    `prevalence` maps class names to the share of reports where the class is present or
    uncertain ("No Finding": share of wholly normal reports); unset classes keep
    DEFAULT_PREVALENCE. With a custom `ontology`, only its classes that the phrase bank knows are
    generated; the others stay not_mentioned, and non-class sentences (hiatal hernia, scoliosis,
    surgical clips, ...) are still written, so a custom class for one of those would be mislabelled.
    """
    if not isinstance(n, int) or n < 0:
        raise InputError(f"n must be a non-negative integer, got {n!r}", field="n")
    if style not in STYLES:
        raise InputError(f"unknown style {style!r} (available: {', '.join(STYLES)})", field="style")
    if style == "head_ct":
        yield from _head_ct_reports(n, seed, ontology, prevalence)
        return
    onto = ontology if ontology is not None else _default_ontology()
    names = _bank_to_ontology(onto)
    rates, normal_rate = _prevalence(onto, names, prevalence)
    rng = random.Random(seed)
    for i in range(n):
        yield _Writer(rng, names, onto, rates, normal_rate).report(f"syn-{i + 1:06d}")


def generate_reports(n: int, seed: int = 0, ontology: Ontology | None = None, style: str = "chest",
                     prevalence: dict[str, float] | None = None) -> list[SyntheticReport]:
    """n reports, deterministic per seed (the first k are the same for every n >= k)."""
    return list(iter_reports(n, seed=seed, ontology=ontology, style=style, prevalence=prevalence))


def write_reports(reports: Iterable[SyntheticReport], path: str | Path,
                  gold_path: str | Path | None = None) -> int:
    """Write reports JSONL ({"id","text"}) and optionally gold JSONL ({"id","text","labels",
    "evidence"}); streams, and each file appears whole or not at all. Returns the count."""
    targets = [Path(path)] + ([Path(gold_path)] if gold_path is not None else [])
    temps = []
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
        temps.append(t.with_name(t.name + ".tmp"))
    files = [open(tmp, "w", encoding="utf-8") for tmp in temps]
    count = 0
    try:
        for rep in reports:
            files[0].write(json.dumps({"id": rep.id, "text": rep.text}, ensure_ascii=False) + "\n")
            if len(files) > 1:
                files[1].write(json.dumps(rep.to_gold(), ensure_ascii=False) + "\n")
            count += 1
        for f in files:
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        for f, tmp in zip(files, temps):
            f.close()
            tmp.unlink(missing_ok=True)
        raise
    for f in files:
        f.close()
    for tmp, t in zip(temps, targets):
        os.replace(tmp, t)
    return count


def parse_prevalence(spec: str) -> dict[str, float]:
    """'Pneumothorax=0.1, No Finding=0.2' -> {"Pneumothorax": 0.1, "No Finding": 0.2} (CLI syntax)."""
    out: dict[str, float] = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"expected CLASS=RATE, got {item!r}", field="prevalence")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"rate {value.strip()!r} is not a number", field=f"prevalence.{name.strip()}") from None
    return out


# --------------------------------------------------------------------------------------------
# Configuration checks
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _default_ontology() -> Ontology:
    return Ontology.load(None)


def _bank_to_ontology(onto: Ontology) -> dict[str, str]:
    """Phrase-bank class -> the ontology's name for it; classes the bank lacks stay not_mentioned."""
    names = {bank: onto.resolve(bank) for bank in P.PHRASES}
    names = {bank: name for bank, name in names.items() if name is not None}
    if not names:
        raise InputError(f"none of the ontology's classes has synthetic phrases (known: "
                         f"{', '.join(P.PHRASES)})", path=onto.source)
    return names


def _prevalence(onto: Ontology, names: dict[str, str], given: dict[str, float] | None):
    rates = {bank: DEFAULT_PREVALENCE[bank] for bank in names}
    normal_rate = DEFAULT_PREVALENCE[P.NO_FINDING]
    by_onto = {name: bank for bank, name in names.items()}
    normal = onto.normal_class.name if onto.normal_class else None
    for key, value in (given or {}).items():
        where = f"prevalence.{key}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise InputError(f"rate must be a number between 0 and 1, got {value!r}", field=where)
        name = onto.resolve(key)
        if name is None:
            raise InputError(f"unknown class {key!r} (not in {onto.source})", field=where)
        if name == normal:
            normal_rate = float(value)
        elif name in by_onto:
            rates[by_onto[name]] = float(value)
        else:
            raise InputError(f"class {name!r} has no synthetic phrases, so it cannot be generated",
                             field=where)
    return rates, normal_rate


# --------------------------------------------------------------------------------------------
# Writing one report
# --------------------------------------------------------------------------------------------
_FORMATTER = string.Formatter()


@lru_cache(maxsize=None)
def _parts(template: str) -> tuple[tuple[str, str | None, str | None], ...]:
    return tuple((lit, fld, spec or None) for lit, fld, spec, _ in _FORMATTER.parse(template))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _weighted(rng: random.Random, table) -> str:
    r, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if r < acc:
            return value
    return table[-1][0]


@dataclass
class _Claim:
    """One sentence and the class states it asserts."""

    text: str
    states: dict[str, str] = field(default_factory=dict)
    kind: str = "claim"   # claim | incidental | summary | neutral


class _Writer:
    """Plans and writes one report; holds its random source and per-report slot values."""

    def __init__(self, rng: random.Random, names: dict[str, str], onto: Ontology,
                 rates: dict[str, float], normal_rate: float):
        self.rng, self.names, self.onto = rng, names, onto
        self.rates, self.normal_rate = rates, normal_rate
        self.active = [c for c in P.PHRASES if c in names]
        self.slots: dict[tuple[str | None, str], str] = {}
        self.deid = _weighted(rng, DEID_STYLES)
        self.has_prior = False

    # -- templates -------------------------------------------------------------------------
    def render(self, template: str, cls: str | None = None) -> str:
        out = []
        for literal, fld, spec in _parts(template):
            out.append(literal)
            if fld is None:
                continue
            target = spec or cls
            key = fld.lower()
            kind = PHRASE_KINDS.get(key)
            value = self.phrase(target, kind) if kind else self.slot(target, key)
            out.append(_cap(value) if fld[0].isupper() else value)
        return "".join(out)

    def phrase(self, cls: str, kind: str) -> str:
        return self.render(self.rng.choice(getattr(P.PHRASES[cls], kind)), cls)

    def slot(self, cls: str | None, name: str) -> str:
        if name in REPORT_SLOTS:
            cls = None
        key = (P.SLOT_GROUP.get(cls, cls), name)
        value = self.slots.get(key)
        if value is None:
            if name in REPORT_SLOTS:
                value = REPORT_SLOTS[name](self)
            elif name in P.DERIVED:
                value = P.DERIVED[name](lambda other: self.slot(cls, other))
            else:
                value = self.rng.choice(P.SLOTS[name])
                if "{" in value:
                    value = self.render(value, cls)
            self.slots[key] = value
        return value

    def _date(self) -> str:
        if self.deid == "openi":
            return "XXXX"
        r = self.rng
        if self.deid == "mimic":
            return f"[**{r.randint(2090, 2199)}-{r.randint(1, 12)}-{r.randint(1, 28)}**]"
        return r.choice(["last month", "last year", "two days ago"])

    def _prior_study(self) -> str:
        choices = {"openi": ["XXXX", "prior study of XXXX", "the prior exam", "the XXXX examination"],
                   "mimic": ["prior study of {date}", "the prior study of {date}", "{date}",
                             "the radiograph of {date}", "the prior exam"],
                   "plain": ["the prior study", "the previous radiograph", "the prior exam"]}[self.deid]
        return self.render(self.rng.choice(choices))

    def _age(self) -> str:
        if self.deid == "openi":
            return "XXXX-year-old"
        if self.deid == "mimic" and self.rng.random() < 0.15:
            return "[**Age over 90 **]-year-old"
        return f"{self.rng.randint(19, 89)}-year-old"

    # -- planning --------------------------------------------------------------------------
    def plan(self) -> tuple[dict[str, str], bool, bool]:
        """States per bank class, whether the study is normal, whether to add an incidental."""
        rng, states = self.rng, {c: "not_mentioned" for c in self.active}
        normal = rng.random() < self.normal_rate
        incidental = False
        if not normal:
            scale = 1.0 / (1.0 - self.normal_rate)
            positives = [c for c in self.active if rng.random() < self.rates[c] * scale]
            incidental = rng.random() < INCIDENTAL_RATE
            weights = [self.rates[c] for c in self.active]
            if not positives and not incidental:
                if sum(weights) == 0 or rng.random() < 0.5:
                    incidental = True
                else:
                    positives = rng.choices(self.active, weights)
            for c in positives:
                states[c] = "uncertain" if rng.random() < UNCERTAIN_RATE[c] else "present"
            # A hedged pneumonia often comes as a differential with atelectasis.
            if (states.get(P.PNEUMONIA) == "uncertain" and states.get(P.ATELECTASIS) == "not_mentioned"
                    and rng.random() < 0.3):
                states[P.ATELECTASIS] = "uncertain"
        negation = NORMAL_NEGATION_RATE if normal else NEGATION_RATE
        for c in self.active:
            if states[c] == "not_mentioned" and rng.random() < negation[c] and self.may_deny(c, states):
                states[c] = "absent"
        return states, normal, incidental

    @staticmethod
    def may_deny(cls: str, states: dict[str, str]) -> bool:
        return not any(states.get(o) in POSITIVE for o in P.ABSENT_CONFLICTS.get(cls, ()))

    @staticmethod
    def lungs_clear_ok(states: dict[str, str]) -> bool:
        return not any(states.get(c) in POSITIVE for c in P.LUNG_PARENCHYMA)

    # -- sentences -------------------------------------------------------------------------
    def present(self, cls: str, impression: bool) -> list[_Claim]:
        rng, ph = self.rng, P.PHRASES[cls]
        if cls == P.DEVICES:
            return self.devices(impression)
        r = rng.random()
        if self.has_prior and r < 0.25 and cls != P.FRACTURE:
            frames = P.COMPARE_FRAMES + (P.ACUTE_COMPARE_FRAMES if cls in P.ACUTE else [])
            text = self.render(rng.choice(frames), cls)
        elif r < (0.45 if impression else 0.75):
            text = self.render(rng.choice(ph.find), cls)
        else:
            text = self.render(rng.choice(P.PRESENT_FRAMES), cls)
        claims = [_Claim(text, {cls: "present"})]
        if cls in P.CONTRALATERAL_NEG and not impression and rng.random() < 0.12:
            side = self.slot(cls, "side3" if cls == P.EFFUSION else "side")
            if side != "bilateral":
                claims.append(_Claim(self.render(P.CONTRALATERAL_NEG[cls], cls), {cls: "absent"}))
        return claims

    def devices(self, impression: bool) -> list[_Claim]:
        rng = self.rng
        chosen = self.slots.get((P.DEVICES, "#devices"))
        if chosen is None:
            k = rng.choice((1, 1, 1, 2, 2, 3))
            chosen = rng.sample(range(len(P.DEVICES_LIST)), k)
            self.slots[(P.DEVICES, "#devices")] = chosen
        state = {P.DEVICES: "present"}
        if impression:
            return [_Claim(P.DEVICES_LIST[chosen[0]][1], state)]
        return [_Claim(self.render(rng.choice(P.DEVICES_LIST[i][0]), P.DEVICES), state) for i in chosen]

    def uncertain(self, cls: str) -> _Claim:
        ph = P.PHRASES[cls]
        if ph.unc and (not ph.unc_np or self.rng.random() < 0.55):
            text = self.render(self.rng.choice(ph.unc), cls)
        else:
            text = self.render(self.rng.choice(P.UNC_FRAMES), cls)
        return _Claim(text, {cls: "uncertain"})

    def negations(self, classes: list[str], states: dict[str, str]) -> list[_Claim]:
        """Absent statements: normal phrasing, "resolved", single and list negations."""
        rng, claims, listed = self.rng, [], []
        pool = list(classes)
        rng.shuffle(pool)
        for cls in pool:
            ph, r = P.PHRASES[cls], rng.random()
            if cls == P.OPACITY and self.lungs_clear_ok(states) and r < 0.6:
                claims.append(_Claim(rng.choice(P.LUNGS_CLEAR), {cls: "absent"}))
            elif self.has_prior and cls in P.ACUTE and ph.prior_np and r < 0.12:
                claims.append(_Claim(self.render(rng.choice(P.RESOLVED_FRAMES), cls), {cls: "absent"}))
            elif ph.neg and (not ph.neg_np or r < (0.75 if cls == P.CARDIO else 0.25)):
                claims.append(_Claim(self.render(rng.choice(ph.neg), cls), {cls: "absent"}))
            else:
                listed.append(cls)
        # "No pleural effusion or pneumothorax." is the commonest pair: keep it together often.
        if P.EFFUSION in listed and P.PTX in listed and rng.random() < 0.6:
            listed.remove(P.EFFUSION)
            listed.remove(P.PTX)
            listed[:0] = [P.EFFUSION, P.PTX]
        while listed:
            if len(listed) >= 2 and rng.random() < 0.55:
                k = 3 if len(listed) >= 3 and rng.random() < 0.4 else 2
                group, listed = listed[:k], listed[k:]
                nps = {key: self.phrase(c, "neg_np") for key, c in zip("abc", group)}
                text = rng.choice(P.NEG_LIST3 if k == 3 else P.NEG_LIST2).format(**nps)
                claims.append(_Claim(_cap(text), {c: "absent" for c in group}))
            else:
                cls = listed.pop(0)
                claims.append(_Claim(self.render(rng.choice(P.NEG_FRAMES), cls), {cls: "absent"}))
        return claims

    def combos(self, wanted: dict[str, str], states: dict[str, str]) -> list[_Claim]:
        """Multi-class sentences for classes in `wanted`; removes the classes they cover."""
        rng = self.rng
        keys = wanted.keys()
        fitting = [c for classes, c in _COMBO_CLASSES if classes <= keys
                   and all(wanted[k] == s for k, s in c.needs)
                   and (not c.lungs_clear or self.lungs_clear_ok(states))]
        rng.shuffle(fitting)
        out = []
        for combo in fitting:
            if rng.random() >= COMBO_RATE or not all(wanted.get(k) == s for k, s in combo.needs):
                continue
            out.append(_Claim(self.render(rng.choice(combo.templates)), dict(combo.needs)))
            for k, _ in combo.needs:
                del wanted[k]
        return out

    def statements(self, wanted: dict[str, str], states: dict[str, str], impression: bool) -> list[_Claim]:
        """Sentences asserting each class in `wanted` in its state, in anatomical order."""
        wanted = dict(wanted)
        items = [(self.region(c.states), c) for c in self.combos(wanted, states)]
        absent = []
        for cls, state in wanted.items():
            if state == "present":
                items += [(self.region(c.states), c) for c in self.present(cls, impression)]
            elif state == "uncertain":
                items.append((self.region({cls: state}), self.uncertain(cls)))
            elif state == "absent":
                absent.append(cls)
        items += [(self.region(c.states), c) for c in self.negations(absent, states)]
        if impression:
            items.sort(key=lambda it: _impression_rank(it[1].states))
        else:
            items.sort(key=lambda it: it[0])
        return [c for _, c in items]

    def region(self, claim_states: dict[str, str]) -> float:
        regions = self.slots.get((None, "#regions"))
        if regions is None:
            regions = {c: P.PHRASES[c].region for c in P.PHRASES}
            if self.rng.random() < 0.4:
                regions[P.CARDIO] = -1  # "The heart is normal in size. The lungs are clear. ..."
            self.slots[(None, "#regions")] = regions
        return min(regions[c] for c in claim_states)

    # -- sections ----------------------------------------------------------------------------
    def indication(self, states: dict[str, str]) -> tuple[list[_Claim], list[str]]:
        rng = self.rng
        generic = self.render(rng.choice(P.INDICATION_GENERIC))
        if rng.random() >= INDICATION_QUESTION_RATE:
            return [_Claim(generic, kind="neutral")], []
        options = [(t, cs) for t, cs in P.INDICATION_QUESTIONS if all(c in self.names for c in cs)]
        if not options:
            return [_Claim(generic, kind="neutral")], []
        template, asked = rng.choice(options)
        claims = [_Claim(self.render(template), kind="neutral")]
        if "{" not in template and rng.random() < 0.5:
            claims.insert(0, _Claim(generic, kind="neutral"))
        return claims, list(asked)

    def report(self, rid: str) -> SyntheticReport:
        rng = self.rng
        states, normal, incidental = self.plan()
        layout = _weighted(rng, LAYOUTS)
        sections: list[tuple[str | None, list[_Claim]]] = []
        asked: list[str] = []
        answer: list[str] = []

        if layout in ("sections", "findings_only"):
            if rng.random() < (0.7 if layout == "sections" else 0.5):
                ind, asked = self.indication(states)
                sections.append(("INDICATION", ind))
                for cls in asked:
                    if (cls in P.ANSWERABLE and states.get(cls) == "not_mentioned"
                            and self.may_deny(cls, states) and rng.random() < ANSWER_RATE):
                        states[cls] = "absent"
                        answer.append(cls)
            if rng.random() < 0.35:
                tech = ("TECHNIQUE", [_Claim(rng.choice(P.TECHNIQUE), kind="neutral")])
                sections.insert(0 if rng.random() < 0.3 else len(sections), tech)
            if rng.random() < 0.55:
                sections.append(("COMPARISON", [self.comparison()]))
        if not self.has_prior and layout != "sections" and rng.random() < 0.2:
            self.has_prior = True  # "unchanged from the prior study" without a comparison header

        mentioned = {c: s for c, s in states.items() if s != "not_mentioned"}
        extras = self.extras(states, incidental)
        if layout == "impression_only":
            body = self.statements(mentioned, states, impression=True)
            body += [c for c in extras if c.kind == "incidental"]
            body = self.with_summary(body, states, normal, force=not body)
            sections.append(("IMPRESSION", body))
        else:
            findings = self.statements(mentioned, states, impression=False)
            bare = not findings
            findings = self.insert_extras(findings, extras)
            if bare or (layout == "headerless" and rng.random() < 0.5):
                findings = self.with_summary(findings, states, normal, force=bare)
            if layout == "headerless":
                sections.append((None, findings))
            else:
                sections.append(("FINDINGS", findings))
                if layout == "sections":
                    sections.append(("IMPRESSION", self.impression(states, normal, answer)))
        return self.assemble(rid, sections, states, asked, layout)

    def comparison(self) -> _Claim:
        rng = self.rng
        if rng.random() < 0.25:
            return _Claim("None.", kind="neutral")
        self.has_prior = True
        options = {"openi": ["XXXX", "XXXX.", "Chest radiographs XXXX.", "PA and lateral chest XXXX."],
                   "mimic": ["{date}.", "Chest radiograph from {date}.", "[**Hospital1 18**] chest radiograph of {date}."],
                   "plain": ["Prior chest radiograph.", "Chest radiograph from {date}."]}[self.deid]
        return _Claim(self.render(rng.choice(options)), kind="neutral")

    def extras(self, states: dict[str, str], incidental: bool) -> list[_Claim]:
        """Incidental abnormalities, neutral normal statements and de-identification quirks."""
        rng, out = self.rng, []
        if incidental:
            for text in rng.sample(P.INCIDENTAL, rng.choice((1, 1, 1, 2))):
                out.append(_Claim(text, kind="incidental"))
        if rng.random() < 0.35:
            out.append(_Claim(rng.choice(P.NEUTRAL), kind="neutral"))
        if states.get(P.FRACTURE) not in POSITIVE and rng.random() < 0.3:
            out.append(_Claim(rng.choice(P.NEUTRAL_BONES), kind="neutral"))
        if self.deid == "openi" and rng.random() < 0.4:
            out.append(_Claim(rng.choice(P.NEUTRAL_OPENI), kind="neutral"))
        return out

    def insert_extras(self, claims: list[_Claim], extras: list[_Claim]) -> list[_Claim]:
        """Neutral statements go among the findings, incidental ones near the end."""
        out = list(claims)
        for extra in extras:
            if extra.kind == "incidental":
                out.insert(len(out) - self.rng.randint(0, min(1, len(out))), extra)
            else:
                out.insert(self.rng.randint(0, len(out)), extra)
        return out

    def impression(self, states: dict[str, str], normal: bool, answer: list[str]) -> list[_Claim]:
        rng = self.rng
        wanted = {}
        for cls in IMPRESSION_ORDER:
            state = states.get(cls)
            if state in POSITIVE:
                keep = 0.35 if cls == P.DEVICES else 0.45 if cls in CHRONIC else 0.9
                if rng.random() < keep:
                    wanted[cls] = state
        for cls in answer:
            wanted[cls] = "absent"
        for cls in (P.PTX, P.EFFUSION):
            if states.get(cls) == "absent" and cls not in wanted and rng.random() < 0.12:
                wanted[cls] = "absent"
        claims = self.statements(wanted, states, impression=True)
        if not any(states[c] in POSITIVE for c in wanted) and not normal:
            top = next((c for c in IMPRESSION_ORDER if states.get(c) in POSITIVE), None)
            if top is not None:
                claims = self.statements({top: states[top]}, states, impression=True) + claims
        return self.with_summary(claims, states, normal, force=not claims)

    def with_summary(self, claims: list[_Claim], states: dict[str, str], normal: bool,
                     force: bool) -> list[_Claim]:
        """Add "No acute cardiopulmonary abnormality."-style lines where they are true."""
        rng = self.rng
        acute = any(s in POSITIVE for c, s in states.items() if c not in CHRONIC)
        if normal:
            if force or rng.random() < 0.9:
                pool = P.SUMMARY_NO_ACUTE + P.SUMMARY_NORMAL_ONLY
                return [_Claim(rng.choice(pool), kind="summary")] + claims
        elif not acute and (force or rng.random() < 0.5):
            summary = _Claim(rng.choice(P.SUMMARY_NO_ACUTE), kind="summary")
            return claims + [summary] if rng.random() < 0.6 else [summary] + claims
        elif force:
            return claims + [_Claim("Please see findings above.", kind="neutral")]
        return claims

    # -- text ------------------------------------------------------------------------------
    def assemble(self, rid: str, sections, states, asked, layout) -> SyntheticReport:
        rng = self.rng
        caps = rng.random() < 0.1
        title_headers = not caps and rng.random() < 0.25
        section_sep = "\n\n" if rng.random() < 0.5 else "\n"
        inline = rng.random() < 0.6
        numbered_any = False
        buf: list[str] = []
        pos = 0
        spans: list[tuple[int, int, _Claim]] = []

        def add(s: str) -> None:
            nonlocal pos
            buf.append(s)
            pos += len(s)

        for k, (name, claims) in enumerate(sections):
            if k:
                add(section_sep)
            numbered = (name == "IMPRESSION" and len([c for c in claims if c.kind != "neutral"]) >= 2
                        and rng.random() < 0.45)
            numbered_any |= numbered
            if name is not None:
                header = rng.choice(HEADERS[name])
                add((header.capitalize() if title_headers else header) + ":")
                add("\n" if numbered or not inline else " ")
            for i, claim in enumerate(claims):
                if numbered:
                    add(("\n" if i else "") + f"{i + 1}. ")
                elif i:
                    add(" ")
                spans.append((pos, pos + len(claim.text), claim))
                add(claim.text)
        text = "".join(buf)
        if caps:
            text = text.upper()
        wrapped = self.deid == "mimic" and rng.random() < 0.4
        if wrapped:
            text = _wrap(text, rng.randint(66, 78))
        labels, evidence = self.labels(text, spans)
        meta = {"deid": self.deid, "layout": layout, "caps": caps, "wrapped": wrapped,
                "numbered": numbered_any, "indication_asks": [self.names[c] for c in asked if c in self.names],
                "incidental": any(c.kind == "incidental" for _, _, c in spans), "prior": self.has_prior}
        return SyntheticReport(id=rid, text=text, labels=labels, evidence=evidence, meta=meta)

    def labels(self, text: str, spans) -> tuple[dict[str, str], dict[str, str]]:
        labels = {name: "not_mentioned" for name in self.onto.names}
        evidence: dict[str, str] = {}
        abnormal_at = normal_at = None
        for start, end, claim in spans:
            sentence = text[start:end]
            for cls, state in claim.states.items():
                name = self.names[cls]
                if RANK[state] > RANK[labels[name]]:
                    labels[name], evidence[name] = state, sentence
            if abnormal_at is None and (claim.kind == "incidental" or
                                        any(s in POSITIVE for s in claim.states.values())):
                abnormal_at = sentence
            if claim.kind == "summary" and normal_at is None:
                normal_at = sentence
        normal_class = self.onto.normal_class
        if normal_class is not None:
            normal = abnormal_at is None
            labels[normal_class.name] = "present" if normal else "absent"
            if normal:
                first_absent = next((text[s:e] for s, e, c in spans if "absent" in c.states.values()), None)
                ev = normal_at or first_absent
            else:
                ev = abnormal_at
            if ev is not None:
                evidence[normal_class.name] = ev
        return labels, evidence


_COMBO_CLASSES = [(frozenset(k for k, _ in c.needs), c) for c in P.COMBOS]
_IMPRESSION_RANK = {c: i for i, c in enumerate(IMPRESSION_ORDER)}


def _impression_rank(claim_states: dict[str, str]) -> int:
    """Impression order: positives by clinical priority first, then negations."""
    return min(_IMPRESSION_RANK[c] + (0 if s in POSITIVE else 100) for c, s in claim_states.items())


def _wrap(text: str, width: int) -> str:
    """Hard-wrap long lines the way old dictation systems did, without changing any offset:
    a space becomes a newline; never inside a [** ... **] placeholder."""
    chars = list(text)
    line_start, last_space, inside = 0, -1, False
    for i, ch in enumerate(chars):
        if ch == "\n":
            line_start, last_space = i + 1, -1
            continue
        if text.startswith("[**", i):
            inside = True
        elif inside and text.startswith("**]", i - 2):
            inside = False
        if ch == " " and not inside:
            last_space = i
        if i - line_start >= width and last_space > line_start:
            chars[last_space] = "\n"
            line_start, last_space = last_space + 1, -1
    return "".join(chars)


REPORT_SLOTS = {
    "date": _Writer._date,
    "prior_study": _Writer._prior_study,
    "age": _Writer._age,
    "sex": lambda w: w.rng.choice(["male", "female", "man", "woman"]),
    "complaint": lambda w: w.rng.choice(P.COMPLAINTS),
}


# --------------------------------------------------------------------------------------------
# Second modality: non-contrast head CT
# --------------------------------------------------------------------------------------------
def _head_ct_reports(n: int, seed: int, ontology: Ontology | None,
                     prevalence: dict[str, float] | None) -> Iterator[SyntheticReport]:
    """Head CT reports from `synth_phrases.HEAD_CT`; labels are the sentences' declarations.

    Each class is present (its `rate`, or `prevalence`), sometimes only hedged, else stated
    absent about half the time, else not mentioned. Present findings are restated in the
    impression with another wording; "No Finding" (role: normal) is present exactly when nothing
    else is present or uncertain. Classes of `ontology` the bank does not know stay not_mentioned.
    """
    onto = ontology if ontology is not None else Ontology.load("head_ct")
    bank = {onto.resolve(k): v for k, v in P.HEAD_CT.items() if onto.resolve(k)}
    normal = onto.normal_class.name if onto.normal_class else None
    rates = {c: (prevalence or {}).get(c, v["rate"]) for c, v in bank.items()}
    rng = random.Random(seed)
    for i in range(n):
        yield _head_ct_one(rng, f"syn-ct-{i + 1:06d}", onto, bank, rates, normal)


def _fill(rng: random.Random, template: str) -> str:
    return template.format(**{k: rng.choice(v) for k, v in P.HEAD_CT_SLOTS.items()})


def _head_ct_one(rng, rid, onto, bank, rates, normal) -> SyntheticReport:
    states = {c.name: "not_mentioned" for c in onto.classes}
    evidence: dict[str, str] = {}
    findings, impression = [], []
    for cls in sorted(bank):
        b = bank[cls]
        if rng.random() < rates[cls]:
            if b["uncertain"] and rng.random() < 0.12:
                sent, state = _fill(rng, rng.choice(b["uncertain"])), "uncertain"
            else:
                picks = rng.sample(b["present"], k=min(2, len(b["present"])))
                sent, state = _fill(rng, picks[0]), "present"
                if len(picks) > 1 and rng.random() < 0.6:
                    impression.append(_fill(rng, picks[1]))
            findings.append(sent)
        elif b["absent"] and rng.random() < 0.5:
            sent, state = _fill(rng, rng.choice(b["absent"])), "absent"
            findings.append(sent)
        else:
            continue
        states[cls], evidence[cls] = state, sent
    if rng.random() < 0.5:
        findings.append(rng.choice(P.HEAD_CT_FILLER))
    rng.shuffle(findings)
    positive = any(s in POSITIVE for s in states.values())
    if normal:
        states[normal] = "absent" if positive else "present"
    if not impression:
        impression = [rng.choice(P.HEAD_CT_NORMAL)] if not positive else [findings[0]]
    text = (f"INDICATION: {rng.choice(P.HEAD_CT_INDICATIONS)}\n"
            f"TECHNIQUE: {rng.choice(P.HEAD_CT_TECHNIQUE)}\n"
            f"FINDINGS: {' '.join(findings)}\n"
            f"IMPRESSION: {' '.join(impression)}")
    return SyntheticReport(id=rid, text=text, labels=states, evidence=evidence,
                           meta={"style": "head_ct"})
