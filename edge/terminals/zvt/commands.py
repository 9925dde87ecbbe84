"""The ECR's requests, byte for byte.

The password is 3 BCD bytes (spec §1.2); currency codes are ISO 4217 numeric, 2 BCD bytes (spec §1.3,
"09 78 = Euro"). Layouts: Portalum ZvtClient.cs and kotlin-zvt-library ZvtCommandBuilder.kt, per command below.
"""

from __future__ import annotations

from edge.terminals.zvt.apdu import Apdu
from edge.terminals.zvt.bmp import AMOUNT, CURRENCY, RECEIPT, bcd

# Registration config byte (spec §2.1; kotlin ZvtConstants.kt "Registration Config Byte"): the ECR takes
# the payment and administration receipts (02, 04: the PT sends them as print lines instead of printing),
# wants intermediate status (08), and controls payments and administration (10, 20: amounts cannot be keyed
# in on the PT, so every booking on it is one this edge asked for; the crash look-up relies on that).
CONFIG_BYTE = 0x02 | 0x04 | 0x08 | 0x10 | 0x20

# ISO 4217 numeric codes for the currencies the shops bill in.
ISO_NUMERIC = {"EUR": 978, "RON": 946, "BGN": 975, "CHF": 756, "CZK": 203, "HUF": 348, "PLN": 985, "GBP": 826, "USD": 840}


def password_bytes(password: str) -> bytes:
    return bcd(int(password), 3)


def registration(password: str) -> Apdu:
    """``06 00 <password> <config-byte>`` (spec §2.1; Portalum RegistrationAsync). No currency: the PT keeps
    its own, and each booking names the currency it expects (BMP 49)."""
    return Apdu(0x06, 0x00, password_bytes(password) + bytes([CONFIG_BYTE]))


def authorization(amount: int, currency: int) -> Apdu:
    """``06 01 04 <amount> 49 <CC>`` (spec §2.2.1; kotlin buildAuthorization)."""
    return Apdu(0x06, 0x01, bytes([AMOUNT]) + bcd(amount, 6) + bytes([CURRENCY]) + bcd(currency, 2))


def refund(password: str, amount: int, currency: int) -> Apdu:
    """``06 31 <password> 04 <amount> 49 <CC>`` (spec §2.14; kotlin buildRefund)."""
    return Apdu(0x06, 0x31, password_bytes(password) + bytes([AMOUNT]) + bcd(amount, 6) + bytes([CURRENCY]) + bcd(currency, 2))


def reversal(password: str, receipt_no: int) -> Apdu:
    """``06 30 <password> 87 <receipt-no>`` (spec §2.9; Portalum ReversalAsync)."""
    return Apdu(0x06, 0x30, password_bytes(password) + bytes([RECEIPT]) + bcd(receipt_no, 2))


def end_of_day(password: str) -> Apdu:
    """``06 50 <password>`` (spec §2.15.1; Portalum EndOfDayAsync)."""
    return Apdu(0x06, 0x50, password_bytes(password))


def repeat_receipt(password: str) -> Apdu:
    """``06 20 <password>``: the PT sends the last stored receipt again, with its status information
    (spec "Repeat Receipt (06 20)"; Portalum RepeatLastReceiptAsync)."""
    return Apdu(0x06, 0x20, password_bytes(password))


def status_enquiry() -> Apdu:
    """``05 01`` without data (spec "Status-Enquiry (05 01)"; Portalum StatusEnquiryAsync, kotlin buildStatusEnquiry)."""
    return Apdu(0x05, 0x01)
