"""The customer-facing receipt page, rendered from a Jinja2 template."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )


def _when(epoch: int | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def render(record: dict[str, Any]) -> str:
    ekabs = record["schema"]["ekabs_v0"]
    return _environment().get_template("receipt.html").render(
        head=ekabs["head"], data=ekabs["data"], security=ekabs["security"],
        issued=_when(ekabs["head"].get("date")), expires=_when(record["public_expires_at"]),
    )
