"""The console's login session: the merchant's access JWT in an HttpOnly, SameSite=Strict cookie, and CSRF
tokens signed with that session's own secret.

A CSRF token is HMAC-SHA256 keyed with the cookie's value (the JWT, or before login a random nonce), so it
is bound to the session: another session's token, or one forged without the cookie, never matches. The
cookie is ``Secure`` with the ``__Host-`` prefix everywhere but the local stage served over plain
``http://127.0.0.1`` (a browser would not send a Secure cookie there, and nothing leaves the machine).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.auth import merchants, tokens
from chalicelib.core.errors import AuthenticationError, ForbiddenError
from chalicelib.core.settings import settings

LOGIN_NONCE_SECONDS = 3600
_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_.-]{1,4096}$")
_CSRF_CONTEXT = b"receipt-bridge console csrf v1"


@dataclass(frozen=True)
class Session:
    merchant_id: str
    csrf: str


def secure_cookies() -> bool:
    cfg = settings()
    return not (cfg.stage == "local" and cfg.public_base_url.startswith("http://"))


def _name(base: str) -> str:
    return f"__Host-{base}" if secure_cookies() else base


def session_cookie() -> str:
    return _name("rb_console")


def login_cookie() -> str:
    return _name("rb_console_login")


def _set_cookie(name: str, value: str, max_age: int) -> dict[str, str]:
    flags = "; Secure" if secure_cookies() else ""
    return {"Set-Cookie": f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{flags}"}


def cookies(headers: Any) -> dict[str, str]:
    """The request's cookies; a malformed pair is skipped, never an error."""
    found: dict[str, str] = {}
    raw = headers.get("cookie") or ""
    for pair in raw[:8192].split(";"):
        name, sep, value = pair.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip()
    return found


def csrf_for(secret: str) -> str:
    mac = hmac.new(secret.encode(), _CSRF_CONTEXT, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def check_csrf(session: Session, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(session.csrf.encode(), submitted.encode()):
        raise ForbiddenError("This form has expired or did not come from this console. Go back, reload and try again.")


def current(headers: Any) -> Session:
    """The logged-in merchant, or 401 (the console then shows its login page)."""
    token = cookies(headers).get(session_cookie())
    if not token or not _TOKEN.match(token):
        raise AuthenticationError("not logged in")
    claims = tokens.verify(token, tokens.TokenKind.ACCESS)
    return Session(merchant_id=str(claims["sub"]), csrf=csrf_for(token))


def login_nonce(headers: Any) -> tuple[str, dict[str, str]]:
    """The login form's CSRF token, and the cookie to set when the browser has no nonce yet."""
    nonce = cookies(headers).get(login_cookie(), "")
    if _NONCE.match(nonce):
        return csrf_for(nonce), {}
    nonce = secrets.token_urlsafe(32)
    return csrf_for(nonce), _set_cookie(login_cookie(), nonce, LOGIN_NONCE_SECONDS)


def check_login_csrf(headers: Any, submitted: str | None) -> None:
    nonce = cookies(headers).get(login_cookie(), "")
    if not _NONCE.match(nonce):
        raise ForbiddenError("This login form has expired. Go back, reload and try again.")
    check_csrf(Session(merchant_id="", csrf=csrf_for(nonce)), submitted)


def log_in(api_key: str, api_secret: str, source_ip: str) -> dict[str, str]:
    """Exchange the merchant's API key pair for an access token (same rate limits as ``POST /api/v1/auth``);
    returns the session cookie to set. The refresh token is not kept: a session ends with its access token."""
    issued = merchants.authenticate(merchants.AuthRequest(merchants.ApiKeyAuth(api_key=api_key, api_secret=api_secret)),
                                    source_ip)
    return _set_cookie(session_cookie(), issued["access_token"], int(issued["access_token_expires_in"]))


def forget_session() -> dict[str, str]:
    return _set_cookie(session_cookie(), "", 0)
