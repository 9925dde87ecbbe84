"""What the host asks a Datecs X device (X doc = bg.isl.dt.x.protocol-v2.02-en): VAT rates 32h (p.10), clock
3Dh/3Eh (p.16), last fiscal record 40h (p.17), status 4Ah (p.20-21), transaction 4Ch (p.21), diagnostics 5Ah
(p.24), error text 64h (p.26), the EJ 7Dh (p.35-36) and device variables FFh (p.39-45)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from edge.emulators.isl.amounts import decimal_text
from edge.emulators.isl.errors import X_MESSAGES, NotAllowed, SyntaxFault
from edge.emulators.isl.info import FIRMWARE, FIRMWARE_DATE
from edge.emulators.isl.journal import GROUPS, DocKind
from edge.emulators.isl.x_fields import (
    fields,
    format_datetime,
    no_data,
    ok,
    parse_datetime,
)
from edge.emulators.isl.x_receipt import slip

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

# X doc p.36: the EJ's document types.
EJ_TYPES: dict[DocKind, str] = {"fiscal": "1", "z_report": "2", "service": "4", "cash": "5", "storno": "6", "cancelled": "8", "x_report": "9"}
_FIRST_Z_DATE = datetime(2019, 1, 1, tzinfo=UTC)  # EntDate of the rates: when this emulator was "fiscalised"


def vat_rates(p: FiscalPrinter, data: str) -> str:
    """32h: nZreport, TaxA..TaxH (100.00 = disabled), EntDate DD-MM-YY (X doc p.10)."""
    no_data(data)
    rates = ("100.00" if rate is None else f"{rate:.2f}" for rate in p.rates)
    return ok(1, *rates, f"{_FIRST_Z_DATE:%d-%m-%y}")


def read_clock(p: FiscalPrinter, data: str) -> str:
    """3Eh: "DD-MM-YY hh:mm:ss" (X doc p.16); this device keeps UTC, never summer time."""
    no_data(data)
    return ok(format_datetime(p.now()))


def set_clock(p: FiscalPrinter, data: str) -> str:
    """3Dh {DateTime} (X doc p.16); never before the last document in the EJ."""
    (text,) = fields(data, 1)
    moment = parse_datetime(text)
    if p.journal and moment < p.journal[-1].at.replace(second=0):
        raise NotAllowed("earlier than the last document in the EJ")
    p.clock_offset = moment - datetime.now(UTC).replace(microsecond=0)
    p.faults.clock_not_set = False
    return ok()


def last_fiscal_record(p: FiscalPrinter, data: str) -> str:
    """40h {Type}: nRep, SumA..SumH, Date of the last Z report in the fiscal memory (X doc p.17); type 0 turnover."""
    (kind,) = fields(data, 1)
    if kind not in ("", "0", "1", "2", "3"):
        raise SyntaxFault("Type 0-3")
    if p.last_z is None:
        raise NotAllowed("no Z report in the fiscal memory")
    number, sales, at = p.last_z
    sums = (decimal_text(sales[g]) if kind in ("", "0") else "0.00" for g in GROUPS)
    return ok(number, *sums, f"{at:%d-%m-%y}")


def status_bytes(p: FiscalPrinter, data: str) -> bytes:
    """4Ah: the eight status bytes as data (X doc p.20-21)."""
    no_data(data)
    return b"0\t" + p.status() + b"\t"


def transaction_status(p: FiscalPrinter, data: str) -> str:
    """4Ch: IsOpen (0 closed, 1 fiscal, 2-4 storno by reason), Number, Items, Amount, Payed (X doc p.21)."""
    no_data(data)
    receipt = p.open if p.open is not None and p.open.kind != "service" else p.last_closed
    is_open = "0"
    if p.open is not None and p.open.kind != "service":
        is_open = str(int(p.open.storno.reason) + 2) if p.open.storno else "1"
    if receipt is None:
        return ok(is_open, slip(p), 0, "0.00", "0.00")
    return ok(is_open, slip(p), len(receipt.lines), decimal_text(receipt.total), decimal_text(receipt.tendered))


def diagnostic(p: FiscalPrinter, data: str) -> str:
    """5Ah: syntax 1 "{Param}<SEP>" answers Name, FwRev, FwDate, FwTime, Checksum, Sw, SerialNumber, FMNumber as
    fields; syntax 2 "{Param}" the same joined by commas and spaces, without an error code (X doc p.24)."""
    param = data.removesuffix("\t")
    if param not in ("", "1"):
        raise SyntaxFault("Param is empty or 1")
    checksum = f"{zlib.crc32(p.serial.encode()) & 0xFFFF:04X}" if param == "1" else "FFFF"
    values = (p.model, FIRMWARE.ljust(6, "0"), f"{FIRMWARE_DATE:%d%b%y}".upper(), f"{FIRMWARE_DATE:%H%M}", checksum, "00000000",
              p.serial, p.fiscal_memory)
    if data.endswith("\t"):
        return ok(*values)
    name, rev, date, time, *rest = values
    return ",".join([name, f"{rev} {date} {time}", *rest])


def read_error(p: FiscalPrinter, data: str) -> str:
    """64h {Code}: Code and its explanation (X doc p.26)."""
    (code,) = fields(data, 1)
    if not code.startswith("-") or not code[1:].isdigit():
        raise SyntaxFault("Code is a negative number")
    message = X_MESSAGES.get(int(code))
    if message is None:
        raise NotAllowed("no such error code")
    return ok(code, message)


def read_ej(p: FiscalPrinter, data: str) -> str:
    """7Dh option 0 {DocNum}{RecType} selects a document: DocNumber, RecNumber, Date, Type, Znumber; option 1 then
    reads it a line at a time (X doc p.35-36). Options 2, 3, 8 and 9 (structured data, printing, CSV) are not emulated."""
    option, *rest = fields(data, 1, 3)
    if option == "1":
        if rest and any(rest):
            raise SyntaxFault("option 1 takes no document")
        if not p.ej_cursor:
            raise NotAllowed("no document selected, or it is read to its end")
        return ok(p.ej_cursor.pop(0))
    if option in ("2", "3", "8", "9"):
        raise NotAllowed("this EJ read is not emulated")
    if option != "0" or len(rest) != 2:
        raise SyntaxFault("option 0 takes DocNum and RecType")
    number, kind = rest
    if not number.isdigit() or not 1 <= int(number) <= 9_999_999 or kind not in (*EJ_TYPES.values(), "0", "3", "7", "10"):
        raise SyntaxFault("DocNum 1-9999999, RecType 0-10")
    wanted = {"0": set(EJ_TYPES.values()), "10": {"1", "6"}}.get(kind, {kind})
    document = next((d for d in p.journal if d.number == int(number) and EJ_TYPES[d.kind] in wanted), None)
    if document is None:
        raise NotAllowed("no such document of that type in the EJ")
    p.ej_cursor = document.text_lines()
    same = sum(1 for d in p.journal if d.kind == document.kind and d.number <= document.number)
    return ok(document.number, same, format_datetime(document.at), EJ_TYPES[document.kind], document.z_number)


def _last_unp(p: FiscalPrinter, kind: DocKind) -> str:
    return next((d.unp for d in reversed(p.journal) if d.kind == kind and d.unp), "")


def programming(p: FiscalPrinter, data: str) -> str:
    """FFh {Name}{Index}{Value}: an empty Value reads the variable (X doc p.45). Only the read-only counters and
    numbers of p.44 are emulated: nBon, nFBon, nZreport, UNP, StornoUNP, IDnumber, FMnumber, DecimalPoint."""
    name, index, value = fields(data, 3)
    if index not in ("", "0"):
        raise SyntaxFault("these variables are not arrays")
    variables = {
        "nBon": lambda: str(p.doc_number),
        "nFBon": lambda: str(sum(1 for d in p.journal if d.kind in ("fiscal", "storno"))),
        "nZreport": lambda: str(p.z_number),
        # "Last printed unique sale number": the last sale receipt opened (its header carries it) and, apart, the last storno's.
        "UNP": lambda: p.last_unp or "",
        "StornoUNP": lambda: _last_unp(p, "storno"),
        "IDnumber": lambda: p.serial,
        "FMnumber": lambda: p.fiscal_memory,
        "DecimalPoint": lambda: "2",
    }
    read = variables.get(name)
    if read is None:
        raise NotAllowed(f"variable {name!r} is not emulated")
    if value:
        raise NotAllowed(f"{name} is read-only (X doc p.44)")
    return ok(read())
