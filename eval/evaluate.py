"""Score a labels file (or a compiled program) against gold and write a report people can read.

The report directory gets ``report.md`` (per-class table, micro/macro F1, state confusion when
the gold has four states, calibration when records carry ``probs``), ``scores.json`` (the same
numbers for scripts) and PNG plots: per-class F1 bars, the confusion heat map and a
reliability diagram.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from radlabel.labels import FOUR_STATE, GoldSet, read_labels
from radlabel.ontology import Ontology
from radlabel.schema import STATES, LabelRecord, Report
from radlabel.scores import Calibration, F1Scores, calibration, f1_scores, state_confusion


@dataclass
class EvalResult:
    gold_kind: str
    classes: list[str]
    f1: F1Scores
    n_gold: int
    n_pred: int
    failed: list[str] = field(default_factory=list)
    confusion: dict | None = None
    calibration: Calibration | None = None
    source: str = ""

    def as_dict(self) -> dict:
        out = {"source": self.source, "gold_kind": self.gold_kind, "n_gold": self.n_gold,
               "n_pred": self.n_pred, "failed": len(self.failed), **self.f1.as_dict()}
        if self.confusion is not None:
            out["confusion"] = self.confusion
        if self.calibration is not None:
            c = self.calibration
            out["calibration"] = {"ece": round(c.ece, 4), "brier": round(c.brier, 4), "n": c.n,
                                  "bins": c.bins}
        return out


def evaluate_records(gold: GoldSet, records: dict[str, LabelRecord], source: str = "") -> EvalResult:
    """Scores of label records on the gold ids; failed or missing ids count as all-negative."""
    classes = gold.classes
    gold_labels = gold.labels_by_id()
    ok = {gid: rec for gid, rec in records.items() if rec.ok and gid in gold_labels}
    preds = {gid: rec.labels for gid, rec in ok.items()}
    failed = [gid for gid, rec in records.items() if not rec.ok and gid in gold_labels]
    probs = {gid: rec.model_extra.get("probs") for gid, rec in ok.items()
             if isinstance((rec.model_extra or {}).get("probs"), dict)}
    conf = state_confusion(gold_labels, preds, classes) if gold.kind == FOUR_STATE else None
    return EvalResult(gold.kind, classes, f1_scores(gold_labels, preds, classes), len(gold_labels),
                      len(preds), failed, conf, calibration(gold_labels, probs, classes), source)


def evaluate_file(gold: GoldSet, pred_path: str | Path, ontology: Ontology) -> EvalResult:
    recs = read_labels(pred_path, ontology, keep_failed=True)
    return evaluate_records(gold, recs, source=str(pred_path))


def label_with_program(gold: GoldSet, program_dir: str | Path, labels_path: str | Path, *,
                       lm=None, progress: bool = True) -> dict[str, LabelRecord]:
    """Run a compiled program over the gold texts (resumable) and return its records."""
    from radlabel.labeling import label_reports
    from radlabel.programs import Labeler

    gold.require_text()
    labeler = Labeler.load(program_dir, lm=lm)
    reports = [Report(id=r.id, text=r.text) for r in gold.reports]
    label_reports(labeler, reports, labels_path, progress=progress)
    return read_labels(labels_path, labeler.ontology, keep_failed=True)


# -- report -------------------------------------------------------------------------------------

def write_report(result: EvalResult, out_dir: str | Path, title: str = "Evaluation") -> Path:
    """report.md + scores.json + plots in out_dir; returns the markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scores.json").write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    plots = _plots(result, out)
    lines = [f"# {title}", "", f"Predictions: `{result.source}`", "",
             f"- gold: {result.n_gold} reports, {result.gold_kind.replace('_', '-')} labels",
             f"- predictions used: {result.n_pred}; failed: {len(result.failed)} "
             "(failed and missing reports count as all-negative)",
             f"- **micro F1 {result.f1.micro_f1:.4f}**, **macro F1 {result.f1.macro_f1:.4f}** "
             "(positive = present; uncertain and not_mentioned are negative; macro over classes "
             "with gold support)", ""]
    lines += ["| class | support | TP | FP | FN | precision | recall | F1 |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for cls, s in result.f1.per_class.items():
        lines.append(f"| {cls} | {s.support} | {s.tp} | {s.fp} | {s.fn} | {s.precision:.3f} | "
                     f"{s.recall:.3f} | {s.f1:.3f} |")
    m = result.f1.micro
    lines += [f"| **micro** | {m.support} | {m.tp} | {m.fp} | {m.fn} | {m.precision:.3f} | "
              f"{m.recall:.3f} | {m.f1:.3f} |", "", f"![per-class F1]({plots['f1']})", ""]
    if result.confusion is not None:
        lines += ["## State confusion (gold rows, predicted columns, all classes pooled)", "",
                  "| gold \\ pred | " + " | ".join(STATES) + " |", "|---|" + "---:|" * len(STATES)]
        for g in STATES:
            lines.append(f"| {g} | " + " | ".join(str(result.confusion[g][p]) for p in STATES) + " |")
        lines += ["", f"![confusion]({plots['confusion']})", ""]
    else:
        lines += ["Gold is positives-only (0/1): absent, uncertain and not_mentioned cannot be told "
                  "apart, so no state confusion is shown.", ""]
    if result.calibration is not None:
        c = result.calibration
        lines += ["## Calibration of P(present)", "",
                  f"ECE {c.ece:.4f}, Brier {c.brier:.4f} over {c.n} (report, class) pairs.", "",
                  f"![reliability]({plots['calibration']})", ""]
    if result.failed:
        lines += ["## Failed reports", "", ", ".join(result.failed[:50]), ""]
    md = out / "report.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return md


def _plots(result: EvalResult, out: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {}
    classes = list(result.f1.per_class)
    f1s = [result.f1.per_class[c].f1 for c in classes]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(classes) + 1.2))
    ax.barh(classes[::-1], f1s[::-1], color="#4477aa")
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1 (present)")
    ax.set_title(f"micro F1 {result.f1.micro_f1:.3f}, macro F1 {result.f1.macro_f1:.3f}")
    for y, v in enumerate(f1s[::-1]):
        ax.text(min(v + 0.01, 0.93), y, f"{v:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "f1_per_class.png", dpi=110)
    plt.close(fig)
    names["f1"] = "f1_per_class.png"
    if result.confusion is not None:
        mat = [[result.confusion[g][p] for p in STATES] for g in STATES]
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        im = ax.imshow(mat, cmap="Blues")
        ax.set_xticks(range(len(STATES)), STATES, rotation=30, ha="right")
        ax.set_yticks(range(len(STATES)), STATES)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        top = max(max(r) for r in mat) or 1
        for i, row in enumerate(mat):
            for j, v in enumerate(row):
                ax.text(j, i, str(v), ha="center", va="center",
                        color="white" if v > top / 2 else "black", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
        fig.tight_layout()
        fig.savefig(out / "confusion.png", dpi=110)
        plt.close(fig)
        names["confusion"] = "confusion.png"
    if result.calibration is not None:
        pts = [(b["mean_prob"], b["frac_present"]) for b in result.calibration.bins if b["n"]]
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "--", color="grey")
        ax.plot([p for p, _ in pts], [y for _, y in pts], "o-", color="#aa3377")
        ax.set_xlabel("mean predicted P(present)")
        ax.set_ylabel("fraction present in gold")
        ax.set_title(f"ECE {result.calibration.ece:.3f}")
        fig.tight_layout()
        fig.savefig(out / "calibration.png", dpi=110)
        plt.close(fig)
        names["calibration"] = "calibration.png"
    return names
