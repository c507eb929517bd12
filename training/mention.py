"""Mention-level student: per-class sentence classifiers distilled from the labeller's decisions.

The labeller decides a report class by class from the sentences that mention it (rule stage,
LM judge for hedged ones) and combines them: any present mention wins, the normal class is
derived from everything else. This student learns the per-sentence decisions instead of only
the report-level 0/1: every finding/impression sentence of a training report is one example per
class, with the state the teacher gave that sentence (``not_mentioned`` where the sentence does
not mention the class). At prediction time it reads each sentence, combines the sentence states
with the labeller's own rules (`radlabel.rules.mentions.combine_states`,
`radlabel.rules.normality.normal_state`) and returns calibrated report-level P(present).

Where the per-sentence decisions come from: a label record carries the report-level state per
class, the evidence sentence and the classes the LM judged. The rule stage that found the
mentions is deterministic, so training re-runs it on the report text and aligns it with the
record: sentences keep the rule reading where it agrees with the record's state; where the
record (an LM judgement, a gold or reviewed label) says otherwise, the mention sentences are
moved to the record's state. Gold/reviewed reports can be up-weighted.

Features are word 1-2-grams and char 3-5-grams (inside word boundaries), sublinear TF-IDF, l2
normalised, computed by this module in plain Python so that prediction needs only numpy (no
scikit-learn import, which costs seconds per process). Training uses scikit-learn's
LogisticRegression and IsotonicRegression. Saved as JSON + npz; nothing is pickled.
"""
from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

from radlabel.errors import InputError
from radlabel.rules.context import ContextRules
from radlabel.rules.mentions import combine_states, find_mentions
from radlabel.rules.normality import normal_state
from radlabel.rules.reading import rule_reading
from radlabel.schema import STATES
from radlabel.scores import f1_from_matrix
from radlabel.training.base import Classifier

WEIGHTS = "mention_weights.npz"
VOCAB = "mention_vocab.json"
SENT_STATES = ("not_mentioned", "absent", "uncertain", "present")  # sentence-level targets
_NM, _ABS, _UNC, _PRES = range(4)
_WORD = re.compile(r"\w+")


