"""`radlabel synth N -o reports.jsonl [--gold-output gold.jsonl]`: write synthetic reports (and their labels)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import aliases


def synth(
    n: int = typer.Argument(..., min=1, help="number of reports"),
    output: Path = typer.Option(..., "-o", "--output", help="reports JSONL to write ({id, text})"),
    gold: Optional[Path] = typer.Option(None, "--gold-output", help="also write gold JSONL ({id, text, "
                                        "labels, evidence}); --gold is always a file a verb reads"),
    seed: int = typer.Option(0, "--seed", help="same seed, same reports"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (YAML); default: 14 chest X-ray classes"),
    prevalence: Optional[str] = typer.Option(
        None, "--prevalence", help='share of reports with each class, e.g. "Pneumothorax=0.1,No Finding=0.2"'),
) -> None:
    """Generate synthetic chest X-ray reports whose labels are known (for tests, demos and benchmarks)."""
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from radlabel.ontology import Ontology
    from radlabel.synth import iter_reports, parse_prevalence, write_reports

    ontology = Ontology.load(classes)
    rates = parse_prevalence(prevalence) if prevalence else None
    counts: dict[str, dict[str, int]] = {name: {} for name in ontology.names}

    def counted(reports):
        for rep in reports:
            for name, state in rep.labels.items():
                counts[name][state] = counts[name].get(state, 0) + 1
            yield rep

    stream = iter_reports(n, seed=seed, ontology=ontology, prevalence=rates)
    with tqdm(total=n, unit=" reports", disable=n < 5000) as bar:
        written = write_reports(counted(_ticking(stream, bar)), output, gold)

    console = Console()
    table = Table(title=f"{written} synthetic reports (seed {seed})")
    for col in ("class", "present", "uncertain", "absent"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for name in ontology.names:
        c = counts[name]
        table.add_row(name, *(f"{100 * c.get(s, 0) / max(written, 1):.1f}%" for s in ("present", "uncertain", "absent")))
    console.print(table)
    console.print(f"reports: {output}" + (f"   gold: {gold}" if gold else ""))


def _ticking(stream, bar):
    for item in stream:
        bar.update(1)
        yield item


def register(app: typer.Typer) -> None:
    app.command("synth", cls=aliases({"--gold": "--gold-output"}))(synth)
