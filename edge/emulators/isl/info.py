"""What the host asks about: status 4Ah, transaction 4Ch, device 5Ah, tax rates 61h, current
receipt 67h, last document 71h, last fiscal record 40h, clock 3Eh/3Dh, operator password 65h,
Daisy constants 80h."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from edge.emulators.isl.errors import NotAllowed, SyntaxFault
from edge.emulators.isl.families import (
    CYRILLIC_GROUPS,
    DAISY_CHARS_PER_LINE,
    DAISY_COMMENT_LEN,
    DAISY_NAME_LEN,
    DAISY_OPERATORS,
)
from edge.emulators.isl.journal import GROUPS, OpenReceipt

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

FIRMWARE = "1.00"
FIRMWARE_DATE = datetime(2018, 11, 15, 10, 0)


def status_bytes(p: FiscalPrinter, data: str) -> bytes | str:
    """4Ah: the six status bytes as data. C doc p.20 [W|X]; P doc p.24-25 also L (lines still to
    print: none here); Daisy doc p.26 takes no data. P's hardware (P) and NRA (R) reports are not emulated."""
    allowed = {"C": ("", "W", "X"), "P": ("", "W", "X", "L"), "DAISY": ("",)}[p.family.key]
    if data not in allowed:
        raise SyntaxFault("unknown 4Ah option")
    if data == "L":
        return "0"
    return p.status()


def _last_fiscal(p: FiscalPrinter) -> OpenReceipt | None:
    if p.open is not None and p.open.kind != "service":
        return p.open
    return p.last_closed


def transaction_status(p: FiscalPrinter, data: str) -> str:
    """4Ch [T]: Open,Items,Amount[,Tender] (C doc p.20, P doc p.25), amounts "9 bytes with a sign";
    Daisy Open,Items,Amount[,Tender,Remainder], amounts of 10 digits (Daisy doc p.26).

    The amounts are whole stotinki: ErpNet.FP (BgIslFiscalPrinter.Commands.cs, GetReceiptAmount)
    reads a signed amount here as stotinki.
    """
    if data not in ("", "T"):
        raise SyntaxFault("4Ch takes T or nothing")
    receipt = _last_fiscal(p)
    is_open = "1" if p.open is not None else "0"
    items = len(receipt.lines) if receipt else 0
    amount = receipt.total if receipt else 0
    tendered = receipt.tendered if receipt else 0
    if p.family.key == "DAISY":
        fields = [is_open, f"{items:04d}", f"{amount:010d}"]
        if data == "T":
            last = receipt.last_payment if receipt else 0
            fields += [f"{last:010d}", f"{max(amount - tendered, 0):010d}"]
        return ",".join(fields)
    fields = [is_open, f"{items:04d}", f"{amount:+09d}"]
    if data == "T":
        fields.append(f"{tendered:+09d}")
    return ",".join(fields)


def diagnostic(p: FiscalPrinter, data: str) -> str:
    """5Ah: identity, firmware, serial number (Ser) and fiscal memory number (FM).

    C doc p.22 gives <Name><FwRev>... with FM before Ser in one place and Ser before FM in the other;
    P doc p.29 gives <Name>,<FwRev><Country>...,<Chk>,<Sw>,<Ser>,<FM>; Daisy doc p.28 gives
    <FwRev> <FwDate> <FwTime>,<Chk>,<Sw>,<Country>,<Ser>,<FM>. Where they differ this follows ErpNet.FP
    (BgDatecsCIslFiscalPrinterDriver.cs, BgDaisyIslFiscalPrinterDriver.cs): six comma fields, the
    serial number fifth, the fiscal memory sixth, and Daisy's first field "<Model> <Rev> <Date> <Time>".
    """
    star = p.family.key == "P" and data.startswith("*")
    calc = data[1:] if star else data
    if len(calc) != 1:
        raise SyntaxFault("5Ah takes <Calc>")
    checksum = f"{zlib.crc32(p.serial.encode()) & 0xFFFF:04X}" if calc == "1" else "FFFF"
    if p.family.key == "DAISY":
        head = f"{p.model.replace(' ', '')} {FIRMWARE} {FIRMWARE_DATE:%d%m%y} {FIRMWARE_DATE:%H%M}"
        return f"{head},{checksum},0000,6,{p.serial},{p.fiscal_memory}"  # country 6: Bulgaria
    country = "BG" if p.family.key == "P" else ""
    switches = "0000011100000000" if star else "00000111"
    head = f"{FIRMWARE}{country} {FIRMWARE_DATE:%d%b%y} {FIRMWARE_DATE:%H%M}"
    return f"{p.model},{head},{checksum},{switches},{p.serial},{p.fiscal_memory}"


def tax_rates(p: FiscalPrinter, data: str) -> str:
    """61h: TaxA..TaxH (C doc p.23, P doc p.30, Daisy doc p.30); a disabled group is "DT"
    on Datecs (C doc p.11) and -1.00 on Daisy (Daisy doc p.30)."""
    if data:
        raise SyntaxFault("61h takes no data")
    disabled = "-1.00" if p.family.key == "DAISY" else "DT"
    return ",".join(disabled if rate is None else f"{rate:.2f}" for rate in p.rates)


