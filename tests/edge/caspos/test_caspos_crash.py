"""Kill the edge at every step boundary while it prints on an emulated Caspos Mobile; after a restart each job is on
the register exactly once and reported printed with that document's fiscal id (issue 26, Build 4; issue 18: split
tender and refunds too).

The register keeps running across the crash, as a real one does. The edge's ``during_device_call`` crash point
fires in the Caspos client once the register answered a document, so the document exists and its answer is lost.
A Caspos document is one request whatever its payments: a split tender cannot be left half paid between two
payment commands, and the one documentUUID is what makes the resent document answered instead of recorded again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from caspos_support import azn_job, open_driver, refund_job, split_job
from edge_harness import CrashRun, Stack, open_stack, wait_for

from chalicelib.contracts import FiscalJob
from edge.drivers.caspos.driver import document_uuid
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer
from edge.faults import CRASH_EXIT_CODE, CRASHPOINTS

JOB = "job-crash"
PARENT = "job-parent"
# How the restarted edge settles the job: reconciled from the driver's memory of the register's answer, or sent again
# under the same documentUUID (the register answers code 1 with the earlier document, seed 002 §Close Shift l.250).
RECOVERY = {
    "after_receive": None,
    "after_journal_begin": None,  # journaled, held until the first printing (issue 22 point 5): the message comes back
    "before_device_call": "job_reconciled_unprinted",
    "during_device_call": "job_reconciled_unprinted",
    "after_device_call": "job_reconciled_printed",
    "after_journal_printed": "result_reported",
    "after_result_ack": "message_deleted",
}
# Each kind of job: the register operation that records it, its control tape type, and its total.
KINDS = {
    "sale": ("sale", "sale", 1330),
    "split": ("sale", "sale", 1330),  # 5.00 cash (20.00 handed over) + 8.30 card, one sale
    "money_back": ("moneyBack", "money_back", 630),  # a coffee and the tea back: 3.00 cash + 3.30 card
    "rollback": ("rollBack", "rollback", 1330),  # the whole parent, in its shift
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


def open_world(sqs: Any, aws_url: str, base: Path) -> World:
    register = CasposRegister()
    server = CasposServer(register).start()
    stack = open_stack(sqs, aws_url, base)
    stack.device_toml = caspos_toml(server.url)
    return World(stack, register, server)


def job_for(kind: str, world: World, base: Path) -> FiscalJob:
    """The job of this kind; a refund's parent is printed first by another driver on the same register, so the edge
    finds it on the open shift's control tape, not in its own memory."""
    if kind == "sale":
        return azn_job(JOB)
    if kind == "split":
        return split_job(JOB, cash=500, card=830, tendered=2000)
    till = open_driver(world.server.url, base / "till")
    try:
        parent = till.print_receipt(azn_job(PARENT))
    finally:
        till.close()
    if kind == "money_back":
        return refund_job(JOB, parent, 1330, coffees="1", cash=300, card=330)
    return refund_job(JOB, parent, 1330)


def crash_and_restart_each(stacks: dict[str, tuple[Stack, FiscalJob]]) -> dict[str, CrashRun]:
    """``crash_and_restart`` with a job of each stack's own (a refund names its own register's parent)."""
    crashing = {point: stack.start_edge(crash_at=point, ready=False) for point, (stack, _) in stacks.items()}
    for point, edge in crashing.items():
        edge.wait_ready(timeout=30)
        stacks[point][0].send(stacks[point][1])
    codes = {point: edge.wait_exit() for point, edge in crashing.items()}
    return {point: CrashRun(stack, codes[point], stack.start_edge(ready=False)) for point, (stack, _) in stacks.items()}


@pytest.fixture(scope="module", params=list(KINDS))
def crash_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqs: Any,
               aws_url: str) -> Iterator[tuple[str, dict[str, tuple[CrashRun, World]]]]:
    kind = request.param
    bases = {point: tmp_path_factory.mktemp(f"{kind}-{point}") for point in CRASHPOINTS}
    worlds = {point: open_world(sqs, aws_url, base) for point, base in bases.items()}
    try:
        runs = crash_and_restart_each({p: (w.stack, job_for(kind, w, bases[p])) for p, w in worlds.items()})
        yield kind, {p: (runs[p], worlds[p]) for p in CRASHPOINTS}
    finally:
        for world in worlds.values():
            world.stack.close()
            world.server.stop()


def test_every_crashpoint_has_a_recovery_expectation() -> None:
    assert set(RECOVERY) == set(CRASHPOINTS)


@pytest.mark.parametrize("point", CRASHPOINTS)
def test_crash_then_restart_records_the_document_exactly_once(crash_runs: tuple[str, dict[str, tuple[CrashRun, World]]], point: str) -> None:
    kind, runs = crash_runs
    run, world = runs[point]
    stack, register = run.stack, world.register
    operation, tape_type, total = KINDS[kind]
    assert run.crashed_with == CRASH_EXIT_CODE

    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled(JOB), timeout=30, what=f"{kind} job settled after a crash at {point}")

    [document] = [d for d in register.documents(tape_type) if d.uuid == document_uuid(JOB)]
    assert len(register.documents(tape_type)) == 1 and document.total == total
    assert {r.fiscal.fiscal_number for r in stack.cloud.results if r.fiscal} == {document.document_id[:12]}
    assert all(r.status.value == "printed" for r in stack.cloud.results)
    if kind == "split":
        assert (document.payments["cashPayment"], document.payments["cardPayment"]) == (500, 830)
    if kind == "money_back":
        assert (document.payments["cashPayment"], document.payments["cardPayment"]) == (300, 330)
    if kind in ("money_back", "rollback"):
        [parent] = [d for d in register.documents("sale") if d.uuid == document_uuid(PARENT)]
        assert parent.rolled_back is (kind == "rollback") and len(register.documents("sale")) == 1
    assert run.restarted.stop() == 0
    events = [e["event"] for e in run.restarted.events()]
    expected = RECOVERY[point]
    if expected is None:
        assert events.index("job_received") > events.index("edge_ready")
    else:
        assert events.index(expected) < events.index("edge_ready"), events
    if point == "during_device_call":
        assert register.requests.count(operation) == 2  # sent again, answered with the earlier document (code 1)
    if point == "after_device_call":
        assert register.requests.count(operation) == 1  # found in the driver's memory: not even sent again
