"""The data contracts every part of radlabel shares: reports in, label records out.

A label record is one JSON line of `radlabel label` / `radlabel predict`:
``{"id", "labels": {class: state}, "evidence": {class: span}, "meta": {...}}``.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

State = Literal["present", "absent", "uncertain", "not_mentioned"]
STATES: tuple[str, ...] = ("present", "absent", "uncertain", "not_mentioned")
POSITIVE_STATES = frozenset({"present"})

Status = Literal["ok", "failed"]


class Report(BaseModel):
    """One report as loaded from any source. `meta` keeps source fields (exam name, dates, ...)."""

    id: str
    text: str
    meta: dict[str, Any] = Field(default_factory=dict)


class LabelMeta(BaseModel):
    model: str = ""
    program: str = ""
    latency_s: float = 0.0
    tokens: int = 0
    lm_calls: int = 0
    status: Status = "ok"
    error: str | None = None
    source: str = "pseudo"  # pseudo | gold | reviewed | classifier

    model_config = {"extra": "allow"}


class LabelRecord(BaseModel):
    """Labels for one report. A failed record has status 'failed', an error and no labels."""

    id: str
    labels: dict[str, State] = Field(default_factory=dict)
    evidence: dict[str, str] = Field(default_factory=dict)
    meta: LabelMeta = Field(default_factory=LabelMeta)

    model_config = {"extra": "allow"}

    @property
    def ok(self) -> bool:
        return self.meta.status == "ok"

    def positives(self) -> list[str]:
        return [c for c, s in self.labels.items() if s in POSITIVE_STATES]
