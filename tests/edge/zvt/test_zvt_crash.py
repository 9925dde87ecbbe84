"""Kill the edge process at every step of a card charge on a ZVT terminal (the emulated PT on TCP); after a
restart the job is charged exactly once, printed once and reported, and the PT holds one booking for it.

``during_terminal_call`` dies after the PT booked the sale and before the driver wrote the answer down:
the restarted edge finds the booking by the PT's last receipt (Repeat Receipt 06 20) instead of charging again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import CrashRun, crash_and_restart, make_job, open_stack, wait_for

from chalicelib.contracts import FiscalJob, PaymentType
from edge.emulators.zvt.server import ZvtEmulator
from edge.faults import CHARGE_CRASHPOINTS, CRASH_EXIT_CODE

RECOVERY = {
    "before_terminal_call": "charge_reconciled_absent",
    "during_terminal_call": "charge_reconciled_approved",
    "after_terminal_call": "charge_reconciled_approved",
    "after_journal_charged": "job_printed",
}


def pos_toml(pt: ZvtEmulator) -> str:
    return (
        '[pos_terminal]\nmanufacturer = "PAX"\nmodel = "A920"\ntimeout_seconds = 5\n'
        f'[pos_terminal.connection]\ntype = "tcp"\nhost = "{pt.host}"\nport = {pt.port}'
    )


def card_job(job_id: str) -> FiscalJob:
    job = make_job(job_id)
    return job.model_copy(update={"payment": job.payment.model_copy(update={"type": PaymentType.CARD, "method_id": "card"})})


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, tuple[CrashRun, ZvtEmulator]]]:
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point)) for point in RECOVERY}
    pts = {point: ZvtEmulator(Path(tmp_path_factory.mktemp(f"pt-{point}")) / "pt.sqlite").start() for point in RECOVERY}
    try:
        for point, stack in stacks.items():
            stack.extra_toml = pos_toml(pts[point])
        runs = crash_and_restart(stacks, card_job("job-card"))
        yield {point: (run, pts[point]) for point, run in runs.items()}
    finally:
        for stack in stacks.values():
            stack.close()
        for pt in pts.values():
            pt.stop()


def test_every_charge_crashpoint_is_covered() -> None:
    assert set(RECOVERY) == set(CHARGE_CRASHPOINTS)


@pytest.mark.parametrize("point", RECOVERY)
def test_crash_around_a_zvt_charge_never_charges_twice(crash_runs: dict[str, tuple[CrashRun, ZvtEmulator]], point: str) -> None:
    run, pt = crash_runs[point]
    stack = run.stack
    assert run.crashed_with == CRASH_EXIT_CODE
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("job-card"), timeout=30, what=f"card job settled after a crash at {point}")

    assert [(b.kind, b.amount) for b in pt.bookings()] == [("sale", 1330)]
    assert stack.receipts_for("job-card") == 1
    assert [r.status.value for r in stack.cloud.results] == ["printed"]
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    assert RECOVERY[point] in events
    assert ("card_charged" in events) == (point == "before_terminal_call")
