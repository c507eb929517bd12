"""The model card (README.md) written beside every trained model: data, label source, metrics."""
from __future__ import annotations

from pathlib import Path

from radlabel.training.base import read_meta


def render_card(meta: dict) -> str:
    cfg = meta.get("config", {})
    m = meta.get("metrics", {})
    sources = ", ".join(f"{k}: {v}" for k, v in sorted(meta.get("label_sources", {}).items())) or "?"
    lines = [
        "---",
        "library_name: " + ("scikit-learn" if meta["variant"] in ("tfidf", "mention") else "transformers"),
        "tags: [radlabel, radiology, multi-label-classification]",
        "---",
        f"# radlabel classifier ({meta['variant']})",
        "",
        "Labels radiology reports with the classes below; trained by `radlabel train`.",
        "Load it with `radlabel.training.load_classifier(dir)` or run `radlabel predict --model DIR`.",
        "",
        "## Data",
        f"- training reports: {meta.get('n_train', '?')}, validation reports: {meta.get('n_val', '?')}",
        f"- label sources (gold/reviewed take precedence over pseudo-labels): {sources}",
        f"- label files: {', '.join(meta.get('label_files', [])) or '?'}",
        f"- uncertain mentions counted as: {cfg.get('uncertain_as', 'negative')}",
        f"- ontology hash: {meta.get('ontology_hash', '?')}",
        "",
        "## Model",
        f"- variant: {meta['variant']}; base: {meta.get('base', 'n/a')}",
        f"- head: {'four-state (present/absent/uncertain/not_mentioned) per class' if meta.get('four_state') else 'multi-label, per-class thresholds tuned on validation'}",
        f"- training time: {meta.get('train_seconds', '?')} s over {meta.get('epochs_run', '?')} epochs",
        f"- config: `{ {k: v for k, v in cfg.items() if v is not None} }`",
        "",
        "## Validation metrics (held-out split of the training labels)",
    ]
    if m:
        lines += [f"- micro-F1: {m.get('micro_f1')}, macro-F1: {m.get('macro_f1')} "
                  f"(thresholds tuned on this same split, so optimistic)",
                  f"- micro-F1 at a fixed 0.5 cut: {m.get('micro_f1_at_0.5', 'n/a')}", "",
                  "| class | threshold | F1 | support |", "|---|---|---|---|"]
        for c, t, f, s in zip(meta["classes"], meta.get("thresholds", []), m.get("per_class_f1", []),
                              m.get("support", [])):
            lines.append(f"| {c} | {t:.3f} | {f:.3f} | {s} |")
    else:
        lines.append("- no validation split (val_fraction 0 or too few reports)")
    lines += ["", "## Limits",
              "Metrics are measured against the training labels' own source; with pseudo-labels "
              "they measure agreement with the labeller, not clinical accuracy. Not a medical device."]
    return "\n".join(lines) + "\n"


def write_card(model_dir: str | Path) -> Path:
    path = Path(model_dir) / "README.md"
    path.write_text(render_card(read_meta(model_dir)), encoding="utf-8")
    return path
