"""Kill the edge at every step boundary; after a restart each job is printed exactly once and reported.

The crash scenarios run side by side (one queue, fake cloud and state dir
each) to keep the suite fast; each test then checks its own scenario. The
register takes a receipt in five steps here (open, two lines, one payment,
close), each a hit of ``during_device_call``: the first leaves a receipt open
that the restarted edge voids, the fifth a closed receipt whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Iterator
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

from edge.faults import CRASH_EXIT_CODE, CRASHPOINTS

# What the restarted edge must do for the job, before it polls for anything new.
RECOVERY = {
    "after_receive": None,  # nothing journaled: the message comes back after its visibility timeout
    "after_journal_begin": None,  # journaled, held until the first printing (issue 22 point 5): the message comes back
    "before_device_call": "job_reconciled_unprinted",
    "during_device_call": "job_reconciled_unprinted",  # the receipt was only opened
    "during_device_call:5": "job_reconciled_printed",  # closed into fiscal memory, the answer lost
    "after_device_call": "job_reconciled_printed",
    "after_journal_printed": "result_reported",
    "after_result_ack": "message_deleted",
}



@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, CrashRun]]:
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point.replace(":", "-"))) for point in RECOVERY}
    try:
        yield crash_and_restart(stacks, make_job("job-crash"))
    finally:
        for stack in stacks.values():
            stack.close()


def test_every_crashpoint_has_a_recovery_expectation() -> None:
    assert {point.partition(":")[0] for point in RECOVERY} == set(CRASHPOINTS)


@pytest.mark.parametrize("point", RECOVERY)
def test_crash_then_restart_prints_exactly_once(crash_runs: dict[str, CrashRun], point: str) -> None:
    run = crash_runs[point]
    stack = run.stack
    assert run.crashed_with == CRASH_EXIT_CODE

    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("job-crash"), timeout=20, what=f"job settled after a crash at {point}")

    assert stack.receipts_for("job-crash") == 1
    register = stack.register()
    try:
        assert register.current_receipt() is None  # nothing left open
        voided = register.electronic_journal().count("\nVOID\n")
    finally:
        register.close()
    assert voided == (1 if point == "during_device_call" else 0)
    fiscal_numbers = {r.fiscal.fiscal_number for r in stack.cloud.results if r.fiscal}
    assert fiscal_numbers == {"00000001"}
    assert all(r.status.value == "printed" for r in stack.cloud.results)
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    expected = RECOVERY[point]
    if expected is None:
        assert events.index("job_received") > events.index("edge_ready")
    else:
        assert events.index(expected) < events.index("edge_ready"), events
        printed_again = expected in ("job_printed", "job_reconciled_unprinted")
        assert ("job_printed" in events) == printed_again


def test_crash_on_the_nth_hit_leaves_earlier_jobs_alone(stack: Stack) -> None:
    crashing = stack.start_edge(crash_at="after_device_call:2")
    stack.send(make_job("job-a"))
    wait_for(lambda: stack.journal_state("job-a") == "reported", what="first job reported")
    stack.send(make_job("job-b"))
    assert crashing.wait_exit() == CRASH_EXIT_CODE

    stack.start_edge()
    wait_for(lambda: stack.settled("job-b"), what="second job settled after the crash")

    assert (stack.receipts_for("job-a"), stack.receipts_for("job-b")) == (1, 1)
    assert stack.cloud.result_ids()[:2] == ["job-a", "job-b"]
