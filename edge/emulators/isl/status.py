"""The six status bytes of each family, named condition by condition.

Every answer carries six status bytes, 80h-FFh (bit 7 of each is always 1). Which bit means
what differs per document: C doc p.3, P doc p.4-5, Daisy doc p.4-6. The general-error bit
0.5 is the OR of the bits a document marks '#' (Datecs) or '*' in bytes 0-2 (Daisy), and
4.5 the OR of the '*' bits of bytes 4-5.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Bit = tuple[int, int]


@dataclass(frozen=True)
class StatusLayout:
    """Where each condition lives, and which bits feed the two OR bits."""

    bits: dict[str, Bit]
    general_errors: frozenset[str]
    fm_errors: frozenset[str]
    constant: tuple[Bit, ...] = ()
    error_code_byte: int | None = None  # Daisy: byte 3 carries an error number (Daisy doc p.5-6)
    size: int = 6  # Datecs X: eight (X doc p.4)
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.bits))

    def encode(self, conditions: Iterable[str], error_code: int = 0) -> bytes:
        """The status bytes (six, or the family's ``size``) for the set of conditions that hold."""
        status = bytearray([0x80] * self.size)
        present = set(conditions)
        for name in present:
            byte, bit = self.bits[name]
            status[byte] |= 1 << bit
        for byte, bit in self.constant:
            status[byte] |= 1 << bit
        if present & self.general_errors:
            status[0] |= 1 << 5
        if present & self.fm_errors:
            status[4] |= 1 << 5
        if self.error_code_byte is not None:
            status[self.error_code_byte] |= error_code & 0x7F
        return bytes(status)


_DATECS_COMMON: dict[str, Bit] = {
    "syntax_error": (0, 0),
    "invalid_command": (0, 1),
    "clock_not_set": (0, 2),
    "no_customer_display": (0, 3),
    "overflow": (1, 0),
    "not_allowed": (1, 1),
    "tax_terminal_silent": (1, 6),
    "paper_out": (2, 0),
    "ej_end": (2, 2),
    "fiscal_open": (2, 3),
    "ej_near_end": (2, 4),
    "service_open": (2, 5),
    "fm_write_error": (4, 0),
    "uic_set": (4, 1),
    "ids_set": (4, 2),
    "fm_near_full": (4, 3),
    "fm_full": (4, 4),
    "fm_formatted": (5, 1),
    "fiscal_mode": (5, 3),
    "tax_rates_set": (5, 4),
}

# C doc p.3. Bit 0.6 is "reserved, always 0" there, but ErpNet.FP (BgDatecsCIslFiscalPrinter.Commands.cs)
# reads it as "cover open" as on the P family; the C document has no other cover bit, so 0.6 it is.
# The C document has no printing-unit-fault bit, so that fault cannot be injected on a C model.
C_LAYOUT = StatusLayout(
    bits={**_DATECS_COMMON, "cover_open": (0, 6), "unsent_documents": (1, 5)},
    general_errors=frozenset({"syntax_error", "invalid_command", "not_allowed", "paper_out"}),
    fm_errors=frozenset({"fm_full", "fm_write_error"}),
)

# P doc p.4-5. Byte 3 mirrors configuration switches Sw1-Sw7; this emulator runs at 115200 bps
# (Sw6, Sw7, Sw8 on, P doc p.4), so 3.5 and 3.6 are set.
P_LAYOUT = StatusLayout(
    bits={
        **_DATECS_COMMON,
        "printing_unit_fault": (0, 4),
        "cover_open": (0, 6),
        "ram_reset": (1, 2),
        "low_battery": (1, 3),
        "storno_open": (1, 4),
        "paper_near_end": (2, 1),
        "ej_very_near_end": (2, 6),
        "printhead_overheated": (4, 6),
        "fm_readonly": (5, 0),
        "fm_last_write_failed": (5, 2),
        "fm_read_error": (5, 5),
    },
    general_errors=frozenset(
        {"syntax_error", "invalid_command", "printing_unit_fault", "not_allowed", "ram_reset", "low_battery", "paper_out"}
    ),
    fm_errors=frozenset({"fm_full", "fm_write_error", "fm_last_write_failed", "fm_readonly"}),
    constant=((3, 5), (3, 6)),
)

# Daisy doc p.4-6. The document has no EJ bits; ErpNet.FP (BgDaisyIslFiscalPrinter.Commands.cs) reads
# 2.2 "no control paper" as the end of the EJ and 2.4 "low control paper" as its near end.
DAISY_LAYOUT = StatusLayout(
    bits={
        "syntax_error": (0, 0),
        "invalid_command": (0, 1),
        "clock_not_set": (0, 2),
        "no_customer_display": (0, 3),
        "printing_unit_fault": (0, 4),
        "overflow": (1, 0),
        "not_allowed": (1, 1),
        "ram_reset": (1, 2),
        "cutter_error": (1, 5),
        "wrong_password": (1, 6),
        "paper_out": (2, 0),
        "paper_near_end": (2, 1),
        "ej_end": (2, 2),
        "fiscal_open": (2, 3),
        "ej_near_end": (2, 4),
        "service_open": (2, 5),
        "printing_allowed": (2, 6),
        "fm_write_error": (4, 0),
        "tax_terminal_silent": (4, 1),
        "fm_bad_record": (4, 2),
        "fm_near_full": (4, 3),
        "fm_full": (4, 4),
        "fm_overflow": (5, 0),
        "fiscal_mode": (5, 3),
        "tax_rates_set": (5, 4),
        "ids_set": (5, 5),
        "fm_ready": (5, 6),
    },
    general_errors=frozenset({"syntax_error", "invalid_command", "printing_unit_fault", "not_allowed", "ram_reset", "paper_out"}),
    fm_errors=frozenset({"fm_write_error", "fm_full", "fm_overflow"}),
    error_code_byte=3,
)

# X doc pp.46-47: eight bytes, 3, 6 and 7 unused; byte 1 has only 1.0 and 1.1; 4.6 FM not found or damaged;
# 4.1 tax number set, 4.2 serial and FM numbers set, 5.1 FM formatted, 5.3 fiscalized, 5.4 VAT set.
X_LAYOUT = StatusLayout(
    bits={
        "syntax_error": (0, 0),
        "invalid_command": (0, 1),
        "clock_not_set": (0, 2),
        "printing_unit_fault": (0, 4),
        "cover_open": (0, 6),
        "overflow": (1, 0),
        "not_allowed": (1, 1),
        "paper_out": (2, 0),
        "paper_near_end": (2, 1),
        "ej_end": (2, 2),
        "fiscal_open": (2, 3),
        "ej_near_end": (2, 4),
        "service_open": (2, 5),
        "fm_write_error": (4, 0),
        "uic_set": (4, 1),
        "ids_set": (4, 2),
        "fm_near_full": (4, 3),
        "fm_full": (4, 4),
        "fm_missing": (4, 6),
        "fm_formatted": (5, 1),
        "fiscal_mode": (5, 3),
        "tax_rates_set": (5, 4),
    },
    # X doc p.46: 0.5 is the OR of the '#' bits (0.0, 0.1, 0.4, 1.0, 1.1, 2.0); 4.5 of the '*' bits (4.0, 4.4).
    general_errors=frozenset({"syntax_error", "invalid_command", "printing_unit_fault", "overflow", "not_allowed", "paper_out"}),
    fm_errors=frozenset({"fm_full", "fm_write_error"}),
    size=8,
)