def current_receipt(p: FiscalPrinter, data: str) -> str:
    """67h: CanVd,TaxA..TaxH,Inv,InvNum (P doc p.31, Daisy doc p.32-33); the C family leads with
    ErrCode and ends with the receipt type (C doc p.24)."""
    if data:
        raise SyntaxFault("67h takes no data")
    receipt = p.open if p.open is not None and p.open.kind != "service" else None
    sums = receipt.group_sums() if receipt else dict.fromkeys(GROUPS, 0)
    can_void = "1" if receipt is not None and not receipt.totalled else "0"
    fields = [can_void, *(p.amount_text(sums[g]) for g in GROUPS), "0", f"{0:010d}"]
    if p.family.key != "C":
        return ",".join(fields)
    # Type: 0 fiscal, 1 storno operator error, 2 storno return, 3 storno tax base; the C storno
    # reasons (2Eh, C doc p.10) are 0 operator error, 1 return, 2 tax base.
    kind = str(int(receipt.storno.reason) + 1) if receipt and receipt.storno else "0"
    return ",".join(["P", *fields, kind])


def last_document(p: FiscalPrinter, data: str) -> str:
    """71h: the last document's number, 7 digits (C doc p.27, P doc p.35, Daisy doc p.38)."""
    if data:
        raise SyntaxFault("71h takes no data")
    return f"{p.doc_number:07d}"


_RECORD_OPTION = {"C": re.compile(r"[01]?"), "P": re.compile(r"[01]?"), "DAISY": re.compile(r"[TN]?")}


def last_fiscal_record(p: FiscalPrinter, data: str) -> str:
    """40h: the last record of the fiscal memory, i.e. the last Z report.

    C doc p.17 ``[Type]`` and P doc p.22 ``[Option]`` ('0' sales, '1' stornos on C, taxes on P: both answered with
    the stornos here) -> ``P,N,TaxA..TaxH,DDMMYY``, ``F`` when there is no record; Daisy doc p.21 ``[T|N]`` ->
    ``N,Tax1..Tax8,StTax1..StTax8,DDMMYY`` (no code; number 0 before the first Z). P's ``*`` (the report's time
    as well) is not emulated and is a syntax error here.
    """
    if _RECORD_OPTION[p.family.key].fullmatch(data) is None:
        raise SyntaxFault("unknown 40h option")
    record = p.last_closure
    if p.family.key == "DAISY":
        sales = record.sales if record else dict.fromkeys(GROUPS, 0)
        storno = record.storno if record else dict.fromkeys(GROUPS, 0)
        date = (record.at if record else p.now()).strftime("%d%m%y")
        return ",".join([f"{record.number if record else 0:04d}", *(p.amount_text(sales[g]) for g in GROUPS),
                         *(p.amount_text(storno[g]) for g in GROUPS), date])
    if record is None:
        return "F"
    sums = record.storno if data == "1" else record.sales
    return ",".join(["P", f"{record.number:04d}", *(p.amount_text(sums[g], signed=True) for g in GROUPS), record.at.strftime("%d%m%y")])


def read_clock(p: FiscalPrinter, data: str) -> str:
    """3Eh: DD-MM-YY HH:MM:SS (C doc p.16, P doc p.22, Daisy doc p.20)."""
    if data:
        raise SyntaxFault("3Eh takes no data")
    return p.now().strftime("%d-%m-%y %H:%M:%S")


_CLOCK = re.compile(r"\d\d-\d\d-\d\d \d\d:\d\d(:\d\d)?")


def set_clock(p: FiscalPrinter, data: str) -> str:
    """3Dh: <DD-MM-YY><space><HH:MM[:SS]>; never before the last document in the EJ (C doc p.16, Daisy doc p.20)."""
    if _CLOCK.fullmatch(data) is None:
        raise SyntaxFault("expected DD-MM-YY HH:MM[:SS]")
    try:
        moment = datetime.strptime(data, "%d-%m-%y %H:%M:%S" if data.count(":") == 2 else "%d-%m-%y %H:%M").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SyntaxFault("no such date") from exc
    if p.journal and moment < p.journal[-1].at.replace(second=0):
        raise NotAllowed("earlier than the last document in the EJ")
    p.clock_offset = moment - datetime.now(UTC).replace(microsecond=0)
    p.faults.clock_not_set = False
    return ""


def set_password(p: FiscalPrinter, data: str) -> str:
    """65h: <OpCode>,<OldPwd>,<NewPwd> (C doc p.23, P doc p.31); Daisy adds three storno permissions (Daisy doc p.31)."""
    fields = data.split(",")
    extra = fields[3:] if p.family.key == "DAISY" else []
    if len(fields) - len(extra) != 3 or len(extra) > 3 or any(f not in ("0", "1") for f in extra):
        raise SyntaxFault("expected OpCode,OldPwd,NewPwd")
    operator_text, old, new = fields[:3]
    low, high = p.family.password_digits
    if not new.isdigit() or not low <= len(new) <= high:
        raise SyntaxFault("new password out of format")
    operator = p.check_operator(operator_text, old)
    if p.family.key == "DAISY" and new != "0" and any(p.passwords[o] == new for o in p.passwords if o != operator):
        raise NotAllowed("two operators may not share a password (Daisy doc p.31)")
    p.passwords[operator] = new
    return ""


def daisy_constants(p: FiscalPrinter, data: str) -> str:
    """80h: P1..P25 (Daisy doc p.40-41). ErpNet.FP (BgDaisyIslFiscalPrinterDriver.cs) requires 26
    comma-separated items where the document lists 25, so a 26th, unused, is sent."""
    if data:
        raise SyntaxFault("80h takes no data")
    values = [
        384, 96, 5, 8, 0, 0, CYRILLIC_GROUPS[0], 12, DAISY_CHARS_PER_LINE, DAISY_COMMENT_LEN, DAISY_NAME_LEN,
        len(p.serial), len(p.fiscal_memory), 0, 13, 99, 3000, 0, 1, 10, DAISY_OPERATORS, 10, 0, 0, 0, 0,
    ]
    return ",".join(str(v) for v in values)
