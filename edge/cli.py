"""Command line: ``edge run``, ``status``, ``page``, ``journal``, ``devices``, ``report x|z|fm``, ``cash in|out``, ``ejournal``,
``pair``, ``service install|uninstall|status``.

Setup problems end the command with exit status 2 and one line on stderr; a device that
refuses an operation ends it with status 1. Commands that need the device ask the running
edge through its management API (the running edge owns the device); ``status``, ``journal``
and ``devices`` read the state directory when the edge is not running.
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
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
import typer
from rich.console import Console
from rich.table import Table

from edge.config import ConfigError, EdgeConfig, load_config
from edge.faults import ENV_VAR, parse_crash_spec
from edge.journal import Journal
from edge.local_token import TOKEN_FILE, LocalTokenUnreadable, read_token
from edge.loopback_guard import authority
from edge.operator_page.tokens import login_code
from edge.store import SETTINGS_FILE, SettingsError, read_settings
from edge.timeparse import parse_instant

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Receipt Bridge edge poller.")
console = Console(highlight=False, soft_wrap=True)

ConfigOption = typer.Option(..., "--config", "-c", help="TOML config file.", dir_okay=False)
JsonOption = typer.Option(False, "--json", help="Print JSON instead of tables.")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"edge: {message}", err=True)
    return typer.Exit(code)


def _config(path: Path) -> EdgeConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _journal(config: EdgeConfig) -> Journal:
    if not config.journal_path.exists():
        raise _fail(f"no journal at {config.journal_path} (has the edge run yet?)")
    return Journal(config.journal_path, readonly=True)


def _manage_url(config: EdgeConfig, path: str) -> str:
    return f"http://{authority(config.manage_host, config.manage_port)}/manage/{path}"


def _token_header(config: EdgeConfig) -> dict[str, str]:
    """The local token the running edge keeps in its state directory, for the calls that need it."""
    try:
        token = read_token(config.state_dir / TOKEN_FILE)
    except LocalTokenUnreadable as exc:
        raise _fail(f"{exc} (run this command as the user the edge runs as)") from None
    return {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}


def _manage(config: EdgeConfig, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 60.0) -> Any:
    """Call the running edge's management API; exit 2 if it is not running, 1 if it refuses."""
    url = _manage_url(config, path)
    try:
        reply = httpx.request(method, url, json=body, headers=_token_header(config), timeout=timeout)
    except httpx.HTTPError as exc:
        raise _fail(f"the edge is not running (management API at {url}: {type(exc).__name__})") from None
    if reply.status_code >= 400:
        try:
            error = reply.json()
            message = f"{error.get('code')}: {error.get('message')}"
        except ValueError:
            message = f"HTTP {reply.status_code}"
        raise _fail(message, 1)
    return reply.json() if reply.headers.get("content-type", "").startswith("application/json") else reply.text


def _running_status(config: EdgeConfig) -> dict[str, Any] | None:
    try:
        reply = httpx.get(_manage_url(config, "status"), timeout=5)
    except httpx.HTTPError:
        return None
    return reply.json() if reply.status_code == 200 else None


