"""The loop's scoreboard: OUT/summary.md (one row per round), summary.json, f1_per_round.png."""
from __future__ import annotations

import json
from pathlib import Path

COLUMNS = [
    ("round", lambda k, r: str(k)),
    ("trusted (gold+reviewed) before", lambda k, r: str(r["train"].get("trusted", ""))),
    ("reviewed", lambda k, r: str(r["feedback"].get("reviewed", ""))),
    ("labels corrected", lambda k, r: str(r["feedback"].get("labels_changed", ""))),
    ("issues", lambda k, r: str(r["analyze"].get("issues", ""))),
    ("synonyms learned / dropped", lambda k, r: f"{len(r['recompile'].get('learned_synonyms', []))} / "
                                                f"{len(r['recompile'].get('dropped_synonyms', []))}"),
    ("LM calls", lambda k, r: str(r["label"].get("lm_calls", 0) + r["recompile"].get("compile_lm_calls", 0)
                                  + r["score"].get("heldout_lm_calls", 0))),
    ("minutes", lambda k, r: f"{sum(s.get('seconds', 0) for s in r.values()) / 60:.1f}"),
    ("held-out F1 labels", lambda k, r: _f(r["score"].get("heldout_labels"))),
    ("held-out F1 classifier", lambda k, r: _f(r["score"].get("heldout_classifier"))),
    ("pool F1 raw", lambda k, r: _f(r["score"].get("pool_labels_raw"))),
    ("pool F1 corrected", lambda k, r: _f(r["score"].get("pool_labels_corrected"))),
]
SERIES = [("heldout_labels", "held-out: labeller"), ("heldout_classifier", "held-out: classifier"),
          ("pool_labels_corrected", "pool: labels after review")]


def _f(m: dict | None) -> str:
    return f"{m['micro_f1']:.4f} / {m['macro_f1']:.4f}" if m else "-"


def _plot(out: Path, rounds: list[dict]) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = list(range(1, len(rounds) + 1))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    drawn = False
    for key, name in SERIES:
        ys = [r["score"].get(key, {}).get("micro_f1") for r in rounds]
        if any(y is not None for y in ys):
            ax.plot(xs, ys, marker="o", label=name)
            drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xticks(xs)
    ax.set_xlabel("round")
    ax.set_ylabel("micro-F1")
    ax.set_title("F1 per round")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(out / "f1_per_round.png", dpi=110)
    plt.close(fig)
    return True


def write_summary(out: str | Path, rounds: list[dict]) -> Path:
    out = Path(out)
    lines = ["# Loop summary", "",
             "F1 cells are micro / macro. Held-out: reports the loop never trained on or reviewed. "
             "Pool: the loop's own reports (seed gold excluded) scored against the oracle gold; "
             "'raw' is the labeller's output, 'corrected' includes this round's reviewed labels.", "",
             "| " + " | ".join(c for c, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for k, r in enumerate(rounds, 1):
        lines.append("| " + " | ".join(fn(k, r) for _, fn in COLUMNS) + " |")
    if _plot(out, rounds):
        lines += ["", "![F1 per round](f1_per_round.png)"]
    learned = [(k, s) for k, r in enumerate(rounds, 1) for s in r["recompile"].get("learned_synonyms", [])]
    if learned:
        lines += ["", "## Synonyms learned", "", "| round | class | phrase | trusted positives | fixes |",
                  "|---|---|---|---:|---:|"]
        lines += [f"| {k} | {s['cls']} | {s['phrase']} | {s['positives']} | {s['fixes']} |" for k, s in learned]
    path = out / "summary.md"
    tmp = out / "summary.md.tmp"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps({"rounds": rounds}, indent=2, default=str), encoding="utf-8")
    tmp.replace(out / "summary.json")
    return path
