"""Class sets (ontologies): which findings exist, what they mean, and how reports name them.

A class file is YAML with a top-level ``classes:`` list. Each class has ``name`` and
``definition``, and optionally ``synonyms`` (abbreviations included), ``parent``, ``codes`` and
``normal_phrases`` (wordings that assert the finding is absent, e.g. "heart size is normal").
A class with ``role: normal`` (e.g. "No Finding") is derived from the others. A class with
``role: site`` is named after a body part ("Aorta: an abnormality of the aorta, such as
tortuosity or ectasia"): a report that merely mentions the organ does not state it, so its name
is not vocabulary and it is matched by its synonyms and learned phrases only.

When a class lists synonyms they are its whole matching vocabulary (include the name if it is
used in reports); a class without synonyms is matched by its name. Synonym syntax: plain phrases, matched case-insensitively on word boundaries, with a trailing
plural allowed; ``...`` inside a phrase stands for up to four intervening words
("heart ... enlarged" matches "heart is mildly enlarged"). A phrase must contain a word: an
empty, blank or ``...``-only synonym or normal phrase would match every sentence and is refused
with the file, line and field.

Learned vocabulary (``radlabel classes expand``): a class may carry a ``learned:`` list of phrases
added by the expansion program, each with its provenance, so that a person can read and prune
them and the file still round-trips::

    learned:
    - {phrase: ptx, kind: synonym, source: lm, count: 12, example_id: r-0031}
    - {phrase: no pneumothorax is seen, kind: normal_phrase, source: lm, count: 4, example_id: r-7}

``kind`` is ``synonym`` (names the class), ``normal_phrase`` (asserts it is absent) or, on the
normal class only, ``abnormal_term`` (a word that, affirmed in a finding sentence, states some
abnormality no class names, so the report is not normal; ``*`` is any letters); ``source``
says who proposed it (``lm``: accepted by the LM in context; ``corpus``: mined and kept without an
LM; ``user``), ``count`` is the number of corpus reports containing it and ``example_id`` one of
them. Learned phrases are matched like the user's own: learned synonyms are added to the class's
vocabulary (the user's ``synonyms``, or the class name when there are none, stay), learned normal
phrases to its ``normal_phrases``. User-written ``synonyms`` are never rewritten by expansion.
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from typing import Annotated

from pydantic import (BaseModel, BeforeValidator, Field, ValidationError, field_validator,
                      model_validator)

from radlabel.errors import InputError

DEFAULT_CLASSES = "chest_xray"


def check_phrase(v) -> str:
    """A synonym / normal phrase must be a non-empty string with a word in it (not just ``...``)."""
    if not isinstance(v, str):
        raise ValueError(f"a phrase must be a string, got {type(v).__name__}")
    if not re.search(r"\w", v.replace("...", " ")):
        raise ValueError(f"empty phrase {v!r}: it would match every sentence")
    return v.strip()


Phrase = Annotated[str, BeforeValidator(check_phrase)]
LEARNED_KINDS = ("synonym", "normal_phrase", "abnormal_term")
ROLES = ("normal", "site")
NEVER = r"(?!)"  # a pattern that matches nothing


class LearnedPhrase(BaseModel):
    """A phrase added by `radlabel classes expand`, with where it came from."""

    phrase: str
    kind: str = "synonym"
    source: str = "lm"
    count: int = 0  # corpus reports containing the phrase
    example_id: str | None = None  # one of them

    model_config = {"extra": "forbid"}

    @field_validator("phrase", mode="before")
    @classmethod
    def _phrase(cls, v):
        return check_phrase(v)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in LEARNED_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LEARNED_KINDS)}, got {v!r}")
        return v

    @field_validator("example_id", mode="before")
    @classmethod
    def _id_as_str(cls, v):
        return None if v is None else str(v)


class ClassDef(BaseModel):
    name: str
    definition: str
    synonyms: list[Phrase] = Field(default_factory=list)
    parent: str | None = None
    codes: list[str] = Field(default_factory=list)
    normal_phrases: list[Phrase] = Field(default_factory=list)
    role: str | None = None  # "normal": present only when nothing else is; "site": the name
    # is a body part, matched through synonyms / learned phrases only
    learned: list[LearnedPhrase] = Field(default_factory=list)  # from `radlabel classes expand`

    model_config = {"extra": "forbid"}

    @field_validator("synonyms", "normal_phrases", "learned", mode="before")
    @classmethod
    def _none_is_empty(cls, v):
        return [] if v is None else v

    @property
    def learned_synonyms(self) -> list[str]:
        return [lp.phrase for lp in self.learned if lp.kind == "synonym"]

    @property
    def learned_normal_phrases(self) -> list[str]:
        return [lp.phrase for lp in self.learned if lp.kind == "normal_phrase"]

    @model_validator(mode="after")
    def _abnormal_terms_on_normal_class(self):
        if self.role != "normal" and any(lp.kind == "abnormal_term" for lp in self.learned):
            raise ValueError("learned abnormal_term entries belong to the normal class "
                             "(role: normal) only")
        return self

    @field_validator("role")
    @classmethod
    def _known_role(cls, v):
        if v is not None and v not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {v!r}")
        return v

    @property
    def learned_abnormal_terms(self) -> list[str]:
        return [lp.phrase for lp in self.learned if lp.kind == "abnormal_term"]

    @property
    def match_phrases(self) -> list[str]:
        """Everything that names this class in a report: the user's synonyms (or the name and
        the parts of a "Nodule/Mass" style name when there are none; never the name of a
        ``role: site`` class) plus learned synonyms."""
        base = self.synonyms or ([] if self.is_site else [self.name, *self.name.split("/")])
        return list(dict.fromkeys(p for p in [*base, *self.learned_synonyms] if p.strip()))

    @property
    def all_normal_phrases(self) -> list[str]:
        return list(dict.fromkeys([*self.normal_phrases, *self.learned_normal_phrases]))

    @field_validator("name", "definition")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("must not be empty")
        return v.strip()

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_str(cls, v):
        return [str(c) for c in (v or [])]

    @property
    def is_normal(self) -> bool:
        return self.role == "normal"

    @property
    def is_site(self) -> bool:
        return self.role == "site"

    def describe(self) -> str:
        """One line for prompts and embeddings: name, definition and a few synonyms."""
        names = list(dict.fromkeys([*self.synonyms, *self.learned_synonyms]))
        syn = f" Also called: {', '.join(names[:6])}." if names else ""
        return f"{self.name}: {self.definition}{syn}"


def phrase_pattern(phrase: str) -> str:
    """Regex for one synonym phrase (see module docstring for the syntax)."""
    chunks = [c.strip() for c in phrase.split("...")]
    parts = []
    for chunk in chunks:
        words = [re.escape(w) for w in chunk.split()]
        if not words:
            continue
        last = words[-1]
        if last.endswith("y") and len(last) > 2:
            words[-1] = last[:-1] + r"(?:y|ies)"
        else:
            words[-1] = last + r"(?:s|es)?"
        parts.append(r"[\s\-]+".join(words))
    gap = r"(?:\W+\w+){0,4}?\W+"
    body = gap.join(parts)
    return r"(?<![\w-])" + body + r"(?![\w])"


class Vocabulary(BaseModel):
    """Ontology-wide vocabulary of the class file's top-level ``vocabulary:`` mapping.

    abnormal_terms: words that make an un-negated finding sentence state an abnormality even
        when no class names it (used by the normal class and the retrieval rank gate); ``*``
        stands for any letters ("degenerat*"). Empty: derived from the classes' own words.
    uninformative_words: modality words that say where, not what ("lung" in a chest set);
        sharing one is no evidence that a sentence is about a class.
    """

    abnormal_terms: list[str] = Field(default_factory=list)
    uninformative_words: list[str] = Field(default_factory=list)

    model_config = {"extra": "forbid"}


class Ontology:
    """An ordered set of classes with name lookup and compiled synonym matchers."""

    def __init__(self, classes: list[ClassDef], source: str = "<memory>",
                 vocabulary: Vocabulary | None = None):
        self.classes = list(classes)
        self.source = source
        self.vocabulary = vocabulary or Vocabulary()
        self.by_name = {c.name: c for c in self.classes}
        self._norm = {self.norm(c.name): c.name for c in self.classes}

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> "Ontology":
        """Load a class file; ``None`` or a bundled name ("chest_xray") loads a shipped set."""
        if path is None or (isinstance(path, str) and not path.endswith((".yaml", ".yml"))
                            and not Path(path).exists()):
            name = path or DEFAULT_CLASSES
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", name):  # no '/', '\\', '..': no escape
                shipped = sorted(p.name[:-5] for p in resources.files("radlabel.resources").iterdir()
                                 if p.name.endswith(".yaml") and "\nclasses:" in "\n" + p.read_text())
                raise InputError("class file not found, and not a bundled class set name "
                                 f"(bundled: {', '.join(shipped)})", path=str(name))
            try:
                text = resources.files("radlabel.resources").joinpath(f"{name}.yaml").read_text()
            except FileNotFoundError:
                raise InputError(f"no such class file or bundled class set: {name!r}") from None
            return cls.from_yaml(text, source=f"bundled:{name}")
        p = Path(path)
        if not p.is_file():
            raise InputError("class file not found" if not p.exists() else "not a file", path=str(p))
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"not valid UTF-8 ({e.reason} at byte {e.start})", path=str(p)) from None
        return cls.from_yaml(text, source=str(p))

    @classmethod
    def from_yaml(cls, text: str, source: str = "<string>") -> "Ontology":
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise InputError(f"invalid YAML: {getattr(e, 'problem', e)}", path=source,
                             line=(mark.line + 1) if mark else None) from None
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise InputError("expected a top-level 'classes:' list", path=source, field="classes")
        lines = _item_lines(text)
        classes, seen = [], {}
        for i, item in enumerate(data["classes"]):
            line = lines[i] if i < len(lines) else None
            if not isinstance(item, dict):
                raise InputError("each class must be a mapping with name and definition",
                                 path=source, line=line, field=f"classes[{i}]")
            try:
                c = ClassDef(**item)
            except ValidationError as e:
                err = e.errors()[0]
                loc = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                raise InputError(msg, path=source,
                                 line=_node_line(text, ["classes", i, *err["loc"]]) or line,
                                 field=f"classes[{i}]{loc}") from None
            if cls.norm(c.name) in seen:
                first = seen[cls.norm(c.name)]
                raise InputError(f"duplicate class name {c.name!r} (same as classes[{first}] "
                                 f"{data['classes'][first].get('name')!r} after normalisation)",
                                 path=source, line=line, field=f"classes[{i}].name")
            seen[cls.norm(c.name)] = i
            classes.append(c)
        names = {c.name for c in classes}
        for i, c in enumerate(classes):
            if c.parent and c.parent not in names:
                raise InputError(f"parent {c.parent!r} is not a class in this file", path=source,
                                 line=lines[i] if i < len(lines) else None,
                                 field=f"classes[{i}].parent")
        if not classes:
            raise InputError("the class list is empty", path=source, field="classes")
        vocab = data.get("vocabulary") or {}
        try:
            vocabulary = Vocabulary(**vocab) if isinstance(vocab, dict) else Vocabulary(bad=vocab)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise InputError(err["msg"], path=source, line=_key_line(text, "vocabulary"),
                             field=f"vocabulary.{loc}") from None
        return cls(classes, source=source, vocabulary=vocabulary)

    def to_yaml(self, header: str | None = None) -> str:
        """The class file as YAML; learned phrases one per line with all their provenance."""
        classes = []
        for c in self.classes:
            d = c.model_dump(exclude_defaults=True, exclude={"learned"})
            if c.learned:
                d["learned"] = [_Flow(lp.model_dump(exclude_none=True)) for lp in c.learned]
            classes.append(d)
        data = {"classes": classes}
        vocab = self.vocabulary.model_dump(exclude_defaults=True)
        if vocab:
            data["vocabulary"] = vocab
        body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        if header:
            body = "".join(f"# {ln}\n".replace("# \n", "#\n") for ln in header.splitlines()) + body
        return body

    # -- lookup --------------------------------------------------------------------------
    @staticmethod
    def norm(name: str) -> str:
        """Same normalisation as the scorer: case-fold, runs of space/_/-// become '_'."""
        return re.sub(r"[\s_/\-]+", "_", str(name).strip().lower()).strip("_")

    def resolve(self, name: str) -> str | None:
        """Canonical class name for a user-given name, or None if unknown."""
        return self._norm.get(self.norm(name))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def finding_classes(self) -> list[ClassDef]:
        return [c for c in self.classes if not c.is_normal]

    @property
    def normal_class(self) -> ClassDef | None:
        return next((c for c in self.classes if c.is_normal), None)

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self):
        return iter(self.classes)

    @cached_property
    def hash(self) -> str:
        # ``learned`` enters the hash only when present: curated files keep their old hash.
        blob = json.dumps([c.model_dump(exclude=None if c.learned else {"learned"})
                           for c in self.classes], sort_keys=True)
        if self.vocabulary != Vocabulary():
            blob += json.dumps(self.vocabulary.model_dump(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @cached_property
    def synonym_patterns(self) -> dict[str, re.Pattern]:
        """One compiled alternation per class over its name and synonyms."""
        out = {}
        for c in self.finding_classes:
            # Listed synonyms are the class's whole vocabulary; a class without any is matched
            # by its name (and the parts of a "Nodule/Mass" style name).
            phrases = sorted(set(c.match_phrases), key=len, reverse=True)
            out[c.name] = re.compile("|".join(phrase_pattern(p) for p in phrases if p.strip())
                                     or NEVER, re.IGNORECASE)  # a site class with no phrases yet
        return out

    @cached_property
    def normal_patterns(self) -> dict[str, re.Pattern]:
        out = {}
        for c in self.finding_classes:
            phrases = c.all_normal_phrases
            if phrases:
                out[c.name] = re.compile("|".join(phrase_pattern(p) for p in phrases),
                                         re.IGNORECASE)
        return out


class _Flow(dict):
    """A mapping written on one line (``{phrase: ptx, kind: synonym, ...}``)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))


def _node_line(text: str, path: list) -> int | None:
    """1-based line of the YAML node at ``path`` (keys and list indexes), or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            break
        if node is None:
            return None
    return node.start_mark.line + 1


def _key_line(text: str, key: str) -> int | None:
    """1-based line of a top-level key (for error messages)."""
    for no, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return no
    return None


def _item_lines(text: str) -> list[int]:
    """1-based line numbers of the list items under 'classes:' (for error messages)."""
    out, indent = [], None
    for no, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^(\s*)-\s", line)
        if m and (indent is None or len(m.group(1)) == indent):
            indent = len(m.group(1))
            out.append(no)
    return out
