"""Service (non-fiscal) receipts 26h/2Ah/27h, the daily report 45h and cash in/out 46h."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from edge.emulators.isl.amounts import parse_money
from edge.emulators.isl.errors import NotAllowed, SyntaxFault
from edge.emulators.isl.journal import GROUPS, Closure, OpenReceipt
from edge.emulators.isl.receipt import printed_text

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter


def _all_receipts(p: FiscalPrinter) -> str:
    # Allreceipt: 4 bytes (C doc p.8, P doc p.13), 6 on Daisy (Daisy doc p.10).
    return f"{p.documents_today:0{6 if p.family.key == 'DAISY' else 4}d}"


def open_service(p: FiscalPrinter, data: str) -> str:
    """26h: C doc p.8, P doc p.13, Daisy doc p.10."""
    if data:
        raise SyntaxFault("26h takes no data")
    if p.open is not None:
        raise NotAllowed("a receipt is open")
    p.require_ej()
    p.require_clock()
    p.require_printable()
    p.open = OpenReceipt("service")
    p.documents_today += 1
    return _all_receipts(p)


_C_HEIGHT = re.compile(r"(?P<height>[123])\t(?P<text>.*)", re.DOTALL)


def service_text(p: FiscalPrinter, data: str) -> str:
    """2Ah: C doc p.8 <Height><Tab>[<Data>] or [<Data>], up to 40 characters; P doc p.13-14; Daisy doc p.10."""
    if p.family.key == "C" and (match := _C_HEIGHT.fullmatch(data)) is not None:
        data = match["text"]
    text = printed_text(p, data, p.family.service_text_max, p.family.service_text_truncates)
    if p.open is None or p.open.kind != "service":
        raise NotAllowed("no service receipt is open")
    p.require_ej()
    p.require_printable()
    p.open.texts.append(text)
    return ""


def close_service(p: FiscalPrinter, data: str) -> str:
    """27h: C doc p.8, P doc p.13 (1.1 when none is open), Daisy doc p.10."""
    if data:
        raise SyntaxFault("27h takes no data")
    if p.open is None or p.open.kind != "service":
        raise NotAllowed("no service receipt is open")
    p.require_printable()
    receipt, p.open = p.open, None
    p.close_document("service", receipt)
    return _all_receipts(p)


_REPORT = {
    "C": re.compile(r"(?P<item>[02]?)"),  # C doc p.18: [<Option>]
    "P": re.compile(r"(?P<item>[02]?)N?"),  # P doc p.23: [<Option>[N]
    "DAISY": re.compile(r"(?P<item>[012389]?)N?"),  # Daisy doc p.23: [[Item]Option]
}


def daily_report(p: FiscalPrinter, data: str) -> str:
    """45h: Z (0, or no data; Daisy also 1) or X (2; Daisy also 3). No data is a Z on Daisy (Daisy doc p.23);
    the C and P documents leave it open, and ErpNet.FP (BgIslFiscalPrinter.Commands.cs, PrintDailyReport)
    sends a Z without data.

    C and P answer Closure,FM_Total,TotA..TotH (C doc p.18, P doc p.23); Daisy answers
    Closure,Tax1..Tax8,StTax1..StTax8, 17 fields (Daisy doc p.23-24), and nothing for 8/9.
    """
    match = _REPORT[p.family.key].fullmatch(data)
    if match is None:
        raise SyntaxFault("unknown report")
    item = match["item"] or "0"
    if item == "5":
        raise NotAllowed("this device keeps no ECL (Daisy doc p.23)")
    if p.open is not None:
        raise NotAllowed("a receipt is open")
    zeroing = item in ("0", "1", "8")
    if zeroing:
        p.require_fiscal_memory()
    p.require_printable()
    sales, storno = dict(p.day_sales), dict(p.day_storno)
    closure = p.z_number + 1
    p.close_document("z_report" if zeroing else "x_report", total=sum(sales.values()))
    if zeroing:
        p.z_number = closure
        p.last_closure = Closure(number=closure, at=p.now(), sales=sales, storno=storno)
        p.day_sales, p.day_storno = dict.fromkeys(GROUPS, 0), dict.fromkeys(GROUPS, 0)
        p.receipts_today = p.documents_today = p.stornos_today = 0
        p.cash = p.served_in = p.served_out = 0
    if item in ("8", "9"):
        return ""
    if p.family.key == "DAISY":
        return ",".join([f"{closure:04d}", *(p.amount_text(sales[g]) for g in GROUPS), *(p.amount_text(storno[g]) for g in GROUPS)])
    # "12 bytes with a sign" (C doc p.18, P doc p.23).
    totals = [p.amount_text(sales[g], signed=True) for g in GROUPS]
    return ",".join([f"{closure:04d}", p.amount_text(sum(sales.values()), signed=True), *totals])


_DAISY_CASH = re.compile(r"(?P<amount>[^,]*)(?:,(?P<text>[^\n\t]*(?:\n[^\n\t]*\t)?))?")


def cash_in_out(p: FiscalPrinter, data: str) -> str:
    """46h: [<Amount>] (C doc p.19, P doc p.23); Daisy {Amount}[,{Text1}[{CR}{Text2}{TAB}]] (Daisy doc p.25).

    Answers ExitCode,CashSum,ServIn,ServOut; F when a receipt is open or the drawer holds less
    than the withdrawal. Amount 0 (or none) only reads the registers.
    """
    text = data
    if p.family.key == "DAISY":
        match = _DAISY_CASH.fullmatch(data)
        if match is None:
            raise SyntaxFault("expected Amount[,Text]")
        text = match["amount"]
    amount = parse_money(text, digits=10 if p.family.key != "DAISY" else 9, signs="+-") if text else 0
    code = "P"
    if amount and (p.open is not None or p.cash + amount < 0):
        code = "F"
    elif amount:
        p.require_printable()
        p.cash += amount
        if amount > 0:
            p.served_in += amount
        else:
            p.served_out -= amount
        p.close_document("cash", total=amount)
    return ",".join([code, p.amount_text(p.cash), p.amount_text(p.served_in), p.amount_text(p.served_out)])
