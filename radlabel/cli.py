"""`radlabel <verb>`: the command line. Heavy imports stay inside the commands."""
from __future__ import annotations

import importlib
import sys

import typer

from radlabel.env import apply_offline_defaults

apply_offline_defaults()

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="radlabel: structured, auditable labels from radiology reports.")

# Each area registers its verbs with `register(app)`; the modules import nothing heavy.
AREAS = [
    "radlabel.data.cli",
    "radlabel.training.cli",
    "radlabel.commands",
    "radlabel.retrieval.cli",
    "radlabel.review.cli",
    "radlabel.programs.cli",
    "radlabel.eval.cli",
    "radlabel.eval.cli_loop",
    "radlabel.commands_synth",
]


def _register_all() -> None:
    for name in AREAS:
        importlib.import_module(name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: InputError becomes one clear line and exit code 2."""
    from radlabel.errors import InputError

    _register_all()
    try:
        app(args=argv, standalone_mode=False)
    except InputError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("aborted", fg="red", err=True)
        sys.exit(130)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise


if __name__ == "__main__":
    main()
