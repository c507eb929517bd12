"""Class sets (ontologies): which findings exist, what they mean, and how reports name them.

A class file is YAML with a top-level ``classes:`` list. Each class has ``name`` and
``definition``, and optionally ``synonyms`` (abbreviations included), ``parent``, ``codes`` and
``normal_phrases`` (wordings that assert the finding is absent, e.g. "heart size is normal").
A class with ``role: normal`` (e.g. "No Finding") is derived from the others.

When a class lists synonyms they are its whole matching vocabulary (include the name if it is
used in reports); a class without synonyms is matched by its name. Synonym syntax: plain phrases, matched case-insensitively on word boundaries, with a trailing
plural allowed; ``...`` inside a phrase stands for up to four intervening words
("heart ... enlarged" matches "heart is mildly enlarged").
"""
from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from radlabel.errors import InputError

DEFAULT_CLASSES = "chest_xray"


class ClassDef(BaseModel):
    name: str
    definition: str
    synonyms: list[str] = Field(default_factory=list)
    parent: str | None = None
    codes: list[str] = Field(default_factory=list)
    normal_phrases: list[str] = Field(default_factory=list)
    role: str | None = None  # "normal": present only when nothing else is

    model_config = {"extra": "forbid"}

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

    def describe(self) -> str:
        """One line for prompts and embeddings: name, definition and a few synonyms."""
        syn = f" Also called: {', '.join(self.synonyms[:6])}." if self.synonyms else ""
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
            try:
                text = resources.files("radlabel.resources").joinpath(f"{name}.yaml").read_text()
            except FileNotFoundError:
                raise InputError(f"no such class file or bundled class set: {name!r}") from None
            return cls.from_yaml(text, source=f"bundled:{name}")
        p = Path(path)
        if not p.exists():
            raise InputError("class file not found", path=str(p))
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
        classes, seen = [], set()
        for i, item in enumerate(data["classes"]):
            line = lines[i] if i < len(lines) else None
            if not isinstance(item, dict):
                raise InputError("each class must be a mapping with name and definition",
                                 path=source, line=line, field=f"classes[{i}]")
            try:
                c = ClassDef(**item)
            except ValidationError as e:
                err = e.errors()[0]
                loc = ".".join(str(x) for x in err["loc"])
                raise InputError(err["msg"], path=source, line=line,
                                 field=f"classes[{i}].{loc}") from None
            if cls.norm(c.name) in seen:
                raise InputError(f"duplicate class name {c.name!r}", path=source, line=line,
                                 field=f"classes[{i}].name")
            seen.add(cls.norm(c.name))
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

    def to_yaml(self) -> str:
        data = {"classes": [c.model_dump(exclude_defaults=True) for c in self.classes]}
        vocab = self.vocabulary.model_dump(exclude_defaults=True)
        if vocab:
            data["vocabulary"] = vocab
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

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
        blob = json.dumps([c.model_dump() for c in self.classes], sort_keys=True)
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
            vocab = c.synonyms or [c.name, *c.name.split("/")]
            phrases = sorted(set(vocab), key=len, reverse=True)
            out[c.name] = re.compile("|".join(phrase_pattern(p) for p in phrases if p.strip()),
                                     re.IGNORECASE)
        return out

    @cached_property
    def normal_patterns(self) -> dict[str, re.Pattern]:
        out = {}
        for c in self.finding_classes:
            if c.normal_phrases:
                out[c.name] = re.compile("|".join(phrase_pattern(p) for p in c.normal_phrases),
                                         re.IGNORECASE)
        return out


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
