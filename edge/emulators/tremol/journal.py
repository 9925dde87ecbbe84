"""The emulated device's own record of every document it issued: what tests and the chaos bench count."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Kind = Literal["fiscal", "storno", "void", "service", "cash", "z_report"]


@dataclass
class Document:
    number: int  # the receipt counter (71h, p.72); a Z report carries the next Z number instead
    kind: Kind
    at: datetime
    total: int = 0
    unp: str = ""
    paid: tuple[tuple[str, int], ...] = ()  # (payment type 0-11, amount received)
    change: int = 0
    z_number: int = 0  # the daily report the document belongs to (the next Z)
    lines: list[str] = field(default_factory=list)
    related: int | None = None  # a storno's original receipt number

    @property
    def is_receipt(self) -> bool:
        """A fiscal receipt: a sale, a storno or a cancelled (voided) one; what 72h 'b' knows (p.74)."""
        return self.kind in ("fiscal", "storno", "void")
