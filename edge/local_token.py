"""The local token: a 256-bit secret in ``<state_dir>/manage.token`` (mode 0600) that the dangerous
management calls require as ``Authorization: Bearer <token>``.

Whoever can read the state directory can already change the edge's devices and settings, so the
file's owner-only mode is the boundary: a web page in the till's browser, another local user, or a
process that can reach the loopback port but not the file is refused. The edge creates it on its
first start and keeps it; the CLI reads it to call the running edge. It is never logged.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from pathlib import Path

from pydantic import SecretStr

from edge.store import write_atomically

TOKEN_FILE = "manage.token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, unpadded base64url


class LocalTokenUnreadable(Exception):
    """The token file exists but this user may not read it (the edge runs as someone else)."""


def ensure_token(state_dir: Path) -> SecretStr:
    """The state directory's token, created at the first start; an unusable file is replaced.

    Creation is atomic (an owner-only temporary file, fsync, rename), so a crash never leaves an
    empty or half-written token; the caller holds the state directory's lock.
    """
    path = state_dir / TOKEN_FILE
    existing = read_token(path)
    if existing is not None:
        os.chmod(path, 0o600)
        return existing
    token = secrets.token_urlsafe(32)
    write_atomically(path, (token + "\n").encode("ascii"))
    return SecretStr(token)


def read_token(path: Path) -> SecretStr | None:
    """The token in ``path``; None when there is none or it is not a token this edge made."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except PermissionError as exc:
        raise LocalTokenUnreadable(f"cannot read the local token {path}: permission denied") from exc
    return SecretStr(text) if _TOKEN.fullmatch(text) else None


def matches(expected: SecretStr, presented: str | None) -> bool:
    """True when ``presented`` (the Bearer credential) is the token; compared in constant time."""
    return presented is not None and hmac.compare_digest(presented.encode("utf-8", "replace"), expected.get_secret_value().encode())
