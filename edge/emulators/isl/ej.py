"""Reading the electronic journal back, to find what an interrupted job printed.

C family: 7Dh reads a document by number, as text or as structured data that carries the
receipt's unique sale number (C doc p.30-31). P family: 77h class R/N reads documents as text
lines, class W/w as structured lines starting with U,<UNP>,... (P doc p.37-40), class I sums the
journal up. Daisy's EJ reports (C3h, Daisy doc p.53) print, or stream with a per-line
acknowledgement outside the request/answer exchange; its recovery is 4Ch, 67h and 71h.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.emulators.isl.errors import SyntaxFault
from edge.emulators.isl.journal import GROUPS, Document

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

# 7Dh RecType filters (C doc p.30).
_C_FILTERS: dict[str, Callable[[Document], bool]] = {
    "0": lambda d: True,
    "1": lambda d: d.kind in ("fiscal", "storno", "cancelled", "z_report"),
    "2": lambda d: d.kind == "z_report",
    "3": lambda d: d.kind == "cash",
    "4": lambda d: d.kind == "x_report",
    "5": lambda d: d.kind in ("service", "x_report", "cash"),
    "6": lambda d: False,  # invoices: none are issued without an invoice number range
    "7": lambda d: d.kind == "storno",
    "8": lambda d: False,  # credit notes: likewise
}
# 7Dh answer 1 document types (C doc p.30).
_C_TYPES = {"fiscal": "1", "cancelled": "1", "z_report": "2", "x_report": "5", "service": "6", "storno": "8"}


def _c_type(document: Document) -> str:
    if document.kind == "cash":
        return "3" if document.total > 0 else "4"
    return _C_TYPES[document.kind]


def _c_structured(p: FiscalPrinter, document: Document) -> list[str]:
    """Option 5: the receipt as annex-34 records: 3 opening, 4 sale, 7 storno, 6 total (C doc p.30-31)."""
    if document.kind not in ("fiscal", "storno", "cancelled"):
        return []
    kind = "8" if document.kind == "storno" else "1"
    records = [f"P,3,{kind},{document.number},{document.unp or ''},2"]
    records += [f"P,4,{amount},1000,{amount},{GROUPS.index(group) + 1},{text}" for text, group, amount in document.lines]
    if document.storno:
        records.append(f"P,7,{document.storno.number},{document.storno.reason},")
    records.append(f"P,6,{document.total}")
    return records


_C_READ = re.compile(r"(?P<option>[0-5])(?:,(?P<doc>\d{1,7}),(?P<type>[0-8])(?:,(?P<to>\d{1,7}))?)?")


def read_document_c(p: FiscalPrinter, data: str) -> str:
    """7Dh <Option>[,<DocNum>,<RecType>[,<ToNumber>]] (C doc p.30): 0 and 3 select a document and answer
    P,<DocNumber>,<Date>,<Type>,<Znumber>; 1 hands out its next text line, 5 its next structured record;
    F when there is none. The binary forms (2 and 4) have nothing to read here: F."""
    match = _C_READ.fullmatch(data)
    if match is None or (match["option"] in "03") != bool(match["doc"]):
        raise SyntaxFault("expected <Option>[,<DocNum>,<RecType>[,<ToNumber>]]")
    option = match["option"]
    if option in "03":
        wanted, last = int(match["doc"]), int(match["to"] or match["doc"])
        accept = _C_FILTERS[match["type"]]
        found = next((d for d in p.journal if wanted <= d.number <= last and accept(d)), None)
        if found is None:
            p.ej_cursor, p.ej_records = [], []
            return "F"
        p.ej_cursor, p.ej_records = found.text_lines(), _c_structured(p, found)
        return f"P,{found.number},{found.at:%d-%m-%Y %H:%M:%S},{_c_type(found)},{found.z_number}"
    if option == "1" and p.ej_cursor:
        return "P," + p.ej_cursor.pop(0)
    if option == "5" and p.ej_records:
        return p.ej_records.pop(0)
    return "F"


def _p_range(p: FiscalPrinter, text: str) -> list[Document]:
    match = re.fullmatch(r"(?:#(?P<flag>[AFVCNIORSPXZ]),)?(?P<first>\d{1,7})(?:,(?P<last>\d{1,7}))?", text)
    if match is None:
        raise SyntaxFault("expected [#<Flg>,]<D1>[,<D2>]")
    first = int(match["first"])
    last = int(match["last"] or first)
    return [d for d in p.journal if first <= d.number <= last]


def _p_structured(p: FiscalPrinter, document: Document) -> list[str]:
    """Class W lines for one document (P doc p.39-40): U for receipts, R per sale, P payments, "*," between."""
    lines: list[str] = []
    if document.kind in ("fiscal", "storno", "cancelled"):
        rec_type = {"fiscal": "0", "storno": "2", "cancelled": "4"}[document.kind]
        lines.append(f"U,{document.unp or ''},{document.operator},1,{rec_type},{document.number}")
        for text, group, amount in document.lines:
            rate = p.rates[GROUPS.index(group)]
            lines.append(f"R,{GROUPS.index(group) + 1},{rate or 0:.2f},{amount / 100:.2f},1.000,0.00,{amount / 100:.2f},{text}")
        paid = dict(document.paid)
        lines.append("P," + ",".join(f"{paid.get(mode, 0) / 100:.2f}" for mode in ("cash", "check", "card", "credit")))
    return lines + ["*,"]


def ej_p(p: FiscalPrinter, data: str) -> str:
    """77h <Type>[,<InpData>] (P doc p.37-40): I information; R documents by number (then N per line);
    W structured lines (then w). The date, Z-report, verify and print forms are not emulated."""
    kind, _, rest = data.partition(",")
    if kind == "I" and rest in ("", "X"):
        first = p.journal[0].number if p.journal else 0
        return f"P,{2 ** 31},{sum(len(d.text_lines()) * 42 for d in p.journal)},1,{p.z_number},{first},{p.doc_number}"
    if kind == "R":
        p.ej_cursor = [line for d in _p_range(p, rest) for line in ["P," + t for t in d.text_lines()] + ["*,"]]
        return p.ej_cursor.pop(0) if p.ej_cursor else "F"
    if kind == "W":
        p.ej_records = [line for d in _p_range(p, rest) for line in _p_structured(p, d)]
        return p.ej_records.pop(0) if p.ej_records else "F"
    if data == "N":
        return p.ej_cursor.pop(0) if p.ej_cursor else "F"
    if data == "w":
        return p.ej_records.pop(0) if p.ej_records else "F"
    raise SyntaxFault("77h: I, R, N, W or w")
