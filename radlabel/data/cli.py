"""`radlabel reports INPUT`: check that a report file loads, and see what was read."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Optional

import typer

from radlabel.data import FORMATS, detect_format, iter_reports

PREVIEW_CHARS = 80


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def reports(
    path: Path = typer.Argument(..., metavar="INPUT",
                                help="Report file, or a directory of .xml files."),
    fmt: Optional[str] = typer.Option(
        None, "--format", "-f", help=f"One of: {', '.join(FORMATS)}. Detected when omitted."),
    id_col: str = typer.Option("id", "--id-col", help="Id column/key (csv, jsonl, parquet)."),
    text_col: str = typer.Option("text", "--text-col", help="Text column/key (csv, jsonl, parquet)."),
    limit: Optional[int] = typer.Option(
        None, "--limit", "-n", min=1, help="Read only the first N reports (default: the whole "
        "file, so every row is checked)."),
    show: int = typer.Option(20, "--show", min=0, help="Rows to print in the table."),
) -> None:
    """Load reports and print a table (id, exam, sections, start of text) and a count."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = Console()
    if fmt is None:
        fmt = detect_format(path, plain_columns=(id_col, text_col) != ("id", "text"))
    stream = iter_reports(path, fmt=fmt, id_col=id_col, text_col=text_col)
    if limit is not None:
        stream = itertools.islice(stream, limit)
    table = Table(title=Text(f"{path} ({fmt})"))
    table.add_column("id", no_wrap=True)
    table.add_column("exam")
    table.add_column("sections")
    table.add_column(f"text (first {PREVIEW_CHARS} chars)")
    count = empty = 0
    with console.status("reading reports…", spinner="dots"):
        for report in stream:
            count += 1
            empty += not report.text.strip()
            if count <= show:
                # Text(), not str: report text like "[red]" must not be read as rich markup.
                table.add_row(Text(report.id), Text(str(report.meta.get("exam", ""))),
                              Text(", ".join(report.meta.get("sections", []))),
                              Text(_preview(report.text)))
    if show:
        console.print(table)
    more = f" (table shows the first {show})" if count > show else ""
    console.print(f"[bold]{count}[/bold] reports loaded from {escape(str(path))} as {fmt}{more}")
    if empty:
        console.print(f"[yellow]{empty} with empty text[/yellow] (kept; the labeller records "
                      "them as failed)")


def register(app: typer.Typer) -> None:
    app.command("reports")(reports)
