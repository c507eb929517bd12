"""`radlabel review` and `radlabel review-export`. Streamlit is only started as a subprocess."""
from __future__ import annotations

import errno
import getpass
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from radlabel.cli_options import aliases, labels_option, review_db_option

APP_FILE = Path(__file__).with_name("app.py")
SERVE_FILE = Path(__file__).with_name("serve.py")  # app.py behind the access guard


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound now (one line), or None. Checked before Streamlit starts,
    so a taken port is a clear error and a non-zero exit, not a silent 0."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        return f"cannot use --host {host}: {e.strerror}"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do; a listener still blocks
        try:
            s.bind(addr)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use; stop that program or pick another --port"
            return f"cannot listen on {host}:{port}: {e.strerror}"
    return None


def streamlit_command(store: Path, *, host: str, port: int, reviewer: str) -> list[str]:
    """The `streamlit run` line: headless, no usage stats, bound to `host` (127.0.0.1)."""
    return [sys.executable, "-m", "streamlit", "run", str(SERVE_FILE),
            "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
            "--server.address", host,
            "--server.port", str(port),
            "--server.fileWatcherType", "none",
            "--server.runOnSave", "false",
            "--client.toolbarMode", "minimal",
            "--global.developmentMode", "false",
            "--", "--review-db", str(store), "--reviewer", reviewer]


def register(app: typer.Typer) -> None:
    @app.command("review", cls=aliases({"--store": "--review-db"}, positional="--labels"))
    def review(
        labels: Path = labels_option("Labels JSONL (from label/predict); may hold 'text'."),
        reports: Optional[Path] = typer.Option(None, "--reports", help="Reports file with the texts."),
        store: Optional[Path] = review_db_option("Review database (default: LABELS with .db)."),
        issues: Optional[Path] = typer.Option(None, "--issues",
                                              help="issues.jsonl from `radlabel analyze`."),
        classes: Optional[str] = typer.Option(None, "--classes",
                                              help="Class file or bundled set (default chest_xray)."),
        reviewer: str = typer.Option(getpass.getuser(), "--reviewer", help="Name in the audit log."),
        host: str = typer.Option("127.0.0.1", "--host",
                                 help="Address to bind; keep 127.0.0.1 unless behind auth."),
        port: int = typer.Option(8501, "--port"),
        no_launch: bool = typer.Option(False, "--no-launch",
                                       help="Validate and import only; do not start the app."),
    ):
        """Validate and import labels into a review store, then open the review app."""
        from radlabel.errors import InputError
        from radlabel.ontology import Ontology
        from radlabel.review.importer import import_labels
        from radlabel.review.store import ReviewStore

        from radlabel.errors import EXIT_OS_ERROR

        problem = None if no_launch else port_problem(host, port)
        if problem:  # before the import: nothing is written when the app cannot start
            typer.secho(f"error: {problem}", fg="red", err=True)
            raise typer.Exit(EXIT_OS_ERROR)
        db = store or labels.with_suffix(".db")
        ontology = Ontology.load(classes)
        new_store = not db.exists()
        try:
            with ReviewStore(db) as s:
                summary = import_labels(s, labels, reports_path=reports, issues_path=issues,
                                        ontology=ontology, reviewer=reviewer)
        except InputError:
            if new_store:  # leave no empty store behind a refused import
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
            raise
        typer.echo(f"{db}: {summary}")
        if no_launch:
            return
        from radlabel.review.guard import HOSTS_ENV, TOKEN_ENV, allowed_hosts

        if host not in ("127.0.0.1", "localhost", "::1"):
            typer.secho(f"warning: binding to {host}: reports are PHI; anyone with the URL "
                        "(it holds the token) can read them", fg="yellow", err=True)
        token = secrets.token_urlsafe(24)  # per launch, as Jupyter does; never on the command line
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"review app on http://{shown}:{port}/?token={token} (Ctrl+C to stop)")
        env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
                   RADLABEL_REVIEW_STORE=str(db), RADLABEL_REVIEWER=reviewer)
        env[TOKEN_ENV] = token
        env[HOSTS_ENV] = ",".join(allowed_hosts(host, port))
        proc = subprocess.Popen(streamlit_command(db, host=host, port=port, reviewer=reviewer),
                                env=env)
        # Stopping `radlabel review` must stop the app too (a bare `kill` would orphan it).
        signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # Ctrl+C reaches Streamlit too; wait for it to shut down
            code = proc.wait()
        raise typer.Exit(code)

    @app.command("review-export", cls=aliases({"--store": "--review-db", "--out": "--output"}))
    def review_export(
        store: Path = review_db_option("Review database.", required=True),
        out: Path = typer.Option(..., "-o", "--output", help="Output file (.jsonl or .csv)."),
        fmt: Optional[str] = typer.Option(None, "--format", help="jsonl or csv (default: from -o)."),
        include_edited: bool = typer.Option(False, "--include-edited",
                                            help="Also export edited reports not yet accepted."),
        no_text: bool = typer.Option(False, "--no-text", help="Leave report text out."),
    ):
        """Export reviewed labels (meta.source = "reviewed") for train and compile."""
        from radlabel.errors import InputError
        from radlabel.review.export import FORMATS, export_reviewed
        from radlabel.review.store import ReviewStore

        if not store.exists():
            raise InputError("review store not found", path=str(store))
        if fmt is not None and fmt.lower() not in FORMATS:
            raise InputError(f"--format must be one of {', '.join(FORMATS)}", field="--format")
        with ReviewStore(store) as s:
            n = export_reviewed(s, out, fmt=fmt, include_edited=include_edited,
                                with_text=not no_text)
        typer.echo(f"{out}: {n} reviewed report(s)")
