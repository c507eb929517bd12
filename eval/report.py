"""The analysis as a person reads it: report.md with a per-class table, plots and the most
suspect reports with their evidence. The report quotes report text: keep DIR with the data."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SNIPPET_CHARS = 600


def _plots(a, table: list[dict], out: Path) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    names = [r["class"] for r in table]
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    ax.barh(y, [r["issues"] for r in table], color="#c0504d")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("suspect labels (issues.jsonl rows)")
    ax.set_title("Suspect labels per class")
    fig.tight_layout()
    fig.savefig(out / "issues_per_class.png", dpi=110)
    plt.close(fig)
    made.append(("Suspect labels per class", "issues_per_class.png"))

    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(a.ranking.score.ravel(), bins=40, color="#4f81bd")
    ax.set_yscale("log")
    ax.set_xlabel("issue score = 1 - P(given label), out of fold")
    ax.set_ylabel("(report, class) pairs")
    ax.set_title("How strongly the classifier doubts each label")
    fig.tight_layout()
    fig.savefig(out / "issue_scores.png", dpi=110)
    plt.close(fig)
    made.append(("Issue score distribution", "issue_scores.png"))

    if table and "labels_vs_gold" in table[0]:
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
        h = 0.4
        ax.barh(y - h / 2, [r["labels_vs_gold"]["f1"] for r in table], h, label="labels")
        ax.barh(y + h / 2, [r["classifier_vs_gold"]["f1"] for r in table], h, label="classifier")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("F1 against gold")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, frameon=False)
        ax.set_title(f"Labels and classifier vs gold ({len(a.gold)} reports)")
        fig.tight_layout()
        fig.savefig(out / "f1_vs_gold.png", dpi=110)
        plt.close(fig)
        made.append(("F1 against gold per class", "f1_vs_gold.png"))
    return made


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(a, table: list[dict], summary: dict, out: Path, *, texts: dict[str, str],
                 top_reports: int = 20, plots: bool = True) -> Path:
    lines = ["# Label analysis", "",
             f"{summary['reports']} reports, {len(a.classes)} classes; classifier probabilities: "
             f"{summary['proba']}. {summary['trusted_reports']} reports carry gold/reviewed labels "
             f"and are not queued again. {summary['issues']} suspect labels in `issues.jsonl` "
             f"({summary['flagged_pairs']} flagged by cleanlab's per-class filter).", ""]
    if summary.get("labels_vs_gold_micro_f1") is not None:
        lines += [f"Against gold ({summary['gold_reports']} reports): labels micro-F1 "
                  f"**{summary['labels_vs_gold_micro_f1']}**, classifier micro-F1 "
                  f"**{summary['classifier_vs_gold_micro_f1']}**.", ""]
    head = "| class | given + | classifier + | agreement | flagged | issues |"
    sep = "|---|---:|---:|---:|---:|---:|"
    has_gold = bool(table) and "labels_vs_gold" in table[0]
    if has_gold:
        head += " labels TP/FP/FN | labels F1 | classifier F1 |"
        sep += "---|---:|---:|"
    lines += ["## Per class", "", head, sep]
    for r in table:
        row = (f"| {r['class']} | {r['given_positive']} | {r['classifier_positive']} | "
               f"{r['agreement']:.3f} | {r['flagged']} | {r['issues']} |")
        if has_gold:
            g = r["labels_vs_gold"]
            row += f" {g['tp']}/{g['fp']}/{g['fn']} | {g['f1']:.3f} | {r['classifier_vs_gold']['f1']:.3f} |"
        lines.append(row)
    lines.append("")
    if plots and a.ids:
        for title, fname in _plots(a, table, out):
            lines += [f"![{title}]({fname})", ""]
    lines += ["## Most suspect reports", ""]
    shown: list[str] = []
    by_report: dict[str, list[dict]] = {}
    for row in a.issues:
        if row["id"] not in by_report:
            shown.append(row["id"])
        by_report.setdefault(row["id"], []).append(row)
    for rid in shown[:top_reports]:
        lines += [f"### {rid}", "", "| class | given | suggested | score | P(present) | evidence |",
                  "|---|---|---|---:|---:|---|"]
        for row in by_report[rid]:
            ev = a.evidence.get(rid, {}).get(row["class"], "")
            lines.append(f"| {row['class']} | {row['given']} | {row['suggested']} | {row['score']:.3f} | "
                         f"{row['p_present']:.3f} | {_md_escape(ev)} |")
        text = texts.get(rid, "")
        if text:
            snippet = text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + " ..."
            lines += ["", "> " + _md_escape(snippet)]
        lines.append("")
    path = out / "report.md"
    tmp = out / "report.md.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