def _norm(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def word_features(w: str, char: tuple[int, int] = (3, 5)) -> list[str]:
    """The unigram and the char n-grams (inside word bounds) of one word."""
    feats = ["w:" + w]
    padded = " " + w + " "
    lo, hi = char
    for n in range(lo, min(hi, len(padded)) + 1):
        for i in range(len(padded) - n + 1):
            feats.append("c:" + padded[i:i + n])
    return feats


def analyze(text: str) -> list[str]:
    """Feature strings of one sentence: word uni/bigrams and char 3-5-grams inside word bounds."""
    words = _WORD.findall(_norm(text))
    feats = ["b:" + a + " " + b for a, b in zip(words, words[1:])]
    for w in words:
        feats.extend(word_features(w))
    return feats


class Featurizer:
    """Sublinear TF-IDF over `analyze`'s features with a fixed vocabulary (no scikit-learn)."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray):
        self.vocab = vocab
        self.idf = np.asarray(idf, dtype=np.float32)
        self._words: dict[str, list[int]] = {}  # word -> its feature ids (words repeat a lot)

    def ids(self, text: str) -> list[int]:
        """Vocabulary ids of `analyze(text)`'s features (with repeats), via a per-word cache."""
        vocab, cache = self.vocab, self._words
        words = _WORD.findall(_norm(text))
        out = []
        for a, b in zip(words, words[1:]):
            i = vocab.get("b:" + a + " " + b)
            if i is not None:
                out.append(i)
        for w in words:
            ids = cache.get(w)
            if ids is None:
                ids = cache[w] = [vocab[f] for f in word_features(w) if f in vocab]
            out.extend(ids)
        return out

    @classmethod
    def fit(cls, sentences: list[str], min_df: int = 2) -> "Featurizer":
        df: Counter = Counter()
        for s in sentences:
            df.update(set(analyze(s)))
        terms = sorted(t for t, c in df.items() if c >= min_df)
        n = len(sentences)
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
        return cls({t: i for i, t in enumerate(terms)}, idf)

    def rows(self, sentences: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (indptr, indices, values) of the l2-normalised sublinear TF-IDF rows."""
        flat: list[int] = []
        lens = np.zeros(len(sentences), dtype=np.int64)
        for k, s in enumerate(sentences):
            ids = self.ids(s)
            flat.extend(ids)
            lens[k] = len(ids)
        V = max(len(self.vocab), 1)
        rows = np.repeat(np.arange(len(sentences), dtype=np.int64), lens)
        keys, counts = np.unique(rows * V + np.asarray(flat, dtype=np.int64), return_counts=True)
        r, c = keys // V, keys % V
        v = ((1.0 + np.log(counts)) * self.idf[c]).astype(np.float32)
        norms = np.sqrt(np.bincount(r, weights=v.astype(np.float64) ** 2, minlength=len(sentences)))
        v /= np.maximum(norms[r], 1e-12).astype(np.float32)
        indptr = np.zeros(len(sentences) + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=len(sentences)), out=indptr[1:])
        return indptr, c, v

    def matrix(self, sentences: list[str]):
        from scipy.sparse import csr_matrix

        indptr, ind, val = self.rows(sentences)
        return csr_matrix((val, ind, indptr), shape=(len(sentences), len(self.vocab)))


def context_features(text: str, pattern, rules: ContextRules | None = None) -> list[str]:
    """How the sentence reads around each mention of one class (the span the ontology's
    synonyms match): the words just before and after it, the nearest ones marked, and the span.

    With ``rules`` (the labeller's ConText cues), also what the cues say about the mention: the
    state the cue category gives (``r:absent`` for a negation cue, ``r:uncertain`` for a hedge,
    ``r:not_mentioned`` for a hypothetical one, ``r:present`` when no cue governs it), the cue
    itself (``rc:``) and ``x:clause`` where the match spans a clause boundary. These are
    features with learned weights, not overrides: the heads learn how far to trust them."""
    feats = []
    for m in pattern.finditer(text):
        before = _WORD.findall(_norm(text[:m.start()]))[-6:]
        after = _WORD.findall(_norm(text[m.end():]))[:4]
        feats.append("h:" + " ".join(_WORD.findall(_norm(m.group(0)))))
        if rules is not None:
            if rules.crosses_clause(m.group(0)):
                feats.append("x:clause")
            state, cue = rules.state(text, m.start(), m.end())
            feats.append("r:" + state)
            if cue:
                feats.append("rc:" + state + ":" + " ".join(_WORD.findall(_norm(cue))))
        feats += ["p:" + w for w in before] + ["a:" + w for w in after]
        if before:
            feats.append("p1:" + before[-1])
            feats.append("p2:" + " ".join(before[-2:]))
        if after:
            feats.append("a1:" + after[0])
            feats.append("a2:" + " ".join(after[:2]))
    return feats


def phrase_gate(phrases: list[str]) -> tuple[str, ...] | None:
    """Word prefixes of which one must start a word of any sentence that a class's synonym
    pattern can match (`radlabel.ontology.phrase_pattern`: every phrase begins with its first
    word, literal but for a plural suffix when that word ends its chunk); None (no gate) when a
    phrase has no usable ASCII first word."""
    out = set()
    for p in phrases:
        chunks = [c.split() for c in p.split("...") if c.split()]
        if not chunks:
            continue
        first = chunks[0][0].lower()
        if len(chunks[0]) == 1 and first.endswith("y") and len(first) > 2:
            first = first[:-1]  # "opacity" also matches "opacities"
        m = re.match(r"\W*(\w+)", first)
        if m is None or not m.group(1).isascii():
            return None
        out.add(m.group(1))
    return tuple(sorted(out)) or None


class GatedPattern:
    """A class's synonym pattern behind `phrase_gate`: most sentences name none of a class's
    first words, and checking the words is far cheaper than running the alternation."""

    __slots__ = ("pattern", "gate")

    def __init__(self, pattern, phrases: list[str]):
        self.pattern, self.gate = pattern, phrase_gate(phrases)

    def finditer(self, text: str):
        gate = self.gate
        if gate is not None and not any(w.startswith(gate) for w in _WORD.findall(text.lower())):
            return iter(())
        return self.pattern.finditer(text)


def gated_patterns(ontology, classes: list[str]) -> list[GatedPattern]:
    by_name = {c.name: c for c in ontology.finding_classes}
    pats = ontology.synonym_patterns
    return [GatedPattern(pats[c], sorted(set(by_name[c].match_phrases))) for c in classes]


class ContextFeaturizer:
    """Binary, l2-normalised mention-context features with a fixed vocabulary (shared names
    across classes; each class has its own weights for them)."""

    def __init__(self, vocab: dict[str, int], rules: ContextRules | None = None):
        self.vocab = vocab
        self.rules = rules  # None: a model saved before the cue features (words only)

    @classmethod
    def fit(cls, sentences: list[str], patterns: list, min_df: int = 2,
            rules: ContextRules | None = None) -> "ContextFeaturizer":
        df: Counter = Counter()
        for pat in patterns:
            for s in sentences:
                df.update(set(context_features(s, pat, rules)))
        return cls({t: i for i, t in enumerate(sorted(t for t, c in df.items() if c >= min_df))},
                   rules)

    def rows(self, sentences: list[str], pattern) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        indptr, ind, val = [0], [], []
        for s in sentences:
            ids = sorted({self.vocab[f] for f in context_features(s, pattern, self.rules)
                          if f in self.vocab})
            if ids:
                ind.extend(ids)
                val.extend([1.0 / math.sqrt(len(ids))] * len(ids))
            indptr.append(len(ind))
        return (np.asarray(indptr, dtype=np.int64), np.asarray(ind, dtype=np.int64),
                np.asarray(val, dtype=np.float32))

    def matrix(self, sentences: list[str], pattern):
        from scipy.sparse import csr_matrix

        indptr, ind, val = self.rows(sentences, pattern)
        return csr_matrix((val, ind, indptr), shape=(len(sentences), max(len(self.vocab), 1)))


def _csr_dot(indptr, ind, val, M: np.ndarray) -> np.ndarray:
    """CSR rows times a dense matrix, numpy only."""
    out = np.zeros((len(indptr) - 1, M.shape[1]), dtype=np.float64)
    nonempty = np.diff(indptr) > 0
    if len(ind):
        out[nonempty] = np.add.reduceat(M[ind] * val[:, None], indptr[:-1][nonempty], axis=0)
    return out


def _sentence_scores(feat: Featurizer, W: np.ndarray, b: np.ndarray, sentences: list[str],
                     chunk: int = 512, ctx=None, cache: dict | None = None,
                     cache_size: int = 50_000) -> np.ndarray:
    """(n_sentences, C, 4) softmax state probabilities; W is (V, C*4), b is (C*4,).

    ``cache`` (sentence -> its (C, 4) row) keeps scores across calls: reports repeat their
    sentences ("No pneumothorax.") within a batch and across batches, so each distinct one is
    scored once per process (the cache is emptied when it reaches ``cache_size``)."""
    C = b.shape[0] // 4
    uniq: dict[str, int] = {}
    where = np.fromiter((uniq.setdefault(t, len(uniq)) for t in sentences), dtype=np.int64,
                        count=len(sentences))
    distinct = list(uniq)
    out = np.zeros((len(distinct), C, 4), dtype=np.float64)
    if cache is not None:
        todo = []
        for k, t in enumerate(distinct):
            row = cache.get(t)
            if row is None:
                todo.append(k)
            else:
                out[k] = row
    else:
        todo = list(range(len(distinct)))
    for s in range(0, len(todo), chunk):
        at = todo[s:s + chunk]
        part = [distinct[k] for k in at]
        indptr, ind, val = feat.rows(part)
        contrib = W[ind] * val[:, None]
        logits = np.zeros((len(part), W.shape[1]), dtype=np.float64)
        nonempty = np.diff(indptr) > 0
        if contrib.shape[0]:
            sums = np.add.reduceat(contrib, indptr[:-1][nonempty], axis=0)
            logits[nonempty] = sums
        logits = logits + b[None, :]
        if ctx is not None:  # (ContextFeaturizer, U (V2, C*4), patterns per class)
            cfeat, U, patterns = ctx
            for j, pat in enumerate(patterns):
                ip, ci, cv = cfeat.rows(part, pat)
                if len(ci):
                    logits[:, j * 4:(j + 1) * 4] += _csr_dot(ip, ci, cv, U[:, j * 4:(j + 1) * 4])
        logits = logits.reshape(len(part), C, 4)
        logits -= logits.max(-1, keepdims=True)
        e = np.exp(logits)
        out[at] = e / e.sum(-1, keepdims=True)
        if cache is not None:
            if len(cache) + len(part) > cache_size:
                cache.clear()
            cache.update(zip(part, out[at]))
    return out[where]


# -- training targets: align the rule stage's sentence readings with the record's states -------

def sentence_targets(text: str, labels: dict[str, str], classes: list[str], ontology, *,
                     binary: bool = False, stats: Counter | None = None):
    """(sentences, targets (n_sent, C) in SENT_STATES ids) for one labelled report.

    ``binary``: the labels are positives-only 0/1 gold (present vs not); only disagreements on
    present/not-present move sentence states there."""
    from radlabel.sections import report_sentences

    stats = stats if stats is not None else Counter()
    sents = report_sentences(text)
    T = np.zeros((len(sents), len(classes)), dtype=np.int64)
    if not sents:
        return [], T
    pos = {s.start: i for i, s in enumerate(sents)}
    mentions = find_mentions(text, ontology, sentences=sents)
    for j, cls in enumerate(classes):
        per: dict[int, list[str]] = {}
        for m in mentions.get(cls, []):
            i = pos.get(m.sentence.start)
            if i is not None:
                per.setdefault(i, []).append(m.state)
        sstate = {i: combine_states(v) for i, v in per.items()}
        rule = combine_states(list(sstate.values()))
        want = labels.get(cls, "not_mentioned")
        if binary:
            if (want == "present") == (rule == "present"):
                want = rule
            elif want != "present":
                want = "absent"
        if want != rule:
            stats["aligned"] += 1
            if want == "present":
                moved = [i for i, st in sstate.items() if st == "uncertain"] or list(sstate)
            elif rule == "present":
                moved = [i for i, st in sstate.items() if st == "present"]
            elif want == "not_mentioned":
                moved = list(sstate)
            else:
                moved = [i for i, st in sstate.items() if st == rule]
            if not moved:
                stats["unplaced"] += 1  # the record names a state no sentence carries
            for i in moved:
                sstate[i] = "absent" if want == "not_mentioned" else want
        for i, st in sstate.items():
            T[i, j] = SENT_STATES.index(st)
    return [s.text for s in sents], T


# -- the classifier ------------------------------------------------------------------------

class MentionClassifier(Classifier):
    variant = "mention"

    def __init__(self, classes, four_state=False, thresholds=None, info=None, *, featurizer=None,
                 W=None, b=None, finding_classes=None, normal_class=None, calib=None,
                 abstain=0.1, ontology=None, ctx_featurizer=None, U=None, anchor=None):
        super().__init__(classes, four_state, thresholds, info)
        self.anchor = dict(anchor or {})  # class -> stage-2 weights (`fit_anchor`)
        self.ctx_featurizer, self.U = ctx_featurizer, U
        self.featurizer, self.W, self.b = featurizer, W, b
        self.finding_classes = list(finding_classes or [])
        self.normal_class = normal_class
        self.calib = calib or {}  # class -> (x_thresholds, y_thresholds) of an isotonic fit
        self.abstain = float(abstain)
        self._ontology = ontology
        self._scores: dict[str, np.ndarray] = {}  # sentence -> (C, 4) state probabilities
        self._patterns: list[GatedPattern] | None = None
        self._rules: dict[str, dict[str, str]] = {}  # sentence -> the rule stage's states

    # -- raw scores -----------------------------------------------------------------------
    @property
    def ontology(self):
        if self._ontology is None:
            from radlabel.ontology import Ontology

            self._ontology = Ontology.load(self.info.get("classes_file"))
        return self._ontology

    def _analyse(self, texts: list[str]):
        from radlabel.sections import report_sentences

        sents = [report_sentences(t) for t in texts]
        flat = [s.text for ss in sents for s in ss]
        ctx = None
        if self.ctx_featurizer is not None:
            if self._patterns is None:
                self._patterns = gated_patterns(self.ontology, self.finding_classes)
            ctx = (self.ctx_featurizer, self.U, self._patterns)
        S = _sentence_scores(self.featurizer, self.W, self.b, flat, ctx=ctx,
                             cache=self._scores) if flat else \
            np.zeros((0, len(self.finding_classes), 4))
        bounds = np.cumsum([0] + [len(ss) for ss in sents])
        return sents, S, bounds

    def raw_scores(self, texts: list[str]):
        """Uncalibrated report P(present) per class, plus sentence states for the labels."""
        raw, states, _ = self._raw(texts)
        return raw, states

    def _raw(self, texts: list[str]):
        sents, S, bounds = self._analyse(texts)
        C = len(self.classes)
        raw = np.zeros((len(texts), C))
        states = []
        fidx = [self.classes.index(c) for c in self.finding_classes]
        nidx = self.classes.index(self.normal_class) if self.normal_class else None
        for r in range(len(texts)):
            block = S[bounds[r]:bounds[r + 1]]
            if block.shape[0]:
                p_pres = 1.0 - np.prod(1.0 - block[:, :, _PRES], axis=0)
                p_pu = 1.0 - np.prod(1.0 - block[:, :, _PRES] - block[:, :, _UNC], axis=0)
                arg = block.argmax(-1)
            else:
                p_pres = p_pu = np.zeros(len(fidx))
                arg = np.zeros((0, len(fidx)), dtype=int)
            raw[r, fidx] = p_pres
            fs = {c: combine_states([SENT_STATES[k] for k in arg[:, j]])
                  for j, c in enumerate(self.finding_classes)}
            states.append(fs)
            if nidx is not None:
                st, _ev = normal_state(fs, sents[r], self.ontology)
                raw[r, nidx] = float(np.prod(1.0 - np.clip(p_pu, 0, 1))) if st == "present" else 0.0
                fs[self.normal_class] = st
        return raw, states, sents

    def probabilities(self, texts: list[str]):
        """Calibrated P(present) (n, C) and the student's states; classes with a stage-2 head
        read the teacher's rule reading of each report too."""
        raw, states, sents = self._raw(list(texts))
        P = self.calibrated(raw)
        if self.anchor:
            readings = [rule_reading(t, self.ontology, sentences=ss, cache=self._rules)
                        for t, ss in zip(texts, sents)]
            P = apply_anchor(P, raw, readings, self.anchor, self.classes)
        return P, states

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        return apply_calibration(raw, self.calib, self.classes)

    def _proba(self, texts, **kw) -> np.ndarray:
        return self.probabilities(list(texts))[0]

    def decide(self, P: np.ndarray, states=None) -> list[dict]:
        out = []
        for i in range(P.shape[0]):
            labels, unsure = {}, []
            for j, c in enumerate(self.classes):
                p = float(P[i, j])
                st = states[i].get(c, "not_mentioned") if states is not None else None
                if p >= self.thresholds[j]:
                    labels[c] = "present"
                elif st is None or st == "present":
                    labels[c] = "uncertain" if st == "present" else "absent"
                else:
                    labels[c] = st
                if self.abstain > 0 and self.abstain <= p <= 1.0 - self.abstain:
                    unsure.append(c)
            out.append({"labels": labels, "probs": {c: round(float(P[i, j]), 6)
                                                    for j, c in enumerate(self.classes)},
                        "abstain": unsure})
        return out

    def predict(self, texts: list[str], **kw) -> list[dict]:
        P, states = self.probabilities(list(texts))
        return self.decide(P, states)

    # -- fitting -----------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: list[str], labels: list[dict[str, str]], sources: list[str], ontology, *,
            C: float = 8.0, gold_weight: float = 3.0, folds: int = 2, seed: int = 0,
            abstain: float = 0.1, info: dict | None = None,
            pseudo: list[dict[str, str] | None] | None = None, cue_features: bool = True,
            tune_cuts: bool = True, gold_weights: tuple[float, ...] = (),
            anchor: bool = True) -> "MentionClassifier":
        """Sentence heads on all reports; isotonic calibration on out-of-fold report scores.

        ``pseudo``: per report, the teacher's labels that a gold/reviewed record shadows (None
        where there are none). They are kept as examples of their own (weight 1) beside the gold
        ones (weight ``gold_weight``): a weighted union, so the teacher's sentence readings stay
        in the training set and gold moves only the sentences it contradicts.
        ``cue_features``: the labeller's ConText cues as mention-context features.
        ``tune_cuts``: per-class decision cuts on the calibrated out-of-fold scores of the
        training reports (F1-maximising), instead of 0.5.
        ``gold_weights``: candidate weights of the gold examples, one chosen by out-of-fold
        micro-F1 on the training reports (``gold_weight`` when empty or without gold).
        ``anchor``: with gold/reviewed reports, a second stage per class fitted on them alone
        (`fit_anchor`): P(present) from the teacher's rule reading of the report and the
        out-of-fold stage-1 score, so gold learns where the teacher goes wrong and the student
        follows the teacher where gold says nothing new."""
        classes = ontology.names
        findings = [c.name for c in ontology.finding_classes]
        normal = ontology.normal_class.name if ontology.normal_class else None
        stats: Counter = Counter()
        pseudo = list(pseudo) if pseudo is not None else [None] * len(texts)
        if len(pseudo) != len(texts):
            raise ValueError("pseudo must have one entry per report")
        per_report, rep_idx, ex_gold = [], [], []  # examples: (sentences, targets), report, trusted
        for i, (text, lab, src) in enumerate(zip(texts, labels, sources)):
            trusted = src in ("gold", "reviewed")
            binary = trusted and not any(v in ("uncertain", "not_mentioned") for v in lab.values())
            per_report.append(sentence_targets(text, lab, findings, ontology, binary=binary,
                                               stats=stats))
            rep_idx.append(i)
            ex_gold.append(trusted)
            if trusted and pseudo[i] is not None:
                per_report.append(sentence_targets(text, pseudo[i], findings, ontology))
                rep_idx.append(i)
                ex_gold.append(False)
                stats["pseudo_kept"] += 1
        n = len(texts)
        Yrep = np.array([[1 if lab.get(c) == "present" else 0 for c in classes] for lab in labels])
        if not per_report or sum(len(s) for s, _ in per_report) == 0:
            raise InputError("no report has a finding/impression sentence to learn from")
        sents = [s for ss, _ in per_report for s in ss]
        feat = Featurizer.fit(sents)  # unsupervised: one vocabulary for the folds and the final fit
        X = feat.matrix(sents)
        T = np.concatenate([t for ss, t in per_report if len(ss)], axis=0)
        report_of = np.concatenate([np.full(len(ss), r) for r, (ss, _) in zip(rep_idx, per_report)])
        gold_ex = np.concatenate([np.full(len(ss), g) for g, (ss, _) in zip(ex_gold, per_report)])
        w = np.ones(len(sents))  # pseudo examples weigh 1, gold/reviewed ones the gold weight
        pats = gated_patterns(ontology, findings)
        cfeat = ContextFeaturizer.fit(sents, pats, rules=ContextRules.default() if cue_features else None)
        Xc = [cfeat.matrix(sents, p) for p in pats]
        trusted_rep = np.array([s in ("gold", "reviewed") for s in sources])
        candidates = ([float(g) for g in gold_weights] if gold_weights and trusted_rep.any()
                      else [float(gold_weight)])

        def out_of_fold(gw: float):
            """Raw report scores of each report from heads fitted without it (2+ folds)."""
            wk = np.where(gold_ex, gw, w)
            raw = np.zeros((n, len(classes)))
            order = np.random.default_rng(seed).permutation(n)
            for k in range(folds):
                held = np.sort(order[k::folds])
                rows = ~np.isin(report_of, held)
                Wk, bk, Uk = cls._fit_heads(X[rows], T[rows], wk[rows], len(findings), C=C,
                                            seed=seed, Xc=[m[rows] for m in Xc])
                sub = cls(classes, False, None, info, featurizer=feat, W=Wk, b=bk,
                          finding_classes=findings, normal_class=normal, ontology=ontology,
                          ctx_featurizer=cfeat, U=Uk)
                raw[held], _ = sub.raw_scores([texts[i] for i in held])
            rep_w = np.where(trusted_rep, gw, 1.0)
            calib = fit_isotonic(raw, Yrep, classes, sample_weight=rep_w)
            P = apply_calibration(raw, calib, classes)
            cuts = decision_cuts(P, Yrep, rep_w) if tune_cuts else [0.5] * len(classes)
            pred = P >= np.asarray(cuts)[None, :]
            return calib, cuts, f1_from_matrix(Yrep == 1, pred).micro_f1, raw

        # out-of-fold raw report scores -> per-class isotonic calibration (and decision cuts);
        # with several gold weights, the one whose out-of-fold micro-F1 against the training
        # split's own labels is best (ties: the first listed)
        chosen, calib, cuts, tried, oof_raw = candidates[0], {}, None, {}, None
        if folds >= 2 and n >= 2 * folds:
            best = None
            for gw in candidates:
                c_, k_, f1, raw_ = out_of_fold(gw)
                if len(candidates) > 1:
                    tried[gw] = round(f1, 4)
                if best is None or f1 > best + 1e-9:
                    best, chosen, calib, cuts, oof_raw = f1, gw, c_, k_, raw_
        W, b, U = cls._fit_heads(X, T, np.where(gold_ex, chosen, w), len(findings), C=C, seed=seed,
                                 Xc=Xc)
        clf = cls(classes, False, [0.5] * len(classes), info, featurizer=feat, W=W, b=b,
                  finding_classes=findings, normal_class=normal, abstain=abstain, ontology=ontology,
                  ctx_featurizer=cfeat, U=U, calib=calib)
        if tune_cuts and cuts is not None:
            clf.thresholds = list(cuts)
        anchor_info = {}
        if anchor and oof_raw is not None and trusted_rep.sum() >= 2 * ANCHOR_FOLDS:
            # stage 2 (the gold stage): the gold/reviewed reports' labels against the teacher's
            # rule reading and the out-of-fold stage-1 score; the fitted heads replace the
            # isotonic map and the cut of the classes they cover
            t_idx = np.flatnonzero(trusted_rep)
            readings = [rule_reading(texts[i], ontology) for i in t_idx]
            clf.anchor, anchor_info = fit_anchor(readings, oof_raw[t_idx], Yrep[t_idx], classes,
                                                 seed=seed)
            for c in clf.anchor:
                clf.thresholds[classes.index(c)] = 0.5
        clf.info.update(sentence_examples=int(len(sents)), vocabulary=len(feat.vocab),
                        aligned_mentions=int(stats["aligned"]), unplaced=int(stats["unplaced"]),
                        pseudo_kept=int(stats["pseudo_kept"]), cue_features=bool(cue_features),
                        gold_weight=chosen, gold_weight_oof_f1=tried, tuned_cuts=bool(tune_cuts and cuts),
                        mention_c=C, calib_folds=folds, gold_stage=anchor_info,
                        no_positive=[c for j, c in enumerate(classes) if Yrep[:, j].sum() == 0])
        return clf

    @staticmethod
    def _fit_heads(X, T, w, K: int, *, C: float, seed: int, neg_ratio: float = 3.0, Xc=None):
        """One multinomial LR per class over sentence states. Sentences that do not mention the
        class are subsampled to `neg_ratio` x the mentioning ones and up-weighted to keep the prior."""
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(seed)
        from scipy.sparse import hstack

        W = np.zeros((X.shape[1], K * 4), dtype=np.float32)
        V2 = Xc[0].shape[1] if Xc else 1
        U = np.zeros((V2, K * 4), dtype=np.float32)
        b = np.full(K * 4, -30.0, dtype=np.float32)
        for j in range(K):
            y = T[:, j]
            vals = np.unique(y)
            if len(vals) == 1:  # one state everywhere (e.g. no positives): predict it
                b[j * 4 + int(vals[0])] = 0.0
                continue
            mentioned = np.flatnonzero(y != _NM)
            other = np.flatnonzero(y == _NM)
            keep_n = int(min(len(other), max(neg_ratio * len(mentioned), 200)))
            pick = np.sort(np.r_[mentioned, rng.choice(other, keep_n, replace=False)])
            sw = w[pick].astype(float)
            sw[y[pick] == _NM] *= len(other) / max(keep_n, 1)
            lr = LogisticRegression(C=C, max_iter=300, tol=1e-3, random_state=seed)
            Xj = hstack([X[pick], Xc[j][pick]]).tocsr() if Xc else X[pick]
            lr.fit(Xj, y[pick], sample_weight=sw)
            coef, icpt = lr.coef_, lr.intercept_
            if len(lr.classes_) == 2:  # binary: sklearn keeps one row for classes_[1]
                coef = np.vstack([-coef / 2, coef / 2])
                icpt = np.array([-icpt[0] / 2, icpt[0] / 2])
            for r, v in enumerate(lr.classes_.astype(int)):
                W[:, j * 4 + v] = coef[r][:X.shape[1]]
                if Xc:
                    U[:, j * 4 + v] = coef[r][X.shape[1]:]
                b[j * 4 + v] = icpt[r]
        return W, b, U

    # -- persistence (JSON + npz, no pickle) -----------------------------------------------
    def meta(self) -> dict:
        return {**super().meta(), "finding_classes": self.finding_classes,
                "normal_class": self.normal_class, "abstain": self.abstain,
                "cue_features": bool(self.ctx_featurizer is not None
                                     and self.ctx_featurizer.rules is not None),
                "calibration": {c: {"x": [float(v) for v in x], "y": [float(v) for v in y]}
                                for c, (x, y) in self.calib.items()},
                "gold_stage_heads": {c: [float(v) for v in w] for c, w in self.anchor.items()}}

    def _save_weights(self, out: Path) -> None:
        tmp = out / (WEIGHTS + ".tmp.npz")
        np.savez_compressed(tmp, W=self.W, b=self.b, idf=self.featurizer.idf,
                            U=self.U if self.U is not None else np.zeros((0, self.W.shape[1]), np.float32))
        os.replace(tmp, out / WEIGHTS)
        terms = [None] * len(self.featurizer.vocab)
        for t, i in self.featurizer.vocab.items():
            terms[i] = t
        tmpv = out / (VOCAB + ".tmp")
        ctx_terms = None
        if self.ctx_featurizer is not None:
            ctx_terms = [None] * len(self.ctx_featurizer.vocab)
            for t, i in self.ctx_featurizer.vocab.items():
                ctx_terms[i] = t
        tmpv.write_text(json.dumps({"terms": terms, "context_terms": ctx_terms}, ensure_ascii=False))
        os.replace(tmpv, out / VOCAB)
        if self._ontology is not None:
            (out / "classes.yaml").write_text(self._ontology.to_yaml(), encoding="utf-8")

    @classmethod
    def load(cls, model_dir, meta: dict, **kw) -> "MentionClassifier":
        d = Path(model_dir)
        with np.load(d / WEIGHTS, allow_pickle=False) as z:
            W, b, idf, U = z["W"], z["b"], z["idf"], z["U"]
        vocab = json.loads((d / VOCAB).read_text())
        terms, ctx_terms = vocab["terms"], vocab.get("context_terms")
        rules = ContextRules.default() if meta.get("cue_features") else None
        cfeat = (ContextFeaturizer({t: i for i, t in enumerate(ctx_terms)}, rules)
                 if ctx_terms is not None else None)
        if len(terms) != W.shape[0] or len(idf) != W.shape[0]:
            raise InputError("vocabulary and weights disagree in size", path=str(d / VOCAB))
        ontology = None
        if (d / "classes.yaml").exists():
            from radlabel.ontology import Ontology

            ontology = Ontology.load(str(d / "classes.yaml"))
        calib = {c: (np.asarray(v["x"]), np.asarray(v["y"])) for c, v in meta.get("calibration", {}).items()}
        return cls(meta["classes"], False, meta.get("thresholds"), meta,
                   featurizer=Featurizer({t: i for i, t in enumerate(terms)}, idf), W=W, b=b,
                   finding_classes=meta.get("finding_classes"), normal_class=meta.get("normal_class"),
                   calib=calib, abstain=kw.get("abstain", meta.get("abstain", 0.1)), ontology=ontology,
                   ctx_featurizer=cfeat, U=U if cfeat is not None else None,
                   anchor={c: np.asarray(w, dtype=float) for c, w in meta.get("gold_stage_heads", {}).items()})


# -- the gold stage: the teacher's reading plus the stage-1 score ------------------------------

ANCHOR_STATES = ("present", "uncertain", "absent")  # one-hot; not_mentioned is the baseline
ANCHOR_CS = (1.0, 10.0, 100.0)  # inverse L2 strengths tried out of fold
ANCHOR_FOLDS = 5
ANCHOR_MIN = 5  # gold positives (and negatives) a class needs for a head of its own


def anchor_features(readings: list[dict], raw: np.ndarray, cls: str, j: int) -> np.ndarray:
    """(n, 4): the teacher's state of the class one-hot (present, uncertain, absent) and the
    logit of the stage-1 report score."""
    oh = np.array([[1.0 if r.get(cls) == s else 0.0 for s in ANCHOR_STATES] for r in readings],
                  dtype=float).reshape(len(readings), len(ANCHOR_STATES))
    p = np.clip(raw[:, j], 1e-6, 1 - 1e-6)
    return np.c_[oh, np.log(p / (1 - p))]


def fit_anchor(readings: list[dict], raw: np.ndarray, Y: np.ndarray, classes: list[str], *,
               Cs=ANCHOR_CS, folds: int = ANCHOR_FOLDS, seed: int = 0,
               min_positives: int = ANCHOR_MIN) -> tuple[dict, dict]:
    """Per class, logistic regression of the gold label on `anchor_features` (the teacher's
    reading, the out-of-fold stage-1 score), fitted on the gold/reviewed reports only: Platt
    scaling of the student with the teacher's state as covariates. Where the teacher is right,
    the state weights carry it; gold moves a label only where the stage-1 score explains the
    teacher's errors. One L2 strength for all classes, chosen by out-of-fold micro-F1 (at 0.5)
    on these reports (ties: the stronger). Classes with fewer than ``min_positives`` gold
    positives or negatives keep their isotonic map. Returns ({class: [w (4), bias]}, info)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    Y = np.asarray(Y) > 0
    cols = [j for j in range(len(classes))
            if min(int(Y[:, j].sum()), int((~Y[:, j]).sum())) >= min_positives]
    if not cols or len(readings) < 2 * folds:
        return {}, {}
    X = {j: anchor_features(readings, raw, classes[j], j) for j in cols}

    def fit(Xa, ya, C):
        lr = LogisticRegression(C=C, max_iter=1000).fit(Xa, ya)
        return np.r_[lr.coef_[0], lr.intercept_[0]]

    teacher = np.array([[r.get(classes[j]) == "present" for j in cols] for r in readings])
    scores = {}
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(np.arange(len(readings))))
    for C in sorted(Cs):
        pred = np.zeros((len(readings), len(cols)), dtype=bool)
        for a, b in splits:
            for k, j in enumerate(cols):
                ya = Y[a, j]
                pred[b, k] = (_head_prob(fit(X[j][a], ya, C), X[j][b]) >= 0.5 if ya.min() != ya.max()
                              else bool(ya[0]))
        scores[C] = f1_from_matrix(Y[:, cols], pred).micro_f1
    best = max(scores, key=lambda C: (round(scores[C], 9), -C))
    heads = {classes[j]: fit(X[j], Y[:, j], best) for j in cols}
    return heads, {"c": best, "oof_f1": {str(C): round(v, 4) for C, v in scores.items()},
                   "teacher_f1": round(f1_from_matrix(Y[:, cols], teacher).micro_f1, 4),
                   "classes": [classes[j] for j in cols], "reports": len(readings)}


def apply_anchor(P: np.ndarray, raw: np.ndarray, readings: list[dict], heads: dict,
                 classes: list[str]) -> np.ndarray:
    """P with the stage-2 probability in the columns of the classes that have a head."""
    P = P.copy()
    for c, w in heads.items():
        j = classes.index(c)
        P[:, j] = _head_prob(np.asarray(w), anchor_features(readings, raw, c, j))
    return P


def _head_prob(w: np.ndarray, X: np.ndarray) -> np.ndarray:
    """P(present) of one stage-2 head: weights ``w[:-1]``, intercept ``w[-1]``."""
    return 1.0 / (1.0 + np.exp(-(X @ w[:-1] + w[-1])))


# -- calibration helpers ---------------------------------------------------------------------

def fit_isotonic(P: np.ndarray, Y: np.ndarray, classes: list[str], sample_weight=None) -> dict:
    """Per-class isotonic maps (scikit-learn), kept as their breakpoints for np.interp."""
    from sklearn.isotonic import IsotonicRegression

    out = {}
    for j, c in enumerate(classes):
        y = Y[:, j]
        if y.min() == y.max():
            continue
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(P[:, j], y, sample_weight=sample_weight)
        out[c] = (np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float))
    return out


def apply_calibration(raw: np.ndarray, calib: dict, classes: list[str]) -> np.ndarray:
    """Raw report scores through each class's isotonic map (classes without one unchanged)."""
    P = raw.copy()
    for j, c in enumerate(classes):
        if c in calib:
            x, y = calib[c]
            P[:, j] = np.interp(raw[:, j], x, y)
    return P


def decision_cuts(P: np.ndarray, Y: np.ndarray, sample_weight=None, *, lo: float = 0.2,
                  hi: float = 0.8, min_positives: int = 20) -> list[float]:
    """Per-class cut on calibrated P(present) that maximises (weighted) F1 on held-out scores,
    kept inside [lo, hi] (a cut outside would make calibrated probabilities and labels disagree
    badly); 0.5 for a class with fewer than `min_positives` positives: there the isotonic map has
    a few wide steps, and a cut chosen on them does not carry over (at 30% of the IU split a
    Fracture cut of 0.25 called 34 held-out reports present)."""
    w = np.ones(len(P)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    grid = np.round(np.arange(lo, hi + 1e-9, 0.05), 2)
    cuts = []
    for j in range(P.shape[1]):
        y = Y[:, j] > 0
        if y.sum() < max(min_positives, 1):
            cuts.append(0.5)
            continue
        best, best_f1 = 0.5, -1.0
        for t in sorted(grid, key=lambda t: abs(t - 0.5)):  # ties go to the cut nearest 0.5
            pred = P[:, j] >= t
            tp = float(w[pred & y].sum())
            f1 = 2 * tp / (2 * tp + float(w[pred & ~y].sum()) + float(w[~pred & y].sum()))
            if f1 > best_f1 + 1e-12:
                best, best_f1 = float(t), f1
        cuts.append(best)
    return cuts


def expected_calibration_error(P: np.ndarray, Y: np.ndarray, bins: int = 10) -> float:
    """ECE over all (report, class) pairs: |accuracy - confidence| of P(present), 10 equal bins."""
    p = np.asarray(P, dtype=float).ravel()
    y = np.asarray(Y, dtype=float).ravel()
    if p.size == 0:
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for k in range(bins):
        m = which == k
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)
