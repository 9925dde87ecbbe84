"""Charging a job's card payments on the terminal exactly once, journaled before and after the call.

Only the card part of a split tender is charged: the sum of the job's card payments, in one
transaction (cash and other payments are the till's business). The job id is the transaction reference. ``charging`` is journaled before the terminal is
called; if the edge crashes or the terminal times out, the next attempt first asks the
terminal whether that reference was charged, and charges only if it proves it was not.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from chalicelib.contracts import FiscalJob, PaymentType
from edge.faults import crashpoint
from edge.journal import ChargeState, Journal
from edge.terminals.base import (
    PaymentDeclined,
    PosTerminal,
    TerminalError,
    TerminalTimeout,
)

log = structlog.get_logger("edge.charging")


class CardCharger:
    """``terminal`` gives the configured card terminal (it may change between jobs), or None."""

    def __init__(self, journal: Journal, terminal: Callable[[], PosTerminal | None]) -> None:
        self._journal = journal
        self._current = terminal

    @property
    def _terminal(self) -> PosTerminal:
        terminal = self._current()
        assert terminal is not None, "applies() is checked first"
        return terminal

    def applies(self, job: FiscalJob) -> bool:
        """Jobs with a card payment are charged first, when a card terminal is configured."""
        return card_amount(job) > 0 and self._current() is not None

    def ensure_paid(self, job: FiscalJob) -> None:
        """Return once the job's card payments are approved; raise PaymentDeclined or TerminalError otherwise."""
        charge = self._journal.charge(job.job_id)
        if charge is not None and charge.state is ChargeState.APPROVED:
            return
        if charge is not None and charge.state is ChargeState.DECLINED:
            raise PaymentDeclined(f"card payment for job {job.job_id} was declined")
        if charge is not None and charge.state is ChargeState.CHARGING and self._already_charged(job):
            return
        self._charge(job)

    def _already_charged(self, job: FiscalJob) -> bool:
        """The outcome of an earlier call is unknown: ask the terminal by reference."""
        op = self._journal.begin_charge(job.job_id, self._terminal.name, card_amount(job), lookup=True)
        try:
            found = self._terminal.find(job.job_id)
        except TerminalError as exc:
            self._journal.record_charge(job.job_id, op, ChargeState.CHARGING, error_code=exc.code, error_message=str(exc))
            raise
        if found is None:
            self._journal.record_charge(job.job_id, op, ChargeState.NONE)
            log.info("charge_reconciled_absent", job_id=job.job_id)
            return False
        self._journal.record_charge(job.job_id, op, ChargeState.APPROVED, approval_code=found.approval_code, rrn=found.rrn)
        log.info("charge_reconciled_approved", job_id=job.job_id, approval_code=found.approval_code)
        return True

    def _charge(self, job: FiscalJob) -> None:
        amount = card_amount(job)
        op = self._journal.begin_charge(job.job_id, self._terminal.name, amount)
        crashpoint("before_terminal_call")
        call = self._terminal.refund if job.is_refund else self._terminal.sale
        try:
            transaction = call(job.job_id, amount, job.currency)
        except PaymentDeclined as exc:
            self._journal.record_charge(job.job_id, op, ChargeState.DECLINED, error_code=exc.code, error_message=str(exc))
            log.warning("card_declined", job_id=job.job_id, code=exc.code)
            raise
        except TerminalError as exc:
            state = ChargeState.CHARGING if isinstance(exc, TerminalTimeout) else ChargeState.NONE
            self._journal.record_charge(job.job_id, op, state, error_code=exc.code, error_message=str(exc))
            raise
        crashpoint("after_terminal_call")
        self._journal.record_charge(job.job_id, op, ChargeState.APPROVED, approval_code=transaction.approval_code, rrn=transaction.rrn)
        log.info("card_charged", job_id=job.job_id, amount=amount, approval_code=transaction.approval_code)
        crashpoint("after_journal_charged")


def card_amount(job: FiscalJob) -> int:
    """What the terminal charges (or pays back) for the job: its card payments, whichever contract version."""
    return sum(payment.amount for payment in job.tender if payment.type is PaymentType.CARD)
