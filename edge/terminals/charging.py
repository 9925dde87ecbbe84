"""Charging a job's card payments on the terminal exactly once, journaled before and after the call.

Only the card part of a split tender is charged: the sum of the job's card payments, in one
transaction (cash and other payments are the till's business). The job id is the transaction reference. ``charging`` is journaled before the terminal is
called; if the edge crashes or the terminal times out, the next attempt first asks the
terminal whether that reference was charged, and charges only if it proves it was not.

A charged job that then fails for good (refused receipt, attempts exhausted, unknown printer) gives the card
back before its failed result is reported: ``failed`` journals the result as held and the charge ``reversing``;
``reverse`` reverses the sale (after a crash or a fault it first asks the terminal whether it already did) and
journals ``reversed`` together with the failed result, whose message says so. A card *refund* already paid back
is not turned into a new charge: the job is reported failed at once, its message saying the refund was made and
the till needs a manual fiscal storno.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from chalicelib.contracts import FiscalJob, JobResult, PaymentType
from edge.faults import crashpoint
from edge.journal import ChargeRow, ChargeState, Journal
from edge.terminals.base import (
    PaymentDeclined,
    PosTerminal,
    ReversalRefused,
    TerminalError,
    TerminalTimeout,
    TerminalUnavailable,
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

    # -- giving the card back ----------------------------------------------------------------

    def failed(self, job: FiscalJob, op: int | None, code: str, result: JobResult) -> JobResult | None:
        """A job fails for good. Returns the failed result to record now (its message amended when a card refund was
        already paid back), or None when the card sale must be reversed first: the result is then held in the
        journal with the charge ``reversing``, and ``reverse`` records it."""
        charge = self._journal.charge(job.job_id)
        if charge is None or charge.state is not ChargeState.APPROVED:
            return result
        if job.is_refund:
            log.warning("card_refund_kept", job_id=job.job_id, approval_code=charge.approval_code)
            return _noted(result, f"card refund paid back to the card (reference {job.job_id}, approval {charge.approval_code}); "
                                  "no fiscal refund receipt: the till needs a manual fiscal storno")
        self._journal.hold_failure(job.job_id, op, code, result)
        log.info("card_reversal_due", job_id=job.job_id, code=code)
        return None

    def reversal_pending(self, job_id: str) -> bool:
        charge = self._journal.charge(job_id)
        return charge is not None and charge.state is ChargeState.REVERSING

    def reverse(self, job: FiscalJob, *, lookup: bool) -> None:
        """Give back the card sale of a job held ``reversing``, then journal its failed result. ``lookup``: an earlier
        attempt may have reversed it (crash, timeout), so the terminal is asked first and never reverses twice. Raises
        TerminalError while the terminal cannot tell or do it: the result stays held, the charge ``reversing``."""
        charge = self._journal.charge(job.job_id)
        assert charge is not None and charge.state is ChargeState.REVERSING and charge.failure is not None
        terminal = self._current()
        if terminal is None:
            raise TerminalUnavailable(f"no card terminal to reverse the card payment of job {job.job_id}")
        if lookup and self._found_reversed(job, charge, terminal):
            return
        op = self._journal.begin_reversal(job.job_id, terminal.name, charge.amount)
        crashpoint("before_reversal_call")
        try:
            reversal = terminal.reverse(job.job_id)
        except ReversalRefused as exc:
            log.error("card_reversal_refused", job_id=job.job_id, error=str(exc))
            note = f"card payment NOT reversed (reference {job.job_id}): {exc}; pay it back by hand"
            self._journal.record_reversal(job.job_id, op, ChargeState.APPROVED, _noted(charge.failure, note), error_code=exc.code, error_message=str(exc))
            return
        except TerminalError as exc:
            self._journal.record_reversal(job.job_id, op, ChargeState.REVERSING, error_code=exc.code, error_message=str(exc))
            raise
        crashpoint("after_reversal_call")
        self._journal.record_reversal(job.job_id, op, ChargeState.REVERSED, _noted(charge.failure, _reversed(job, reversal.approval_code)))
        log.info("card_reversed", job_id=job.job_id, approval_code=reversal.approval_code)
        crashpoint("after_journal_reversed")

    def _found_reversed(self, job: FiscalJob, charge: ChargeRow, terminal: PosTerminal) -> bool:
        """Ask the terminal whether the sale is reversed already; if so, settle the held result."""
        assert charge.failure is not None
        op = self._journal.begin_reversal(job.job_id, terminal.name, charge.amount, lookup=True)
        try:
            found = terminal.find(job.job_id)
        except TerminalError as exc:
            self._journal.record_reversal(job.job_id, op, ChargeState.REVERSING, error_code=exc.code, error_message=str(exc))
            raise
        if found is None or found.kind != "reversal":
            self._journal.record_reversal(job.job_id, op, ChargeState.REVERSING)
            log.info("card_reversal_reconciled_absent", job_id=job.job_id)
            return False
        self._journal.record_reversal(job.job_id, op, ChargeState.REVERSED, _noted(charge.failure, _reversed(job, found.approval_code)))
        log.info("card_reversal_reconciled", job_id=job.job_id, approval_code=found.approval_code)
        return True


def _reversed(job: FiscalJob, approval_code: str) -> str:
    return f"card payment reversed on the terminal (reference {job.job_id}, approval {approval_code})"


def _noted(result: JobResult, note: str) -> JobResult:
    """The failed result with what happened to the card in front of its message (the contract keeps it to 500)."""
    message = f"{note}; {result.message}" if result.message else note
    return result.model_copy(update={"message": message[:500]})


def card_amount(job: FiscalJob) -> int:
    """What the terminal charges (or pays back) for the job: its card payments, whichever contract version."""
    return sum(payment.amount for payment in job.tender if payment.type is PaymentType.CARD)
