"""The command line's shared vocabulary: one spelling per concept, and the one way old spellings live on.

Every verb spells the same thing the same way:

| concept | flag |
|---|---|
| what the verb writes (file or folder) | `-o/--output` |
| a label file (label/predict output, reviewed or gold records) | `--labels` |
| a gold label file the verb reads (trusted labels) | `--gold` |
| the Chroma folder (retrieval indexes) | `--chroma` (server: `--chroma-url`) |
| the SQLite review database | `--review-db` |
| the class file | `--classes` |
| the LM | `--lm`, `--api-base`, `--allow-remote`, `--config` |

A report file that is the verb's main input is positional (`label INPUT`, `predict INPUT`);
a report file beside labels is `--reports`.

Old spellings (`--out`, `--store`, `--pred`, `--review-store`, a positional LABELS) are kept for
one release as hidden aliases: `aliases(...)` builds a click command class that rewrites them
to the new flag before parsing and prints one deprecation line on stderr naming the new flag.
"""
from __future__ import annotations

from typing import Optional

import typer
from typer.core import TyperCommand

LM_HELP = ("LM: 'embedded' (default, in-process, no network), 'embedded:qwen2.5-coder-0.5b', "
           "'embedded:/path/model.gguf', or a LiteLLM string such as 'openai/<model>' with --api-base")
API_BASE_HELP = "OpenAI-compatible server URL (vLLM, Ollama, llama.cpp)"
ALLOW_REMOTE_HELP = "allow sending reports to a non-loopback API"
CONFIG_HELP = "YAML config with an lm: table"
CLASSES_HELP = "class file (YAML) or bundled set name; default: 14 chest X-ray classes"
CHROMA_HELP = "Chroma folder (default .radlabel/chroma, or $RADLABEL_CHROMA)"


def output_option(help: str, *, required: bool = True):
    """`-o/--output`: what the verb writes."""
    return typer.Option(... if required else None, "-o", "--output", help=help)


def labels_option(help: str, *, required: bool = True):
    """`--labels`: a label file the verb reads."""
    return typer.Option(... if required else None, "--labels", help=help)


def gold_option(help: str, *, required: bool = True):
    """`--gold`: a gold label file the verb reads."""
    return typer.Option(... if required else None, "--gold", help=help)


def chroma_option(help: str = CHROMA_HELP):
    """`--chroma`: the Chroma folder."""
    return typer.Option(None, "--chroma", help=help)


def review_db_option(help: str, *, required: bool = False):
    """`--review-db`: the SQLite review database."""
    return typer.Option(... if required else None, "--review-db", help=help)


def classes_option(help: str = CLASSES_HELP):
    return typer.Option(None, "--classes", help=help)


def lm_option(help: str = LM_HELP):
    return typer.Option(None, "--lm", help=help)


def api_base_option(help: str = API_BASE_HELP):
    return typer.Option(None, "--api-base", help=help)


def allow_remote_option(help: str = ALLOW_REMOTE_HELP):
    return typer.Option(False, "--allow-remote", help=help)


def config_option(help: str = CONFIG_HELP):
    return typer.Option(None, "--config", help=help)


def deprecated(old: str, new: str) -> None:
    """The one deprecation line (stderr) for an old spelling."""
    typer.echo(f"warning: {old} is deprecated, use {new} (the old spelling goes in the next release)",
               err=True)


class AliasedCommand(TyperCommand):
    """A typer command that accepts old spellings; subclasses are made by `aliases()`.

    `renamed`: old option -> new option (`--out` -> `--output`, also as `--out=FILE`).
    `positional`: a bare argument (the command has none now) becomes this option's value.
    `took_value`: a flag that used to take a value -> the option that takes it now
    (`--index-demos DIR` -> `--index-demos --chroma DIR`)."""

    renamed: dict[str, str] = {}
    positional: Optional[str] = None
    took_value: dict[str, str] = {}

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self.rewrite(args))

    # typer ships its own copy of click, so parameters are told apart by their kind, not class
    def _takes_value(self) -> dict[str, bool]:
        out = {}
        for p in self.params:
            if p.param_type_name == "option":
                for name in (*p.opts, *p.secondary_opts):
                    out[name] = not (p.is_flag or p.count)
        return out

    def rewrite(self, args: list[str]) -> list[str]:
        if self.positional and any(p.param_type_name == "argument" for p in self.params):
            raise TypeError(f"{self.name}: a positional alias needs a command without arguments")
        takes_value = self._takes_value()
        out: list[str] = []
        i = 0
        while i < len(args):
            tok = args[i]
            i += 1
            if tok == "--":
                out.extend(args[i - 1:])
                break
            if not tok.startswith("-") or tok == "-":
                if self.positional:
                    deprecated(f"a positional {self.positional.lstrip('-').upper()} argument",
                               f"{self.positional} {tok}")
                    out += [self.positional, tok]
                else:
                    out.append(tok)
                continue
            if tok.startswith("--"):
                name, eq, value = tok.partition("=")
            else:  # -oFILE
                name, eq, value = tok[:2], "", tok[2:]
            if name in self.renamed:
                deprecated(name, self.renamed[name])
                name = self.renamed[name]
                tok = name + eq + value if tok.startswith("--") else name + value
            if name in self.took_value and not eq and i < len(args) and not args[i].startswith("-"):
                new = self.took_value[name]
                deprecated(f"{name} {args[i]}", f"{name} {new} {args[i]}")
                out += [tok, new, args[i]]
                i += 1
                continue
            out.append(tok)
            if takes_value.get(name) and not eq and not value and i < len(args):
                out.append(args[i])  # the option's value, whatever it looks like
                i += 1
        return out


def aliases(renamed: dict[str, str] | None = None, *, positional: str | None = None,
            took_value: dict[str, str] | None = None) -> type[AliasedCommand]:
    """A command class for `app.command(name, cls=aliases({"--out": "--output"}))`."""
    return type("AliasedCommand", (AliasedCommand,),
                {"renamed": dict(renamed or {}), "positional": positional,
                 "took_value": dict(took_value or {})})