@app.command()
def run(
    config: Path = ConfigOption,
    progress: bool | None = typer.Option(None, "--progress/--no-progress", help="Progress bar while a backlog drains (default: when stdout is a terminal)."),
) -> None:
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
    os.umask(0o077)  # whatever the edge or a library creates in the state directory is the owner's only
    try:
        run_edge(settings, stop, sys.stdout, progress=sys.stdout.isatty() if progress is None else progress)
    except (UnsupportedDevice, StateDirBusy, ManageError, SettingsError, LocalTokenUnreadable) as exc:
        raise _fail(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:  # state dir or journal unusable: nothing may be printed without it
        structlog.get_logger("edge.cli").exception("edge_failed")
        raise _fail(f"{type(exc).__name__}: {exc}") from None


@app.command()
def status(config: Path = ConfigOption, as_json: bool = JsonOption) -> None:
    """Queue, device, backlog and last result: from the running edge, else from the journal."""
    settings = _config(config)
    live = _running_status(settings)
    if live is None:
        journal = _journal(settings)
        try:
            live = {"running": False, **journal.summary().model_dump(mode="json")}
        finally:
            journal.close()
    else:
        live = {"running": True, **{k: v for k, v in live.items() if k != "success"}}
    if as_json:
        typer.echo(json.dumps(live, indent=2))
        return
    table = Table(title="edge status", show_header=False)
    device = live.get("device") or {}
    last = live.get("last_result") or {}
    rows = [
        ("running", "yes" if live["running"] else "no (read from the journal)"),
        ("queue", live.get("queue_url") or "-"),
        ("online", str(live.get("online", "-"))),
        ("device", f"{device.get('device', '-')} ({'online' if device.get('online') else 'offline'})" if device else "-"),
        ("backlog", str(live["backlog"])),
        ("last result", f"{last.get('job_id')} {last.get('status')} {last.get('fiscal_number') or last.get('reason') or ''}" if last else "-"),
    ]
    rows += [(f"warnings {view['name']}", ", ".join(view["status"]["warnings"]) or "none") for view in live.get("devices", [])]
    rows += [(f"jobs {state}", str(count)) for state, count in live["counts"].items() if count]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


@app.command()
def page(config: Path = ConfigOption) -> None:
    """Print a link that opens the operator's page with the right to close the day (valid two minutes, this PC only)."""
    settings = _config(config)
    try:
        token = read_token(settings.state_dir / TOKEN_FILE)
    except LocalTokenUnreadable as exc:
        raise _fail(f"{exc} (run this command as the user the edge runs as)") from None
    if token is None:
        raise _fail(f"no local token in {settings.state_dir}: start the edge once first")
    code = login_code(token)
    typer.echo(f"http://{authority(settings.manage_host, settings.manage_port)}/operator/login?{urlencode({'code': code})}")


@app.command("journal")
def journal_entries(
    config: Path = ConfigOption,
    from_: str = typer.Option("0", "--from", help="ISO 8601 or epoch seconds/ms; default: the beginning."),
    to: str = typer.Option("", "--to", help="ISO 8601 or epoch seconds/ms; default: now."),
    jobs: bool = typer.Option(False, "--jobs", help="List jobs (with rejected messages) instead of device operations."),
) -> None:
    """Device operations (or jobs) journaled in [--from, --to], one JSON object per line."""
    settings = _config(config)
    try:
        start = parse_instant(from_)
        end = parse_instant(to) if to else time.time_ns() // 1_000_000
    except ValueError as exc:
        raise _fail(str(exc)) from None
    journal = _journal(settings)
    try:
        for entry in journal.jobs_between(start, end) if jobs else journal.entries(start, end):
            typer.echo(entry.model_dump_json())
    finally:
        journal.close()


@app.command()
def devices(config: Path = ConfigOption, as_json: bool = JsonOption) -> None:
    """Configured fiscal devices (the first prints the jobs) and POS terminals."""
    settings = _config(config)
    path = settings.state_dir / SETTINGS_FILE
    if not path.exists():
        raise _fail(f"no device settings at {path} (has the edge run yet?)")
    try:
        stored = read_settings(path)
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    listing = [("fiscal", e.device) for e in stored.fiscal_devices] + [("pos", e.device) for e in stored.pos_terminals]
    if as_json:
        typer.echo(json.dumps([{"kind": kind, **device.model_dump(mode="json")} for kind, device in listing], indent=2))
        return
    table = Table(title="devices")
    for column in ("kind", "id", "name", "manufacturer", "model", "connection"):
        table.add_column(column)
    for kind, device in listing:
        link = device.connection_details
        where = "-" if link is None else f"{link.type} {' '.join(f'{k}={v}' for k, v in link.details.model_dump(exclude={'password'}).items() if v is not None)}"
        table.add_row(kind, device.id or "-", device.name, device.manufacturer, device.model, where)
    console.print(table)


def _operation(settings: EdgeConfig, body: dict[str, Any]) -> None:
    outcome = _manage(settings, "POST", "device_operation", body)
    entry = outcome["entry"]
    typer.echo(entry.get("full_text") or outcome["message"])
    if outcome.get("email_sent_to"):
        typer.echo(f"emailed to {', '.join(outcome['email_sent_to'])}")
    if outcome.get("email_error"):
        typer.echo(f"edge: Z report email failed: {outcome['email_error']}", err=True)


@app.command()
def report(
    kind: str = typer.Argument(..., help="x (running totals), z (close the day) or fm (fiscal memory report)."),
    config: Path = ConfigOption,
    from_: str = typer.Option("", "--from", help="fm: first day, YYYY-MM-DD (default: today)."),
    to: str = typer.Option("", "--to", help="fm: last day, YYYY-MM-DD (default: today)."),
    device: str | None = typer.Option(None, "--device", help="Device id (default: the printing device)."),
) -> None:
    """Print an X, Z or fiscal memory report on the device and show its text."""
    actions = {"x": "XReport", "z": "ZReport", "fm": "FiscalMemoryReport"}
    if kind.lower() not in actions:
        raise _fail(f"report must be x, z or fm, not {kind!r}")
    body: dict[str, Any] = {"action_type": actions[kind.lower()], "device_id": device}
    if kind.lower() == "fm":
        today = date.today().isoformat()
        body.update(start_date=from_ or today, end_date=to or today)
    _operation(_config(config), body)


@app.command()
def cash(
    direction: str = typer.Argument(..., help="in (deposit) or out (withdraw)."),
    amount: str = typer.Argument(..., help="Amount as a decimal, e.g. 50.00."),
    config: Path = ConfigOption,
    device: str | None = typer.Option(None, "--device", help="Device id (default: the printing device)."),
) -> None:
    """Record cash put into or taken out of the drawer."""
    if direction not in ("in", "out"):
        raise _fail(f"cash takes in or out, not {direction!r}")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise _fail(f"not an amount: {amount!r}") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise _fail(f"not a positive amount with at most two decimals: {amount!r}")
    body = {"action_type": "Deposit" if direction == "in" else "Withdraw", "amount_cents": int(value * 100), "device_id": device}
    _operation(_config(config), body)


@app.command()
def ejournal(config: Path = ConfigOption) -> None:
    """Export the simulated register's electronic journal as text."""
    typer.echo(_manage(_config(config), "GET", "simulator/electronic_journal"), nl=False)


@app.command()
def pair(
    code: str = typer.Argument(..., help="The pairing code from the console or the API, e.g. ABCD-EFGH-JKMN."),
    api_base: str | None = typer.Option(None, "--api-base", help="The bridge's URL (default: the config's api_base)."),
    config: Path | None = typer.Option(None, "--config", "-c", dir_okay=False,
                                       help="Config file to write (default: the machine's or your own edge.toml)."),
    force: bool = typer.Option(False, "--force", help="Replace a config that holds another shop's key."),
) -> None:
    """Pair this till with a shop: exchange a one-time code for the shop's edge key and write the config (0600)."""
    from edge import pairing

    path = config or pairing.default_config_path()
    try:
        current = pairing.existing_config(path)
        pairing.check_before_exchange(current, path, force)
        base = api_base or (current or {}).get("api_base")
        if not isinstance(base, str) or not base:
            raise pairing.PairingError("pass --api-base, the bridge's URL (it is shown beside the pairing code)")
        paired = pairing.exchange(base, code)
        written = pairing.save(paired, path, current, force)
    except pairing.PairingError as exc:
        raise _fail(str(exc), exc.code) from None
    except OSError as exc:
        raise _fail(f"cannot write {path}: {exc.strerror or exc}") from None
    typer.echo(f"paired with shop {paired.shop_id}; config written to {written}")
    typer.echo(f"next: edge service install --config {written}")


service_app = typer.Typer(no_args_is_help=True, help="Run the edge as a system service (systemd; Windows: an SCM service).")
app.add_typer(service_app, name="service")
UserOption = typer.Option(False, "--user", help="Linux: a systemd user unit instead of a system one (no root).")
WINDOWS = sys.platform == "win32"  # edge/service/windows.py imports pywin32 only inside its functions


def _edge_command() -> list[str]:
    return [sys.executable, "-m", "edge"]


@service_app.command("install")
def service_install(config: Path = ConfigOption, user: bool = UserOption) -> None:
    """Install and start the service that runs `edge run --config <file>` at boot and after a crash."""
    from edge.service import systemd, windows
    from edge.service.runner import ServiceError

    _config(config)  # a service must not start on a config that cannot run
    try:
        where = (windows.install(sys.executable, config.resolve()) if WINDOWS
                 else systemd.install(_edge_command(), config.resolve(), user_mode=user))
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"edge service installed and started: {where}")


