"""`radlabel classes expand`: learn a class file's missing vocabulary from the user's reports."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import allow_remote_option, api_base_option, config_option, lm_option

classes_app = typer.Typer(no_args_is_help=True, help="Work on class files (ontologies).")


def register(app: typer.Typer) -> None:
    app.add_typer(classes_app, name="classes")


@classes_app.command("expand")
def expand_cmd(
    classes: str = typer.Argument(..., help="class file (YAML) or bundled set name"),
    reports: Path = typer.Argument(..., help="unlabelled reports (any format `radlabel label` reads)"),
    output: Path = typer.Option(..., "-o", "--output", help="expanded class file to write"),
    top_k: int = typer.Option(6, "--top-k", help="mined candidate phrases the LM judges per class"),
    max_variants: int = typer.Option(4, "--max-variants", help="LM-proposed variants (found in the corpus) judged per class"),
    max_normal: int = typer.Option(3, "--max-normal", help="normal-phrase candidates judged per class"),
    min_count: int = typer.Option(2, "--min-count", help="reports a mined phrase must occur in"),
    no_variants: bool = typer.Option(False, "--no-variants", help="skip the LM's abbreviation/variant proposals"),
    no_normal: bool = typer.Option(False, "--no-normal", help="skip normal phrases"),
    max_abnormal: int = typer.Option(80, "--max-abnormal", help="abnormality-word candidates judged for the normal class"),
    no_abnormal: bool = typer.Option(False, "--no-abnormal", help="skip abnormality words (normal class)"),
    no_stems: bool = typer.Option(False, "--no-stems", help="keep an accepted abnormality word as written, not as its family (degenerat*)"),
    no_examples: bool = typer.Option(False, "--no-examples", help="skip the examples the definitions list (judged first, at a lower bar)"),
    veto: bool = typer.Option(False, "--veto", help="an accepted single word must also read as an abnormality (one more LM question each)"),
    judge: str = typer.Option("yesno", "--judge", help="yesno (calibrated P(yes)) or choice (A/B/C/D, A must win)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="reports format (default: detected)"),
    lm: Optional[str] = lm_option(),
    api_base: Optional[str] = api_base_option(),
    allow_remote: bool = allow_remote_option(),
    config: Optional[Path] = config_option(),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Add the synonyms, abbreviations and normal phrases the reports use to each class, and
    the abnormality words that keep the normal class (if any) from a report that has one.

    The output is an ordinary class file: the user's phrases as written, plus `learned:` phrases
    with provenance (source, corpus count, one example report id) to read and prune. LM answers
    are cached in OUTPUT.cache.jsonl: an interrupted run resumes, a rerun costs nothing.
    """
    import json

    from rich.console import Console

    from radlabel.data import iter_reports
    from radlabel.errors import InputError
    from radlabel.lm.config import load_config
    from radlabel.lm.factory import make_lm
    from radlabel.ontology import Ontology
    from radlabel.programs.expand import ExpandSettings, expand_ontology

    onto = Ontology.load(classes)
    if not onto.source.startswith(("bundled:", "<")) and output.resolve() == Path(onto.source).resolve():
        raise InputError("-o is the input class file; write the expansion to a new file",
                         path=str(output), field="output")
    cfg = load_config(config, model=lm, api_base=api_base, allow_remote=allow_remote or None)
    if judge not in ("choice", "yesno"):
        raise InputError(f"--judge must be choice or yesno, got {judge!r}", field="judge")
    settings = ExpandSettings(top_k=top_k, max_variants=max_variants, max_normal=max_normal,
                              min_count=min_count, variants=not no_variants, normal=not no_normal,
                              abnormal=not no_abnormal, stems=not no_stems,
                              max_abnormal=max_abnormal, judge=judge, examples=not no_examples,
                              veto=veto)
    console = Console(stderr=True)
    console.print(f"expanding {len(onto.finding_classes)} classes of {onto.source} with "
                  f"{cfg.describe()} ...")
    expanded, summary = expand_ontology(onto, iter_reports(reports, fmt=fmt), lm=make_lm(cfg),
                                        output=output, settings=settings, progress=not quiet)
    s = summary.as_dict()
    console.print(f"{s['reports']} reports, {s['sentences']} distinct finding sentences, "
                  f"{s['candidates']} candidate phrases")
    console.print(f"cost: {s['lm_calls']} LM calls ({s['cached_calls']} answered from the cache), "
                  f"{s['tokens']} tokens, {s['minutes']} min")
    for name, added in s["added"].items():
        if added:
            console.print(f"  {name}: " + ", ".join(f"{v} {k}" for k, v in added.items()))
    console.print(f"{s['phrases_added']} phrases added; saved to {output} "
                  f"(label with it: radlabel label REPORTS --classes {output} -o labels.jsonl)")
    if s["rejected_not_in_corpus"]:
        n = sum(len(v) for v in s["rejected_not_in_corpus"].values())
        console.print(f"{n} LM-proposed variants were not in the corpus and were dropped: "
                      + json.dumps(s["rejected_not_in_corpus"])[:300])
