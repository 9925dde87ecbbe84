"""Kill the edge at every step boundary while it prints on an emulated Caspos Mobile; after a restart each job is on
the register exactly once and reported printed with that document's fiscal id (issue 26, Build 4).

The register keeps running across the crash, as a real one does. The edge's ``during_device_call`` crash point
fires in the Caspos client once the register answered a document, so the sale exists and its answer is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from caspos_support import azn_job
from edge_harness import CrashRun, Stack, crash_and_restart, open_stack, wait_for

from edge.drivers.caspos.driver import document_uuid
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer
from edge.faults import CRASH_EXIT_CODE, CRASHPOINTS

JOB = "job-crash"
# How the restarted edge settles the job: reconciled from the driver's memory of the register's answer, or sent again
# under the same documentUUID (the register answers code 1 with the earlier document, seed 002 §Close Shift l.250).
RECOVERY = {
    "after_receive": None,
    "after_journal_begin": "job_printed",
    "before_device_call": "job_reconciled_unprinted",
    "during_device_call": "job_reconciled_unprinted",
    "after_device_call": "job_reconciled_printed",
    "after_journal_printed": "result_reported",
    "after_result_ack": "message_deleted",
}


@dataclass
class World:
    stack: Stack
    register: CasposRegister
    server: CasposServer


def caspos_toml(url: str) -> str:
    return (
        '[fiscal_device]\nmanufacturer = "Caspos"\nmodel = "Caspos Mobile"\nname = "Kassa"\n'
        "[fiscal_device.timeouts]\nanswer_seconds = 0.25\n"
        f'[fiscal_device.connection]\ntype = "http"\nurl = "{url}"\nusername = "username"\npassword = "password"\n'
    )


def open_world(sqs: Any, aws_url: str, base: Any) -> World:
    register = CasposRegister()
    server = CasposServer(register).start()
    stack = open_stack(sqs, aws_url, base)
    stack.device_toml = caspos_toml(server.url)
    return World(stack, register, server)


@pytest.fixture(scope="module")
def crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, tuple[CrashRun, World]]]:
    worlds = {point: open_world(sqs, aws_url, tmp_path_factory.mktemp(point)) for point in CRASHPOINTS}
    try:
        runs = crash_and_restart({p: w.stack for p, w in worlds.items()}, azn_job(JOB))
        yield {p: (runs[p], worlds[p]) for p in CRASHPOINTS}
    finally:
        for world in worlds.values():
            world.stack.close()
            world.server.stop()


def test_every_crashpoint_has_a_recovery_expectation() -> None:
    assert set(RECOVERY) == set(CRASHPOINTS)


@pytest.mark.parametrize("point", CRASHPOINTS)
def test_crash_then_restart_records_the_sale_exactly_once(crash_runs: dict[str, tuple[CrashRun, World]], point: str) -> None:
    run, world = crash_runs[point]
    stack, register = run.stack, world.register
    assert run.crashed_with == CRASH_EXIT_CODE

    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled(JOB), timeout=30, what=f"job settled after a crash at {point}")

    [sale] = [d for d in register.documents("sale") if d.uuid == document_uuid(JOB)]
    assert len(register.documents("sale")) == 1 and sale.total == 1330
    assert {r.fiscal.fiscal_number for r in stack.cloud.results if r.fiscal} == {sale.document_id[:12]}
    assert all(r.status.value == "printed" for r in stack.cloud.results)
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    expected = RECOVERY[point]
    if expected is None:
        assert events.index("job_received") > events.index("edge_ready")
    else:
        assert events.index(expected) < events.index("edge_ready"), events
    if point == "during_device_call":
        assert register.requests.count("sale") == 2  # sent again, answered with the earlier document (code 1)
    if point == "after_device_call":
        assert register.requests.count("sale") == 1  # found in the driver's memory: not even sent again
