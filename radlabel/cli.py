"""`radlabel <verb>`: the command line. Heavy imports stay inside the commands."""
from __future__ import annotations

import importlib
import sys

try:
    import typer
    from typer.core import TyperGroup

    from radlabel.env import apply_offline_defaults
except KeyboardInterrupt:  # Ctrl-C while Python is still starting up: no traceback
    sys.stderr.write("interrupted\n")
    sys.exit(130)

apply_offline_defaults()

# `radlabel --help` lists the verbs in the order a user runs them, then the tools around them.
PIPELINE = ("reports", "label", "review", "review-export", "compile", "evaluate", "train", "predict",
            "analyze", "feedback", "loop")
TOOLS = ("index", "search", "classes", "synth", "model", "demo", "pretrain", "tokenizer")


class PipelineGroup(TyperGroup):
    """Verbs in PIPELINE then TOOLS order; any other verb after them, by name."""

    def list_commands(self, ctx) -> list[str]:
        rank = {name: i for i, name in enumerate(PIPELINE + TOOLS)}
        return sorted(self.commands, key=lambda name: (rank.get(name, len(rank)), name))


app = typer.Typer(cls=PipelineGroup, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False,
                  help="radlabel: structured, auditable labels from radiology reports.")

# Each area registers its verbs with `register(app)`; the modules import nothing heavy.
AREAS = [
    "radlabel.data.cli",
    "radlabel.training.cli",
    "radlabel.commands",
    "radlabel.retrieval.cli",
    "radlabel.review.cli",
    "radlabel.programs.cli",
    "radlabel.programs.cli_classes",
    "radlabel.eval.cli",
    "radlabel.cli_loop",
    "radlabel.commands_synth",
]


def _register_all() -> None:
    for name in AREAS:
        importlib.import_module(name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point. Exit codes (radlabel.errors): 0 ok, 1 some reports failed, 2 bad
    input (one line naming file, line, field), 3 OS error or locked output (one line), 130
    interrupted. Nothing the user can cause ends in a traceback."""
    from radlabel import errors

    code = errors.EXIT_OK
    try:
        _register_all()
        rc = app(args=argv, standalone_mode=False)
        # standalone_mode=False: click returns the code of typer.Exit (and of Ctrl-C, as 130)
        code = rc if isinstance(rc, int) else errors.EXIT_OK
        if code == errors.EXIT_INTERRUPTED:
            typer.secho("interrupted", fg="red", err=True)
    except errors.InputError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        code = errors.EXIT_BAD_INPUT
    except errors.OutputLocked as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        code = errors.EXIT_OS_ERROR
    except typer.Exit as e:
        code = e.exit_code
    except errors.Interrupted as e:
        typer.secho(f"interrupted: {e}", fg="red", err=True)
        code = errors.EXIT_INTERRUPTED
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("interrupted", fg="red", err=True)
        code = errors.EXIT_INTERRUPTED
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        typer.secho(f"error: {where}{e.strerror or e}", fg="red", err=True)
        code = errors.EXIT_OS_ERROR
    except typer.TyperException as e:  # usage errors (typer vendors click: not click.ClickException)
        e.show()
        code = e.exit_code
    if code != errors.EXIT_OK:  # a clean run returns, so in-process callers need no SystemExit guard
        sys.exit(code)


if __name__ == "__main__":
    main()
