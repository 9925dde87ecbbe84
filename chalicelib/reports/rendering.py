"""What every download shares: the rendered file, spreadsheet-safe CSV cells, the HTML templates."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import jinja2

# What a spreadsheet may read as the start of a formula (OWASP CSV injection), with the full-width forms that
# some spreadsheets fold to ASCII, and ';' which a ';'-separated locale turns into an empty cell and a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", ";", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"^[-+]?[0-9]+(\.[0-9]+)?$")
# Characters XML 1.0 cannot hold and XLSX cells refuse; stored before intake refused them, they render as U+FFFD.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Rendered:
    """A file ready to send: body, content type and the name it is saved under."""

    body: str | bytes
    content_type: str
    filename: str


def printable(text: str) -> str:
    """``text`` with every character XML and spreadsheets cannot hold replaced by U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", text)


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could evaluate ``text`` (leading blanks skipped); plain numbers are not formulas."""
    return text.lstrip(" ").startswith(_FORMULA_START) and not _NUMBER.match(text)


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not evaluate as a formula (CSV injection); plain numbers stay numbers."""
    text = printable("" if value is None else str(value))
    return "'" + text if looks_like_formula(text) else text


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
