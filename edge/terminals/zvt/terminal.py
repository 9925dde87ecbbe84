"""A ZVT payment terminal as a ``PosTerminal``: sale, refund, reversal, end-of-day, status, and the
look-up that keeps a restarted edge from charging twice.

The look-up (ZVT has none by the ECR's reference): every booking is written to the ``ledger`` before it
is sent, with the PT's last receipt number at that moment (its ``baseline``). If the answer is lost, the
driver asks the PT for its last stored receipt, "Repeat Receipt (06 20)", before it books anything else:

- the last receipt is still the baseline (or an end-of-day that closed up to it, or none at all when the
  baseline was none): the booking never happened, the row is ``absent``;
- the last receipt is a newer, approved one of the same amount that no other row holds: it is this
  booking (the registration gives the ECR control of payments, config byte 10, so no one keyed an amount
  in on the PT), the row is ``approved`` with that receipt number;
- anything else: the driver cannot prove either way and refuses to book (``LookupUnresolved``) until an
  operator has looked at the PT's journal; it never guesses "not charged".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from edge.faults import crashpoint
from edge.terminals.base import (
    CardTransaction,
    PaymentCancelled,
    PaymentDeclined,
    PosTerminal,
    ReversalRefused,
    Settlement,
    TerminalError,
    TerminalStatus,
    TerminalTimeout,
    TerminalUnavailable,
)
from edge.terminals.zvt import commands
from edge.terminals.zvt.apdu import Apdu
from edge.terminals.zvt.bmp import MalformedApdu, StatusInformation
from edge.terminals.zvt.dialogue import Outcome, Refused, exchange
from edge.terminals.zvt.ledger import Booking, Kind, Ledger
from edge.terminals.zvt.link import LinkDown, LinkSilent, ZvtLink

log = structlog.get_logger("edge.terminals.zvt")

ACK_TIMEOUT = 5.0  # kotlin ZvtConstants.ACK_TIMEOUT_MS: the PT acknowledges a command at once
LEDGER_FILE = "zvt_{host}_{port}.sqlite"

# Result codes (spec ch. "Error-Messages"; kotlin ZvtConstants RC_*): 6C is the customer's abort key or
# the PT's own timeout; these mean the PT or its host could not be reached, worth trying again later.
ABORTED_BY_CUSTOMER = 0x6C
UNREACHABLE_CODES = {0x7D, 0x9B, 0x9C, 0xA0, 0xA1, 0xA3}


Builder = Callable[[int], Apdu]  # the command, given the currency's ISO 4217 number


class TerminalRefused(TerminalError):
    """The PT refused the command (``84 xx``: wrong password, not registered, busy); nothing was booked."""

    code = "E_TERMINAL_REFUSED"


class LookupUnresolved(TerminalTimeout):
    """An earlier booking's outcome cannot be proven from the PT's last receipt; an operator must look."""

    code = "E_TERMINAL_LOOKUP_UNRESOLVED"


def ledger_path(state_dir: Path, host: str, port: int) -> Path:
    safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in host)
    return state_dir / LEDGER_FILE.format(host=safe, port=port)


class ZvtTerminal(PosTerminal):
    def __init__(
        self, host: str, port: int, ledger: Path, *, name: str = "Card terminal", password: str = "000000",
        timeout_seconds: float = 90.0, ack_timeout: float = ACK_TIMEOUT,
    ) -> None:  # fmt: skip
        self.name = name
        self._password = password
        self._idle = timeout_seconds
        self._ack = min(ack_timeout, timeout_seconds)
        self._link = ZvtLink(host, port)
        self._ledger = Ledger(ledger)
        self._lock = threading.RLock()

    # -- PosTerminal -------------------------------------------------------------------------------------

    def sale(self, reference: str, amount: int, currency: str) -> CardTransaction:
        return self._transaction(self._book("sale", reference, amount, currency, lambda cc: commands.authorization(amount, cc)))

    def refund(self, reference: str, amount: int, currency: str) -> CardTransaction:
        return self._transaction(self._book("refund", reference, amount, currency, lambda cc: commands.refund(self._password, amount, cc)))

    def reverse(self, reference: str) -> CardTransaction:
        """Reverse (06 30) the approved sale booked for ``reference``, by its receipt number. The ledger refuses a
        sale it does not hold approved (none, reversed already, or of a settled batch); the PT's own refusal (06 1E B4
        already reversed, B5 no such sale of the open batch) is a ``ReversalRefused`` too."""
        sale = self._ledger.latest(reference, ("sale",))
        if sale is None or sale.state != "approved" or sale.receipt_no is None or sale.batch is not None:
            raise ReversalRefused(f"no approved card sale for {reference} in the open batch to reverse")
        receipt_no = sale.receipt_no
        try:
            booking = self._book("reversal", reference, sale.amount, sale.currency, lambda _: commands.reversal(self._password, receipt_no))
        except PaymentDeclined as exc:
            raise ReversalRefused(f"the card terminal refused the reversal: {exc}") from exc
        return self._transaction(booking)

    def find(self, reference: str) -> CardTransaction | None:
        """The reference's approved reversal, else its approved (or reversed) sale or refund; a booking of it whose
        answer was lost is resolved first (module docstring)."""
        latest = [self._ledger.latest(reference, (kind,)) for kind in ("sale", "refund", "reversal")]
        if any(row is not None and row.state == "pending" for row in latest):
            with self._lock:
                self._connect()
                self._settle()
        for kinds in (("reversal",), ("sale", "refund")):
            row = self._ledger.latest(reference, kinds)
            if row is not None and row.state in ("approved", "reversed"):
                return self._transaction(row)
        return None

    def settlement(self) -> Settlement:
        with self._lock:
            self._connect()
            self._settle()
            self._ledger.set_day_end_pending(True)
            try:
                outcome = exchange(self._link, commands.end_of_day(self._password), ack_timeout=self._ack, idle_timeout=self._idle)
            except Refused as exc:
                self._ledger.set_day_end_pending(False)
                raise TerminalRefused(f"end-of-day: {exc}") from exc
            except (LinkDown, LinkSilent, MalformedApdu) as exc:
                self._link.close()
                raise TerminalTimeout(f"end-of-day: no final answer from the card terminal ({exc}); its batch is checked before the next booking") from exc
            self._ledger.set_day_end_pending(False)
            status = outcome.status
            if not outcome.completed or status is None or status.result_code != 0:
                code = outcome.abort_code if outcome.abort_code is not None else (status.result_code if status else None)
                raise TerminalRefused(f"the card terminal refused the end-of-day (result code {_hex(code)})")
            rows = self._ledger.open_batch()
            batch = self._ledger.close_batch()
        sales = [r for r in rows if r.kind == "sale" and r.state == "approved"]
        refunds = [r for r in rows if r.kind == "refund"]
        settled = Settlement(
            batch=batch, sales=len(sales), sales_amount=sum(r.amount for r in sales),
            refunds=len(refunds), refunds_amount=sum(r.amount for r in refunds),
        )  # fmt: skip
        if status.amount is not None and status.amount != settled.sales_amount - settled.refunds_amount:
            log.warning("zvt_settlement_mismatch", terminal=self.name, pt_total=status.amount, ledger=settled.model_dump())
        return settled

    def status(self) -> TerminalStatus:
        """Status-Enquiry (05 01): its Completion carries the software version (LLL) and the terminal status
        code, 00 = ready (Portalum StatusEnquiryAsync; ecrterm TERMINAL_STATUS_CODES)."""
        label = f"ZVT:{self.name}"
        try:
            with self._lock:
                self._connect()
                outcome = self._run(commands.status_enquiry(), "status enquiry")
            code = _terminal_status(outcome.completion)
        except (TerminalError, MalformedApdu) as exc:
            return TerminalStatus(terminal=label, online=False, error=str(exc))
        count = len(self._ledger.open_batch())
        if code != 0:
            return TerminalStatus(terminal=label, online=False, open_batch_count=count, error=f"terminal status {code:02X}")
        return TerminalStatus(terminal=label, online=True, open_batch_count=count)

    def close(self) -> None:
        with self._lock:
            self._link.close()
            self._ledger.close()

    # -- booking ---------------------------------------------------------------------------------------------

    def _book(self, kind: Kind, reference: str, amount: int, currency: str, build: Builder) -> Booking:
        numeric = commands.ISO_NUMERIC.get(currency)
        if numeric is None:
            raise PaymentDeclined(f"the ZVT driver knows no ISO 4217 number for {currency!r}")
        if not 0 < amount < 10**12:
            raise PaymentDeclined(f"amount {amount} does not fit a ZVT amount (6 BCD bytes)")
        with self._lock:
            self._connect()
            try:
                self._settle()
            except LookupUnresolved as exc:  # an earlier booking's outcome: this one is not sent, so nothing is charged
                raise TerminalUnavailable(f"{kind} {reference} not sent: {exc}") from exc
            baseline = self._baseline()
            booking = self._ledger.begin(reference, kind, amount, currency, baseline)
            try:
                outcome = exchange(self._link, build(numeric), ack_timeout=self._ack, idle_timeout=self._idle)
            except Refused as exc:
                self._ledger.finish(booking, "absent")
                raise TerminalRefused(f"{kind} {reference}: {exc}") from exc
            except (LinkDown, LinkSilent, MalformedApdu) as exc:
                self._link.close()
                log.warning("zvt_outcome_unknown", kind=kind, reference=reference, error=str(exc))
                raise TerminalTimeout(f"{kind} {reference}: no final answer from the card terminal ({exc})") from exc
            crashpoint("during_reversal_call" if kind == "reversal" else "during_terminal_call")
            return self._conclude(booking, kind, reference, amount, outcome)

    def _conclude(self, booking: int, kind: Kind, reference: str, amount: int, outcome: Outcome) -> Booking:
        status = outcome.status
        if outcome.completed and status is not None and status.result_code == 0 and status.receipt_no is not None:
            if status.amount is not None and status.amount != amount:
                log.warning("zvt_amount_differs", kind=kind, reference=reference, asked=amount, booked=status.amount, receipt_no=status.receipt_no)
            return self._approve(booking, status, outcome.receipt)
        if outcome.completed:
            raise TerminalTimeout(f"{kind} {reference}: completion without an approved status information")
        self._ledger.finish(booking, "declined", status, outcome.receipt)
        code = outcome.abort_code if outcome.abort_code is not None else (status.result_code if status else None)
        message = f"{kind} {reference}: aborted by the card terminal (result code {_hex(code)})"
        if code == ABORTED_BY_CUSTOMER:
            raise PaymentCancelled(message)
        if code in UNREACHABLE_CODES:
            raise TerminalUnavailable(message)
        raise PaymentDeclined(message)

    def _approve(self, booking: int, status: StatusInformation, receipt: list[str]) -> Booking:
        row = self._ledger.finish(booking, "approved", status, receipt)
        if row.kind == "reversal":
            original = self._ledger.latest(row.reference, ("sale",))
            if original is not None:
                self._ledger.mark_reversed(original.id)
        return row

    # -- the look-up -------------------------------------------------------------------------------------------

    def _settle(self) -> None:
        """Resolve a booking whose answer was lost, before the PT books anything else (module docstring); and an
        end-of-day whose answer was lost: if the PT's last record is an end-of-day, it closed the batch."""
        if self._ledger.day_end_pending():
            last, _ = self._last_stored()
            if last is not None and last.closed_receipts is not None:
                batch = self._ledger.close_batch()
                log.info("zvt_day_end_found", batch=batch, closed_receipts=last.closed_receipts)
            self._ledger.set_day_end_pending(False)
        pending = self._ledger.pending()
        if not pending:
            return
        if len(pending) > 1:
            raise LookupUnresolved(f"{len(pending)} card bookings have unknown outcomes; check the terminal's journal")
        row = pending[0]
        last, receipt = self._last_stored()
        if self._never_booked(row, last):
            self._ledger.finish(row.id, "absent")
            log.info("zvt_booking_absent", reference=row.reference, kind=row.kind, baseline=row.baseline)
            return
        if (
            last is not None and last.result_code == 0 and last.receipt_no is not None
            and last.amount == row.amount and self._ledger.holder_of(last.receipt_no) is None
        ):  # fmt: skip
            self._approve(row.id, last, receipt)
            log.info("zvt_booking_found", reference=row.reference, kind=row.kind, receipt_no=last.receipt_no)
            return
        raise LookupUnresolved(
            f"the outcome of {row.kind} {row.reference} cannot be proven from the terminal's last receipt "
            f"({last.receipt_no if last else 'none'}); check the terminal's journal"
        )

    @staticmethod
    def _never_booked(row: Booking, last: StatusInformation | None) -> bool:
        if last is None:
            return row.baseline == 0
        if last.receipt_no is not None:
            return last.receipt_no == row.baseline
        return last.closed_receipts is not None and last.closed_receipts[1] == row.baseline

    def _baseline(self) -> int:
        known = self._ledger.last_receipt()
        if known is not None:
            return known
        last, _ = self._last_stored()
        if last is None:
            baseline = 0
        elif last.receipt_no is not None:
            baseline = last.receipt_no
        else:
            baseline = last.closed_receipts[1] if last.closed_receipts else 0
        self._ledger.set_last_receipt(baseline)
        return baseline

    def _last_stored(self) -> tuple[StatusInformation | None, list[str]]:
        """The PT's last stored receipt (06 20); None when it answers with an abort: it has none to repeat."""
        outcome = self._run(commands.repeat_receipt(self._password), "repeat receipt")
        if not outcome.completed:
            return None, []
        if outcome.status is None:
            raise LookupUnresolved("the card terminal repeated its last receipt without status information")
        return outcome.status, outcome.receipt

    # -- link ------------------------------------------------------------------------------------------------

    def _connect(self) -> None:
        """Open the link and register (06 00) on each new connection (spec §2.1: the ECR's first command)."""
        if self._link.is_open:
            return
        try:
            self._link.open()
        except LinkDown as exc:
            raise TerminalUnavailable(str(exc)) from exc
        outcome = self._run(commands.registration(self._password), "registration")
        if not outcome.completed:
            self._link.close()
            raise TerminalRefused(f"the card terminal refused the registration (result code {_hex(outcome.abort_code)})")

    def _run(self, request: Apdu, what: str) -> Outcome:
        """A command that books nothing: any failure means it simply did not happen."""
        try:
            return exchange(self._link, request, ack_timeout=self._ack, idle_timeout=self._idle)
        except Refused as exc:
            if request.command == (0x06, 0x00):
                self._link.close()
            raise TerminalRefused(f"{what}: {exc}") from exc
        except (LinkDown, LinkSilent, MalformedApdu) as exc:
            self._link.close()
            raise TerminalUnavailable(f"{what}: {exc}") from exc

    def _transaction(self, row: Booking) -> CardTransaction:
        return CardTransaction(
            reference=row.reference, kind=row.kind, amount=row.amount, currency=row.currency,
            approval_code=f"{row.receipt_no or 0:04d}", rrn=f"{row.trace or 0:06d}", at=row.at,
        )  # fmt: skip


def _terminal_status(completion: bytes) -> int:
    if len(completion) >= 3 and all(b >> 4 == 0xF for b in completion[:3]):
        size = int("".join(str(b & 0x0F) for b in completion[:3]))
        if len(completion) > 3 + size:
            return completion[3 + size]
    raise MalformedApdu(f"status enquiry completion without a terminal status: {completion.hex(' ')}")


def _hex(code: int | None) -> str:
    return "none" if code is None else f"{code:02X}"


