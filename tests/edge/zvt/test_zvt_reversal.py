"""A card-paid job whose receipt the printer refuses for good, on the emulated ZVT PT: the edge reverses the sale
(06 30, spec §2.9) before it reports the job failed; the PT then holds one sale and one reversal of it, also when
the edge is killed at every step of the reversal or the PT is down when the reversal is due."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import CrashRun, Stack, open_stack, wait_for
from test_zvt_crash import card_job, pos_toml

from chalicelib.contracts import JobResult
from edge.config import PosTerminalConfig
from edge.emulators.zvt.server import ZvtEmulator
from edge.faults import CRASH_EXIT_CODE, REVERSAL_CRASHPOINTS
from edge.journal import ChargeState, Journal

SALE_AND_REVERSAL = [("sale", 1330, None), ("reversal", 1330, 1)]  # the reversal names receipt 0001, the sale's
RECOVERY = {
    "before_reversal_call": "card_reversal_reconciled_absent",
    "during_reversal_call": "card_reversal_reconciled",
    "after_reversal_call": "card_reversal_reconciled",
    "after_journal_reversed": "result_reported",
}


def set_printer(stack: Stack, **faults: bool) -> None:
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    register = stack.register()
    register.set_faults(**faults)
    register.close()


def booked(pt: ZvtEmulator) -> list[tuple[str, int, int | None]]:
    return [(b.kind, b.amount, b.reverses) for b in pt.bookings()]


def charge_state(stack: Stack, job_id: str) -> ChargeState | None:
    journal = Journal(stack.state_dir / "journal.sqlite", readonly=True)
    try:
        row = journal.charge(job_id)
    finally:
        journal.close()
    return row.state if row else None


def the_result(stack: Stack) -> JobResult:
    [result] = stack.cloud.results
    return result


def test_a_refused_receipt_reverses_the_zvt_sale(stack: Stack, pt: ZvtEmulator) -> None:
    stack.extra_toml = pos_toml(pt)
    set_printer(stack, fiscal_memory_full=True)
    edge = stack.start_edge()
    stack.send(card_job("job-card"))
    wait_for(lambda: stack.settled("job-card"), timeout=30, what="card job reported")

    assert booked(pt) == SALE_AND_REVERSAL
    assert stack.receipts_for("job-card") == 0
    result = the_result(stack)
    assert result.status.value == "failed"
    assert result.message.startswith("card payment reversed on the terminal (reference job-card, approval 0002)")
    assert edge.stop() == 0


def test_a_pt_down_when_the_reversal_is_due_holds_the_failed_result_until_it_is_done(stack: Stack, tmp_path: Path) -> None:
    pt = ZvtEmulator(tmp_path / "pt.sqlite").start()
    stack.extra_toml = pos_toml(pt)
    set_printer(stack, paper_out=True)  # retried, never given up: the sale is charged and the job waits
    edge = stack.start_edge()
    stack.send(card_job("job-card"))
    wait_for(lambda: booked(pt) == [("sale", 1330, None)], timeout=30, what="the sale booked")
    port = pt.port
    pt.stop()
    set_printer(stack, paper_out=False, fiscal_memory_full=True)  # now the printer refuses the receipt for good

    wait_for(lambda: charge_state(stack, "job-card") is ChargeState.REVERSING, timeout=30, what="the reversal due")
    time.sleep(1.5)  # several retries with the backoff, the PT still down
    assert stack.cloud.results == [] and stack.journal_state("job-card") == "received"
    assert charge_state(stack, "job-card") is ChargeState.REVERSING

    pt = ZvtEmulator(tmp_path / "pt.sqlite", port=port).start()
    try:
        wait_for(lambda: stack.settled("job-card"), timeout=30, what="card job reported once the PT is back")
        assert booked(pt) == SALE_AND_REVERSAL
    finally:
        pt.stop()
    assert the_result(stack).message.startswith("card payment reversed on the terminal")
    assert charge_state(stack, "job-card") is ChargeState.REVERSED
    assert edge.stop() == 0
    assert "reversal_fault" in [e["event"] for e in edge.events()]


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, tuple[CrashRun, ZvtEmulator, int]]]:
    """Per crash point: the run, its PT, and how many results the cloud had while the crashed edge was dead."""
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point)) for point in REVERSAL_CRASHPOINTS}
    pts = {point: ZvtEmulator(Path(tmp_path_factory.mktemp(f"pt-{point}")) / "pt.sqlite").start() for point in REVERSAL_CRASHPOINTS}
    try:
        for point, stack in stacks.items():
            stack.extra_toml = pos_toml(pts[point])
            set_printer(stack, fiscal_memory_full=True)
        crashing = {point: stack.start_edge(crash_at=point) for point, stack in stacks.items()}
        for stack in stacks.values():
            stack.send(card_job("job-card"))
        codes = {point: edge.wait_exit(timeout=30) for point, edge in crashing.items()}
        early = {point: len(stack.cloud.results) for point, stack in stacks.items()}
        yield {
            point: (CrashRun(stack, codes[point], stack.start_edge(ready=False)), pts[point], early[point]) for point, stack in stacks.items()
        }
    finally:
        for stack in stacks.values():
            stack.close()
        for pt in pts.values():
            pt.stop()


@pytest.mark.parametrize("point", REVERSAL_CRASHPOINTS)
def test_crash_around_a_zvt_reversal_never_reverses_twice(crash_runs: dict[str, tuple[CrashRun, ZvtEmulator, int]], point: str) -> None:
    run, pt, reported_before_restart = crash_runs[point]
    stack = run.stack
    assert run.crashed_with == CRASH_EXIT_CODE
    assert reported_before_restart == 0
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("job-card"), timeout=30, what=f"card job settled after a crash at {point}")

    assert booked(pt) == SALE_AND_REVERSAL
    assert the_result(stack).message.startswith("card payment reversed on the terminal")
    assert run.restarted.stop() == 0
    assert RECOVERY[point] in [e["event"] for e in run.restarted.events()]


def test_an_edge_toml_zvt_connection_without_port_is_zvt_s_20007() -> None:
    settings = PosTerminalConfig.model_validate(
        {"manufacturer": "PAX", "model": "A920", "connection": {"type": "tcp", "host": "192.0.2.7"}}
    )
    assert settings.connection is not None and settings.connection.port == 20007  # PA00P016, not the printers' 3999
    given = PosTerminalConfig.model_validate(
        {"manufacturer": "Ingenico", "model": "Desk3200", "connection": {"type": "tcp", "host": "192.0.2.7", "port": 4100}}
    )
    assert given.connection is not None and given.connection.port == 4100
