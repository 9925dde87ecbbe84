"""The driver's operations against the emulated PT: sale, refund, reversal, end-of-day, status."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.emulators.zvt.server import ZvtEmulator
from edge.terminals.base import PaymentDeclined, ReversalRefused, TerminalTimeout
from edge.terminals.zvt.terminal import ZvtTerminal


def test_sales_refund_reversal_and_end_of_day_totals(pt: ZvtEmulator, terminal: ZvtTerminal) -> None:
    first = terminal.sale("job-1", 1330, "EUR")
    terminal.sale("job-2", 2500, "EUR")
    refund = terminal.refund("job-3", 400, "EUR")
    reversal = terminal.reverse("job-2")
    assert (first.approval_code, refund.approval_code, reversal.approval_code) == ("0001", "0003", "0004")
    assert (reversal.kind, reversal.reference, reversal.amount) == ("reversal", "job-2", 2500)
    assert terminal.find("job-2") == reversal  # the look-up now answers with the reversal
    assert terminal.status().open_batch_count == 4  # every booking of the open batch, the reversal too
    settled = terminal.settlement()
    assert (settled.batch, settled.sales, settled.sales_amount, settled.refunds, settled.refunds_amount) == (1, 1, 1330, 1, 400)
    assert terminal.status().open_batch_count == 0 and terminal.settlement().batch == 2
    assert [(b.kind, b.amount, b.reverses) for b in pt.bookings()] == [
        ("sale", 1330, None), ("sale", 2500, None), ("refund", 400, None), ("reversal", 2500, 2),
    ]  # fmt: skip


def test_what_the_pt_refuses_reaches_the_edge_as_typed_errors(pt: ZvtEmulator, terminal: ZvtTerminal) -> None:
    with pytest.raises(PaymentDeclined, match="C3"):
        terminal.refund("job-big", 50_001, "EUR")  # above the emulator's documented refund limit
    with pytest.raises(PaymentDeclined, match="6F"):
        terminal.sale("job-ron", 100, "RON")  # the PT is a EUR terminal
    with pytest.raises(PaymentDeclined, match="ISO 4217"):
        terminal.sale("job-xyz", 100, "XYZ")
    with pytest.raises(ReversalRefused, match="no approved card sale"):
        terminal.reverse("job-never")
    terminal.sale("job-1", 100, "EUR")
    terminal.reverse("job-1")
    with pytest.raises(ReversalRefused):
        terminal.reverse("job-1")  # the ledger knows it is reversed already
    assert [b.kind for b in pt.bookings()] == ["sale", "reversal"]


def test_a_lost_answer_before_an_end_of_day_is_resolved_first(pt: ZvtEmulator, terminal: ZvtTerminal) -> None:
    terminal.sale("job-1", 100, "EUR")
    pt.script("lost")
    with pytest.raises(TerminalTimeout):
        terminal.sale("job-2", 250, "EUR")
    settled = terminal.settlement()  # the end-of-day first settles job-2's outcome from the PT's last receipt
    assert (settled.sales, settled.sales_amount) == (2, 350)
    assert terminal.find("job-2") is not None


def test_a_lost_answer_after_an_end_of_day_is_proven_absent_by_its_receipt_range(pt: ZvtEmulator, terminal: ZvtTerminal, tmp_path: Path) -> None:
    terminal.sale("job-1", 100, "EUR")
    terminal.settlement()
    pt.script("drop")
    with pytest.raises(TerminalTimeout):
        terminal.sale("job-2", 250, "EUR")
    assert terminal.find("job-2") is None  # the PT's last record is the end-of-day closing 0001..0001
    terminal.close()  # the PT serves one ECR connection at a time
    restarted = ZvtTerminal(pt.host, pt.port, tmp_path / "ledger.sqlite", timeout_seconds=1.0)
    assert restarted.sale("job-2", 250, "EUR").approval_code == "0002"
    restarted.close()


@pytest.mark.parametrize(("fault", "closed"), [("drop", False), ("lost", True)])
def test_an_end_of_day_whose_answer_was_lost_is_checked_before_the_next_booking(pt: ZvtEmulator, terminal: ZvtTerminal, fault: str, closed: bool) -> None:
    terminal.sale("job-1", 100, "EUR")
    pt.script(fault)  # type: ignore[arg-type]
    with pytest.raises(TerminalTimeout):
        terminal.settlement()
    terminal.sale("job-2", 250, "EUR")  # reads the PT's last record first: an end-of-day or still job-1's receipt
    settled = terminal.settlement()
    assert (settled.sales, settled.sales_amount) == ((1, 250) if closed else (2, 350))
