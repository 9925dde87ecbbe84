"""What every download shares: the rendered file, spreadsheet-safe CSV cells, the HTML templates."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import jinja2

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Rendered:
    """A file ready to send: body, content type and the name it is saved under."""

    body: str | bytes
    content_type: str
    filename: str


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate as a formula (CSV injection); plain numbers stay numbers."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _NUMBER.match(text) else text


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


@lru_cache(maxsize=1)
def templates() -> jinja2.Environment:
    """The HTML templates, every value autoescaped."""
    return jinja2.Environment(loader=jinja2.PackageLoader("chalicelib.reports", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined)
