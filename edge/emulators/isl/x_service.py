"""Datecs X non-fiscal receipts 26h/2Ah/27h (X doc p.6-7), reports 45h (p.18-19) and cash in/out 46h (p.19)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.emulators.isl.amounts import decimal_text, parse_money
from edge.emulators.isl.errors import NotAllowed, SyntaxFault
from edge.emulators.isl.journal import GROUPS, OpenReceipt
from edge.emulators.isl.x_fields import fields, flags, no_data, ok
from edge.emulators.isl.x_receipt import slip

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

_TEXT_FLAGS = (("0", "1"), ("0", "1"), ("0", "1", "2"), ("0", "1"), ("0", "1", "2"))  # 2Ah: bold, italic, height, underline, alignment


def open_service(p: FiscalPrinter, data: str) -> str:
    """26h: answers SlipNumber (X doc p.6)."""
    no_data(data)
    if p.open is not None:
        raise NotAllowed("a receipt is open")
    p.require_ej()
    p.require_printable()
    p.open = OpenReceipt("service")
    p.documents_today += 1
    return ok(slip(p))


def service_text(p: FiscalPrinter, data: str) -> str:
    """2Ah {Text}{Bold}{Italic}{Hght}{Underline}{alignment}: 0...PrintColumns-2 symbols (X doc p.7)."""
    text, *style = fields(data, 6)
    flags(style, _TEXT_FLAGS)
    if len(text.encode("cp1251", errors="replace")) > p.family.service_text_max:
        raise SyntaxFault(f"text up to {p.family.service_text_max} symbols")
    if p.open is None or p.open.kind != "service":
        raise NotAllowed("no non-fiscal receipt is open")
    p.require_ej()
    p.require_printable()
    p.open.texts.append(text)
    return ok()


def close_service(p: FiscalPrinter, data: str) -> str:
    """27h: answers SlipNumber (X doc p.6)."""
    no_data(data)
    if p.open is None or p.open.kind != "service":
        raise NotAllowed("no non-fiscal receipt is open")
    p.require_printable()
    receipt, p.open = p.open, None
    p.close_document("service", receipt)
    return ok(p.doc_number)


def daily_report(p: FiscalPrinter, data: str) -> str:
    """45h {ReportType}: X or Z answer nRep, TotA..TotH, StorA..StorH (X doc p.18-19); D and G (departments,
    item groups) print reports of registers this emulator does not keep."""
    (kind,) = fields(data, 1)
    if kind in ("D", "G"):
        raise NotAllowed("no departments or item groups are programmed")
    if kind not in ("X", "Z"):
        raise SyntaxFault("ReportType X, Z, D or G")
    if p.open is not None:
        raise NotAllowed("a receipt is open")
    if kind == "Z":
        p.require_fiscal_memory()
    p.require_printable()
    sales, storno = dict(p.day_sales), dict(p.day_storno)
    closure = p.z_number + 1
    document = p.close_document("z_report" if kind == "Z" else "x_report", total=sum(sales.values()))
    if kind == "Z":
        p.z_number = closure
        p.last_z = (closure, sales, document.at)
        p.day_sales, p.day_storno = dict.fromkeys(GROUPS, 0), dict.fromkeys(GROUPS, 0)
        p.receipts_today = p.documents_today = p.stornos_today = 0
        p.cash = p.served_in = p.served_out = 0
    return ok(closure, *(decimal_text(sales[g]) for g in GROUPS), *(decimal_text(storno[g]) for g in GROUPS))


def cash_in_out(p: FiscalPrinter, data: str) -> str:
    """46h {Type}{Amount}: 0 cash in, 1 cash out (2 and 3 in foreign currency); Amount 0 or empty only answers
    CashSum, CashIn, CashOut and prints nothing (X doc p.19). A withdrawal above the drawer, or any while a
    receipt is open, is refused."""
    kind, amount_text = fields(data, 2)
    if kind not in ("0", "1", "2", "3"):
        raise SyntaxFault("Type 0-3")
    amount = parse_money(amount_text, digits=9) if amount_text else 0
    if amount and kind in ("2", "3"):
        raise NotAllowed("no foreign currency is programmed")
    if amount:
        signed = amount if kind == "0" else -amount
        if p.open is not None or p.cash + signed < 0:
            raise NotAllowed("a receipt is open or the drawer holds less")
        p.require_printable()
        p.cash += signed
        if signed > 0:
            p.served_in += signed
        else:
            p.served_out -= signed
        p.close_document("cash", total=signed)
    return ok(decimal_text(p.cash), decimal_text(p.served_in), decimal_text(p.served_out))
