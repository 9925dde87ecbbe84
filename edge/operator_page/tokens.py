"""The page's two proofs, both HMACs keyed with the local token, so nothing needs storing but the used nonces.

- The operator session (cookie, HttpOnly, SameSite=Strict): the local-token rule for the Z report (DESIGN §5,
  issue 19). The browser gets it from a one-time login link that ``edge page`` makes from the token file, so only
  someone who can read the state directory opens a page that can close the day.
- The form token (CSRF), one per rendered page: a request must carry one this edge issued, unexpired and never
  used before. A page from elsewhere cannot read ours (the loopback guard refuses a foreign ``Host`` and
  ``Origin``), and a second submit of the same form (a reload, a double click) is refused, so a Z is asked once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from pydantic import SecretStr

LOGIN_SECONDS = 120
SESSION_SECONDS = 12 * 3600
FORM_SECONDS = 3600


def _mac(key: SecretStr, purpose: str, *parts: str) -> str:
    message = "|".join((purpose, *parts)).encode()
    return hmac.new(key.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def _signed(key: SecretStr, purpose: str, seconds: int, now: float) -> str:
    expires = str(int(now) + seconds)
    return f"{expires}.{_mac(key, purpose, expires)}"


def _seconds(text: str) -> int | None:
    """An expiry as this module writes it (ASCII digits, epoch seconds); None for anything else."""
    return int(text) if 0 < len(text) <= 12 and text.isascii() and text.isdigit() else None


def _valid(key: SecretStr, purpose: str, value: str | None, now: float) -> bool:
    if not value or len(value) > 200 or value.count(".") != 1:
        return False
    expires, mac = value.split(".")
    at = _seconds(expires)
    return at is not None and at >= now and hmac.compare_digest(mac.encode(), _mac(key, purpose, expires).encode())


def login_code(key: SecretStr, now: float | None = None) -> str:
    """For ``edge page``: a login code valid for two minutes."""
    return _signed(key, "login", LOGIN_SECONDS, time.time() if now is None else now)


class PageTokens:
    def __init__(self, key: SecretStr) -> None:
        self._key = key
        self._used: dict[str, int] = {}  # form nonce -> its expiry
        self._lock = threading.Lock()

    def login_valid(self, code: str | None) -> bool:
        return _valid(self._key, "login", code, time.time())

    def new_session(self) -> str:
        return _signed(self._key, "session", SESSION_SECONDS, time.time())

    def session_valid(self, cookie: str | None) -> bool:
        return _valid(self._key, "session", cookie, time.time())

    def new_form(self) -> str:
        nonce = secrets.token_urlsafe(16)
        expires = str(int(time.time()) + FORM_SECONDS)
        return f"{nonce}.{expires}.{_mac(self._key, 'form', nonce, expires)}"

    def use_form(self, token: str | None) -> bool:
        """True once for a form token this edge issued and that has not expired; False ever after."""
        parts = (token or "").split(".")
        if len(parts) != 3 or len(token or "") > 200:
            return False
        nonce, expires, mac = parts
        at, now = _seconds(expires), int(time.time())
        if at is None or at < now or not hmac.compare_digest(mac.encode(), _mac(self._key, "form", nonce, expires).encode()):
            return False
        with self._lock:
            self._used = {n: e for n, e in self._used.items() if e >= now}
            if nonce in self._used:
                return False
            self._used[nonce] = at
            return True
