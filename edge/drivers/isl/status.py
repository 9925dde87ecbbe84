"""The six status bytes of every ISL answer, read per protocol family.

The families share the frame but not every bit: Datecs P has a cover and a printing-unit bit
(P doc p.4), Datecs C has neither (C doc p.3), and Daisy keeps an error code in byte 3 and a wrong-password bit
in 1.6 (Daisy doc pp.4-6). A family's ``StatusMap`` names the bits it documents; a bit it does
not document is never read. Each condition a person at the till can act on becomes one of
DESIGN §5's warning codes (``DeviceState.warnings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict

Bit = tuple[int, int]  # (byte, bit)


@dataclass(frozen=True)
class StatusMap:
    """Where a family keeps each condition the driver acts on; None where its document has no such bit."""

    syntax_error: Bit = (0, 0)
    invalid_command: Bit = (0, 1)
    clock_not_set: Bit = (0, 2)
    general_error: Bit = (0, 5)
    not_allowed: Bit = (1, 1)
    overflow: Bit = (1, 0)
    paper_out: Bit = (2, 0)
    fiscal_receipt_open: Bit = (2, 3)
    service_receipt_open: Bit = (2, 5)
    fiscal_memory_near_full: Bit = (4, 3)
    fiscal_memory_full: Bit = (4, 4)
    fiscal_memory_error: tuple[Bit, ...] = ((4, 0),)
    journal_full: Bit | None = None
    journal_near_full: Bit | None = None
    journal_very_near_full: Bit | None = None
    printer_fault: Bit | None = None
    cover_open: Bit | None = None
    paper_low: Bit | None = None
    ram_reset: Bit | None = None
    wrong_password: Bit | None = None
    tax_terminal_fault: Bit | None = None
    low_battery: Bit | None = None
    printhead_overheated: Bit | None = None
    cutter_fault: Bit | None = None
    unsent_documents: Bit | None = None
    error_code_byte: int | None = None  # Daisy: byte 3 bits 0-6 are the device's error number


class DeviceState(BaseModel):
    """One answer's status bytes, decoded with its family's map."""

    model_config = ConfigDict(frozen=True)

    raw: str
    syntax_error: bool
    invalid_command: bool
    clock_not_set: bool
    general_error: bool
    not_allowed: bool
    overflow: bool
    paper_out: bool
    fiscal_receipt_open: bool
    service_receipt_open: bool
    fiscal_memory_near_full: bool
    fiscal_memory_full: bool
    fiscal_memory_error: bool
    journal_full: bool
    journal_near_full: bool
    printer_fault: bool
    cover_open: bool
    paper_low: bool
    ram_reset: bool
    wrong_password: bool
    tax_terminal_fault: bool
    journal_very_near_full: bool
    low_battery: bool
    printhead_overheated: bool
    cutter_fault: bool
    unsent_documents: bool
    error_code: int
    warnings: tuple[str, ...]


def _bit(status: bytes, where: Bit | None) -> bool:
    return where is not None and bool(status[where[0]] & (1 << where[1]))


@lru_cache(maxsize=512)
def decode(status: bytes, smap: StatusMap) -> DeviceState:
    """Cached: a printer repeats a handful of patterns, and both arguments are immutable."""
    flags = {
        name: _bit(status, getattr(smap, name))
        for name in (
            "syntax_error", "invalid_command", "clock_not_set", "general_error", "not_allowed", "overflow", "paper_out",
            "fiscal_receipt_open", "service_receipt_open", "fiscal_memory_near_full", "fiscal_memory_full", "journal_full",
            "journal_near_full", "printer_fault", "cover_open", "paper_low", "ram_reset", "wrong_password", "tax_terminal_fault",
            "journal_very_near_full", "low_battery", "printhead_overheated", "cutter_fault", "unsent_documents",
        )
    }
    fm_error = any(_bit(status, where) for where in smap.fiscal_memory_error)
    code = status[smap.error_code_byte] & 0x7F if smap.error_code_byte is not None else 0
    warnings = [code for code, on in (
        ("W_PAPER_OUT", flags["paper_out"]),
        ("W_PAPER_NEAR_END", flags["paper_low"]),
        ("W_COVER_OPEN", flags["cover_open"]),
        ("W_FISCAL_MEMORY_NEAR_FULL", flags["fiscal_memory_near_full"]),
        ("W_CLOCK_NOT_SET", flags["clock_not_set"]),
        ("W_CLOCK_BATTERY_LOW", flags["low_battery"]),
        ("W_JOURNAL_NEAR_FULL", flags["journal_near_full"] or flags["journal_very_near_full"]),
        ("W_JOURNAL_FULL", flags["journal_full"]),
        ("W_TAX_TERMINAL_FAULT", flags["tax_terminal_fault"]),
        ("W_DOCUMENTS_NOT_SENT", flags["unsent_documents"]),
        ("W_PRINTER_FAULT", flags["printer_fault"]),
        ("W_PRINTHEAD_OVERHEATED", flags["printhead_overheated"]),
        ("W_CUTTER_FAULT", flags["cutter_fault"]),
        ("W_RAM_RESET", flags["ram_reset"]),
        ("W_FISCAL_MEMORY_FULL", flags["fiscal_memory_full"]),
        ("W_FISCAL_MEMORY_ERROR", fm_error),
    ) if on]
    return DeviceState(raw=status.hex(), fiscal_memory_error=fm_error, error_code=code, warnings=tuple(warnings), **flags)


# P doc p.4-5: 0.6 cover open, 0.4 printing unit fault, 1.6 tax terminal, 1.3 low battery (the clock in RESET),
# 1.2 RAM reset, 2.1 low paper, 2.2 end of EJ, 2.4 EJ near end, 2.6 EJ very near end, 4.6 printing head
# overheated, 4.3 < 50 FM records, 4.4 FM full, 4.0 FM store error, 5.5 FM read error, 5.2 last FM store
# failed, 5.0 FM read-only. 0.3 (no customer display) is no condition for the person at the till.
DATECS_P_STATUS = StatusMap(
    cover_open=(0, 6),
    printer_fault=(0, 4),
    ram_reset=(1, 2),
    low_battery=(1, 3),
    paper_low=(2, 1),
    journal_full=(2, 2),
    journal_near_full=(2, 4),
    journal_very_near_full=(2, 6),
    tax_terminal_fault=(1, 6),
    printhead_overheated=(4, 6),
    fiscal_memory_error=((4, 0), (5, 5), (5, 2), (5, 0)),
)

# C doc p.3: 0.4 and 0.6 are reserved (no cover or printing-unit bit), 1.5 documents not sent (to the revenue
# agency) for longer than the configured warning time, 1.6 tax terminal, 2.1 reserved (no low-paper bit),
# 2.2 end of EJ, 2.4 EJ near end, 4.3 < 50 FM records, 4.4 FM full, 4.0 FM store error.
DATECS_C_STATUS = StatusMap(
    unsent_documents=(1, 5),
    journal_full=(2, 2),
    journal_near_full=(2, 4),
    tax_terminal_fault=(1, 6),
)

# Daisy doc pp.4-6: 0.4 printing device error, 1.2 RAM reset, 1.5 cutter error, 1.6 wrong password,
# 2.1 low paper, 2.2 no control tape (the journal), 2.4 control tape low, byte 3 the device's error number,
# 4.1 tax terminal problem, 4.2 wrong FM record, 4.0 FM write error, 5.0 FM overflow.
DAISY_STATUS = StatusMap(
    printer_fault=(0, 4),
    ram_reset=(1, 2),
    cutter_fault=(1, 5),
    wrong_password=(1, 6),
    paper_low=(2, 1),
    journal_full=(2, 2),
    journal_near_full=(2, 4),
    tax_terminal_fault=(4, 1),
    fiscal_memory_error=((4, 0), (4, 2), (5, 0)),
    error_code_byte=3,
)

# X doc pp.46-47, eight bytes (6 and 7 unused): 0.6 cover open, 0.4 printing mechanism failure, 2.1 near paper end,
# 2.2 EJ full, 2.4 EJ nearly full, 4.3 < 60 reports left in FM, 4.4 FM full, 4.0 FM access error, 4.6 FM not
# found or damaged. Byte 1 has no tax-terminal or RAM-reset bit (1.2-1.6 always 0).
DATECS_X_STATUS = StatusMap(
    cover_open=(0, 6),
    printer_fault=(0, 4),
    paper_low=(2, 1),
    journal_full=(2, 2),
    journal_near_full=(2, 4),
    fiscal_memory_error=((4, 0), (4, 6)),
)
