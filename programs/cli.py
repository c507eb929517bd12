"""`radlabel compile`: optimize the labelling program against a gold set and save it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import allow_remote_option, api_base_option, config_option, lm_option

OPTIMIZER_HELP = "labeled | bootstrap | random-search | mipro | gepa | simba"
BUDGET_HELP = ("light (default, fits a shared CPU) | medium | heavy (GPU server), optionally with "
               "overrides: 'light,num_candidates=4,val_size=20'")


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_cmd)


def compile_cmd(
    gold: Path = typer.Option(..., "--gold", help="gold JSONL with report text: id, text, labels"),
    optimizer: str = typer.Option("bootstrap", "--optimizer", help=OPTIMIZER_HELP),
    output: Path = typer.Option(..., "-o", "--output", help="program directory to write"),
    budget: str = typer.Option("light", "--budget", help=BUDGET_HELP),
    judge: str = typer.Option("ambiguous", "--judge", help="judge policy of the program: ambiguous | all"),
    examples: Optional[str] = typer.Option(None, "--examples", help="which mentions train the judge: ambiguous | all (default: as --judge)"),
    n_compile: Optional[int] = typer.Option(None, "--n-compile", help="compile on N gold reports, score before/after on the rest (default: all for compiling)"),
    seed: int = typer.Option(0, "--seed"),
    no_score: bool = typer.Option(False, "--no-score", help="skip the before/after scores (saves LM calls)"),
    classes: Optional[str] = typer.Option(None, "--classes", help="class file (YAML); default: 14 chest X-ray classes"),
    lm: Optional[str] = lm_option(),
    api_base: Optional[str] = api_base_option(),
    allow_remote: bool = allow_remote_option(),
    config: Optional[Path] = config_option(),
) -> None:
    """Compile the judge with a DSPy optimizer; save program.json + manifest to OUTPUT."""
    from rich.console import Console

    from radlabel.labels import load_gold, split_gold
    from radlabel.lm.config import load_config
    from radlabel.ontology import Ontology
    from radlabel.programs.compile import compile_program

    ontology = Ontology.load(classes)
    gold_set = load_gold(gold, ontology)
    heldout = None
    if n_compile is not None:
        gold_set, heldout = split_gold(gold_set, n_compile, seed=seed)
    cfg = load_config(config, model=lm, api_base=api_base, allow_remote=allow_remote or None)
    console = Console(stderr=True)
    console.print(f"compiling with {optimizer} ({budget}) on {len(gold_set)} gold reports ...")
    result = compile_program(gold_set, optimizer, budget, lm=cfg, ontology=ontology, judge=judge,
                             examples=examples, heldout=heldout, seed=seed, score=not no_score)
    d = result.save(output)
    m = result.manifest
    if m["scores"]:
        s = m["scores"]
        console.print(f"judge agreement on {s['examples']} {s['scored_on']} examples: "
                      f"{s['before']} -> {s['after']}")
    c = m["cost"]["compile"]
    console.print(f"compile cost: {c['lm_calls']} LM calls, {c['tokens']} tokens, {c['minutes']} min; "
                  f"{m['demos']} demos; instructions changed: {m['instructions_changed']}")
    console.print(f"saved to {d} (run it: radlabel label REPORTS --program {d} -o labels.jsonl)")
