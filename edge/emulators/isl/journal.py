"""The open receipt and the electronic journal (КЛЕН / EJ) of closed documents.

A sale line keeps its tax group as the group's position letter A-H (А-З on paper), whatever
letter the family's command took, so tests compare lines across families.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

DocKind = Literal["fiscal", "storno", "service", "cancelled", "z_report", "x_report", "cash"]
GROUPS = "ABCDEFGH"


@dataclass(frozen=True)
class StornoOrigin:
    """What a storno receipt names of the receipt it reverses."""

    reason: str
    number: int
    at: str
    fiscal_memory: str
    unp: str | None


@dataclass
class OpenReceipt:
    kind: Literal["fiscal", "storno", "service"]
    operator: int = 0
    unp: str | None = None
    storno: StornoOrigin | None = None
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (text, group A-H, amount)
    adjustments: list[tuple[str, int]] = field(default_factory=list)  # subtotal discounts: (group, amount)
    texts: list[str] = field(default_factory=list)
    paid: dict[str, int] = field(default_factory=dict)
    last_payment: int = 0
    totalled: bool = False

    def group_sums(self) -> dict[str, int]:
        sums = dict.fromkeys(GROUPS, 0)
        for _, group, amount in self.lines:
            sums[group] += amount
        for group, amount in self.adjustments:
            sums[group] += amount
        return sums

    @property
    def total(self) -> int:
        return sum(self.group_sums().values())

    @property
    def tendered(self) -> int:
        return sum(self.paid.values())


@dataclass(frozen=True)
class Closure:
    """A Z report's record in the fiscal memory: its number, date and the day's sales and stornos per group A-H."""

    number: int
    at: datetime
    sales: dict[str, int]
    storno: dict[str, int]


@dataclass(frozen=True)
class Document:
    """A closed document in the electronic journal."""

    number: int
    kind: DocKind
    at: datetime
    z_number: int
    unp: str | None = None
    total: int = 0
    lines: tuple[tuple[str, str, int], ...] = ()
    texts: tuple[str, ...] = ()
    paid: tuple[tuple[str, int], ...] = ()
    operator: int = 0
    storno: StornoOrigin | None = None

    def text_lines(self) -> list[str]:
        """The document as the EJ gives it back line by line (P doc p.38-39, C doc p.30)."""
        lines = [f"{self.kind.upper()} {self.number:07d}", self.at.strftime("%d-%m-%Y %H:%M:%S")]
        if self.unp:
            lines.append(f"УНП: {self.unp}")
        if self.storno:
            lines.append(f"СТОРНО {self.storno.number:07d} {self.storno.at} {self.storno.fiscal_memory}")
        lines += [f"{text} {amount / 100:.2f} {GROUPS.index(group) + 1}" for text, group, amount in self.lines]
        lines += [f"#{text}#" for text in self.texts]
        if self.kind in ("fiscal", "storno", "cancelled"):
            lines.append(f"ОБЩА СУМА {self.total / 100:.2f}")
        return lines
