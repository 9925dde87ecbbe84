"""What the device says about itself: the 7 status bytes of 20h (Tremol doc pp.10-11) and the two status
digits of an acknowledgement (p.7), as typed errors and warnings."""

from __future__ import annotations

from dataclasses import dataclass

from edge.drivers.base import (
    ClockNotSet,
    DeviceError,
    DeviceRefused,
    FiscalMemoryError,
    FiscalMemoryFull,
    InvalidJob,
    JournalFull,
    OperationRefused,
    PaperOut,
    PrinterFault,
    WrongPassword,
)


class ReceiptOpen(DeviceRefused):
    """Refused because a receipt is open or being paid (p.7 device errors 4-7)."""


def _bit(status: bytes, byte: int, bit: int) -> bool:
    return bool(status[byte] & (1 << bit))


@dataclass(frozen=True)
class DeviceState:
    """20h's seven bytes (pp.10-11); bit 7 of each is always 1."""

    raw: bytes

    @classmethod
    def decode(cls, data: bytes) -> DeviceState:
        if len(data) != 7 or not all(b & 0x80 for b in data):
            raise ValueError(f"status {data.hex()} is not the documented seven bytes with bit 7 set")
        return cls(data)

    @property
    def paper_out(self) -> bool:
        return _bit(self.raw, 1, 0)  # ST1.0 Printer not ready - no paper

    @property
    def fiscal_receipt_open(self) -> bool:
        return _bit(self.raw, 2, 1) or _bit(self.raw, 2, 4)  # ST2.1 fiscal receipt, ST2.4 invoice

    @property
    def service_receipt_open(self) -> bool:
        return _bit(self.raw, 2, 0)  # ST2.0 Opened Non-fiscal Receipt

    @property
    def warnings(self) -> list[str]:
        r = self.raw
        flags = (
            ("W_PAPER_OUT", _bit(r, 1, 0)),
            ("W_PAPER_NEAR_END", _bit(r, 6, 4)),  # ST6.4
            ("W_PRINTER_OVERHEATED", _bit(r, 0, 2)),  # ST0.2
            ("W_CLOCK_NOT_SET", _bit(r, 0, 3) or _bit(r, 0, 4) or _bit(r, 0, 6)),  # ST0.3, 0.4, 0.6
            ("W_POWER_DOWN_IN_RECEIPT", _bit(r, 0, 1)),  # ST0.1
            ("W_FISCAL_MEMORY_NEAR_FULL", _bit(r, 3, 3)),  # ST3.3
            ("W_FISCAL_MEMORY_FULL", _bit(r, 3, 2)),  # ST3.2
            ("W_FISCAL_MEMORY_ERROR", _bit(r, 3, 1) or _bit(r, 3, 0) or _bit(r, 0, 0)),  # ST3.1, 3.0, ST0.0 FM read only
            ("W_JOURNAL_NEAR_FULL", _bit(r, 2, 5)),  # ST2.5 SD card (the electronic journal) near full
            ("W_JOURNAL_FULL", _bit(r, 2, 6) or _bit(r, 5, 5)),  # ST2.6 SD card full, ST5.5 wrong SD card
            ("W_REGISTERS_OVERFLOW", _bit(r, 1, 1)),  # ST1.1
            ("W_TAX_TERMINAL_FAULT", any(_bit(r, 6, b) for b in range(4)) or _bit(r, 5, 0) or _bit(r, 5, 1)),  # SIM, modem, operator
            ("W_UNSENT_DATA_24H", _bit(r, 6, 5)),  # ST6.5
            ("W_NO_TASK_FROM_NRA", _bit(r, 5, 2)),  # ST5.2
            ("W_DEREGISTERED", _bit(r, 5, 6)),  # ST5.6
        )
        return [name for name, on in flags if on]


# p.7, the first digit: the device's error.
_DEVICE_ERRORS: dict[str, tuple[type[DeviceError], str]] = {
    "1": (PaperOut, "out of paper or printer failure"),
    "2": (OperationRefused, "registers overflow"),
    "3": (ClockNotSet, "clock failure or incorrect date and time"),
    "4": (ReceiptOpen, "a fiscal receipt is open"),
    "5": (ReceiptOpen, "payment residue due"),
    "6": (ReceiptOpen, "a non-fiscal receipt is open"),
    "7": (ReceiptOpen, "payment registered but the receipt is not closed"),
    "8": (FiscalMemoryError, "fiscal memory failure"),
    "9": (WrongPassword, "incorrect password"),
    ":": (PrinterFault, "missing external display"),
    ";": (DeviceRefused, "24 hours block: a Z report is missing"),
    "<": (PrinterFault, "overheated printer thermal head"),
    "=": (DeviceRefused, "power was interrupted in a fiscal receipt"),
    ">": (JournalFull, "electronic journal overflow"),
    "?": (DeviceRefused, "insufficient conditions"),
}
# p.7, the second digit: the command's error.
_COMMAND_ERRORS: dict[str, tuple[type[DeviceError], str]] = {
    "1": (DeviceRefused, "invalid command"),
    "2": (DeviceRefused, "illegal command"),
    "3": (DeviceRefused, "the Z daily report is not zero"),
    "4": (InvalidJob, "syntax error"),
    "5": (InvalidJob, "input registers overflow"),
    "6": (OperationRefused, "zero input registers"),
    "7": (OperationRefused, "transaction unavailable for correction"),
    "8": (OperationRefused, "insufficient amount on hand"),
}


def refusal(cmd: int, device_error: str, command_error: str) -> DeviceError | None:
    """The typed error for an acknowledgement's two status digits (p.7), or None when both are '0' (OK).

    The device error decides the type where there is one (paper, clock, memory...): the command error then only
    says it was refused. A fiscal memory full shows as registers overflow ('2') with ST3.2 in 20h; the driver
    tells them apart by reading 20h (``DeviceState``)."""
    if device_error == "0" and command_error == "0":
        return None
    what = f"command {cmd:02X}h"
    reasons = [table[digit][1] for table, digit in ((_DEVICE_ERRORS, device_error), (_COMMAND_ERRORS, command_error)) if digit in table]
    kind = _DEVICE_ERRORS.get(device_error, _COMMAND_ERRORS.get(command_error, (DeviceRefused, "")))[0]
    return kind(f"the device refused {what} ({device_error}{command_error}: {'; '.join(reasons) or 'unknown status'})")


def fiscal_memory_refusal(state: DeviceState) -> DeviceError | None:
    """A refusal that 20h explains by a full or failed fiscal memory (ST3.2, ST3.1)."""
    if _bit(state.raw, 3, 2):
        return FiscalMemoryFull("the fiscal memory is full")
    if _bit(state.raw, 3, 1) or _bit(state.raw, 3, 0):
        return FiscalMemoryError("the fiscal memory reports an error")
    return None
