"""The edge as a systemd service (Linux): a unit that runs ``edge run --config <file>`` and restarts it.

System units go to /etc/systemd/system (root); ``--user`` units to ``$XDG_CONFIG_HOME/systemd/user``, which
runs at boot only with lingering enabled (``loginctl enable-linger``). See systemd.service(5), systemd.exec(5).
"""

from __future__ import annotations

import os
from pathlib import Path

from edge.service.runner import Outcome, ServiceError, checked, run

UNIT = "receipt-bridge-edge.service"


def _specifiers(value: str) -> str:
    """``%`` starts a specifier in any unit setting (systemd.unit(5), "Specifiers"): a literal one is ``%%``."""
    return value.replace("%", "%%")


def _quoted(argument: str) -> str:
    """One ExecStart argument: double-quoted, backslash and quote escaped, ``$`` (variable expansion) doubled
    (systemd.service(5), "Command lines")."""
    escaped = _specifiers(argument).replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return f'"{escaped}"'


def unit_text(command: list[str], config: Path, *, user_mode: bool) -> str:
    """The unit file for ``command`` (the edge's argv up to ``run``) with ``config``'s directory as working dir."""
    exec_start = " ".join(_quoted(part) for part in [*command, "run", "--config", str(config)])
    return "\n".join([
        "[Unit]",
        "Description=Receipt Bridge edge: prints the shop's fiscal receipts",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={exec_start}",
        f"WorkingDirectory={_specifiers(str(config.parent))}",  # one absolute path, spaces and all, unquoted
        "Restart=always",
        "RestartSec=5",
        "TimeoutStopSec=90",  # the edge finishes the receipt it is printing before it stops
        "KillMode=mixed",
        "UMask=0077",
        "NoNewPrivileges=yes",
        "",
        "[Install]",
        f"WantedBy={'default.target' if user_mode else 'multi-user.target'}",
        "",
    ])


def unit_dir(user_mode: bool) -> Path:
    if user_mode:
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    return Path("/etc/systemd/system")


def _systemctl(user_mode: bool, *args: str) -> list[str]:
    return ["systemctl", *(["--user"] if user_mode else []), *args]


def install(command: list[str], config: Path, *, user_mode: bool) -> Path:
    """Write the unit, reload systemd, enable and start it; returns the unit file's path."""
    path = unit_dir(user_mode) / UNIT
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(unit_text(command, config, user_mode=user_mode), encoding="utf-8")
    except PermissionError as exc:
        raise ServiceError(f"cannot write {path}: run as root (sudo), or install with --user") from exc
    checked(_systemctl(user_mode, "daemon-reload"))
    checked(_systemctl(user_mode, "enable", "--now", UNIT))
    return path


def uninstall(*, user_mode: bool) -> Path:
    """Stop and disable the unit, remove its file, reload systemd; returns the removed path."""
    path = unit_dir(user_mode) / UNIT
    if not path.exists():
        raise ServiceError(f"no edge service installed ({path} does not exist)")
    checked(_systemctl(user_mode, "disable", "--now", UNIT))
    try:
        path.unlink()
    except PermissionError as exc:
        raise ServiceError(f"cannot remove {path}: run as root (sudo)") from exc
    checked(_systemctl(user_mode, "daemon-reload"))
    return path


def status(*, user_mode: bool) -> Outcome:
    """``systemctl status`` of the unit (exit 0 running, 3 stopped, 4 not installed: systemctl(1))."""
    return run(_systemctl(user_mode, "status", "--no-pager", "--lines=5", UNIT))
