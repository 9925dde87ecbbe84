"""What differs between the ISL protocol families that share one frame: values only.

One ``Dialect`` per family (Datecs P, Datecs C, Daisy), each value citing its document.
How a family finds an interrupted receipt differs in behaviour, not in values: that is
the family's ``IslDriver`` subclass (``isl.datecs``, ``isl.daisy``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.contracts import PaymentType
from edge.drivers.base import UnsupportedDevice
from edge.drivers.isl.frame import ISL_FRAMING, Framing
from edge.drivers.isl.status import StatusMap

LATIN_GROUPS = "ABCDEFGH"
CYRILLIC_GROUPS = "АБВГДЕЖЗ"  # cp1251 C0h..C7h


@dataclass(frozen=True)
class StornoOf:
    """What a storno (refund) receipt names of the sale it reverses, as the original's printer recorded it."""

    number: int  # the original's document number
    printed_at: datetime  # the original's date-time from its printer's clock (UTC, as this bridge keeps it)
    fiscal_memory: str
    unp: str | None


@dataclass(frozen=True)
class Dialect:
    family: str
    manufacturer: str
    models: tuple[str, ...]
    connections: tuple[str, ...]
    default_port: int | None
    tax_groups: str
    payment_codes: dict[PaymentType, str]
    cancel_command: int
    open_receipt: Callable[[int, str, str], str]  # (operator, password, UNP) -> 30h data
    open_storno: Callable[[int, str, str, StornoOf], tuple[int, str]]  # (operator, password, own UNP, original) -> (command, data)
    storno_unp_is_own: bool  # whether the storno carries its own new UNP (P) or the original's (C, Daisy)
    storno_needs_original_unp: bool  # the storno cannot be opened without the original's UNP
    storno_cash_only: bool  # a storno may be paid back in cash only
    remainder_in_transaction_status: bool  # 4Ch T answers the last payment and what is left (Daisy), not the sum paid
    absolute_adjustment: str  # the 31h separator before an amount off (or onto) one sale
    operators: range
    password_digits: tuple[int, int]  # fewest and most digits an operator password may have
    default_password: Callable[[int], str]
    item_text_bytes: int
    fiscal_text_bytes: int
    service_text_bytes: int
    max_sales: int | None
    report_totals: int  # how many amounts follow the closure number in the 45h answer
    status: StatusMap
    framing: Framing = ISL_FRAMING  # Datecs X: frame_x.X_FRAMING

    def credentials(self, operator: int | None, password: str | None) -> tuple[int, str]:
        """The configured operator and password, or the family's factory ones; refused if the family cannot take them."""
        number = 1 if operator is None else operator
        if number not in self.operators:
            raise UnsupportedDevice(
                f"{self.family} operators are numbered {self.operators.start}..{self.operators.stop - 1}, not {number}"
            )
        secret = self.default_password(number) if password is None else password
        low, high = self.password_digits
        if not (secret.isascii() and secret.isdigit() and low <= len(secret) <= high):
            raise UnsupportedDevice(f"{self.family} takes an operator password of {low} to {high} digits; the configured one does not fit")
        return number, secret
