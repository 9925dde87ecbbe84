"""Command line: ``edge run``, ``edge status``, ``edge journal``.

Setup problems end the command with exit status 2 and one line on stderr.
Heavy imports (boto3, uvicorn) happen only in ``run``, after the config is valid.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import structlog
import typer

from edge.config import ConfigError, EdgeConfig, load_config
from edge.faults import ENV_VAR, parse_crash_spec
from edge.journal import Journal
from edge.timeparse import parse_instant

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Receipt Bridge edge poller.")

ConfigOption = typer.Option(..., "--config", "-c", help="TOML config file.", dir_okay=False)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"edge: {message}", err=True)
    return typer.Exit(2)


def _config(path: Path) -> EdgeConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _journal(config: EdgeConfig) -> Journal:
    if not config.journal_path.exists():
        raise _fail(f"no journal at {config.journal_path} (has the edge run yet?)")
    return Journal(config.journal_path, readonly=True)


@app.command()
def run(config: Path = ConfigOption) -> None:
    """Poll the shop's queue and print its jobs until SIGINT/SIGTERM."""
    settings = _config(config)
    crash_spec = os.environ.get(ENV_VAR)
    if crash_spec:
        try:
            parse_crash_spec(crash_spec)
        except ValueError as exc:
            raise _fail(str(exc)) from None

    from edge.drivers.base import UnsupportedDevice
    from edge.logs import configure_logging
    from edge.manage import ManageError
    from edge.runner import run_edge
    from edge.statelock import StateDirBusy

    configure_logging()
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        run_edge(settings, stop, sys.stdout)
    except (UnsupportedDevice, StateDirBusy, ManageError) as exc:
        raise _fail(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:  # state dir or journal unusable: nothing may be printed without it
        structlog.get_logger("edge.cli").exception("edge_failed")
        raise _fail(f"{type(exc).__name__}: {exc}") from None


@app.command()
def status(config: Path = ConfigOption) -> None:
    """Backlog, last result and job counts by state, from the journal (JSON)."""
    journal = _journal(_config(config))
    try:
        typer.echo(json.dumps(journal.summary().model_dump(mode="json"), indent=2))
    finally:
        journal.close()


@app.command("journal")
def journal_entries(
    config: Path = ConfigOption,
    from_: str = typer.Option("0", "--from", help="ISO 8601 or epoch seconds/ms; default: the beginning."),
    to: str = typer.Option("", "--to", help="ISO 8601 or epoch seconds/ms; default: now."),
) -> None:
    """Journal entries created in [--from, --to], one JSON object per line."""
    settings = _config(config)
    try:
        start = parse_instant(from_)
        end = parse_instant(to) if to else time.time_ns() // 1_000_000
    except ValueError as exc:
        raise _fail(str(exc)) from None
    journal = _journal(settings)
    try:
        for entry in journal.entries(start, end):
            typer.echo(entry.model_dump_json())
    finally:
        journal.close()


def main() -> None:
    app()
