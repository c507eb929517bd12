"""Review order by value: a reviewer's minute is best spent where the labels are most likely wrong.

Tiers, in order: suspected label issues (from ``radlabel analyze``, most suspect first),
disagreements (meta ``"disagreement": true``, or a ``meta["classifier"]`` prediction that
differs from the label), reports with an uncertain label, then the rest in file order.
"""
from __future__ import annotations

from typing import Iterable

ISSUE, DISAGREEMENT, UNCERTAIN, REST = 0, 1, 2, 3
TIER_NAMES = {ISSUE: "label issue", DISAGREEMENT: "disagreement", UNCERTAIN: "uncertain",
              REST: "routine"}


def disagreeing_classes(labels: dict[str, str], meta: dict) -> list[str]:
    """Classes where a classifier prediction stored in meta differs from the label."""
    clf = meta.get("classifier")
    if not isinstance(clf, dict):
        return []
    return [c for c, s in clf.items() if c in labels and s != labels[c]]


def rank_reports(records: Iterable[tuple[str, int, dict]],
                 issues: Iterable[dict]) -> dict[str, tuple[int, float, str]]:
    """{id: (tier, rank within tier, reason)} for (id, file order, imported record) triples.

    ``issues`` come most-suspect first with a ``rank``; a report's issue rank is its best one.
    """
    by_report: dict[str, list[dict]] = {}
    for issue in issues:
        by_report.setdefault(issue["id"], []).append(issue)
    out: dict[str, tuple[int, float, str]] = {}
    for rid, ord_, record in records:
        labels = record.get("labels") or {}
        meta = record.get("meta") or {}
        found = by_report.get(rid)
        if found:
            best = min(found, key=lambda i: i["rank"])
            out[rid] = (ISSUE, float(best["rank"]), "label issue: " + "; ".join(
                _issue_text(i) for i in sorted(found, key=lambda i: i["rank"])))
            continue
        differing = disagreeing_classes(labels, meta)
        if meta.get("disagreement") is True or differing:
            why = "disagreement" + (": classifier differs on " + ", ".join(differing)
                                    if differing else "")
            out[rid] = (DISAGREEMENT, float(ord_), why)
            continue
        uncertain = [c for c, s in labels.items() if s == "uncertain"]
        if uncertain:
            out[rid] = (UNCERTAIN, float(ord_), "uncertain: " + ", ".join(uncertain))
            continue
        out[rid] = (REST, float(ord_), "")
    return out


def _issue_text(issue: dict) -> str:
    text = f"{issue['class']} given {issue.get('given') or '?'}"
    if issue.get("suggested"):
        text += f", suggested {issue['suggested']}"
    if issue.get("score") is not None:
        text += f" (score {issue['score']:.2f})"
    return text
