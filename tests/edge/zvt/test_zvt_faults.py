"""Faults on the wire between the driver and the emulated PT, and the never-charge-twice guarantee through
the edge's card charger (journal before and after, look-up by the PT's last receipt after an unknown outcome).

Each fault is scripted on the PT: ``silent`` (acknowledges, then says nothing), ``garbage`` (bytes that are
no APDU), ``half`` (books, then half a status information and silence), ``abort`` (06 1E 64), ``drop``
(closes the connection before booking), ``lost`` (books, then closes before the completion).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_harness import make_job

from chalicelib.contracts import FiscalJob, PaymentType
from edge.emulators.zvt.server import ZvtEmulator
from edge.journal import ChargeState, Journal
from edge.terminals.base import PaymentDeclined, TerminalTimeout, TerminalUnavailable
from edge.terminals.charging import CardCharger
from edge.terminals.zvt.terminal import LookupUnresolved, TerminalRefused, ZvtTerminal


def card_job(job_id: str, amount: int = 1330) -> FiscalJob:
    job = make_job(job_id)
    return job.model_copy(update={"payment": job.payment.model_copy(update={"type": PaymentType.CARD, "method_id": "card", "amount": amount})})


def charged(pt: ZvtEmulator) -> list[tuple[str, int]]:
    return [(b.kind, b.amount) for b in pt.bookings()]


@pytest.mark.parametrize(
    ("fault", "booked"),
    [("silent", False), ("garbage", False), ("drop", False), ("half", True), ("lost", True)],
)
def test_unknown_outcome_is_looked_up_and_never_charged_twice(pt: ZvtEmulator, terminal: ZvtTerminal, tmp_path: Path, fault: str, booked: bool) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    charger = CardCharger(journal, lambda: terminal)
    job = card_job("job-1")
    pt.script(fault)  # type: ignore[arg-type]
    with pytest.raises(TerminalTimeout):
        charger.ensure_paid(job)
    assert journal.charge("job-1").state is ChargeState.CHARGING  # type: ignore[union-attr]
    assert charged(pt) == ([("sale", 1330)] if booked else [])

    charger.ensure_paid(job)  # the retry asks the PT first, and charges only if it proves nothing was booked
    charger.ensure_paid(job)
    assert charged(pt) == [("sale", 1330)]
    assert journal.charge("job-1").state is ChargeState.APPROVED  # type: ignore[union-attr]
    assert terminal.find("job-1") is not None
    journal.close()


def test_abort_from_the_pt_declines_and_the_next_job_is_charged(pt: ZvtEmulator, terminal: ZvtTerminal, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    charger = CardCharger(journal, lambda: terminal)
    pt.script("abort", "decline", "cancel")
    for job_id in ("job-a", "job-b", "job-c"):
        with pytest.raises(PaymentDeclined):
            charger.ensure_paid(card_job(job_id))
        assert journal.charge(job_id).state is ChargeState.DECLINED  # type: ignore[union-attr]
    charger.ensure_paid(card_job("job-d", 990))
    assert charged(pt) == [("sale", 990)]
    journal.close()


def test_a_booking_nobody_asked_for_makes_the_lookup_refuse_instead_of_guessing(pt: ZvtEmulator, terminal: ZvtTerminal) -> None:
    terminal.sale("job-1", 500, "EUR")
    pt.script("silent")
    with pytest.raises(TerminalTimeout):
        terminal.sale("job-2", 700, "EUR")
    pt.memory.book("sale", 4200, 978)  # someone booked 42.00 on the PT meanwhile
    with pytest.raises(LookupUnresolved):
        terminal.find("job-2")
    with pytest.raises(TerminalUnavailable, match="not sent"):
        terminal.sale("job-3", 100, "EUR")  # nothing else is booked while job-2's outcome is unknown
    assert charged(pt) == [("sale", 500), ("sale", 4200)]


def test_pt_silent_or_gone_before_a_command_charges_nothing(pt: ZvtEmulator, tmp_path: Path) -> None:
    unreachable = ZvtTerminal("127.0.0.1", 1, tmp_path / "other.sqlite", timeout_seconds=1.0)
    with pytest.raises(TerminalUnavailable):
        unreachable.sale("job-1", 100, "EUR")
    assert unreachable.find("job-1") is None
    assert unreachable.status().online is False
    unreachable.close()
    assert charged(pt) == []


def test_wrong_password_is_refused_and_nothing_is_booked(pt: ZvtEmulator, tmp_path: Path) -> None:
    wrong = ZvtTerminal(pt.host, pt.port, tmp_path / "wrong.sqlite", password="123456", timeout_seconds=1.0)
    with pytest.raises(TerminalRefused):
        wrong.sale("job-1", 100, "EUR")
    status = wrong.status()
    assert status.online is False and "84 83" in (status.error or "")
    wrong.close()
    assert charged(pt) == []


def test_reconnects_and_registers_again_after_the_pt_dropped_the_link(pt: ZvtEmulator, terminal: ZvtTerminal) -> None:
    pt.script("drop")
    with pytest.raises(TerminalTimeout):
        terminal.sale("job-1", 100, "EUR")
    assert terminal.sale("job-2", 200, "EUR").approval_code == "0001"  # job-1 resolved absent first, then job-2 booked
    assert terminal.find("job-1") is None
    assert charged(pt) == [("sale", 200)]
