"""Datecs X fiscal and storno receipts (X doc = bg.isl.dt.x.protocol-v2.02-en): open 30h (p.9), storno 2Bh (p.7-8),
sale 31h (p.9-10), subtotal 33h (p.10-11), payment 35h (p.11-12), free text 36h (p.12), close 38h (p.14),
cancel 3Ch (p.15). The receipt's state and the EJ are the ISL emulator's (``receipt.py``)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

from edge.emulators.isl.amounts import (
    decimal_text,
    line_amount,
    parse_money,
    parse_number,
    parse_quantity,
    percent_of,
)
from edge.emulators.isl.errors import NotAllowed, SyntaxFault
from edge.emulators.isl.journal import GROUPS, OpenReceipt
from edge.emulators.isl.receipt import (
    _correction,
    _finish,
    _own_unp,
    _spread,
    _start,
    _till,
    _void,
    fiscal_receipt,
)
from edge.emulators.isl.x_fields import fields, flags, no_data, ok, parse_datetime

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

# X doc p.9: NSale "LLDDDDDD-CCCC-DDDDDDD", L [A-Z], C [0-9A-Za-z], D [0-9].
X_UNP = re.compile(r"(?P<serial>[A-Z]{2}\d{6})-(?P<code>[0-9A-Za-z]{4})-(?P<seq>\d{7})")
_TEXT_FLAGS = (("0", "1"), ("0", "1"), ("0", "1"), ("0", "1"), ("0", "1", "2"))  # 36h: bold, italic, double height, underline, alignment


def slip(p: FiscalPrinter) -> int:
    """SlipNumber, the current slip (1...9999999): the open document's number, else the last one's."""
    return p.doc_number + (1 if p.open is not None else 0)


def _operator(p: FiscalPrinter, operator: str, password: str, till: str) -> int:
    _till(till)  # X doc p.9: TillNmb 1...99999
    return p.check_operator(operator, password)


def open_fiscal(p: FiscalPrinter, data: str) -> str:
    """30h syntax 1 {OpCode}{OpPwd}{TillNmb}{Invoice} or syntax 2 {OpCode}{OpPwd}{NSale}{TillNmb}{Invoice} (X doc p.9).
    Without NSale the device numbers the sale itself, after its last UNP."""
    parts = fields(data, 4, 5)
    if len(parts) == 5:
        operator, password, unp, till, invoice = parts
        if X_UNP.fullmatch(unp) is None:
            raise SyntaxFault("unique sale number out of format")
    else:
        (operator, password, till, invoice), unp = parts, ""
    if invoice not in ("", "I"):
        raise SyntaxFault("Invoice is 'I' or empty")
    number = _operator(p, operator, password, till)
    if invoice:
        raise NotAllowed("no invoice interval is set (X doc p.18, 42h)")
    if unp:
        _own_unp(p, X_UNP, unp)
    else:
        last = p.last_unp or f"{p.serial}-{number:04d}-0000000"
        unp = f"{last[:-7]}{int(last[-7:]) + 1:07d}"
    _start(p, OpenReceipt("fiscal", operator=number, unp=unp))
    return ok(slip(p))


def open_storno(p: FiscalPrinter, data: str) -> str:
    """2Bh {OpCode}{OpPwd}{TillNmb}{Storno}{DocNum}{DateTime}{FMNumber}{Invoice}{ToInvoice}{Reason}{NSale} (X doc p.7-8):
    Storno 0 operator error, 1 refund, 2 tax base reduction; ToInvoice and Reason blank unless Invoice is 'I'."""
    operator, password, till, reason, number, at, fiscal_memory, invoice, to_invoice, why, unp = fields(data, 11)
    if reason not in ("0", "1", "2") or not re.fullmatch(r"\d{8}", fiscal_memory):
        raise SyntaxFault("bad storno reason or fiscal memory number")
    if invoice not in ("", "I") or (not invoice and (to_invoice or why)):
        raise SyntaxFault("ToInvoice and Reason go with Invoice 'I' only")
    if unp and X_UNP.fullmatch(unp) is None:
        raise SyntaxFault("unique sale number out of format")
    parse_datetime(at)
    origin = p.storno_origin(reason, number, at, fiscal_memory, unp or None)
    operator_number = _operator(p, operator, password, till)
    if invoice:
        raise NotAllowed("no invoice interval is set (X doc p.18, 42h)")
    last = p.last_unp
    _start(p, OpenReceipt("storno", operator=operator_number, unp=unp or None, storno=origin))
    p.last_unp = last  # the variable UNP is the last sale's; a storno's is StornoUNP (X doc p.44)
    p.stornos_today += 1
    return ok(slip(p))


def sale(p: FiscalPrinter, data: str) -> str:
    """31h {PluName}{TaxCd}{Price}{Quantity}{DiscountType}{DiscountValue}{Department}[{Unit}] (X doc p.9-10)."""
    parts = fields(data, 7, 8)
    name, tax, price_text, qty_text, kind, value, department = parts[:7]
    if not name or len(name) > 72 or (len(parts) == 8 and not 0 < len(parts[7]) <= 6):
        raise SyntaxFault("PluName 1-72 characters, Unit 1-6")
    if tax not in p.family.tax_letters:
        raise SyntaxFault(f"no tax code {tax!r}")
    group = GROUPS[p.family.tax_letters.index(tax)]
    price = parse_money(price_text, digits=9, signs="-")
    quantity = parse_quantity(qty_text) if qty_text else 1000
    if kind in ("", "0"):
        if value:
            raise SyntaxFault("DiscountValue must be empty without a DiscountType")
        change = None
    elif kind in ("1", "2", "3", "4"):
        change = _discount(kind, value, Decimal("99.99"))
    else:
        raise SyntaxFault("DiscountType 0-4")
    if not department.isdigit() or int(department) > 99:
        raise SyntaxFault("Department 0..99")
    receipt = fiscal_receipt(p)
    if receipt.totalled:
        raise NotAllowed("payment has started")
    if int(department):
        raise NotAllowed("no departments are programmed")
    if p.rates[GROUPS.index(group)] is None:
        raise NotAllowed(f"tax group {tax} is disabled")
    amount = line_amount(abs(price), quantity)
    if abs(amount) > 999_999_999:
        raise NotAllowed("Price * Quantity above 9999999.99 (X doc p.10)")
    if price < 0:
        amount = _correction(p, receipt, group, amount, daisy=False)
    elif change is not None:
        amount += _apply(amount, change)
    p.require_ej()
    p.require_printable()
    receipt.lines.append((name, group, amount))
    return ok(slip(p))


def _discount(kind: str, value: str, percent_limit: Decimal) -> tuple[str, Decimal | int]:
    """('%' or '=', signed value): types 1/2 surcharge/discount by percentage, 3/4 by sum (X doc p.10)."""
    sign = 1 if kind in ("1", "3") else -1
    if kind in ("1", "2"):
        percent = parse_number(value, decimals=2, digits=4)
        if not Decimal("0.01") <= percent <= percent_limit:
            raise SyntaxFault("percentage 0.01-99.99")
        return "%", sign * percent
    amount = parse_money(value, digits=10)
    if amount < 1:
        raise SyntaxFault("sum 0.01 and up")
    return "=", sign * amount


def _apply(amount: int, change: tuple[str, Decimal | int]) -> int:
    how, value = change
    if how == "%":
        return percent_of(amount, Decimal(value))
    if -int(value) > amount:
        raise NotAllowed("a discount larger than the sale")
    return int(value)


def subtotal(p: FiscalPrinter, data: str) -> str:
    """33h {Print}{Display}{DiscountType}{DiscountValue}: SlipNumber, Subtotal, TaxA..TaxH (X doc p.10-11)."""
    printed, display, kind, value = fields(data, 4)
    if printed not in ("", "0", "1") or display not in ("", "0", "1"):
        raise SyntaxFault("Print and Display are 0 or 1")
    if kind in ("", "0"):
        if value:
            raise SyntaxFault("DiscountValue must be empty without a DiscountType")
        change = None
    elif kind in ("1", "2", "3", "4"):
        change = _discount(kind, value, Decimal("99.99"))
    else:
        raise SyntaxFault("DiscountType 0-4")
    receipt = fiscal_receipt(p)
    if change is not None:
        if receipt.totalled:
            raise NotAllowed("payment has started")
        p.require_printable()
        how, amount = change
        if how == "%":
            receipt.adjustments += [(g, percent_of(s, Decimal(amount))) for g, s in receipt.group_sums().items() if s]
        else:
            _spread(receipt, int(amount))
    elif printed == "1":
        p.require_printable()
    sums = receipt.group_sums()
    return ok(slip(p), decimal_text(receipt.total), *(decimal_text(sums[g]) for g in GROUPS))


def total(p: FiscalPrinter, data: str) -> str:
    """35h {PaidMode}{Amount}{Type} (X doc p.11-12): Status D and the sum still due, or R and the change. The doc
    answers nothing for an exact payment; R with 0.00 here. Type (a pinpad payment) and foreign currency (6) need
    hardware this emulator lacks."""
    mode, amount_text, kind = fields(data, 3)
    if mode == "6":
        raise NotAllowed("no foreign currency is programmed")
    if mode not in p.family.payment_codes:
        raise SyntaxFault("PaidMode 0-6")
    if kind and (mode != "2" or kind not in ("1", "12")):
        raise SyntaxFault("Type only with a debit card: 1 or 12")
    amount = parse_money(amount_text, digits=9)
    receipt = fiscal_receipt(p)
    if kind:
        raise NotAllowed("no pinpad is connected")
    if receipt.totalled and receipt.tendered >= receipt.total:
        raise NotAllowed("the receipt is paid")
    p.require_printable()
    name = p.family.payment_codes[mode]
    receipt.totalled = True
    receipt.paid[name] = receipt.paid.get(name, 0) + amount
    receipt.last_payment = amount
    due = receipt.total - receipt.tendered
    return ok("D", decimal_text(due)) if due > 0 else ok("R", decimal_text(-due))


def fiscal_text(p: FiscalPrinter, data: str) -> str:
    """36h {Text}{Bold}{Italic}{DoubleH}{Underline}{alignment}: text of 0...PrintColumns-2 symbols (X doc p.12)."""
    text, *style = fields(data, 6)
    flags(style, _TEXT_FLAGS)
    if len(text.encode("cp1251", errors="replace")) > p.family.fiscal_text_max:
        raise SyntaxFault(f"text up to {p.family.fiscal_text_max} symbols")
    receipt = fiscal_receipt(p)
    p.require_ej()
    p.require_printable()
    receipt.texts.append(text)
    return ok()


def close_fiscal(p: FiscalPrinter, data: str) -> str:
    """38h: refused until the payments cover the sum (X doc p.11: 'D' leaves a residual sum)."""
    no_data(data)
    receipt = fiscal_receipt(p)
    if not receipt.totalled or receipt.tendered < receipt.total:
        raise NotAllowed("the receipt is not paid")
    p.require_printable()
    _finish(p, receipt, receipt.kind)
    return ok(p.doc_number)


def cancel(p: FiscalPrinter, data: str) -> str:
    """3Ch (X doc p.15): cancels the open fiscal receipt; the X doc sets no limit on when."""
    no_data(data)
    receipt = fiscal_receipt(p)
    p.require_printable()
    _void(p, receipt)
    return ok()
