"""The poller: one loop that takes jobs off the queue, prints each exactly once and reports it.

Every cycle first finishes what the journal shows as unfinished (device work,
then result delivery, then queue deletions) and only then polls for more, so
a restart always reconciles before it takes anything new. The journal, not the
queue, drives a job once it is journaled; a message is only the token to delete
when its job is settled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

import structlog
from pydantic import ValidationError

from chalicelib.contracts import (
    NEWEST_JOB_VERSION,
    FiscalJob,
    FiscalRecord,
    JobResult,
    ResultAck,
    ResultStatus,
    job_version,
)
from edge.backoff import RetryGate
from edge.cloud import CloudRejected, CloudUnavailable, EdgeSession
from edge.config import EdgeConfig
from edge.drivers.base import DeviceError, FiscalDriver
from edge.faults import crashpoint
from edge.hub import UnknownPrinter
from edge.jobqueue import (
    JobQueue,
    MessageGone,
    QueueAuthError,
    QueueError,
    VisibilityKeeper,
    receive_abandonable,
)
from edge.journal import BACKLOG, InboundMessage, JobRow, JobState, Journal, MessageRow
from edge.session import CloudLink
from edge.terminals.base import PaymentDeclined, TerminalError
from edge.terminals.charging import CardCharger

log = structlog.get_logger("edge.poller")

QueueFactory = Callable[[EdgeSession], JobQueue]


def poison_job_id(message: InboundMessage) -> str:
    return f"poison:{message.message_id}"


class PrintingDevice(Protocol):
    """Where the poller gets the printer a job names (None: the default one): (device id, driver), or None while
    there is none; UnknownPrinter when no device has that name."""

    def printing(self, printer: str | None = None) -> AbstractContextManager[tuple[str, FiscalDriver] | None]: ...


class FixedDevice:
    """One driver that never changes (benches, in-process tests)."""

    def __init__(self, device_id: str, driver: FiscalDriver) -> None:
        self._device = (device_id, driver)

    def printing(self, printer: str | None = None) -> AbstractContextManager[tuple[str, FiscalDriver] | None]:
        if printer is not None and printer != self._device[1].name:
            raise UnknownPrinter(f"no fiscal device named {printer!r} on this edge")
        return nullcontext(self._device)


class Poller:
    def __init__(
        self,
        config: EdgeConfig,
        journal: Journal,
        devices: PrintingDevice,
        link: CloudLink,
        queue_factory: QueueFactory,
        stop: threading.Event,
        on_ready: Callable[[EdgeSession], None],
        mono: Callable[[], float] = time.monotonic,
        charger: CardCharger | None = None,
    ) -> None:
        self._config = config
        self._journal = journal
        self._devices = devices
        self._link = link
        self._queue_factory = queue_factory
        self._stop = stop
        self._on_ready = on_ready
        self._mono = mono
        self._charger = charger
        self._device_gate = RetryGate(config.retry_initial_seconds, config.retry_max_seconds)
        self._queue_gate = RetryGate(config.retry_initial_seconds, config.retry_max_seconds)
        self._visibility = VisibilityKeeper()
        self._queue: JobQueue | None = None
        self._queue_session: EdgeSession | None = None
        self._ready = False
        self._fresh: list[tuple[str, str]] = []  # (job_id, receipt_handle) taken in the last batch
        self._unsaved_prints: list[tuple[str, FiscalRecord]] = []  # printed, journaled ``later``: not yet known to be on disk

    def run(self) -> None:
        while not self._stop.is_set():
            self.cycle()

    def cycle(self) -> None:
        """Finish journaled work, then take one batch of messages."""
        self.work_device()
        self.deliver_results()
        queue = self._current_queue()
        if queue is None:
            self._stop.wait(self._idle_seconds(self._link.seconds_until_available()))
            return
        if not self._queue_gate.is_open(self._mono()):
            self._stop.wait(self._idle_seconds(self._queue_gate.seconds_until_open(self._mono())))
            return
        self.delete_settled(queue)
        self._hold_fresh(queue)
        if self._stop.is_set():
            return
        if not self._ready:
            self._ready = True
            assert self._queue_session is not None
            self._on_ready(self._queue_session)
        self.accept(self._receive(queue))

    # -- intake ---------------------------------------------------------------------------

    def accept(self, messages: list[InboundMessage]) -> None:
        """Journal a batch of deliveries in one transaction, committed with the first job's ``printing`` (one fsync for
        both, before the device call) or at the latest when the next ``work_device`` ends; a crash before then leaves
        the messages on the queue, to come back after their visibility timeout. A job seen before is never started again."""
        journaled: list[tuple[InboundMessage, JobRow, bool]] = []
        with self._journal.batch(later=True):
            for message in messages:
                if self._stop.is_set():
                    break
                crashpoint("after_receive")
                entry = self._journal_message(message)
                if entry is not None:
                    journaled.append((message, *entry))
        for message, row, created in journaled:
            if created:
                crashpoint("after_journal_begin")
                log.info("job_received", job_id=row.job_id, order_id=row.order_id, total=row.amount)
            else:
                log.info("job_redelivered", job_id=row.job_id, state=row.state.value, receive_count=message.receive_count)
                if row.state is JobState.REPORTED:
                    self._report_again(row)
            self._fresh.append((row.job_id, message.receipt_handle))

    def _journal_message(self, message: InboundMessage) -> tuple[JobRow, bool] | None:
        """The job's row and whether it is new; None for a message that is not a job of this edge."""
        session = self._queue_session
        try:
            job = FiscalJob.model_validate_json(message.body)
        except ValidationError as exc:
            version = job_version(message.body)
            if version is not None and version > NEWEST_JOB_VERSION:
                # A job for a newer edge: left on the queue (it comes back, then goes to the DLQ), never dropped as poison,
                # so the order prints once this edge is upgraded.
                log.error("job_needs_a_newer_edge", message_id=message.message_id, job_version=version,
                          edge_knows=NEWEST_JOB_VERSION)
                return None
            self._reject_message(message, "E_POISON", f"not a fiscal job: {exc.error_count()} validation error(s)")
            return None
        if session is not None and job.shop_id != session.shop_id:
            self._reject_message(message, "E_WRONG_SHOP", f"job {job.job_id} belongs to shop {job.shop_id}")
            return None
        return self._journal.accept(job, message)

    def _reject_message(self, message: InboundMessage, code: str, reason: str) -> None:
        self._journal.reject_message(message, poison_job_id(message), code, reason)
        log.error("message_rejected", message_id=message.message_id, code=code, reason=reason)

    def _report_again(self, row: JobRow) -> None:
        """A redelivered, already acknowledged job: tell the cloud again (idempotent), best effort."""
        assert row.result is not None
        try:
            ack = self._link.post_result(row.result)
        except (CloudUnavailable, CloudRejected) as exc:
            log.warning("result_not_repeated", job_id=row.job_id, error=str(exc))
            return
        log.info("result_repeated", job_id=row.job_id, duplicate=ack.duplicate)

    # -- device ---------------------------------------------------------------------------

    def work_device(self) -> None:
        """Print or reconcile journaled jobs, oldest first, while the device cooperates.

        Each job holds the device for its whole step, so a device changed through the
        management API is picked up between two jobs. A printed job's outcome is journaled
        ``later``: it commits with the next job's ``printing`` (one fsync for both), before that
        job's device call, or at the latest when this method returns.
        """
        try:
            for row in self._journal.device_work():
                if self._stop.is_set() or not self._device_gate.is_open(self._mono()):
                    return
                job = row.job()
                if self._charger is not None and self._charger.reversal_pending(job.job_id):
                    self._reverse(job, lookup=True)  # a crash or a terminal fault held its failed result back
                    continue
                try:
                    with self._devices.printing(job.printer) as device:
                        if device is None:
                            delay = self._device_gate.fail(self._mono())
                            log.warning("no_fiscal_device", job_id=row.job_id, printer=job.printer, retry_in=round(delay, 2))
                            return
                        self._advance_on_device(row, job, *device)
                except UnknownPrinter as exc:
                    self._unknown_printer(row, job, exc)
                self._printed_durable()
        finally:
            self._journal.flush()
            self._printed_durable()

    def _unknown_printer(self, row: JobRow, job: FiscalJob, exc: UnknownPrinter) -> None:
        """A job naming no device of this edge fails before anything is charged or printed; one that was already
        printing on that device (since renamed or removed) may have printed there, so it waits for it instead."""
        if row.state is JobState.PRINTING:
            delay = self._device_gate.fail(self._mono())
            log.warning("printer_gone", job_id=job.job_id, printer=job.printer, retry_in=round(delay, 2))
            return
        self._give_up(job, None, exc)

    def _advance_on_device(self, row: JobRow, job: FiscalJob, device_id: str, driver: FiscalDriver) -> None:
        if row.state is JobState.PRINTING and not self._proved_unprinted(row, job, device_id, driver):
            return
        if self._charger is not None and self._charger.applies(job) and not self._card_paid(job):
            return
        op = self._journal.begin_print(job.job_id, driver.name, job.total, device_id)
        self._printed_durable()
        crashpoint("before_device_call")
        try:
            handles = self._handles(job.job_id)
            with self._visibility.kept(self._queue, handles, self._config.hold_visibility_seconds,
                                       self._config.extend_visibility_after_seconds):
                record = driver.print_receipt(job)
        except DeviceError as exc:
            if exc.transient or exc.may_have_printed:
                self._device_fault(row, op, exc, uncertain=exc.may_have_printed)
                return
            self._device_gate.succeed()  # the device answered: this job can never print, the next one may
            self._give_up(job, op, exc)
            return
        crashpoint("after_device_call")
        self._printed(job, op, record, driver.receipt_text(record), later=True)

    def _card_paid(self, job: FiscalJob) -> bool:
        """Charge the card before printing; a decline fails the job, a terminal fault waits for a retry."""
        assert self._charger is not None
        try:
            self._charger.ensure_paid(job)
        except PaymentDeclined as exc:
            self._device_gate.succeed()
            self._give_up(job, None, exc)
            return False
        except TerminalError as exc:
            delay = self._device_gate.fail(self._mono())
            log.warning("terminal_fault", job_id=job.job_id, code=exc.code, error=str(exc), retry_in=round(delay, 2))
            return False
        return True

    def _proved_unprinted(self, row: JobRow, job: FiscalJob, device_id: str, driver: FiscalDriver) -> bool:
        """Reconcile a job whose print outcome is unknown; True only if the device proves there is no receipt."""
        op = self._journal.begin_lookup(job.job_id, driver.name, device_id)
        try:
            record = driver.find_receipt(job.job_id)
            last = driver.last_receipt() if record is None else None
        except DeviceError as exc:
            self._device_fault(row, op, exc, uncertain=True)
            return False
        self._device_gate.succeed()
        if record is not None:
            log.info("job_reconciled_printed", job_id=job.job_id, fiscal_number=record.fiscal_number)
            self._printed(job, op, record, driver.receipt_text(record))
            return False
        log.info("job_reconciled_unprinted", job_id=job.job_id, device_last_fiscal_number=last.fiscal_number if last else None)
        self._journal.record_not_printed(job.job_id, op)
        return True

    def _printed(self, job: FiscalJob, op: int, record: FiscalRecord, text: str | None, *, later: bool = False) -> None:
        self._device_gate.succeed()
        result = JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=job.order_id, status=ResultStatus.PRINTED,
                           fiscal=record)
        self._journal.record_printed(job.job_id, op, result, text, later=later)
        if later:
            self._unsaved_prints.append((job.job_id, record))
        else:
            self._printed_durable()

    def _printed_durable(self) -> None:
        """After the journal committed (any write commits the held ones): log the prints now on disk."""
        if self._journal.holds_writes():
            return
        saved, self._unsaved_prints = self._unsaved_prints, []
        for job_id, record in saved:
            log.info("job_printed", job_id=job_id, fiscal_number=record.fiscal_number, device=record.device)
            crashpoint("after_journal_printed")

    def _device_fault(self, row: JobRow, op: int, exc: DeviceError, *, uncertain: bool) -> None:
        delay = self._device_gate.fail(self._mono())
        updated = self._journal.record_device_error(row.job_id, op, exc.code, str(exc), uncertain=uncertain, counts=exc.counts_toward_limit)
        log.warning("device_fault", job_id=row.job_id, code=exc.code, error=str(exc), uncertain=uncertain, retry_in=round(delay, 2))
        exhausted = updated.device_attempts >= self._config.device_max_attempts
        if updated.state is JobState.RECEIVED and exc.counts_toward_limit and exhausted:
            self._give_up(updated.job(), None, exc)

    def _give_up(self, job: FiscalJob, op: int | None, exc: DeviceError) -> None:
        """Nothing was printed and nothing will be: report the job failed, once a card sale paid for it is reversed."""
        message = str(exc)[:500]
        result = JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=job.order_id, status=ResultStatus.FAILED,
                           reason=exc.reason, message=message)
        log.error("job_failed", job_id=job.job_id, reason=exc.reason.value, code=exc.code, error=message)
        if self._charger is not None:
            kept = self._charger.failed(job, op, exc.code, result)
            if kept is None:
                self._reverse(job, lookup=False)
                return
            result = kept
        self._journal.record_failed(job.job_id, op, exc.code, result)

    def _reverse(self, job: FiscalJob, *, lookup: bool) -> None:
        """Give the card back; a terminal fault keeps the failed result held and retries with the device backoff."""
        assert self._charger is not None
        try:
            self._charger.reverse(job, lookup=lookup)
        except TerminalError as exc:
            delay = self._device_gate.fail(self._mono())
            log.warning("reversal_fault", job_id=job.job_id, code=exc.code, error=str(exc), retry_in=round(delay, 2))

    # -- cloud ----------------------------------------------------------------------------

    def deliver_results(self) -> None:
        """Report finished jobs in the order they finished; stop at the first that must wait.

        Every result is on disk before it is posted (the last job's ``printed`` may still be held). The
        acknowledgements are journaled ``later`` and committed together (one fsync) before any of their queue
        messages is deleted; a crash before that commit reports them again."""
        acked: list[tuple[str, ResultAck]] = []
        settled: list[str] = []
        self._journal.flush()
        for row in self._journal.pending_results():
            if self._stop.is_set():
                break
            assert row.result is not None
            try:
                ack = self._link.post_result(row.result)
            except CloudUnavailable:
                break
            except CloudRejected as exc:
                self._journal.record_rejected(row.job_id, exc.code, str(exc))
                log.error("result_rejected", job_id=row.job_id, status=exc.status, code=exc.code, error=str(exc))
                settled.append(row.job_id)
                continue
            self._journal.record_reported(row.job_id, later=True)
            acked.append((row.job_id, ack))
            settled.append(row.job_id)
        self._journal.flush()
        for job_id, ack in acked:
            log.info("result_reported", job_id=job_id, order_status=ack.order_status, duplicate=ack.duplicate)
            crashpoint("after_result_ack")
        queue = self._queue
        if queue is not None and settled:
            self._delete_all(queue, [m for job_id in settled for m in self._journal.open_messages(job_id)])

    # -- queue ----------------------------------------------------------------------------

    def delete_settled(self, queue: JobQueue) -> None:
        """Delete the queue messages of every reported or rejected job still on the queue."""
        self._delete_all(queue, self._journal.deletable_messages())

    def _delete_all(self, queue: JobQueue, messages: list[MessageRow]) -> None:
        """Delete in order until the queue fails; the deletions are journaled ``later``, committed with the next
        write (a crash before it deletes them again, which the queue answers as gone)."""
        for message in messages:
            if not self._delete(queue, message):
                return

    def _delete(self, queue: JobQueue, message: MessageRow) -> bool:
        try:
            queue.delete(message.receipt_handle)
        except MessageGone as exc:
            log.info("message_already_gone", message_id=message.message_id, job_id=message.job_id, error=str(exc))
        except QueueError as exc:
            self._queue_failed(exc)
            return False
        self._journal.record_deleted(message.message_id, later=True)
        log.info("message_deleted", message_id=message.message_id, job_id=message.job_id)
        return True

    def _hold_fresh(self, queue: JobQueue) -> None:
        """Messages of jobs left unfinished stay invisible longer instead of cycling back every timeout."""
        fresh, self._fresh = self._fresh, []
        unfinished = []
        for job_id, receipt_handle in fresh:
            row = self._journal.job(job_id)
            if row is not None and row.state in BACKLOG:
                unfinished.append(receipt_handle)
        queue.hide_all(unfinished, self._config.hold_visibility_seconds)

    def _handles(self, job_id: str) -> list[str]:
        return [m.receipt_handle for m in self._journal.open_messages(job_id)]

    def _current_queue(self) -> JobQueue | None:
        session = self._link.session()
        if session is None:
            return None
        if session is not self._queue_session:
            self._queue = self._queue_factory(session)
            self._queue_session = session
        return self._queue

    def _receive(self, queue: JobQueue) -> list[InboundMessage]:
        wait_seconds, then_sleep = self._poll_plan()
        try:
            messages = receive_abandonable(queue, wait_seconds, self._stop)
        except QueueAuthError as exc:
            self._link.invalidate()
            self._queue_failed(exc)
            return []
        except QueueError as exc:
            self._queue_failed(exc)
            return []
        self._queue_gate.succeed()
        if not messages and then_sleep:
            self._stop.wait(then_sleep)
        return messages

    def _queue_failed(self, exc: QueueError) -> None:
        delay = self._queue_gate.fail(self._mono())
        log.warning("queue_unavailable", error=str(exc), retry_in=round(delay, 2))

    # -- timing ---------------------------------------------------------------------------

    def _next_due_in(self) -> float:
        """Seconds until something other than a new message needs the loop: a retry or a session renewal."""
        now = self._mono()
        waits = [self._link.seconds_until_renewal()]
        if self._journal.device_work():
            waits.append(self._device_gate.seconds_until_open(now))
        if self._journal.pending_results():
            waits.append(self._link.seconds_until_available())
        return max(0.0, min(waits))

    def _poll_plan(self) -> tuple[int, float]:
        """Long-poll seconds, and how long to sleep after an empty poll, so that nothing due is late."""
        due = self._next_due_in()
        if due >= self._config.wait_time_seconds:
            return self._config.wait_time_seconds, 0.0
        whole = int(due)
        return whole, due - whole

    def _idle_seconds(self, blocked_for: float) -> float:
        """How long to sleep while the queue cannot be polled: until it can, or something else is due."""
        return max(0.05, min(blocked_for, self._next_due_in()))
