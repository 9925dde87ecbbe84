"""``edge pair <code>``: exchange a pairing code (DESIGN §4.4) for the shop's edge key and write the config.

The exchange gives the shop a new edge key (the till paired before stops), so nothing may be lost after it:
what can be refused is refused before it (a config holding a key of an unknown shop), and a key for another
shop than the config's is written beside the config instead of over it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any

import httpx
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, ValidationError

PAIRED_KEYS = ("api_base", "edge_key", "shop_id")
_TOP_LEVEL_KEY = re.compile(r"^\s*(api_base|edge_key|shop_id)\s*=")
_TABLE = re.compile(r"^\s*\[")


def default_config_path() -> Path:
    """Where ``edge pair`` writes when no ``--config`` is given: the machine's config for an administrator
    (%ProgramData% on Windows, /etc as root), else the user's own."""
    if os.name == "nt":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "ReceiptBridge" / "edge.toml"
    if os.geteuid() == 0:
        return Path("/etc/receipt-bridge/edge.toml")
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "receipt-bridge" / "edge.toml"


class PairingError(Exception):
    """Pairing stopped; the message is one line for the person at the till. ``code``: the CLI's exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class Paired(BaseModel):
    """The bridge's answer, checked like any input from the network."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    shop_id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    edge_key: Annotated[str, Field(pattern=r"^edk_[A-Za-z0-9_-]{20,200}$")]
    api_base: AnyHttpUrl


def existing_config(path: Path) -> dict[str, Any] | None:
    """The config file's TOML, or None when there is none; unreadable or invalid TOML stops pairing."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PairingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PairingError(f"{path} is not valid TOML ({exc}); fix or move it, or pair into another --config") from exc


def check_before_exchange(current: dict[str, Any] | None, path: Path, force: bool) -> None:
    """Refuse, before the code is spent, to replace a key whose shop the config does not name."""
    if current and current.get("edge_key") and not current.get("shop_id") and not force:
        raise PairingError(f"{path} already holds an edge key of an unknown shop; pass --force to replace it, "
                           "or pair into another --config")


def exchange(api_base: str, code: str, timeout: float = 15.0) -> Paired:
    """POST the code to ``/api/v1/edge/pair``; a refusal or an unreachable bridge becomes a ``PairingError``."""
    url = f"{api_base.rstrip('/')}/api/v1/edge/pair"
    try:
        reply = httpx.post(url, json={"code": code}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PairingError(f"cannot reach the bridge at {api_base} ({type(exc).__name__}): check the network "
                           "and --api-base, then run the same command again (the code was not used)") from exc
    try:
        body = reply.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if reply.status_code == 400 and body.get("code") == "E_PAIRING_CODE_INVALID":
        raise PairingError("this pairing code is used, expired or mistyped: codes work once, for 15 minutes; "
                           "ask for a new one in the console", 1)
    if reply.status_code == 429:
        raise PairingError(f"too many pairing attempts; wait {reply.headers.get('retry-after', '60')} s and retry", 1)
    if reply.status_code != 200:
        raise PairingError(f"the bridge refused pairing: HTTP {reply.status_code} {body.get('code', '')} "
                           f"{body.get('message', '')}".rstrip(), 1)
    try:
        return Paired.model_validate(body)
    except ValidationError as exc:
        raise PairingError(f"the bridge at {api_base} answered something that is not a pairing: "
                           f"{exc.error_count()} invalid fields") from exc


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string (ASCII, \uXXXX escapes) is a TOML basic string


def config_text(paired: Paired, path: Path, current_text: str | None) -> str:
    """The config with the paired keys: set at the top of an existing file (everything else kept as it was),
    or a new file with a state directory beside it and the simulated printer until a device is set."""
    head = [f"{name} = {_toml_string(str(getattr(paired, name)).rstrip('/'))}" for name in PAIRED_KEYS]
    if current_text is None:
        state_dir = path.resolve().parent / "state"
        return "\n".join([
            "# Written by `edge pair`. Set the fiscal printer below (or in the operator's page) before the first sale.",
            *head, f"state_dir = {_toml_string(str(state_dir))}", "", "[fiscal_device]",
            'manufacturer = "Simulated"', 'model = "Simulated"', ""])
    lines = current_text.splitlines()
    first_table = next((i for i, line in enumerate(lines) if _TABLE.match(line)), len(lines))
    kept = [line for line in lines[:first_table] if not _TOP_LEVEL_KEY.match(line)]
    return "\n".join([*head, *kept, *lines[first_table:]]) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file (0600) beside ``path``, flush it to disk, then rename it over ``path``:
    a crash leaves the old config or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if os.name == "posix":  # the rename itself reaches the disk with the directory's entry
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def save(paired: Paired, path: Path, current: dict[str, Any] | None, force: bool) -> Path:
    """Write the paired config to ``path``; a config of another shop is kept unless ``force``, and the new one
    goes beside it (returned), since the key cannot be asked for again."""
    current_text = path.read_text(encoding="utf-8") if current is not None else None
    text = config_text(paired, path, current_text)
    tomllib.loads(text)  # what is written must read back
    if current and current.get("shop_id") and current["shop_id"] != paired.shop_id and not force:
        beside = path.with_name(f"{path.stem}.{paired.shop_id}{path.suffix}")
        write_atomically(beside, config_text(paired, beside, current_text))
        raise PairingError(f"{path} is the config of shop {current['shop_id']}; paired shop {paired.shop_id} into "
                           f"{beside} instead (use that file, or pair again with --force to replace)", 1)
    write_atomically(path, text)
    return path
