"""The card terminal interface and its typed errors.

A charge is identified by a unique transaction reference (the edge uses the job id), so
after a crash the edge can ask the terminal whether that reference was already charged
instead of charging again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

from pydantic import BaseModel

from chalicelib.contracts import FailureReason
from edge.drivers.base import DeviceError


class TerminalError(DeviceError):
    """The terminal could not carry out an operation."""

    code = "E_TERMINAL"


class TerminalUnavailable(TerminalError):
    """No connection to the terminal, or it is busy: nothing was charged."""

    code = "E_TERMINAL_UNAVAILABLE"
    reason = FailureReason.DEVICE_UNREACHABLE


class TerminalTimeout(TerminalError):
    """No final answer in time: the card may or may not have been charged; ask by reference."""

    code = "E_TERMINAL_TIMEOUT"
    may_have_printed = True


class PaymentDeclined(TerminalError):
    """The bank or card declined the payment; nothing was charged."""

    code = "E_PAYMENT_DECLINED"
    reason = FailureReason.PAYMENT_DECLINED
    transient = False


class PaymentCancelled(PaymentDeclined):
    """The customer cancelled on the terminal; nothing was charged."""

    code = "E_PAYMENT_CANCELLED"


class ReversalRefused(TerminalError):
    """The terminal will not reverse this reference: it holds no approved, unreversed sale of its open batch
    for it. Nothing was reversed, and asking again changes nothing: the card stays charged until paid back by hand."""

    code = "E_REVERSAL_REFUSED"
    transient = False


class CardTransaction(BaseModel):
    """An approved transaction; a reversal carries the reference, amount and currency of the sale it cancels."""

    reference: str
    kind: Literal["sale", "refund", "reversal"]
    amount: int
    currency: str
    approval_code: str
    rrn: str
    at: int


class Settlement(BaseModel):
    batch: int
    sales: int
    sales_amount: int
    refunds: int
    refunds_amount: int


class TerminalStatus(BaseModel):
    terminal: str
    online: bool
    open_batch_count: int | None = None
    error: str | None = None


class PosTerminal(ABC):
    """One card terminal; calls are made one at a time by the poller."""

    name: str

    @abstractmethod
    def sale(self, reference: str, amount: int, currency: str) -> CardTransaction:
        """Charge the card; raises PaymentDeclined, PaymentCancelled, TerminalTimeout or TerminalUnavailable."""

    @abstractmethod
    def refund(self, reference: str, amount: int, currency: str) -> CardTransaction:
        """Pay money back to the card, with the same errors as ``sale``."""

    @abstractmethod
    def reverse(self, reference: str) -> CardTransaction:
        """Cancel the approved sale booked for ``reference`` (before its batch is settled); raises ReversalRefused
        (nothing to reverse, or reversed already), TerminalTimeout or TerminalUnavailable."""

    @abstractmethod
    def find(self, reference: str) -> CardTransaction | None:
        """The latest approved transaction with this reference (its reversal, once the sale is reversed), or None
        if the terminal proves there is none."""

    @abstractmethod
    def settlement(self) -> Settlement:
        """Close the batch: totals of the approved transactions since the last settlement."""

    @abstractmethod
    def status(self) -> TerminalStatus:
        """Never raises; reports ``online=False`` instead."""

    @abstractmethod
    def close(self) -> None: ...
