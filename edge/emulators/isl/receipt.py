"""Fiscal and storno receipts: open (30h, 2Eh), sell (31h), subtotal (33h), pay (35h),
free text (36h), close (38h), cancel (3Ch; Daisy 82h). Each family's own syntax."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from edge.emulators.isl.amounts import (
    line_amount,
    parse_money,
    parse_number,
    parse_quantity,
    percent_of,
)
from edge.emulators.isl.errors import NotAllowed, SyntaxFault
from edge.emulators.isl.journal import GROUPS, OpenReceipt

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

# C doc p.10: [0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}.
C_UNP = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}")
# P doc p.16: FD serial number - four digits or Latin letters - seven digits.
P_UNP = re.compile(r"(?P<serial>[A-Z]{2}\d{6})-(?P<code>[0-9A-Za-z]{4})-(?P<seq>\d{7})")
# Daisy doc p.13: 2 capital Latin letters + 6 digits, 4 capital Latin letters or digits, at least 7 digits.
DAISY_UNP = re.compile(r"(?P<serial>[A-Z]{2}\d{6})-(?P<code>[0-9A-Z]{4})-(?P<seq>\d{7,})")


def _counts(p: FiscalPrinter, second: int) -> str:
    # AllReceipt, FiscReceipt: 4 bytes each (C doc p.10, Daisy doc p.14).
    return f"{p.documents_today:04d},{second:04d}"


def _start(p: FiscalPrinter, receipt: OpenReceipt) -> None:
    """The refusals every receipt opening shares (C doc p.10, P doc p.17, Daisy doc p.14); a refused
    opening changes nothing, an accepted one makes its unique sale number the last one."""
    if p.open is not None:
        raise NotAllowed("a receipt is already open")
    p.require_fiscal_memory()
    p.require_ej()
    p.require_clock()
    if p.faults.tax_terminal_silent:
        raise NotAllowed("the tax terminal does not answer")
    p.require_printable()
    p.open = receipt
    p.documents_today += 1
    p.receipts_today += 1
    if receipt.unp is not None:
        p.last_unp = receipt.unp


def _own_unp(p: FiscalPrinter, pattern: re.Pattern[str], unp: str) -> str:
    match = pattern.fullmatch(unp)
    if match is None:
        raise SyntaxFault("unique sale number out of format")
    if match["serial"] != p.serial:
        raise NotAllowed("the unique sale number names another device")
    return unp


def _till(text: str) -> None:
    if not text.isdigit() or not 1 <= int(text) <= 99999:
        raise SyntaxFault("till number 1-99999")


def open_fiscal_c(p: FiscalPrinter, data: str) -> str:
    """C doc p.10: <OpCode>,<OpPwd>,<NSale>,<TillNmb>[,<Invoice>] or <OpCode>,<OpPwd>,<TillNmb>[,<Invoice>]."""
    fields = data.split(",")
    invoice = fields[-1] == "I"
    if invoice:
        fields.pop()
    if len(fields) == 4:
        operator, password, unp, till = fields
        if C_UNP.fullmatch(unp) is None:
            raise SyntaxFault("unique sale number out of format")
    elif len(fields) == 3:
        (operator, password, till), unp = fields, None
    else:
        raise SyntaxFault("expected OpCode,OpPwd[,NSale],TillNmb[,I]")
    _till(till)
    number = p.check_operator(operator, password)
    if invoice:
        raise NotAllowed("no invoice number range is set (C doc p.18, 42h)")
    _start(p, OpenReceipt("fiscal", operator=number, unp=unp))
    return _counts(p, p.receipts_today)


def open_fiscal_p(p: FiscalPrinter, data: str) -> str:
    """P doc p.16-17: no data, or <OpNum>,<Password>,<TillNum>[,<Invoice>][,<UNP>]."""
    if not data:
        # "the sequential number of the sale from the UNP of the last issued receipt" (P doc p.17)
        return f"{int(p.last_unp[-7:]) if p.last_unp else 0:07d}"
    fields = data.split(",")
    if not 3 <= len(fields) <= 5:
        raise SyntaxFault("expected OpNum,Password,TillNum[,I][,UNP]")
    operator, password, till, *rest = fields
    invoice = bool(rest) and rest[0] == "I"
    if invoice:
        rest.pop(0)
    if len(rest) > 1:
        raise SyntaxFault("too many fields")
    _till(till)
    number = p.check_operator(operator, password)
    if invoice:
        raise NotAllowed("no invoice number range is set (P doc p.23, 42h)")
    if rest:
        unp = _own_unp(p, P_UNP, rest[0])
    elif p.last_unp is None:
        raise NotAllowed("the UNP must be set at least once (P doc p.16)")
    else:
        unp = f"{p.last_unp[:-7]}{int(p.last_unp[-7:]) + 1:07d}"  # the FD increments it (P doc p.16)
    _start(p, OpenReceipt("fiscal", operator=number, unp=unp))
    return _counts(p, p.receipts_today)


_DAISY_STORNO = re.compile(r"R(?P<reason>[0-2]),(?P<doc>\d+),(?P<at>\d\d-\d\d-\d\d \d\d:\d\d(:\d\d)?)")


def open_fiscal_daisy(p: FiscalPrinter, data: str) -> str:
    """Daisy doc p.13-14: {ClerkNum},{Password},{UnicSaleNum}[{Tab}I | {Tab}R{Reason},{DocLink},{DocLinkDT}{Tab}{FiskMem} | {Tab}C...]."""
    head, *tail = data.split("\t")
    fields = head.split(",")
    if len(fields) != 3:
        raise SyntaxFault("expected ClerkNum,Password,UnicSaleNum")
    operator, password, unp_text = fields
    invoice = tail == ["I"] or (len(tail) == 2 and tail[0].startswith("C"))  # an invoice or a credit note
    storno = None
    if tail and not invoice:
        match = _DAISY_STORNO.fullmatch(tail[0])
        if match is None or len(tail) != 2:
            raise SyntaxFault("unknown receipt type")
        if not tail[1].isdigit():  # FiskMem: the number of the fiscal memory that holds the original (Daisy doc p.13)
            raise SyntaxFault("the storno names no fiscal memory number")
        _datetime(match["at"], "%d-%m-%y %H:%M:%S" if match[4] else "%d-%m-%y %H:%M")
        storno = p.storno_origin(match["reason"], match["doc"], match["at"], tail[1], None)
    if DAISY_UNP.fullmatch(unp_text) is None:
        raise SyntaxFault("unique sale number out of format")
    number = p.check_operator(operator, password)
    if invoice:
        raise NotAllowed("no invoice number range is set (Daisy doc p.14)")
    unp = _own_unp(p, DAISY_UNP, unp_text)
    _start(p, OpenReceipt("storno" if storno else "fiscal", operator=number, unp=unp, storno=storno))
    return _counts(p, p.receipts_today)


def _datetime(text: str, layout: str) -> datetime:
    try:
        return datetime.strptime(text, layout)
    except ValueError as exc:
        raise SyntaxFault("bad date and time") from exc


def open_storno_c(p: FiscalPrinter, data: str) -> str:
    """C doc p.10: <OpCode>,<OpPwd>,<NSale>,<TillNmb>,<DocType>,<DocNumber>,<DocDateTime>,<FMNumber>[,<Invoice>,<InvNumber>,<Reason>]."""
    fields = data.split(",")
    if len(fields) not in (8, 11):
        raise SyntaxFault("expected 8 or 11 fields")
    operator, password, unp, till, reason, number, at, fiscal_memory = fields[:8]
    if unp and C_UNP.fullmatch(unp) is None:
        raise SyntaxFault("unique sale number out of format")
    _till(till)
    # DocType: the text says "0 - 1" and lists 0, 1 and 2; all three are taken.
    if reason not in ("0", "1", "2") or not re.fullmatch(r"\d{8}", fiscal_memory):
        raise SyntaxFault("bad storno reason or fiscal memory number")
    _datetime(at, "%d%m%y%H%M%S" if len(at) == 12 else "%d%m%y%H%M")
    if len(at) not in (10, 12):
        raise SyntaxFault("DocDateTime is DDMMYYhhmm[ss]")
    origin = p.storno_origin(reason, number, at, fiscal_memory, unp or None)
    operator_number = p.check_operator(operator, password)
    if len(fields) == 11:
        raise NotAllowed("no invoice number range is set (C doc p.18, 42h)")
    _start(p, OpenReceipt("storno", operator=operator_number, unp=unp or None, storno=origin))
    p.stornos_today += 1
    return _counts(p, p.stornos_today)


_P_STORNO = re.compile(r"(?P<reason>[ERT])(?P<doc>\d{1,7})")


def open_storno_p(p: FiscalPrinter, data: str) -> str:
    """P doc p.16: <OpNum>,<Password>,<TillNum>[,<Invoice><InvNum>][,<UNP>],<StType><DocNo>[,<StUNP>,<StDT>,<StFMIN>][#<StornoReason>].

    With only <StType><DocNo> the device reverses its own receipt whole, from its journal.
    """
    body, _, why = data.partition("#")
    if len(why) > 30:
        raise SyntaxFault("storno reason up to 30 characters")
    fields = body.split(",")
    if len(fields) < 4:
        raise SyntaxFault("expected OpNum,Password,TillNum,...")
    operator, password, till, *rest = fields
    invoice = bool(rest) and re.fullmatch(r"I\d{1,10}", rest[0]) is not None
    if invoice:
        rest.pop(0)
    unp = rest.pop(0) if rest and P_UNP.fullmatch(rest[0]) else None
    if not rest or (match := _P_STORNO.fullmatch(rest[0])) is None or len(rest) not in (1, 4):
        raise SyntaxFault("expected <StType><DocNo>[,<StUNP>,<StDT>,<StFMIN>]")
    _till(till)
    if len(rest) == 4:
        st_unp, at, fiscal_memory = rest[1:]
        if P_UNP.fullmatch(st_unp) is None or not re.fullmatch(r"\d{8}", fiscal_memory):
            raise SyntaxFault("bad storno origin")
        _datetime(at, "%d%m%y%H%M%S")
    operator_number = p.check_operator(operator, password)
    if invoice:
        raise NotAllowed("no invoice number range is set (P doc p.23, 42h)")
    if unp is not None:
        _own_unp(p, P_UNP, unp)
    elif p.last_unp is not None:
        unp = f"{p.last_unp[:-7]}{int(p.last_unp[-7:]) + 1:07d}"  # omitted, the FD increments it (P doc p.16)
    if len(rest) == 1:
        return _reverse_whole(p, operator_number, unp, match["reason"], int(match["doc"]))
    origin = p.storno_origin(match["reason"], match["doc"], at, fiscal_memory, st_unp)
    _start(p, OpenReceipt("storno", operator=operator_number, unp=unp, storno=origin))
    p.stornos_today += 1
    return _counts(p, p.receipts_today)


def _reverse_whole(p: FiscalPrinter, operator: int, unp: str | None, reason: str, number: int) -> str:
    original = next((d for d in p.journal if d.number == number and d.kind == "fiscal"), None)
    if original is None:
        raise NotAllowed("no such receipt in the journal (P doc p.16)")
    origin = p.storno_origin(reason, str(number), original.at.strftime("%d%m%y%H%M%S"), p.fiscal_memory, original.unp)
    receipt = OpenReceipt("storno", operator=operator, unp=unp, storno=origin, lines=list(original.lines))
    _start(p, receipt)
    p.stornos_today += 1
    receipt.paid, receipt.totalled = {"cash": receipt.total}, True
    _finish(p, receipt, "storno")
    return _counts(p, p.receipts_today)


# -- sale ------------------------------------------------------------------------------------

_DATECS_SALE = re.compile(
    r"(?P<text>[^\t]*)\t(?P<group>[^\t])(?P<sign>-?)(?P<price>[0-9.]+)"
    r"(?:\*(?P<qty>[0-9.]+)(?:#(?P<unit>[^,;]{1,8}))?)?(?:,(?P<perc>[+-]?[0-9.]+)|;(?P<abs>[+-]?[0-9.]+))?"
)
_DAISY_SALE = re.compile(
    r"(?P<text>[^\t]*)\t(?P<group>[^\t])(?P<sign>[+-]?)(?P<price>[0-9.]+)"
    r"(?:\*(?P<qty>[0-9.]+))?(?:,(?P<perc>[+-]?[0-9.]+))?(?:\$(?P<abs>[+-]?[0-9.]+))?"
)


def fiscal_receipt(p: FiscalPrinter) -> OpenReceipt:
    if p.open is None or p.open.kind == "service":
        raise NotAllowed("no fiscal receipt is open")
    return p.open


def _sale_text(p: FiscalPrinter, text: str) -> str:
    lines = text.split("\n")
    if len(lines) > 2:
        raise SyntaxFault("at most two text lines")
    limit = p.family.item_text_max
    if not p.family.item_text_truncates and any(len(line.encode("cp1251")) > limit for line in lines):
        raise SyntaxFault(f"sale text up to {limit} bytes")
    return "\n".join(line[:limit] for line in lines)


def sale(p: FiscalPrinter, data: str) -> str:
    """C doc p.11: [<L1>][<Lf><L2>]<Tab><TaxCd><[Sign]Price>[*<Qwan>][,Perc|;Abs];
    P doc p.17 adds [#UN] after the quantity; Daisy doc p.15: ...{[Sign]Price}[*{QTY}][,Percent][$Netto].
    The department form (<Tab><Dept><Tab>) is not emulated: no departments are programmed."""
    daisy = p.family.key == "DAISY"
    match = (_DAISY_SALE if daisy else _DATECS_SALE).fullmatch(data)
    if match is None or (not daisy and match["unit"] and p.family.key != "P"):
        raise SyntaxFault("not a sale line")
    text = _sale_text(p, match["text"])
    letter = match["group"]
    if letter not in p.family.tax_letters:
        raise SyntaxFault(f"no tax group {letter!r}")
    group = GROUPS[p.family.tax_letters.index(letter) % 8]
    price = parse_money(match["price"])
    quantity = parse_quantity(match["qty"]) if match["qty"] else 1000
    amount = line_amount(price, quantity)
    limit = Decimal("99.99") if daisy else Decimal("99.00")  # Daisy doc p.15; C doc p.11, P doc p.17
    percent = parse_number(match["perc"], decimals=2, digits=4, signs="+-") if match["perc"] else None
    if percent is not None and abs(percent) > limit:
        raise SyntaxFault("percentage out of range")
    absolute = parse_money(match["abs"], signs="+-") if match["abs"] else None
    receipt = fiscal_receipt(p)
    if receipt.totalled:
        raise NotAllowed("payment has started (C doc p.11)")
    if p.family.max_sales is not None and len(receipt.lines) >= p.family.max_sales:
        raise NotAllowed(f"at most {p.family.max_sales} sales per receipt")
    if daisy and percent is not None and absolute is not None:
        raise NotAllowed("Percent and Netto together (Daisy doc p.15)")
    if p.rates[GROUPS.index(group)] is None:
        raise NotAllowed(f"tax group {letter} is disabled")
    if match["sign"] == "-":
        amount = _correction(p, receipt, group, amount, daisy)
    elif percent is not None:
        amount += percent_of(amount, percent)
    elif absolute is not None:
        if -absolute > amount:
            raise NotAllowed("a discount larger than the sale (C doc p.11)")
        amount += absolute
    p.require_ej()
    p.require_printable()
    receipt.lines.append((text, group, amount))
    return ""


def _correction(p: FiscalPrinter, receipt: OpenReceipt, group: str, amount: int, daisy: bool) -> int:
    """A negative sale: Daisy corrects an earlier sale of the same price, quantity and group
    (Daisy doc p.15); Datecs takes it while no group sum turns negative (C doc p.11)."""
    if daisy and not any(g == group and a == amount for _, g, a in receipt.lines):
        raise NotAllowed("no such sale to correct")
    if receipt.group_sums()[group] - amount < 0:
        raise NotAllowed("a tax group sum would turn negative")
    return -amount


# -- subtotal, payment, text, close, cancel ------------------------------------------------------

_DATECS_SUBTOTAL = re.compile(r"(?P<print>[01])(?P<display>[01])(?:,(?P<perc>[+-]?[0-9.]+)|;(?P<abs>[+-]?[0-9.]+))?")
# Daisy doc p.16 gives only [,Percent]; ErpNet.FP (BgDaisyIslFiscalPrinter.Commands.cs, SubtotalChangeAmount)
# sends an absolute change as "10$<amount>", the form Daisy's sale command uses (Daisy doc p.15).
_DAISY_SUBTOTAL = re.compile(r"(?P<print>[01])(?P<display>[01])(?:,(?P<perc>[+-]?[0-9.]+)|\$(?P<abs>[+-]?[0-9.]+))?")


def subtotal(p: FiscalPrinter, data: str) -> str:
    """C doc p.12, P doc p.18: <Print><Display>[,Perc|;Abs]; Daisy doc p.16. Answers SubTotal,TaxA..TaxH."""
    match = (_DAISY_SUBTOTAL if p.family.key == "DAISY" else _DATECS_SUBTOTAL).fullmatch(data)
    if match is None:
        raise SyntaxFault("expected <Print><Display>[,Perc|;Abs]")
    percent = parse_number(match["perc"], decimals=2, digits=4, signs="+-") if match["perc"] else None
    if percent is not None and abs(percent) > Decimal("99.99"):
        raise SyntaxFault("percentage out of range")
    absolute = parse_money(match["abs"], signs="+-") if match["abs"] else None
    receipt = fiscal_receipt(p)
    changes = percent is not None or absolute is not None
    if receipt.totalled and (changes or p.family.key == "P"):
        raise NotAllowed("payment has started (P doc p.20)")
    if match["print"] == "1" or changes:
        p.require_printable()
    if percent is not None:
        receipt.adjustments += [(g, percent_of(s, percent)) for g, s in receipt.group_sums().items() if s]
    elif absolute is not None:
        _spread(receipt, absolute)
    sums = receipt.group_sums()
    return ",".join([p.amount_text(receipt.total), *(p.amount_text(sums[g]) for g in GROUPS)])


def _spread(receipt: OpenReceipt, absolute: int) -> None:
    """An absolute subtotal change, shared among the groups in proportion to their sums."""
    total = receipt.total
    if total <= 0 or -absolute > total:
        raise NotAllowed("a discount larger than the receipt (C doc p.12)")
    groups = [(g, s) for g, s in receipt.group_sums().items() if s > 0]
    left = absolute
    for index, (group, amount) in enumerate(groups):
        share = left if index == len(groups) - 1 else absolute * amount // total
        receipt.adjustments.append((group, share))
        left -= share


_TOTAL = re.compile(r"(?P<l1>[^\t\n]*)(?:\n(?P<l2>[^\t\n]*))?\t(?P<pay>.*)", re.DOTALL)
_DATECS_PAYMENT = re.compile(r"(?P<mode>[A-Za-z]?)(?P<sign>\+?)(?P<amount>[0-9.]+)(?:\*(?P<type>1|12))?")
_DAISY_PAYMENT = re.compile(r"(?P<mode>[A-Z]?)(?P<amount>[0-9.]+)")


def total(p: FiscalPrinter, data: str) -> str:
    """C doc p.13: [<Line1>][<Lf><Line2>]<Tab>[[<PaidMode>]<[Sign]Amount>][*<Type>]; P doc p.19; Daisy doc p.17.

    Answers <PaidCode><Amount>: D and what is still due, or R and the change. Daisy answers D also when
    the payment is exact ("paid <= total", Daisy doc p.18); Datecs answers R with no change.
    """
    match = _TOTAL.fullmatch(data)
    if match is None:
        raise SyntaxFault("expected [text]<Tab>[payment]")
    for line in (match["l1"], match["l2"] or ""):
        if not p.family.total_text_truncates and len(line.encode("cp1251")) > p.family.total_text_max:
            raise SyntaxFault("payment text too long")
    receipt = fiscal_receipt(p)
    if match["pay"]:
        payment = (_DAISY_PAYMENT if p.family.key == "DAISY" else _DATECS_PAYMENT).fullmatch(match["pay"])
        if payment is None or (payment["mode"] and payment["mode"] not in p.family.payment_codes):
            raise SyntaxFault("unknown payment")
        pinpad = None if p.family.key == "DAISY" else payment["type"]
        if pinpad and (p.family.key != "C" or payment["mode"] != "C"):
            raise SyntaxFault("a pinpad payment type only with card, on C (C doc p.13)")
        mode = p.family.payment_codes[payment["mode"] or "P"]
        amount = parse_money(payment["amount"], digits=10)
    else:
        mode, amount = "cash", max(receipt.total - receipt.tendered, 0)  # C doc p.13: all that is due, in cash
    if receipt.kind == "storno" and p.family.key == "DAISY" and mode != "cash":
        raise NotAllowed("a storno receipt is paid in cash only (Daisy doc p.18)")
    if receipt.totalled and receipt.tendered >= receipt.total:
        raise NotAllowed("the receipt is paid")
    p.require_printable()
    receipt.totalled = True
    receipt.paid[mode] = receipt.paid.get(mode, 0) + amount
    receipt.last_payment = amount
    due = receipt.total - receipt.tendered
    signed = p.family.key != "DAISY"  # "up to 9 digits with a sign" (C doc p.13, P doc p.20)
    if due > 0 or (due == 0 and p.family.key == "DAISY"):
        return "D" + p.amount_text(due, signed=signed)
    return "R" + p.amount_text(-due, signed=signed)


_P_TEXT = re.compile(r"\t(?P<font>[0-3])(?P<flags>[BHI]{0,3})(?P<text>.*)", re.DOTALL)


def printed_text(p: FiscalPrinter, data: str, limit: int, truncates: bool) -> str:
    """A free-text line: P may lead it with <Tab><Font>[<Flags>] (P doc p.13, p.20); C cuts or refuses
    per command, Daisy cuts at #COMMENT_LEN# (Daisy doc p.10, p.18)."""
    if p.family.key == "P" and data.startswith("\t"):
        match = _P_TEXT.fullmatch(data)
        if match is None or len(set(match["flags"])) != len(match["flags"]):
            raise SyntaxFault("bad font or flags")
        data = match["text"]
    if not truncates and len(data.encode("cp1251")) > limit:
        raise SyntaxFault(f"text up to {limit} bytes")
    return data[:limit]


def fiscal_text(p: FiscalPrinter, data: str) -> str:
    """C doc p.15 (36 bytes, the rest cut), P doc p.20, Daisy doc p.18: needs an open fiscal receipt."""
    text = printed_text(p, data, p.family.fiscal_text_max, truncates=True)
    receipt = fiscal_receipt(p)
    p.require_ej()
    p.require_printable()
    receipt.texts.append(text)
    return ""


def close_fiscal(p: FiscalPrinter, data: str) -> str:
    """C doc p.15, P doc p.20, Daisy doc p.18-19: refused unless 35h paid the whole sum."""
    if data:
        raise SyntaxFault("38h takes no data")
    receipt = fiscal_receipt(p)
    if not receipt.totalled or receipt.tendered < receipt.total:
        raise NotAllowed("the receipt is not paid")
    p.require_printable()
    _finish(p, receipt, receipt.kind)
    return _counts(p, p.stornos_today if receipt.kind == "storno" and p.family.key == "C" else p.receipts_today)


def _finish(p: FiscalPrinter, receipt: OpenReceipt, kind: str) -> None:
    change = receipt.tendered - receipt.total
    cash = receipt.paid.get("cash", 0) - change
    sums = receipt.group_sums()
    totals = p.day_storno if kind == "storno" else p.day_sales
    for group, amount in sums.items():
        totals[group] += amount
    p.cash += -cash if kind == "storno" else cash
    p.open, p.last_closed = None, receipt
    p.close_document("storno" if kind == "storno" else "fiscal", receipt)


def cancel(p: FiscalPrinter, data: str) -> str:
    """3Ch, C doc p.16 / P doc p.22: only before 35h; no answer data."""
    if data:
        raise SyntaxFault("3Ch takes no data")
    receipt = fiscal_receipt(p)
    if receipt.totalled:
        raise NotAllowed("payment has started")
    p.require_printable()
    _void(p, receipt)
    return ""


def cancel_daisy(p: FiscalPrinter, data: str) -> str:
    """82h, Daisy doc p.41: corrects every sale, pays 0.00 in cash and closes; answers AllReceipt,FiscReceipt."""
    if data:
        raise SyntaxFault("82h takes no data")
    receipt = fiscal_receipt(p)
    p.require_printable()
    _void(p, receipt)
    return _counts(p, p.receipts_today)


def _void(p: FiscalPrinter, receipt: OpenReceipt) -> None:
    p.open, p.last_closed = None, receipt
    p.close_document("cancelled", receipt)


def customer_info(p: FiscalPrinter, data: str) -> str:
    """39h prints the buyer's details, only on an invoice after its payment (C doc p.15, P doc p.21,
    Daisy doc p.19); invoices are refused here (no invoice number range), so 39h is always refused."""
    if not data:
        raise SyntaxFault("39h needs the buyer's identification")
    raise NotAllowed("no invoice is open")
