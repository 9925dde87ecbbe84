"""Card-paid jobs through the edge process: charged once before printing, across crashes, declines and timeouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import (
    CrashRun,
    Stack,
    crash_and_restart,
    make_job,
    open_stack,
    wait_for,
)

from chalicelib.contracts import FiscalJob, PaymentType
from edge.faults import CHARGE_CRASHPOINTS, CRASH_EXIT_CODE
from edge.journal import ChargeState, Journal
from edge.terminals.simulated import STATE_FILE, SimulatedTerminal

POS = '[pos_terminal]\nmanufacturer = "Simulated"\nmodel = "Simulated"'
RECOVERY = {
    "before_terminal_call": "charge_reconciled_absent",
    "during_terminal_call": "charge_reconciled_approved",
    "after_terminal_call": "charge_reconciled_approved",
    "after_journal_charged": "job_printed",
}


def card_job(job_id: str) -> FiscalJob:
    job = make_job(job_id)
    return job.model_copy(update={"payment": job.payment.model_copy(update={"type": PaymentType.CARD, "method_id": "card"})})


def terminal(stack: Stack) -> SimulatedTerminal:
    return SimulatedTerminal(stack.state_dir / STATE_FILE)


def charges(stack: Stack, job_id: str) -> int:
    opened = terminal(stack)
    try:
        return len(opened.transactions(job_id))
    finally:
        opened.close()


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, CrashRun]]:
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point)) for point in CHARGE_CRASHPOINTS}
    try:
        for stack in stacks.values():
            stack.extra_toml = POS
        yield crash_and_restart(stacks, card_job("job-card"))
    finally:
        for stack in stacks.values():
            stack.close()


@pytest.mark.parametrize("point", CHARGE_CRASHPOINTS)
def test_crash_around_the_charge_never_charges_twice(crash_runs: dict[str, CrashRun], point: str) -> None:
    run = crash_runs[point]
    stack = run.stack
    assert run.crashed_with == CRASH_EXIT_CODE
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("job-card"), timeout=20, what=f"card job settled after a crash at {point}")

    assert charges(stack, "job-card") == 1
    assert stack.receipts_for("job-card") == 1
    assert [r.status.value for r in stack.cloud.results] == ["printed"]
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    assert RECOVERY[point] in events
    assert ("card_charged" in events) == (point == "before_terminal_call")


def _charge_state(stack: Stack, job_id: str) -> ChargeState | None:
    journal = Journal(stack.state_dir / "journal.sqlite", readonly=True)
    try:
        row = journal.charge(job_id)
    finally:
        journal.close()
    return row.state if row else None


def test_declines_cancels_timeouts_and_lost_answers(stack: Stack) -> None:
    stack.extra_toml = POS
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    scripted = terminal(stack)
    scripted.script("decline", "cancel", "timeout", "approve", "lost")
    scripted.close()
    edge = stack.start_edge()

    for job_id in ("job-declined", "job-cancelled", "job-timeout", "job-lost", "job-cash"):
        stack.send(card_job(job_id) if job_id != "job-cash" else make_job(job_id))
        wait_for(lambda job_id=job_id: stack.settled(job_id), timeout=20, what=f"{job_id} settled")

    results = {r.job_id: r for r in stack.cloud.results}
    for declined in ("job-declined", "job-cancelled"):
        assert (results[declined].status.value, results[declined].reason.value) == ("failed", "payment_declined")  # type: ignore[union-attr]
        assert stack.receipts_for(declined) == 0 and charges(stack, declined) == 0
        assert _charge_state(stack, declined) is ChargeState.DECLINED
    for paid in ("job-timeout", "job-lost"):
        assert results[paid].status.value == "printed"
        assert stack.receipts_for(paid) == 1 and charges(stack, paid) == 1
        assert _charge_state(stack, paid) is ChargeState.APPROVED
    assert stack.receipts_for("job-cash") == 1 and charges(stack, "job-cash") == 0 and _charge_state(stack, "job-cash") is None
    assert edge.stop() == 0
    events = [e["event"] for e in edge.events()]
    assert events.count("terminal_fault") == 2 and "charge_reconciled_approved" in events


def test_simulated_terminal_refund_settlement_and_status(tmp_path: Path) -> None:
    pos = SimulatedTerminal(tmp_path / STATE_FILE, "Counter 1")
    sale = pos.sale("job-1", 1330, "EUR")
    pos.refund("job-2", 500, "EUR")
    assert pos.find("job-1") == sale and pos.find("job-3") is None
    assert pos.status().open_batch_count == 2
    settled = pos.settlement()
    assert (settled.batch, settled.sales, settled.sales_amount, settled.refunds, settled.refunds_amount) == (1, 1, 1330, 1, 500)
    assert pos.status().open_batch_count == 0 and pos.settlement().batch == 2
    with pytest.raises(ValueError):
        pos.script("explode")  # type: ignore[arg-type]
    pos.close()
