"""Datecs X parameters and answers: every parameter, even an empty optional one, ends with a TAB (X doc p.4-5),
and every answer starts with the error code, 0 when the command passed (p.5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from edge.emulators.isl.errors import SyntaxFault

SEP = "\t"
# X doc p.5: "DD-MM-YY hh:mm:ss DST", DST only while summer time is on.
_DATETIME = re.compile(r"(\d\d-\d\d-\d\d \d\d:\d\d:\d\d)(?: DST)?")


def fields(data: str, *counts: int) -> list[str]:
    """The parameters of ``data``, which must be one of ``counts`` TAB-terminated fields (X doc p.4 c-d)."""
    if not data.endswith(SEP):
        raise SyntaxFault("every parameter ends with a TAB")
    parts = data[:-1].split(SEP)
    if len(parts) not in counts:
        raise SyntaxFault(f"expected {' or '.join(map(str, counts))} parameters, got {len(parts)}")
    return parts


def no_data(data: str) -> None:
    if data:
        raise SyntaxFault("the command takes no parameters")


def ok(*values: object) -> str:
    """A passed command's answer: error code 0, then each value, each closed by a TAB."""
    return "".join(f"{value}{SEP}" for value in (0, *values))


def parse_datetime(text: str) -> datetime:
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise SyntaxFault("expected DD-MM-YY hh:mm:ss [DST]")
    try:
        return datetime.strptime(match[1], "%d-%m-%y %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SyntaxFault("no such date") from exc


def format_datetime(moment: datetime) -> str:
    return moment.strftime("%d-%m-%y %H:%M:%S")


def flags(values: list[str], allowed: tuple[str, ...]) -> None:
    """Print flags (bold, italic, height, underline, alignment): each empty or one of its values (X doc p.7, p.12)."""
    for value, choices in zip(values, allowed, strict=True):
        if value and value not in choices:
            raise SyntaxFault(f"flag {value!r} is not one of {choices}")
