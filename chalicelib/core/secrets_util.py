"""Generating and checking the bridge's own high-entropy secrets.

API secrets, shop keys and edge keys are 256-bit random strings, so a single
SHA-256 is the right hash (a slow KDF only matters for low-entropy passwords).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, expected_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), expected_digest)
