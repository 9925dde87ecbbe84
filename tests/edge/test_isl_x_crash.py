"""Exactly once on Datecs X: the driver's host dies between any two device steps of a receipt (before or after the emulated
printer ran the step), restarts with a new link and the same sale book, asks the printer what became of the job
(the variable UNP and the EJ, X doc p.44 and pp.35-36), prints again only if the printer proves it was not printed,
and every job ends with one receipt, paid as the job says."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import CrashRun, open_stack, wait_for
from test_isl_crash import PASSWORD, crash_and_restart_each
from test_isl_every_sale import COFFEE, TEA, card, cash, refund, sale

from chalicelib.contracts import FiscalJob, FiscalRecord
from edge.drivers.isl.datecs_x import DATECS_X, DatecsXDriver
from edge.drivers.isl.frame_x import X_FRAMING
from edge.drivers.isl.link import IslLink
from edge.drivers.isl.sales import open_book
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import IslEndpoint
from edge.emulators.isl.server import PtyServer
from edge.faults import CRASH_EXIT_CODE

STEPS = 15  # commands a receipt takes on a fresh link, the priming status request included (split tender: two 35h)


class HostCrash(Exception):
    """The host process died here: what it sent may have been carried out, nothing more is read."""


class CrashPort:
    """The emulated printer in-process as the driver's transport, dying at write number ``crash_at``."""

    def __init__(self, printer: FiscalPrinter, crash_at: int | None = None, before_run: bool = False) -> None:
        self.endpoint = IslEndpoint(printer)
        self.crash_at, self.before_run, self.writes = crash_at, before_run, 0
        self._out = bytearray()

    def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes == self.crash_at and self.before_run:
            raise HostCrash(f"before step {self.writes}")
        self.endpoint.receive(data, self._out.extend)
        if self.writes == self.crash_at:
            raise HostCrash(f"after step {self.writes}")

    def read(self, timeout: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def transmit_seconds(self, size: int) -> float:
        return 0.0

    def discard_input(self) -> None:
        self._out.clear()

    def close(self) -> None:
        pass


def driver_on(port: CrashPort, state: Path) -> DatecsXDriver:
    link = IslLink(port, answer_timeout=0.02, retries=1, framing=X_FRAMING)
    return DatecsXDriver(link, open_book(state), DATECS_X, "FP700X", "Front")


def split(job_id: str) -> FiscalJob:
    return sale(job_id, [COFFEE, TEA], [cash(500, tendered=1000), card(480)])


def plain(job_id: str) -> FiscalJob:
    return sale(job_id, [COFFEE, TEA], [cash(980)])


KINDS: dict[str, tuple[str, int]] = {"sale": ("fiscal", 980), "split": ("fiscal", 1480), "storno": ("storno", 980)}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("before_run", [False, True], ids=["after-step", "before-step"])
@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_crash_at_any_step_ends_with_exactly_one_receipt(kind: str, before_run: bool, step: int, tmp_path: Path) -> None:
    printer = FiscalPrinter("FP-700X")
    make: Callable[[str], FiscalJob] = {"sale": plain, "split": split}.get(kind, plain)
    if kind == "storno":
        first = driver_on(CrashPort(printer), tmp_path)
        original: FiscalRecord = first.print_receipt(plain("job-0"))
        first.book.close()
        make = lambda job_id: refund(job_id, original, [COFFEE, TEA], [cash(500), card(480)])
    before = len(printer.journal)

    crashing = driver_on(CrashPort(printer, step, before_run), tmp_path)
    try:
        crashing.print_receipt(make("job-1"))
        outcome = "no crash"
    except HostCrash:
        outcome = "crashed"
    finally:
        crashing.book.close()

    restarted = driver_on(CrashPort(printer), tmp_path)
    try:
        found = restarted.find_receipt("job-1")
        if found is None:
            found = restarted.print_receipt(make("job-1"))
        assert restarted.find_receipt("job-1") == found
    finally:
        restarted.close()

    doc_kind, handed = KINDS[kind]
    made = [d for d in printer.journal[before:] if d.kind == doc_kind]
    assert len(made) == 1, (outcome, [d.kind for d in printer.journal])
    assert made[0].total == 980 and sum(amount for _, amount in made[0].paid) == handed
    assert printer.open is None and found.fiscal_number == f"{made[0].number:07d}"


# The same through the edge process on the X emulator: the edge dies just before or just after the device call,
# restarts, reconciles with the printer, and reports one receipt.
EDGE_POINTS = ("before_device_call", "after_device_call")


@pytest.fixture(scope="module")
def edge_crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, tuple[CrashRun, FiscalPrinter]]]:
    servers, stacks, printers = [], {}, {}
    for point in EDGE_POINTS:
        printer = FiscalPrinter("DP-25X")
        printer.passwords[1] = PASSWORD
        server = PtyServer(printer).start()
        servers.append(server)
        stack = open_stack(sqs, aws_url, tmp_path_factory.mktemp(f"x-{point}"))
        stack.device_toml = (
            f'[fiscal_device]\nmanufacturer = "DATECS"\nmodel = "DP25X"\noperator_password = "{PASSWORD}"\n'
            f'[fiscal_device.connection]\ntype = "serial"\nport = "{server.path}"\nbaud_rate = 115200\n'
            "[fiscal_device.timeouts]\nanswer_seconds = 0.3\nretries = 2"
        )
        stacks[("X", point)], printers[point] = stack, printer
    try:
        runs = crash_and_restart_each(stacks)
        yield {point: (run, printers[point]) for (_, point), run in runs.items()}
    finally:
        for stack in stacks.values():
            stack.close()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("point", EDGE_POINTS)
def test_the_edge_killed_around_the_device_call_prints_once(edge_crash_runs: dict[str, tuple[CrashRun, FiscalPrinter]], point: str) -> None:
    run, printer = edge_crash_runs[point]
    assert run.crashed_with == CRASH_EXIT_CODE
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: run.stack.settled("job-isl"), timeout=30, what=f"job settled on Datecs X after a crash {point}")
    assert [len(docs) for docs in printer.receipts_by_unp().values()] == [1]
    assert len(printer.receipts_with_text("job-isl")) == 1
    [result] = run.stack.cloud.results
    assert result.status.value == "printed" and result.fiscal is not None
    assert result.fiscal.fiscal_number == f"{printer.fiscal_receipts()[0].number:07d}"
    assert run.restarted.stop() == 0
