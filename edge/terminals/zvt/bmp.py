"""BMP fields (``<id> <value>``) and the BCD numbers inside them.

Spec ch. "Bitmaps" (the BMP list) as read by Portalum Parsers/BmpParser.cs: each BMP id fixes its value's
length, except LLVAR/LLLVAR values, whose length is written as two/three ``Fx`` bytes (``F1 F7`` = 17),
and the TLV container ``06``, whose length is BER-TLV (``81 xx``, ``82 xx xx`` above 127). Amounts are
6-byte BCD in minor units (spec §2.2: "04 <amount>"), receipt numbers 2-byte BCD, trace numbers 3-byte BCD.
"""

from __future__ import annotations

from pydantic import BaseModel

from edge.terminals.zvt.apdu import Apdu


class MalformedApdu(ValueError):
    """Bytes that do not follow the BMP grammar: an unknown BMP id, a bad length or a bad BCD digit."""


# BMP id -> fixed value length (Portalum BmpParser.cs, "bmpInfos").
FIXED = {
    0x01: 1, 0x02: 1, 0x03: 1, 0x04: 6, 0x05: 1, 0x0B: 3, 0x0C: 3, 0x0D: 2, 0x0E: 2, 0x17: 2, 0x19: 1,
    0x27: 1, 0x29: 4, 0x2A: 15, 0x37: 3, 0x3A: 2, 0x3B: 8, 0x3D: 3, 0x49: 2, 0x87: 2, 0x88: 3, 0x8A: 1,
    0x8C: 1, 0xA0: 1, 0xAA: 3, 0xBA: 5,
}  # fmt: skip
LLVAR = {0x22, 0x23, 0x2D, 0x2E, 0x8B, 0xA7}
LLLVAR = {0x24, 0x3C, 0x60, 0x9A, 0xAF}
TLV = 0x06

AMOUNT, TRACE, TIME, DATE, RESULT, TERMINAL_ID, CURRENCY, RECEIPT, TURNOVER, CARD_TYPE = (
    0x04, 0x0B, 0x0C, 0x0D, 0x27, 0x29, 0x49, 0x87, 0x88, 0x8A,
)  # fmt: skip
ADDITIONAL_TEXT, TOTALS = 0x3C, 0x60


def bcd(value: int, size: int) -> bytes:
    digits = f"{value:0{size * 2}d}"
    if value < 0 or len(digits) > size * 2:
        raise ValueError(f"{value} does not fit {size} BCD bytes")
    return bytes.fromhex(digits)


def from_bcd(raw: bytes) -> int:
    text = raw.hex()
    if not text.isdigit():
        raise MalformedApdu(f"not BCD: {raw.hex(' ')}")
    return int(text)


def _var_length(raw: bytes) -> int:
    if any(b >> 4 != 0xF or b & 0x0F > 9 for b in raw):
        raise MalformedApdu(f"bad LLVAR/LLLVAR length {raw.hex(' ')}")
    return int("".join(str(b & 0x0F) for b in raw))


def _tlv_length(data: bytes, at: int) -> tuple[int, int]:
    if at >= len(data):
        raise MalformedApdu("TLV container without length")
    first = data[at]
    if first < 0x80:
        return first, at + 1
    count = first & 0x7F
    if count not in (1, 2) or at + 1 + count > len(data):
        raise MalformedApdu(f"bad TLV length {data[at:at + 1 + count].hex(' ')}")
    return int.from_bytes(data[at + 1 : at + 1 + count], "big"), at + 1 + count


def fields(data: bytes) -> dict[int, bytes]:
    """Every BMP in ``data`` by id (LLVAR/LLLVAR values without their length bytes)."""
    found: dict[int, bytes] = {}
    at = 0
    while at < len(data):
        bmp, at = data[at], at + 1
        if bmp in FIXED:
            size = FIXED[bmp]
        elif bmp in LLVAR or bmp in LLLVAR:
            width = 2 if bmp in LLVAR else 3
            size, at = _var_length(data[at : at + width]) if at + width <= len(data) else -1, at + width
        elif bmp == TLV:
            size, at = _tlv_length(data, at)
        else:
            raise MalformedApdu(f"unknown BMP {bmp:02X} at byte {at - 1}")
        if size < 0 or at + size > len(data):
            raise MalformedApdu(f"BMP {bmp:02X} runs past the end of the APDU")
        found[bmp], at = data[at : at + size], at + size
    return found


class StatusInformation(BaseModel):
    """``04 0F``: the outcome of a transaction (spec §2.2.6, §2.15.4)."""

    result_code: int
    amount: int | None = None
    trace: int | None = None
    receipt_no: int | None = None
    turnover_no: int | None = None
    time: str | None = None
    date: str | None = None
    terminal_id: str | None = None
    card_type: int | None = None
    additional_text: str | None = None
    closed_receipts: tuple[int, int] | None = None  # end-of-day: first and last receipt number of the batch


def status_information(apdu: Apdu) -> StatusInformation:
    values = fields(apdu.data)
    if RESULT not in values:
        raise MalformedApdu("status information without result code (BMP 27)")

    def number(bmp: int) -> int | None:
        return from_bcd(values[bmp]) if bmp in values else None

    return StatusInformation(
        result_code=values[RESULT][0],
        amount=number(AMOUNT),
        trace=number(TRACE),
        receipt_no=number(RECEIPT),
        turnover_no=number(TURNOVER),
        time=values[TIME].hex() if TIME in values else None,
        date=values[DATE].hex() if DATE in values else None,
        terminal_id=values[TERMINAL_ID].hex() if TERMINAL_ID in values else None,
        card_type=values[CARD_TYPE][0] if CARD_TYPE in values else None,
        additional_text=values[ADDITIONAL_TEXT].decode("cp437", "replace") if ADDITIONAL_TEXT in values else None,
        closed_receipts=_receipt_range(values[TOTALS]) if TOTALS in values else None,
    )


def _receipt_range(totals: bytes) -> tuple[int, int]:
    """The first and last receipt numbers an end-of-day closed (BMP 60 starts with them, 2 BCD bytes each;
    spec §2.15.4, "individual totals")."""
    if len(totals) < 4:
        raise MalformedApdu("individual totals without receipt numbers")
    return from_bcd(totals[0:2]), from_bcd(totals[2:4])
