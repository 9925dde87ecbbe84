"""A card-paid job whose receipt the printer refuses for good gives the card back before it is reported failed:
one sale and one reversal on the (simulated) terminal, across crashes at every step of the reversal; a card
refund already paid back is not reversed but reported with a manual-storno note."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import CrashRun, Stack, open_stack, wait_for
from test_edge_pos import POS, card_job, terminal

from chalicelib.contracts import JobResult
from edge.faults import CRASH_EXIT_CODE, REVERSAL_CRASHPOINTS
from edge.journal import ChargeState, Journal
from edge.terminals.base import ReversalRefused
from edge.terminals.simulated import STATE_FILE, SimulatedTerminal

RECOVERY = {
    "before_reversal_call": ["card_reversal_reconciled_absent", "card_reversed"],
    "during_reversal_call": ["card_reversal_reconciled"],
    "after_reversal_call": ["card_reversal_reconciled"],
    "after_journal_reversed": ["result_reported"],
}


def kinds(stack: Stack, job_id: str) -> list[str]:
    opened = terminal(stack)
    try:
        return [t.kind for t in opened.transactions(job_id)]
    finally:
        opened.close()


def charge_state(stack: Stack, job_id: str) -> ChargeState | None:
    journal = Journal(stack.state_dir / "journal.sqlite", readonly=True)
    try:
        row = journal.charge(job_id)
    finally:
        journal.close()
    return row.state if row else None


def refusing_printer(stack: Stack) -> None:
    """The simulated register refuses every fiscal receipt for good (its fiscal memory is full)."""
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    register = stack.register()
    register.set_faults(fiscal_memory_full=True)
    register.close()


def result_of(stack: Stack, job_id: str) -> JobResult:
    [result] = [r for r in stack.cloud.results if r.job_id == job_id]
    return result


def test_a_refused_receipt_reverses_the_card_sale_before_the_job_is_reported_failed(stack: Stack) -> None:
    stack.extra_toml = POS
    refusing_printer(stack)
    edge = stack.start_edge()
    stack.send(card_job("job-card"))
    wait_for(lambda: stack.settled("job-card"), timeout=20, what="card job reported")

    assert kinds(stack, "job-card") == ["sale", "reversal"]
    assert stack.receipts_for("job-card") == 0
    result = result_of(stack, "job-card")
    assert result.status.value == "failed" and result.reason is not None and result.reason.value == "device_error"
    assert result.message.startswith("card payment reversed on the terminal (reference job-card, approval ")
    assert "fiscal memory is full" in result.message  # the printer's refusal is still told
    assert charge_state(stack, "job-card") is ChargeState.REVERSED
    assert edge.stop() == 0
    events = [e["event"] for e in edge.events()]
    assert events.index("card_charged") < events.index("card_reversed") < events.index("result_reported")


def test_a_card_refund_already_paid_back_is_reported_failed_with_a_manual_storno_note(stack: Stack) -> None:
    stack.extra_toml = POS
    refusing_printer(stack)
    edge = stack.start_edge()
    stack.send(card_job("job-refund").model_copy(update={"is_refund": True}))
    wait_for(lambda: stack.settled("job-refund"), timeout=20, what="refund job reported")

    assert kinds(stack, "job-refund") == ["refund"]  # paid back once, never turned into a new charge
    result = result_of(stack, "job-refund")
    assert result.status.value == "failed"
    assert result.message.startswith("card refund paid back to the card (reference job-refund")
    assert "manual fiscal storno" in result.message
    assert charge_state(stack, "job-refund") is ChargeState.APPROVED
    assert edge.stop() == 0


def test_a_reversal_the_terminal_refuses_is_reported_with_the_card_still_charged(stack: Stack) -> None:
    stack.extra_toml = POS
    refusing_printer(stack)
    scripted = terminal(stack)
    scripted.script("approve", "decline")  # the sale, then the reversal
    scripted.close()
    edge = stack.start_edge()
    stack.send(card_job("job-kept"))
    wait_for(lambda: stack.settled("job-kept"), timeout=20, what="card job reported")

    assert kinds(stack, "job-kept") == ["sale"]
    message = result_of(stack, "job-kept").message
    assert message.startswith("card payment NOT reversed (reference job-kept)") and "pay it back by hand" in message
    assert charge_state(stack, "job-kept") is ChargeState.APPROVED
    assert edge.stop() == 0


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, tuple[CrashRun, int]]]:
    """Per crash point: the run, and how many results the cloud had when the crashed edge was dead."""
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point)) for point in REVERSAL_CRASHPOINTS}
    try:
        for stack in stacks.values():
            stack.extra_toml = POS
            refusing_printer(stack)
        crashing = {point: stack.start_edge(crash_at=point) for point, stack in stacks.items()}
        for stack in stacks.values():
            stack.send(card_job("job-card"))
        codes = {point: edge.wait_exit() for point, edge in crashing.items()}
        early = {point: len(stack.cloud.results) for point, stack in stacks.items()}
        yield {point: (CrashRun(stack, codes[point], stack.start_edge(ready=False)), early[point]) for point, stack in stacks.items()}
    finally:
        for stack in stacks.values():
            stack.close()


@pytest.mark.parametrize("point", REVERSAL_CRASHPOINTS)
def test_crash_around_the_reversal_never_reverses_twice_nor_reports_too_early(
    crash_runs: dict[str, tuple[CrashRun, int]], point: str
) -> None:
    run, reported_before_restart = crash_runs[point]
    stack = run.stack
    assert run.crashed_with == CRASH_EXIT_CODE
    assert reported_before_restart == 0  # the failed result waited for the reversal
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("job-card"), timeout=20, what=f"card job settled after a crash at {point}")

    assert kinds(stack, "job-card") == ["sale", "reversal"]
    assert stack.receipts_for("job-card") == 0
    result = result_of(stack, "job-card")
    assert result.status.value == "failed" and result.message.startswith("card payment reversed on the terminal")
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    assert all(event in events for event in RECOVERY[point])
    assert "card_charged" not in events  # the restarted edge never charges again


def test_simulated_terminal_reverses_a_sale_once(tmp_path: Path) -> None:
    pos = SimulatedTerminal(tmp_path / STATE_FILE)
    pos.sale("job-1", 1330, "EUR")
    pos.refund("job-2", 500, "EUR")
    with pytest.raises(ReversalRefused):
        pos.reverse("job-none")  # nothing to reverse
    with pytest.raises(ReversalRefused):
        pos.reverse("job-2")  # a refund is no sale
    reversal = pos.reverse("job-1")
    assert (reversal.kind, reversal.reference, reversal.amount, reversal.currency) == ("reversal", "job-1", 1330, "EUR")
    assert pos.find("job-1") == reversal
    with pytest.raises(ReversalRefused):
        pos.reverse("job-1")  # twice
    settled = pos.settlement()
    assert (settled.sales, settled.sales_amount, settled.refunds, settled.refunds_amount) == (0, 0, 1, 500)  # the reversed sale is out
    pos.close()


def test_an_older_journal_gains_the_held_failure_columns(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE charges (job_id TEXT PRIMARY KEY, state TEXT NOT NULL, terminal TEXT NOT NULL, amount INTEGER NOT NULL,"
        " approval_code TEXT, rrn TEXT, updated_ms INTEGER NOT NULL)"
    )
    old.execute("INSERT INTO charges VALUES ('job-old', 'approved', 'Card terminal', 1330, '123456', '000000000001', 1)")
    old.commit()
    old.close()
    journal = Journal(path)
    try:
        charge = journal.charge("job-old")
    finally:
        journal.close()
    assert charge is not None and (charge.state, charge.approval_code, charge.failure) == (ChargeState.APPROVED, "123456", None)
