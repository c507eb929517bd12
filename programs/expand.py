"""`radlabel classes expand`: an optimizer of the ontology. The corpus and the LM supply the
vocabulary a names-only class file lacks.

A class file written as people write it (a name and a one-line definition per class) matches a
class only where a report uses its name. ``expand_ontology`` learns, once per ontology and corpus,
the other wordings the user's own reports use, and writes them into an ordinary class file as
``learned:`` phrases with provenance (see ``radlabel.ontology``). Per class:

(a) **mine** candidate phrases from the unlabelled reports: 1-4 word n-grams of finding and
    impression sentences (``radlabel.sections``) that neither start nor end with a function word
    or a negation cue (noun-chunk-like spans), occurring in at least ``min_count`` reports. They
    are ranked by embedding similarity to the class (the packaged sentence encoder,
    ``retrieval.embeddings``), by how their contexts (the words of the sentences they occur in)
    resemble the contexts of the class's current vocabulary (its name, or the terms of its
    definition when the name never occurs), and by frequency. Phrases that already contain the
    class's vocabulary or another class's are skipped, and so is a single word that only
    modifies the class name ("intracranial" of "Intracranial Hemorrhage") or belongs to another
    class's name. So are modifiers (a word nearly always followed by another content word:
    "focal", "acute"; a phrase that ends in one: "heart size mildly"), words mostly found in
    normal-worded sentences (where reports name anatomy: "heart", "ventricles") and
    de-identification masks ("XXXX"). Other forms of a word of the name (same stem:
    "atelectatic" for Atelectasis) are judged first, phrases the class's own definition uses get
    a bonus; the top ``top_k`` go to the LM. A phrase the LM accepts for several classes stays
    with the class whose name it is a form of ("fracture" for "Fractures, Bone", not for the
    Humerus whose definition gives "e.g. a fracture"), else with the class it was surest of. A
    phrase that the reports affirming it keep denying the class beside ("low lung volumes" where
    the same reports say "no consolidation": at least ``max_contradiction`` of them) is dropped
    before the LM sees it. A candidate is dropped after an earlier one whose pattern it holds
    ("left pleural thickening" after "pleural thickening"), not after one that holds it: the
    singular "calcification" stays a candidate after the plural, whose pattern does not match it.
(0) **site classes**: a class named after a body part ("Aorta: an abnormality of the aorta, such
    as tortuosity or ectasia") is not stated by a report that mentions the organ. Step (e)'s
    class-free question is asked of the name, read in its own definition; where "a body part"
    gets calibrated probability >= ``site_bar`` (and the user wrote no synonyms) the class
    becomes ``role: site``: its name is no longer vocabulary, the organ's own words are no
    candidates for any class, nor are locations made of the site classes' words ("thoracic
    aorta", "right clavicle": ``OntologyExpander.anatomy_only``); phrases that hold the name
    and a finding word ("tortuous aorta") are, and no name variants are asked for. A site
    class that learns no synonym keeps its name (``_mark_sites``).
(a') **the definition's own examples**: items a definition lists ("Medical hardware such as
    tubes, lines or catheters"; after "such as", "including", "e.g.", "for example", "stated
    as") that occur in the corpus, in the form it uses (singular or plural; "rib, clavicle or
    vertebral fractures" gives "rib fractures"), are judged first, like (b) but at the lower bar
    ``accept_example``: the user wrote them, so the LM only has to confirm the reading in
    context. Those already vocabulary, modifiers of the name and masks are skipped; the
    contradiction test of (a) is not applied: the user put them in the class ("includes vascular
    congestion", which reports write beside "no edema").
(b) **judge in context**: the LM reads one corpus sentence that affirms the phrase (no negation
    or hedge at it, by the cue rules; any sentence holding it when none does) and answers
    "in this sentence, does <phrase> name <class>?" yes/no. With a likelihood-capable LM
    (the embedded model, servers with logprobs) this is one forward pass scored by
    ``programs.likelihood.score_options`` with content-free calibration; otherwise a
    ``dspy.Predict`` with a ``Literal["yes", "no"]`` output. ``judge="choice"`` asks instead
    what the phrase describes (A the class, B another abnormality, C a body part, D a normal
    state or the examination) and keeps it when A wins: it accepts more, right and wrong, and
    scored below yes/no on both benchmark sets (``docs/benchmarks.md``). The mining filters
    of (a) carry most of the precision either way. ``veto=True`` also asks a single accepted
    word step (e)'s class-free question and drops it unless it reads as an abnormality
    ("pleura" for Pleural Effusion); off by default, as it vetoed findings as often as anatomy.
(c) **propose variants**: the LM lists abbreviations and lexical variants of the class name; only
    those that occur in the corpus (as phrases, through the same matcher the labeller uses) and
    are neither matched already nor modifiers (the filter of (a): "focal" listed for Opacity)
    are judged like (b) and kept.
(d) **normal phrases**: short, frequent sentences with a generic normality word ("normal",
    "unremarkable", "clear", ...) that mention no class, ranked by embedding similarity, are put
    to the LM: "does this sentence state that there is no <class>?" yes/no.
(e) **abnormality words** (ontologies with a normal class): a names-only file says nothing
    about the abnormalities outside its class list, so "degenerative change of the spine"
    would leave the report normal. Words of affirmed, non-normal finding sentences that the
    ontology's vocabulary does not yet explain (``OntologyExpander.abnormal_candidates``) are put
    to the LM as a choice (abnormality / body part / normal state / the examination, with
    content-free calibration); the winners become ``abnormal_term`` entries of the normal class,
    kept as their word family (``family_stem``: "degenerat*" for "degenerative", so the report
    that says "degeneration" is not normal either); a candidate of a learned family is not asked.

Cost is bounded: at most ``top_k + max_variants`` scored questions, one short generation and
``max_normal`` scorings per class, plus ``max_abnormal`` for the ontology, whatever the corpus
size. Every LM answer is appended to a
cache file next to the output (``EXPANDED.yaml.cache.jsonl``) as soon as it is known, keyed by the
model and the exact prompt, so an interrupted run resumes where it stopped and a rerun is free.
Temperature 0 and sorted candidate lists make the run deterministic.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

import numpy as np

from radlabel.data import iter_reports
from radlabel.errors import InputError
from radlabel.lm.config import LMConfig, load_config
from radlabel.lm.factory import make_lm
from radlabel.ontology import ClassDef, LearnedPhrase, Ontology, check_phrase, phrase_pattern
from radlabel.programs.likelihood import calibrate, score_options
from radlabel.retrieval.embeddings import get_embedder
from radlabel.rules.context import ContextRules
from radlabel.rules.normality import abnormal_pattern, terms_regex, uninformative_words
from radlabel.sections import report_sentences

# Generic English: function words and negation/hedge cues a mined phrase may not start or end
# with. Nothing here is specific to a modality.
FUNCTION_WORDS = frozenset("""
a an the and or but nor of in on at to for from by with within without into onto over under
above below between along across than then there here this that these those it its is are was
were be been being has have had do does did can could may might will would shall should must
as if so such very more most less least also again further both each either neither other any
all some no not none nor few many much which who whom whose what when where while how why
per via s vs versus which one two three four five six seven eight nine ten i ii iii
is are seen noted identified demonstrated visualized shown present appear appears appearing
again now new old compared comparison prior previous previously since unchanged stable
""".split())
NEGATION_WORDS = frozenset("""
no not without negative free absent absence denies denied rule ruled exclude excluded
possible possibly probable probably likely unlikely suspect suspected suspicious questionable
cannot cant may might could concern concerning consider considered versus
""".split())
NORMAL_WORDS = ("normal", "normally", "unremarkable", "clear", "intact", "within normal limits",
                "preserved", "maintained", "patent", "symmetric", "midline", "negative")
MODIFIER_SHARE = 0.6  # a word followed by another content word in this share of its uses modifies it
_NORMAL_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, NORMAL_WORDS)) + r")\b")
TOKEN = r"(?u)\b[a-z][a-z0-9]*(?:[-'/][a-z0-9]+)*\b"
CACHE_SUFFIX = ".cache.jsonl"
YES_NO = ("yes", "no")
CHOICES = ("A", "B", "C", "D")  # the choice questions' options, A = the answer that accepts
VARIANT_TOKENS = 64  # the variants answer is a short comma-separated list


@dataclass
class ExpandSettings:
    top_k: int = 6            # mined candidates judged per class
    max_variants: int = 4     # LM-proposed variants (found in the corpus) judged per class
    max_normal: int = 3       # normal-phrase candidates judged per class
    max_n: int = 4            # longest n-gram mined
    min_count: int = 2        # reports a phrase must occur in
    min_similarity: float = 0.3  # embedding similarity floor for a mined candidate
    accept: float = 0.5       # calibrated P(yes) needed to accept (judge="yesno")
    judge: str = "yesno"      # "yesno": calibrated P(yes) >= accept; "choice": A/B/C/D, A wins
    variants: bool = True     # step (c)
    normal: bool = True       # step (d)
    abnormal: bool = True     # step (e): abnormality words for the normal class
    max_abnormal: int = 80    # abnormality-word candidates judged
    stems: bool = True        # an accepted abnormality word is kept as its family ("degenerat*")
    max_pool: int = 20000     # most frequent n-grams embedded
    max_contradiction: float = 0.3  # share of the reports affirming a phrase that deny the class
    veto: bool = False        # an accepted single word must also read as an abnormality (step e's
    # question); off by default: on the benchmark sets it vetoed as many findings as body parts
    examples: bool = True     # judge the examples the definition lists ("such as X, Y or Z") first
    accept_example: float = 0.35  # calibrated P(yes) enough for a phrase the user's definition lists
    sites: bool = True        # detect classes named after a body part (role: site)
    site_bar: float = 0.75    # calibrated P(body part) of the name, read in its own definition

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class ExpandSummary:
    lm_calls: int = 0
    cached_calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    reports: int = 0
    sentences: int = 0
    candidates: int = 0
    added: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected_not_in_corpus: dict[str, list[str]] = field(default_factory=dict)

    @property
    def minutes(self) -> float:
        return round(self.seconds / 60, 2)

    def as_dict(self) -> dict:
        return {"lm_calls": self.lm_calls, "cached_calls": self.cached_calls, "tokens": self.tokens,
                "minutes": self.minutes, "reports": self.reports, "sentences": self.sentences,
                "candidates": self.candidates, "added": self.added,
                "phrases_added": sum(n for v in self.added.values() for k, n in v.items()
                                     if k not in ("dropped_to_other_class", "contradicted")),
                "rejected_not_in_corpus": self.rejected_not_in_corpus}


# -- corpus -------------------------------------------------------------------------------------
@dataclass
class Corpus:
    """Distinct finding/impression sentences of the reports, with the reports they occur in."""

    sentences: list[str]           # distinct, as written (first occurrence)
    reports_of: list[list[str]]    # report ids per distinct sentence
    n_reports: int

    @classmethod
    def from_reports(cls, reports: Iterable) -> "Corpus":
        index: dict[str, int] = {}
        sentences, reports_of, n = [], [], 0
        for r in reports:
            rid, text = (r.id, r.text) if hasattr(r, "id") else (str(r["id"]), r["text"])
            n += 1
            for s in report_sentences(text or ""):
                key = " ".join(s.text.lower().split())
                if not re.search(r"[a-z]", key):
                    continue
                i = index.get(key)
                if i is None:
                    i = index[key] = len(sentences)
                    sentences.append(s.text)
                    reports_of.append([])
                if not reports_of[i] or reports_of[i][-1] != str(rid):
                    reports_of[i].append(str(rid))
        if not sentences:
            raise InputError(f"the corpus has no finding or impression sentences ({n} reports): "
                             "expansion learns from the user's own reports", field="reports")
        return cls(sentences, reports_of, n)

    def occurrences(self, pattern: re.Pattern) -> tuple[int, str | None, list[int]]:
        """(reports containing, one example report id, indexes of the distinct sentences)."""
        ids: set[str] = set()
        hits = []
        for i, s in enumerate(self.sentences):
            if pattern.search(s):
                hits.append(i)
                ids.update(self.reports_of[i])
        example = min(ids, key=_id_key) if ids else None
        return len(ids), example, hits


def _id_key(x: str):
    return (len(x), x)


def _phrase_ok(words: list[str]) -> bool:
    if words[0] in FUNCTION_WORDS or words[-1] in FUNCTION_WORDS:
        return False
    if any(w in NEGATION_WORDS for w in words):
        return False
    if sum(len(w) for w in words) < 3 or all(not w.isalpha() for w in words):
        return False
    if _NORMAL_RE.search(" ".join(words)):
        return False  # "lungs are clear" says something is absent; step (d) handles those
    return True


# -- LM answers, cached -----------------------------------------------------------------------
class _Cache:
    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[str, object] = {}
        if path and path.exists():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by an interruption: asked again
                    self.data[rec["key"]] = rec["value"]

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value) -> None:
        self.data[key] = value
        if self.path:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"key": key, "value": value}) + "\n")
                f.flush()


class _Asker:
    """Yes/no and list questions to the LM, each answered once per (model, prompt)."""

    def __init__(self, lm, cache: _Cache, summary: ExpandSummary):
        self.lm, self.cache, self.summary = lm, cache, summary
        self.model = str(getattr(lm, "model", type(lm).__name__))
        self._likelihood = None  # unknown until tried

    def _key(self, kind: str, prompt: str) -> str:
        return hashlib.sha256(f"{self.model}\x00{kind}\x00{prompt}".encode()).hexdigest()[:32]

    def _scored(self, prompt: str, options=YES_NO) -> dict | None:
        if self._likelihood is False:
            return None
        p = score_options(self.lm, prompt, list(options))
        self._likelihood = p is not None
        if p is not None:
            self._count(getattr(self._engine(), "last_prompt_tokens", 0) or len(prompt) // 4)
        return p

    def _engine(self):
        return getattr(self.lm, "_engine_spec", None) or getattr(self.lm, "engine", None)

    def _count(self, tokens: int) -> None:
        self.summary.lm_calls += 1
        self.summary.tokens += int(tokens)

    def _content_free(self, make_prompt, options, kind: str) -> dict | None:
        """Content-free prior of the options for this prompt shape (Zhao et al. 2021)."""
        key = self._key(kind, make_prompt("N/A"))
        hit = self.cache.get(key)
        if hit is not None:
            self.summary.cached_calls += 1
            return hit or None
        acc = None
        for x in ("N/A", "", "[MASK]"):
            p = self._scored(make_prompt(x), options)
            if p is None:
                break
            acc = p if acc is None else {k: acc[k] + p[k] for k in acc}
        prior = {k: v / 3 for k, v in acc.items()} if acc and self._likelihood else {}
        self.cache.put(key, prior)
        return prior or None

    def prior(self, make_prompt) -> dict | None:
        return self._content_free(make_prompt, YES_NO, "prior")

    def choice_prior(self, make_prompt) -> dict | None:
        return self._content_free(make_prompt, CHOICES, "choice-prior")

    def _answer(self, kind: str, prompt: str, options, generate, prior: dict | None):
        """Option probabilities for ``prompt``: cached, else scored, else one generation
        (``generate()`` -> the chosen option); calibrated by ``prior`` when given."""
        key = self._key(kind, prompt)
        hit = self.cache.get(key)
        if hit is not None:
            self.summary.cached_calls += 1
            p = hit
        else:
            p = self._scored(prompt, options)
            if p is None:
                chosen = generate()
                p = {k: 1.0 if k == chosen else 0.0 for k in options}
            self.cache.put(key, p)
        return calibrate(p, prior) if prior and set(p) == set(options) else dict(p)

    def yes(self, prompt: str, prior: dict | None = None) -> float:
        """Calibrated probability that the answer is yes."""
        gen = lambda: "yes" if self._generate_yes_no(prompt) else "no"  # noqa: E731
        return float(self._answer("yesno", prompt, YES_NO, gen, prior)["yes"])

    def choice(self, prompt: str, prior: dict | None = None) -> dict[str, float]:
        """Probabilities of the options A-D (calibrated by ``prior`` when given)."""
        return self._answer("choice", prompt, CHOICES, lambda: self._generate_choice(prompt), prior)

    def _generate_choice(self, prompt: str) -> str:
        import dspy

        class Choose(dspy.Signature):
            """Answer the question about a radiology report sentence with one letter."""

            question: str = dspy.InputField()
            answer: Literal["A", "B", "C", "D"] = dspy.OutputField()

        out = self._predict(dspy.Predict(Choose), question=prompt)
        letter = str(getattr(out, "answer", "") or "").strip().upper()[:1]
        return letter if letter in CHOICES else "D"

    def _generate_yes_no(self, prompt: str) -> bool:
        import dspy

        class YesNo(dspy.Signature):
            """Answer the question about a radiology report sentence with yes or no."""

            question: str = dspy.InputField()
            answer: Literal["yes", "no"] = dspy.OutputField()

        out = self._predict(dspy.Predict(YesNo), question=prompt)
        return str(getattr(out, "answer", "no")).strip().lower().startswith("y")

    def variants(self, cls: ClassDef) -> list[str]:
        import dspy

        class ProposeVariants(dspy.Signature):
            """List the abbreviations, synonyms and spelling or lexical variants that radiology
            reports use for this finding, as a comma-separated list of short phrases."""

            finding: str = dspy.InputField()
            definition: str = dspy.InputField()
            variants: str = dspy.OutputField(desc="comma-separated short phrases")

        key = self._key("variants", f"{cls.name}\x00{cls.definition}")
        hit = self.cache.get(key)
        if hit is not None:
            self.summary.cached_calls += 1
            return list(hit)
        out = self._predict(dspy.Predict(ProposeVariants), finding=cls.name,
                            definition=cls.definition, max_tokens=VARIANT_TOKENS)
        text = str(getattr(out, "variants", "") or "")
        found = [p.strip(" .;:\"'()[]") for p in re.split(r"[,;\n]|\bor\b", text)]
        found = [p for p in dict.fromkeys(found) if p and len(p) <= 60][:12]
        self.cache.put(key, found)
        return found

    def _predict(self, module, max_tokens: int | None = None, **kw):
        import dspy
        from dspy.utils.usage_tracker import track_usage

        lm = self.lm
        if max_tokens and hasattr(lm, "copy") and hasattr(lm, "kwargs"):
            lm = lm.copy(max_tokens=max_tokens)  # a short list, not a paragraph: CPU time
        with dspy.context(lm=lm), track_usage() as usage:
            try:
                out = module(**kw)
            except Exception:  # an unparseable answer from a small model: counted, no phrase
                out = None
        n_entries = 0
        for entries in usage.usage_data.values():
            for e in entries:
                n_entries += 1
                self.summary.tokens += int(e.get("total_tokens") or
                                           (e.get("prompt_tokens", 0) + e.get("completion_tokens", 0)))
        self.summary.lm_calls += max(n_entries, 1)
        return out


# -- prompts ------------------------------------------------------------------------------------
def names_prompt(cls: ClassDef, sentence: str, phrase: str) -> str:
    return ("You check the vocabulary of a radiology labelling system.\n"
            f"Finding: {cls.name}. Definition: {cls.definition}\n"
            f'Report sentence: "{sentence}"\n'
            f'Question: in this sentence, does the phrase "{phrase}" name the finding '
            f"{cls.name} (the finding itself or a kind of it, not a different finding, an organ or "
            "a location)? Answer yes or no.")


def choice_prompt(cls: ClassDef, sentence: str, phrase: str) -> str:
    """Step (b) as a choice among kinds of word (``judge="choice"``): on a probe the embedded
    1.5B told anatomy from findings this way, but on the benchmark sets it accepted more junk
    than yes/no, so it is not the default."""
    return ("You check the vocabulary of a radiology labelling system.\n"
            f"Finding: {cls.name}. Definition: {cls.definition}\n"
            f'Report sentence: "{sentence}"\n'
            f'What does the phrase "{phrase}" describe in this sentence?\n'
            f"A) {cls.name}, or a kind of it\n"
            "B) a different abnormality\n"
            "C) a body part, organ or location\n"
            "D) a normal state, the examination or a comparison\n"
            "Answer with one letter.")


def abnormal_prompt(sentence: str, word: str) -> str:
    """Step (e): is this word, in this sentence, an abnormality (for the normal class)? Also the
    veto on accepted synonyms (``ExpandSettings.veto``): a phrase that reads as a body part, a
    normal state or the examination names no finding."""
    kind = "phrase" if " " in word.strip() else "word"
    return ("You check the vocabulary of a radiology labelling system.\n"
            f'Report sentence: "{sentence}"\n'
            f'What does the {kind} "{word}" describe in this sentence?\n'
            "A) an abnormality: a disease, lesion, abnormal shape, size or position, a surgery "
            "or a device\n"
            "B) a body part, organ or location\n"
            "C) a normal state\n"
            "D) the examination, its technique, or a comparison\n"
            "Answer with one letter.")


def _wins(p: dict[str, float], option: str = "A") -> bool:
    return p.get(option, 0.0) > max(v for k, v in p.items() if k != option)


def normal_prompt(cls: ClassDef, sentence: str) -> str:
    return ("You check the vocabulary of a radiology labelling system.\n"
            f"Finding: {cls.name}. Definition: {cls.definition}\n"
            f'Report sentence: "{sentence}"\n'
            f"Question: does this sentence, on its own, state that there is no {cls.name}? "
            "Answer yes or no.")


# -- the program --------------------------------------------------------------------------------
class OntologyExpander:
    """Mining and ranking (no LM) plus the LM steps; see the module docstring."""

    def __init__(self, ontology: Ontology, corpus: Corpus, *, embedder=None,
                 settings: ExpandSettings | None = None, embedding_cache: str | Path | None = None):
        self.ontology, self.corpus = ontology, corpus
        self.embedding_cache = Path(embedding_cache) if embedding_cache else None
        self.settings = settings or ExpandSettings()
        self._embedder = embedder
        self._mine()

    @property
    def embedder(self):
        if self._embedder is None:

            self._embedder = get_embedder()
        return self._embedder

    def _mine(self) -> None:
        from sklearn.feature_extraction.text import CountVectorizer

        s = self.settings
        sents = [x.lower() for x in self.corpus.sentences]
        weights = np.array([len(r) for r in self.corpus.reports_of], dtype=np.float64)
        vec = CountVectorizer(ngram_range=(1, s.max_n), token_pattern=TOKEN, binary=True,
                              lowercase=True, dtype=np.float32)
        P = vec.fit_transform(sents).tocsc()  # distinct sentences x n-grams
        vocab = vec.get_feature_names_out()
        freq = np.asarray(P.T @ weights).ravel()  # sentence occurrences ~ reports
        keep = [j for j in np.argsort(-freq, kind="stable")
                if freq[j] >= s.min_count and _phrase_ok(vocab[j].split())][: s.max_pool]
        keep.sort(key=lambda j: (-freq[j], vocab[j]))
        self.phrases = [str(vocab[j]) for j in keep]
        self.freq = freq[keep]
        self.P = P[:, keep].tocsc()
        # contexts: the words of the sentences a phrase occurs in (tf-idf, L2-normalised)
        words = [j for j, v in enumerate(vocab) if " " not in v and v not in FUNCTION_WORDS]
        X = P[:, words].tocsr()
        df = np.asarray((X > 0).sum(axis=0)).ravel()
        self.idf = np.log((1 + X.shape[0]) / (1 + df)) + 1.0
        self.X = X
        C = (self.P.T @ X).tocsr().astype(np.float64)
        self.C = _l2_rows(C.multiply(self.idf).tocsr())
        self._vecs = None
        # how each phrase is used: as a modifier (a single word mostly followed by another
        # content word: "focal", "acute") and in normal-worded sentences (anatomy: "heart",
        # "lungs" are where reports say what is normal)
        rules = self._rules = ContextRules.default()
        self._denied: dict[str, set[str]] = {}
        self._scans: dict[str, tuple[int, str | None, list[int], list[int]]] = {}
        self._forms: dict[str, set[int]] = {}
        normal_rows = np.array([bool(rules.states_normality(x)) for x in self.corpus.sentences])
        normal_w = weights * normal_rows
        self.normal_share = (np.asarray(self.P.T @ normal_w).ravel() / np.maximum(self.freq, 1))
        follow = Counter()  # over every bigram, however rare
        for j, p in enumerate(vocab):
            w = p.split()
            if len(w) == 2 and w[1] not in FUNCTION_WORDS:
                follow[w[0]] += freq[j]
        unigram = {p: f for p, f in zip(self.phrases, self.freq) if " " not in p}
        word_follow = {w: follow[w] / max(unigram[w], 1) for w in follow if w in unigram}
        self.follow_share = np.array([word_follow.get(p.split()[-1], 0.0)
                                      for p in self.phrases])  # of the phrase's last word

    @property
    def vecs(self) -> np.ndarray:
        if self._vecs is None:
            self._vecs = self.embed(self.phrases)
        return self._vecs

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings through the on-disk cache (``embedding_cache``): a resumed run, or another
        ontology on the same corpus, does not encode the same phrases again."""
        cache = self.embedding_cache
        if cache is None:
            return self.embedder.embed(texts)
        if not hasattr(self, "_emb_store"):
            self._emb_store = {}
            if cache.exists():
                with np.load(cache, allow_pickle=False) as z:
                    self._emb_store = dict(zip(z["texts"].tolist(), z["vecs"]))
        missing = [t for t in dict.fromkeys(texts) if t not in self._emb_store]
        if missing:
            for t, v in zip(missing, self.embedder.embed(missing)):
                self._emb_store[t] = v
            keys = sorted(self._emb_store)
            tmp = cache.with_name(cache.name + ".tmp.npz")
            np.savez(tmp, texts=np.array(keys), vecs=np.stack([self._emb_store[k] for k in keys]))
            tmp.replace(cache)
        return np.stack([self._emb_store[t] for t in texts]) if texts else np.zeros((0, 1))

    def _matches(self, pat: re.Pattern | None, phrase: str) -> bool:
        return bool(pat and pat.search(phrase))

    def candidates(self, cls: ClassDef, k: int | None = None) -> list[tuple[str, float]]:
        """The top mined phrases for ``cls``: (phrase, score), best first."""
        k = self.settings.top_k if k is None else k
        if not self.phrases or k <= 0:
            return []
        pats = self.ontology.synonym_patterns
        own = pats.get(cls.name)
        qs = self.embed([f"{cls.name}: {cls.definition}", cls.name])
        emb = np.maximum(self.vecs @ qs[0], self.vecs @ qs[1])
        ctx = self._context_similarity(cls, own)
        fr = np.log1p(self.freq) / math.log1p(max(self.freq.max(), 1))
        score = 0.6 * emb + 0.3 * ctx + 0.1 * fr
        forms = self.name_forms(cls)
        for j in forms:
            score[j] += 1.0  # another form of a word of the name: judged first
        in_definition = self.definition_phrases(cls)
        for j in in_definition:
            score[j] += 0.3  # the user's own definition uses it
        out: list[tuple[str, float]] = []
        for j in np.argsort(-score, kind="stable"):
            if len(out) >= k or score[j] <= 0:
                break
            p = self.phrases[j]
            if emb[j] < self.settings.min_similarity and j not in forms:
                continue
            if self._matches(own, p) or any(self._matches(pat, p) for n, pat in pats.items()
                                            if n != cls.name):
                continue  # already this class's vocabulary, or another class's
            if self._modifier_only(cls, p) or self.anatomy_only(p, cls):
                continue  # a place the ontology names: the organ's own words ("aortic",
                # "lungs") or a location ("thoracic aorta"), not a finding
            if j not in forms and (self.follow_share[j] >= MODIFIER_SHARE
                                   or self.normal_share[j] >= 0.5):
                continue  # a modifier ("focal"), a phrase cut before its head ("heart size
                # mildly"), or where reports say what is normal ("heart")
            if _masked(p):
                continue  # a de-identification mask ("xxxx")
            if any(re.search(phrase_pattern(q), p) for q, _ in out):
                continue  # "left pleural thickening" after "pleural thickening" (but not
                # "calcification" after "calcifications": the plural does not match the singular)
            out.append((p, float(score[j])))
        return out

    @property
    def site_stems(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(stems of the site classes' name words, stems of the finding classes' name words,
        the site classes' name words of five letters or more).
        A site stem is ``word_stem(w, 4)`` ("aortic" for Aorta, "mediastinal" for Mediastinum);
        a finding stem ``word_stem(w)``, the rule of ``name_forms`` ("bronchitis" is a form of
        Bronchitis, not of Bronchi)."""
        if not hasattr(self, "_site_stems"):
            def words(classes):
                return {w for c in classes for w in re.findall(TOKEN, c.name.lower()) if len(w) >= 4}

            def stems(ws, least):
                return tuple(sorted({word_stem(w, least) for w in ws}))
            classes = self.ontology.finding_classes
            sites = words([c for c in classes if c.is_site])
            self._site_stems = (stems(sites, 4),
                                stems(words([c for c in classes if not c.is_site]), 5),
                                tuple(sorted(w for w in sites if len(w) >= 5)))
            self._place_skip = FUNCTION_WORDS | self._rules.stop_words
        return self._site_stems

    def anatomy_only(self, phrase: str, cls: ClassDef | None = None) -> bool:
        """Every content word of ``phrase`` is a body part the ontology names, the rest stop
        words ("right", "left"): a form of a word of a site class's name or a compound holding
        one ("hemidiaphragm") that holds no stem of a finding class's name word, or (``cls`` a
        site class) a form of its own name. Such a phrase is a location ("thoracic aorta",
        "right clavicle", "aortic"), which the class question tends to accept for the organ or a
        finding of it. False for an ontology without site classes."""
        sites, findings, whole = self.site_stems
        if not sites:
            return False
        own = ()
        if cls is not None and cls.is_site:
            own = tuple(word_stem(w, 4) for w in re.findall(TOKEN, cls.name.lower())
                        if len(w) >= 4)

        def place(w: str) -> bool:  # "aortic"; a compound holding an organ: "hemidiaphragm"
            return ((w.startswith(sites) or any(x in w for x in whole))
                    and not any(x in w for x in findings))
        words = [w for w in re.findall(TOKEN, phrase.lower()) if w not in self._place_skip]
        return bool(words) and all((own and w.startswith(own)) or place(w) for w in words)

    def contradiction(self, cls: ClassDef, phrase: str) -> tuple[float, int]:
        """(share, n): of the n reports that affirm ``phrase`` (ConText: no negation, hedge or
        hypothetical at the match), the share that also deny the class in its own words ("no
        consolidation"). A phrase the same reports keep affirming while denying the class
        ("low lung volumes ... no focal consolidation") is no name of it."""
        rules = self._rules
        if cls.name not in self._denied:
            own = self.ontology.synonym_patterns.get(cls.name)
            denied: set[str] = set()
            if own is not None:
                for i, sent in enumerate(self.corpus.sentences):
                    if any(rules.state(sent, m.start(), m.end())[0] == "absent"
                           for m in own.finditer(sent)):
                        denied.update(self.corpus.reports_of[i])
            self._denied[cls.name] = denied
        denied = self._denied[cls.name]
        affirmed = {r for i in self.scan(phrase)[3] for r in self.corpus.reports_of[i]}
        if not affirmed:
            return 0.0, 0
        return len(affirmed & denied) / len(affirmed), len(affirmed)

    def contradicts(self, cls: ClassDef, phrase: str) -> bool:
        share, n = self.contradiction(cls, phrase)
        return n >= self.settings.min_count + 1 and share >= self.settings.max_contradiction

    @property
    def _index(self) -> dict[str, int]:
        if not hasattr(self, "_phrase_index"):
            self._phrase_index = {p: j for j, p in enumerate(self.phrases)}
        return self._phrase_index

    def name_forms(self, cls: ClassDef) -> set[int]:
        """Mined single words that are other forms of a word of the class name: the same stem
        (a shared prefix of at least five letters and all but the last three of the name word),
        e.g. an adjective or a Greek/Latin plural ("atelectatic", "emphysematous"). None for a
        site class: the forms of an organ's name are anatomy. Kept per class: the ranking and
        the claims between classes both ask."""
        if cls.name in self._forms:
            return self._forms[cls.name]
        out = set()
        for w in re.findall(r"[a-z]+", cls.name.lower()) if not cls.is_site else ():
            if len(w) < 5:
                continue
            stem = word_stem(w)
            for p, j in self._index.items():
                if " " not in p and p != w and p.startswith(stem):
                    out.add(j)
        self._forms[cls.name] = out
        return out

    def definition_phrases(self, cls: ClassDef) -> set[int]:
        """Mined phrases (1-3 words) that the class's own definition uses (the last word
        singular or plural: "pacemaker" for "... or pacemakers")."""
        words = re.findall(TOKEN, cls.definition.lower())
        out = set()
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                head, last = words[i:i + n - 1], words[i + n - 1]
                forms = {last, last[:-1] if last.endswith("s") else last,
                         last[:-2] if last.endswith("es") else last,
                         last[:-3] + "y" if last.endswith("ies") else last}
                for f in forms:
                    j = self._index.get(" ".join([*head, f]))
                    if j is not None:
                        out.add(j)
        return out

    def definition_examples(self, cls: ClassDef) -> list[str]:
        """The wordings a definition lists as examples of its class: the items after "such as",
        "including", "e.g.", "for example" or "stated as", up to the end of the clause, split
        at commas, "or" and "and" ("Medical hardware such as tubes, lines or catheters" ->
        tube, line, catheter), leading articles dropped. A list whose first item starts with
        another function word says where or whence, not what ("e.g. from a prior study", "e.g.
        of a rib, clavicle or vertebra" for a fracture): it gives no example. An item is kept
        in the form the corpus uses (a plural item also matches its singular) and only if the
        corpus has it in ``min_count`` reports."""
        out: list[str] = []
        for m in _EXAMPLE_CUE.finditer(cls.definition):
            items = []
            for item in re.split(r",|;|\bor\b|\band\b|/", m.group(1), flags=re.I):
                words = re.findall(TOKEN, item.lower())
                while words and words[0] in _ARTICLES:
                    words = words[1:]
                if words and words[0] in FUNCTION_WORDS:
                    if not items:  # the list says where or whence, not what: "e.g. from a
                        break      # prior study", "e.g. of a rib, clavicle or vertebra"
                    continue
                if words:
                    items.append(words)
            # "rib, clavicle or vertebral fractures": a bare singular word modifies the plural
            # head of the next longer item ("rib fractures"); a plural one is a noun of its own
            # ("infiltrates, densities and patchy opacities")
            for i, w in enumerate(items):
                if len(w) == 1 and not w[0].endswith("s"):
                    nxt = next((v for v in items[i + 1:] if len(v) > 1), None)  # its phrase
                    if nxt and nxt[-1].endswith("s") and not nxt[-1].endswith(("ss", "us", "is")):
                        items[i] = [*w, nxt[-1]]
            for words in items:
                if not words or len(words) > self.settings.max_n or not _phrase_ok(words):
                    continue
                last = words[-1]
                forms = [last]
                for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
                    if (last.endswith(suffix) and len(last) > len(suffix) + 2
                            and not last.endswith(("ss", "us", "is"))):  # "tuberculosis"
                        forms.append(last[: -len(suffix)] + repl)
                best = None
                for f in reversed(forms):  # the singular first: its pattern matches the plural
                    phrase = " ".join([*words[:-1], f])
                    count = self.scan(phrase)[0]
                    if count >= self.settings.min_count and (best is None or count > best[1]):
                        best = (phrase, count)
                if best and best[0] not in out:
                    out.append(best[0])
        return out

    def abnormal_candidates(self, ontology: Ontology, k: int,
                            rules: ContextRules | None = None) -> list[tuple[str, str, int, str | None]]:
        """Step (e): words that make finding sentences state an abnormality no class names.

        A sentence is *unexplained* when it is affirmed (no negation, hedge or hypothetical cue),
        has no normal wording (the generic cue file) and no word of the ontology's current
        "states an abnormality" vocabulary (``radlabel.rules.normality``). Without more vocabulary
        such a sentence lets the normal class be present. Its content words are ranked by
        ``A * A / (A + N)``: A the reports where the word is in an unexplained sentence, N those
        where it is in a normal or negated one (anatomy is in both). Returns (word, example
        sentence, A, example report id), best first."""
        rules = rules or self._rules
        pat = abnormal_pattern(ontology, rules)
        skip = uninformative_words(ontology, rules) | FUNCTION_WORDS | NEGATION_WORDS
        affirmed: Counter = Counter()
        other: Counter = Counter()
        example: dict[str, int] = {}
        for i, sent in enumerate(self.corpus.sentences):
            n = len(self.corpus.reports_of[i])
            words = {w for w in re.findall(r"[a-z][a-z-]*[a-z]", sent.lower())
                     if len(w) > 3 and w not in skip and len(set(w)) > 1}  # "xxxx": a mask
            if not words:
                continue
            if rules.states_normality(sent) or rules.sentence_state(sent)[0] != "present":
                other.update({w: n for w in words})
                continue
            if pat is not None and pat.search(sent):
                continue
            affirmed.update({w: n for w in words})
            for w in words:
                j = example.get(w)
                if j is None or (-len(self.corpus.reports_of[i]), len(sent)) < (
                        -len(self.corpus.reports_of[j]), len(self.corpus.sentences[j])):
                    example[w] = i
        scored = sorted((w for w in affirmed if affirmed[w] >= self.settings.min_count),
                        key=lambda w: (-affirmed[w] ** 2 / (affirmed[w] + other[w]), w))
        out = []
        for w in scored[:k]:
            i = example[w]
            ids = self.corpus.reports_of[i]
            out.append((w, self.corpus.sentences[i], affirmed[w], min(ids, key=_id_key)))
        return out

    def _modifier_only(self, cls: ClassDef, phrase: str) -> bool:
        """A single word that is a modifier of this class's name ("intracranial" of Intracranial
        Hemorrhage: names a place, not the finding) or a word of another class's name."""
        if " " in phrase:
            return False
        head, _, modifiers = cls.name.lower().partition(",")  # "Hypertension, Pulmonary"
        words = re.findall(TOKEN, f"{modifiers} {head}")
        if phrase in words[:-1]:
            return True
        return any(phrase in re.findall(TOKEN, c.name.lower())
                   for c in self.ontology.finding_classes if c.name != cls.name)

    def _context_similarity(self, cls: ClassDef, own: re.Pattern | None) -> np.ndarray:
        seed = [i for i, s in enumerate(self.corpus.sentences) if own and own.search(s)]
        if not seed:  # the name never occurs: the sentences holding its definition's terms
            terms = [w for w in re.findall(TOKEN, cls.definition.lower())
                     if w not in FUNCTION_WORDS and len(w) > 3]
            if terms:
                pat = re.compile("|".join(phrase_pattern(t) for t in terms), re.IGNORECASE)
                seed = [i for i, s in enumerate(self.corpus.sentences) if pat.search(s)]
        if not seed:
            return np.zeros(len(self.phrases))
        v = np.asarray(self.X[seed].sum(axis=0)).ravel() * self.idf
        n = np.linalg.norm(v)
        if n == 0:
            return np.zeros(len(self.phrases))
        return np.asarray(self.C @ (v / n)).ravel()

    def example_sentence(self, phrase: str) -> tuple[str, int, str | None]:
        """A typical corpus sentence holding ``phrase``, with the reports count and one example
        report id: among the sentences that affirm it (ConText: no negation, hedge or
        hypothetical at the match), the most frequent, then shortest; any sentence when none
        does. The LM is asked whether the phrase names a class *in this sentence*, and the
        embedded 1.5B answers no for a phrase read in a negation ("both lungs are free of <it>")."""
        count, example, hits, affirmed = self.scan(phrase)
        if not hits:
            return "", 0, None
        sents = self.corpus.sentences
        best = min(affirmed or hits, key=lambda i: (-len(self.corpus.reports_of[i]),
                                                    len(sents[i]), i))
        return sents[best], count, example

    def scan(self, phrase: str) -> tuple[int, str | None, list[int], list[int]]:
        """(reports containing ``phrase``, one example report id, the distinct sentences holding
        it, those of them that affirm it by the cue rules), computed once per phrase:
        ``example_sentence`` and ``contradiction`` ask about the same phrases."""
        hit = self._scans.get(phrase)
        if hit is None:
            pat = re.compile(phrase_pattern(phrase), re.IGNORECASE)
            count, example, hits = self.corpus.occurrences(pat)
            rules, sents = self._rules, self.corpus.sentences
            affirmed = [i for i in hits
                        if any(rules.state(sents[i], m.start(), m.end())[0] == "present"
                               for m in pat.finditer(sents[i]))]
            hit = self._scans[phrase] = (count, example, hits, affirmed)
        return hit

    def normal_candidates(self, cls: ClassDef, k: int) -> list[str]:
        """Short, frequent sentences with a normality word that mention no class."""
        if k <= 0:
            return []
        if not hasattr(self, "_normal_pool"):
            norm = re.compile(r"\b(?:" + "|".join(map(re.escape, NORMAL_WORDS)) + r")\b", re.I)
            pats = list(self.ontology.synonym_patterns.values())
            pool = []
            for i, s in enumerate(self.corpus.sentences):
                if len(self.corpus.reports_of[i]) < self.settings.min_count:
                    continue
                if len(s.split()) > 10 or not norm.search(s) or any(p.search(s) for p in pats):
                    continue
                pool.append(i)
            pool.sort(key=lambda i: (-len(self.corpus.reports_of[i]), i))
            self._normal_pool = pool[:400]
            texts = [self.corpus.sentences[i] for i in self._normal_pool]
            self._normal_vecs = self.embed(texts) if texts else np.zeros((0, 1))
        if not self._normal_pool:
            return []
        q = self.embed([f"no {cls.name}; {cls.definition}"])[0]
        sims = self._normal_vecs @ q
        order = np.argsort(-sims, kind="stable")[:k]
        return [self.corpus.sentences[self._normal_pool[j]] for j in order
                if sims[j] >= self.settings.min_similarity]


_ARTICLES = frozenset("a an the any some".split())  # dropped before a definition's example
_EXAMPLE_CUE = re.compile(r"\b(?:such as|including|includes?|e\.\s?g\.?|for example|stated as)\s+"
                          r"([^.;:()]+)", re.I)


def _l2_rows(M):
    from sklearn.preprocessing import normalize

    return normalize(M, norm="l2", axis=1, copy=False)


def _normal_phrase(sentence: str) -> str:
    """A sentence as a normal phrase: lower case, final punctuation dropped."""
    return " ".join(re.sub(r"[.;:!?]+$", "", sentence.strip()).split()).lower()


def expand_ontology(classes, reports, *, lm=None, output: str | Path | None = None,
                    settings: ExpandSettings | None = None, embedder=None, progress: bool = True,
                    cache_path: str | Path | None = None,
                    embedding_cache: str | Path | None = None) -> tuple[Ontology, ExpandSummary]:
    """Expand a class file with vocabulary learned from ``reports``; see the module docstring.

    Args:
        classes: class file path, bundled set name or an Ontology.
        reports: a reports file (any format ``radlabel label`` reads) or an iterable of Report /
            ``{"id", "text"}`` objects. Only text is used: no labels are needed.
        lm: a `dspy.LM`, an LMConfig or a model string (default: the configured / embedded LM).
        output: where to write the expanded class file (and, next to it, the answer cache
            ``OUTPUT.cache.jsonl`` and the phrase-embedding cache ``OUTPUT.cache.jsonl.emb.npz``).
    Returns the expanded ontology and a summary (LM calls, tokens, minutes, phrases per class).
    """
    t0 = time.perf_counter()
    s = settings or ExpandSettings()
    onto = classes if isinstance(classes, Ontology) else Ontology.load(classes)
    if isinstance(reports, (str, Path)):

        reports = iter_reports(reports)
    corpus = Corpus.from_reports(reports)
    summary = ExpandSummary(reports=corpus.n_reports, sentences=len(corpus.sentences))
    lm = _resolve_lm(lm)
    if cache_path is None and output is not None:
        cache_path = Path(str(output) + CACHE_SUFFIX)
    if embedding_cache is None and cache_path is not None:
        embedding_cache = Path(str(cache_path) + ".emb.npz")
    asker = _Asker(lm, _Cache(Path(cache_path) if cache_path else None), summary)
    if s.sites:
        onto = _mark_sites(onto, asker, s)
    ex = OntologyExpander(onto, corpus, embedder=embedder, settings=s,
                          embedding_cache=embedding_cache)
    summary.candidates = len(ex.phrases)

    name_prior = normal_prior = abnormal_prior = None
    new_classes = []
    claims: dict[str, list[tuple[bool, float, str]]] = {}  # synonym -> (a name form?, P, class)
    bar = _progress(onto.classes, progress)
    for cls in bar:
        if cls.is_normal:
            new_classes.append(cls)
            continue
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(cls.name[:30])
        if name_prior is None and s.judge == "yesno":
            name_prior = asker.prior(lambda x: names_prompt(cls, x, x)) or {}
        learned = list(cls.learned)
        have = {lp.phrase.lower() for lp in learned} | {p.lower() for p in cls.match_phrases}
        added = Counter()
        forms = ex.name_forms(cls)

        def judge(phrase: str, sentence: str, accept: float | None = None) -> bool:
            nonlocal abnormal_prior
            if s.judge == "yesno":
                p = asker.yes(names_prompt(cls, sentence, phrase), name_prior)
                ok = p >= (s.accept if accept is None else accept)
            else:
                # uncalibrated: option A names this class, so a content-free prior would also
                # divide out the class's own plausibility
                probs = asker.choice(choice_prompt(cls, sentence, phrase))
                p, ok = probs.get("A", 0.0), _wins(probs)
            if ok and s.veto and " " not in phrase.strip():
                # the class question is answered yes for anatomy near the finding too ("pleura"
                # for Pleural Effusion, "mediastinal" for Mediastinum): the class-free question
                # must also read a single word as an abnormality (not for longer phrases: "pleural
                # fluid" reads as a body part to the 1.5B)
                if abnormal_prior is None:
                    abnormal_prior = asker.choice_prior(lambda x: abnormal_prompt(x, x)) or {}
                if not _wins(asker.choice(abnormal_prompt(sentence, phrase), abnormal_prior)):
                    added["vetoed"] += 1
                    ok = False
            if ok:
                claims.setdefault(phrase.lower(), []).append(
                    (ex._index.get(phrase.lower(), -1) in forms, p, cls.name))
            return ok

        # the examples the user's definition lists, judged first at a lower bar
        if s.examples:
            for phrase in ex.definition_examples(cls):
                if phrase.lower() in have or _ex_skip(ex, onto, cls, phrase):
                    continue
                # no contradiction test: the user put it in the class ("includes vascular
                # congestion", which reports often write beside "no edema")
                sentence, count, example = ex.example_sentence(phrase)
                if judge(phrase, sentence, s.accept_example):
                    learned.append(LearnedPhrase(phrase=phrase, kind="synonym", source="lm",
                                                 count=count, example_id=example))
                    have.add(phrase.lower())
                    added["definition_examples"] += 1
        # (a) + (b): mined candidates judged in context
        for phrase, _score in ex.candidates(cls):
            sentence, count, example = ex.example_sentence(phrase)
            if not count or phrase.lower() in have:
                continue
            if ex.contradicts(cls, phrase):
                added["contradicted"] += 1
                continue
            if judge(phrase, sentence):
                learned.append(LearnedPhrase(phrase=phrase, kind="synonym", source="lm",
                                             count=count, example_id=example))
                have.add(phrase.lower())
                added["mined"] += 1
        # (c): LM-proposed abbreviations and variants, kept only where the corpus has them
        # (not for a site class: the variants of an organ's name are more anatomy)
        if s.variants and s.max_variants > 0 and not cls.is_site:
            judged = 0
            for v in asker.variants(cls):
                if judged >= s.max_variants:
                    break
                try:
                    v = check_phrase(v)
                except ValueError:
                    continue
                if v.lower() in have:
                    continue
                sentence, count, example = ex.example_sentence(v)
                if count < 1:
                    summary.rejected_not_in_corpus.setdefault(cls.name, []).append(v)
                    continue
                if any(pat.search(v) for pat in onto.synonym_patterns.values()):
                    continue  # already this class's vocabulary ("opacities") or another's
                j = ex._index.get(v.lower())
                if j is not None and ex.follow_share[j] >= MODIFIER_SHARE:
                    added["modifiers"] += 1
                    continue  # a modifier the LM listed as a variant ("focal" of Opacity)
                if ex.contradicts(cls, v):
                    added["contradicted"] += 1
                    continue
                judged += 1
                if judge(v, sentence):
                    learned.append(LearnedPhrase(phrase=v, kind="synonym", source="lm",
                                                 count=count, example_id=example))
                    have.add(v.lower())
                    added["variants"] += 1
        # (d): normal phrases
        if s.normal and s.max_normal > 0:
            have_normal = {p.lower() for p in cls.all_normal_phrases}
            for sentence in ex.normal_candidates(cls, s.max_normal):
                phrase = _normal_phrase(sentence)
                if phrase in have_normal or not re.search(r"\w", phrase):
                    continue
                if normal_prior is None:
                    normal_prior = asker.prior(lambda x: normal_prompt(cls, x)) or {}
                if asker.yes(normal_prompt(cls, sentence), normal_prior) >= s.accept:
                    _, count, example = ex.example_sentence(phrase)
                    learned.append(LearnedPhrase(phrase=phrase, kind="normal_phrase", source="lm",
                                                 count=count, example_id=example))
                    have_normal.add(phrase)
                    added["normal_phrases"] += 1
        update = {"learned": learned}
        if cls.is_site:
            added["site"] = 1
            if not any(lp.kind == "synonym" for lp in learned):
                # nothing learned names its abnormalities: keep matching the name, as before
                update["role"] = None
                added["site"] = 0
        summary.added[cls.name] = dict(added)
        new_classes.append(cls.model_copy(update=update))

    # a phrase accepted for several classes ("pleural fluid": effusion, pneumothorax, edema)
    # names the class whose name it is a form of, else the one the LM was surest of
    owner = {ph: max(c)[2] for ph, c in claims.items() if len(c) > 1}
    if owner:
        new_classes = [c.model_copy(update={"learned": [
            lp for lp in c.learned if lp.kind != "synonym" or owner.get(lp.phrase.lower(), c.name) == c.name]})
            for c in new_classes]
        for ph, name in owner.items():
            for *_, other in claims[ph]:
                if other != name:
                    summary.added.setdefault(other, {})
                    summary.added[other]["dropped_to_other_class"] = \
                        summary.added[other].get("dropped_to_other_class", 0) + 1
    expanded = Ontology(new_classes, source=str(output) if output else "<expanded>",
                        vocabulary=onto.vocabulary)
    # (e): words that state an abnormality no class names (the normal class must not hold)
    normal = expanded.normal_class
    if s.abnormal and s.max_abnormal > 0 and normal is not None:
        prior = asker.choice_prior(lambda x: abnormal_prompt(x, x))
        learned = list(normal.learned)
        have = {lp.phrase.lower() for lp in learned}
        n_added = 0
        stems: list[re.Pattern] = []
        cands = ex.abnormal_candidates(expanded, s.max_abnormal)
        for word, sentence, count, example in _progress(cands, progress, "abnormality words",
                                                        "word"):
            if word in have or any(st.fullmatch(word) for st in stems):
                continue  # learned already, or another form of a learned word
            if _wins(asker.choice(abnormal_prompt(sentence, word), prior)):
                term = family_stem(word) if s.stems else word
                pat = terms_regex([term])
                n, _, _ = corpus.occurrences(pat)
                learned.append(LearnedPhrase(phrase=term, kind="abnormal_term", source="lm",
                                             count=max(n, count), example_id=example))
                have.add(term)
                stems.append(pat)
                n_added += 1
        summary.added[normal.name] = {"abnormal_terms": n_added}
        expanded = Ontology([normal.model_copy(update={"learned": learned}) if c is normal else c
                             for c in expanded.classes], source=expanded.source,
                            vocabulary=onto.vocabulary)
    # the result must load as a class file (duplicate names, empty phrases: one clear error)
    expanded = Ontology.from_yaml(expanded.to_yaml(), source=str(output or "<expanded>"))
    summary.seconds = time.perf_counter() - t0
    if output is not None:
        Path(output).write_text(expanded.to_yaml(header=_header(onto, corpus, asker, s, summary)),
                                encoding="utf-8")
    return expanded, summary


def word_stem(word: str, least: int = 5) -> str:
    """The stem the expansion compares word forms by: all but the last three letters, at least
    ``least`` (the whole word when shorter).

    >>> word_stem("atelectasis"), word_stem("aorta", 4), word_stem("lung")
    ('atelecta', 'aort', 'lung')
    """
    return word[:max(least, len(word) - 3)]


def family_stem(word: str) -> str:
    """The abnormal term kept for an accepted abnormality word: its family, all but the last
    three letters (at least five) and ``*``, so the other forms of the word count too
    ("degenerative" -> "degenerat*": degeneration, degenerated). Words of up to five letters
    are kept as they are.

    >>> family_stem("degenerative"), family_stem("tortuous"), family_stem("clips")
    ('degenerat*', 'tortu*', 'clips')
    """
    if len(word) <= 5 or not word.isalpha():
        return word
    return word_stem(word) + "*"


def _mark_sites(onto: Ontology, asker: "_Asker", s: ExpandSettings) -> Ontology:
    """Classes named after a body part ("Aorta: an abnormality of the aorta, such as tortuosity
    or ectasia"), marked ``role: site`` so that their name alone is not vocabulary: a report
    mentions the organ mostly to say it is normal, or to state another finding of it. Step (e)'s
    class-free question is asked of the name, read in the class's own definition; a class is a
    site when "a body part, organ or location" gets calibrated probability >= ``site_bar``. Only
    classes without user-written synonyms (those are the user's decision) and without a role.
    A site class that learns no synonym gets its name back (``expand_ontology``). Needs an LM
    that gives likelihoods (the embedded model, servers with logprobs): a generated letter has
    no probability to hold against the bar, and the 1.5B's first choice for findings such as
    "Pneumonia" is often B."""
    prior = asker.choice_prior(lambda x: abnormal_prompt(x, x))
    if not prior:
        return onto
    out = []
    for c in onto.classes:
        if c.role is None and not c.synonyms:
            p = asker.choice(abnormal_prompt(c.definition, c.name), prior)
            if p.get("B", 0.0) >= s.site_bar:
                c = c.model_copy(update={"role": "site"})
        out.append(c)
    if out == list(onto.classes):  # no site
        return onto
    return Ontology(out, source=onto.source, vocabulary=onto.vocabulary)


def _ex_skip(ex: OntologyExpander, onto: Ontology, cls: ClassDef, phrase: str) -> bool:
    """A definition example that is already vocabulary (this class's or another's), a word of
    a class name that only modifies it, a mask, or a single word that is nearly always a
    modifier ("borderline", "subsegmental": followed by another content word in >= 80% of its
    uses). The mined phrases' other filters do not apply: the user wrote the example, and its
    normal-worded share counts its negations too ("no pleural fluid")."""
    pats = onto.synonym_patterns
    if any(pat.search(phrase) for pat in pats.values()):
        return True
    if ex._modifier_only(cls, phrase):
        return True
    j = ex._index.get(phrase)
    if j is not None and " " not in phrase and ex.follow_share[j] >= 0.8:
        return True
    return _masked(phrase)


def _masked(phrase: str) -> bool:
    """A de-identification mask ("xxxx") among the words."""
    return any(len(set(w)) == 1 and len(w) > 2 for w in phrase.split())


def _header(onto, corpus, asker, s, summary) -> str:
    return (f"Expanded by `radlabel classes expand` from {onto.source} on {corpus.n_reports} reports "
            f"({len(corpus.sentences)} distinct finding sentences) with {asker.model}.\n"
            f"learned: phrases the corpus and the LM added (source, count of reports, one example "
            "report id);\nprune freely: the user's synonyms are as written.\n"
            f"settings: {json.dumps(s.as_dict())}\n"
            f"cost: {summary.lm_calls} LM calls ({summary.cached_calls} from the cache), "
            f"{summary.tokens} tokens, {summary.minutes} min")


def _resolve_lm(lm):
    if lm is not None and not isinstance(lm, str) and not hasattr(lm, "model_dump"):
        return lm

    cfg = lm if isinstance(lm, LMConfig) else load_config(model=lm)
    return make_lm(cfg)


def _progress(items, enabled: bool, desc: str = "expanding classes", unit: str = "class"):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit)