@service_app.command("uninstall")
def service_uninstall(user: bool = UserOption) -> None:
    """Stop the service and remove it."""
    from edge.service import systemd, windows
    from edge.service.runner import ServiceError

    try:
        where = windows.uninstall() if WINDOWS else systemd.uninstall(user_mode=user)
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"edge service removed: {where}")


@service_app.command("status")
def service_status(user: bool = UserOption) -> None:
    """The service manager's view of the edge service; exits non-zero when it is not running."""
    from edge.service import systemd, windows
    from edge.service.runner import ServiceError

    try:
        outcome = windows.status() if WINDOWS else systemd.status(user_mode=user)
    except ServiceError as exc:
        raise _fail(str(exc)) from None
    typer.echo(outcome.output)
    if outcome.returncode != 0:
        raise typer.Exit(outcome.returncode)


@service_app.command("host", hidden=True)
def service_host(config: Path = ConfigOption) -> None:
    """Windows: the process the service manager starts (the installed service's command); not for a console."""
    from edge.service import windows
    from edge.service.runner import ServiceError

    if not WINDOWS:
        raise _fail("edge service host runs only under the Windows service manager; use `edge run --config …`")
    try:
        windows.host(config.resolve())
    except ServiceError as exc:
        raise _fail(str(exc)) from None


def main() -> None:
    app()
