"""Exactly once per family: the host dies between any two device steps of a receipt (before or after the
printer ran the step), restarts with a new link and the same sale book, asks the printer what became of
the job, prints it only if the printer proves it was not, and every job ends with one receipt per UNP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from edge_harness import CrashRun, Stack, make_job, open_stack, wait_for
from isl_fake import SERIAL, FakePrinter, Family, HostCrash
from test_isl_every_sale import CARD, COFFEE, ORIGINAL, TEA, card, cash, refund, sale
from test_isl_golden import driver_on, job

from chalicelib.contracts import FiscalJob
from edge.drivers.base import ClockNotSet
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer
from edge.faults import CRASH_EXIT_CODE

FAMILIES: tuple[Family, ...] = ("P", "C", "Daisy")
STEPS = 15  # commands a receipt takes on a fresh link, priming included, for the longest (P, split tender: two 35h)


def restart_and_settle(printer: FakePrinter, state: Path, job_id: str, seq: int, make: Callable[[str], FiscalJob] = job) -> str:
    """What the poller does after a restart: reconcile the job, print it again only if proven unprinted."""
    printer.crash_at = None
    driver = driver_on(printer, state, first_seq=seq)
    try:
        found = driver.find_receipt(job_id)
        if found is None:
            driver.print_receipt(make(job_id))
            return "printed again"
        return "reconciled"
    finally:
        driver.book.close()


def split(job_id: str) -> FiscalJob:
    """9.80 paid 5.00 in cash (out of a 10.00 note) and 4.80 by card: two 35h, a crash may fall between them."""
    return sale(job_id, [COFFEE, TEA], [cash(500, tendered=1000), card(480)])


def storno(family: Family) -> Callable[[str], FiscalJob]:
    """A refund of 9.80, paid back 5.00 in cash and 4.80 to the card (all in cash on Daisy: Daisy doc p.18)."""
    payments = [cash(980)] if family == "Daisy" else [cash(500), card(480)]
    return lambda job_id: refund(job_id, ORIGINAL, [COFFEE, TEA], payments)


# What each kind prints and what is handed over on it: 10.00 cash + 4.80 card for the split sale.
KINDS: dict[str, tuple[str, int]] = {"sale": ("fiscal", 980), "split": ("fiscal", 1480), "storno": ("storno", 980)}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("before_run", [False, True], ids=["after-step", "before-step"])
@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_crash_at_any_step_ends_with_exactly_one_receipt(kind: str, family: Family, before_run: bool, step: int, tmp_path: Path) -> None:
    """Also between the two payments of a split tender and anywhere in a storno: a receipt left part paid is finished
    with the payments still planned (a Datecs receipt cannot be cancelled once paid: C doc p.16, P doc p.22), never
    printed twice nor paid twice; one left unpaid is cancelled and printed again."""
    make = {"sale": job, "split": split, "storno": storno(family)}[kind]
    printer = FakePrinter(family, crash_at=step, crash_before_run=before_run)
    driver = driver_on(printer, tmp_path)
    try:
        driver.print_receipt(make("job-1"))
        crashed = False
    except HostCrash:
        crashed = True
    driver.book.close()

    outcome = restart_and_settle(printer, tmp_path, "job-1", 0x50, make) if crashed else "no crash"
    printed, handed_over = KINDS[kind]
    assert [(d.kind, d.total, d.paid) for d in printer.documents if d.kind != "cancelled"] == [(printed, 980, handed_over)], outcome
    assert printer.receipt is None  # nothing left open on the printer


@pytest.mark.parametrize("family", FAMILIES)
def test_a_crash_between_two_payments_is_finished_with_the_planned_second_payment(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    driver = driver_on(printer, tmp_path)
    printer.crash_at = len(printer.executed) + (11 if family == "P" else 10)  # ... 33h, 35h card: the host dies here
    with pytest.raises(HostCrash):
        driver.print_receipt(split("job-1"))
    driver.book.close()
    assert printer.receipt is not None and printer.receipt.paid == 480

    assert restart_and_settle(printer, tmp_path, "job-1", 0x50, split) == "reconciled"
    assert [data for _seq, cmd, data in printer.requests if cmd == 0x35][-2:] == [b"\t" + CARD[family] + b"4.80", b"\tP10.00"]
    assert [(d.kind, d.paid) for d in printer.documents] == [("fiscal", 1480)]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_crash_in_the_next_job_does_not_change_what_the_previous_one_printed(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    driver = driver_on(printer, tmp_path)
    first = driver.print_receipt(job("job-1"))
    printer.crash_at, printer.crash_before_run = len(printer.executed) + 3, True
    with pytest.raises(HostCrash):
        driver.print_receipt(job("job-2"))
    driver.book.close()

    assert restart_and_settle(printer, tmp_path, "job-2", 0x60) == "printed again"
    again = driver_on(printer, tmp_path, first_seq=0x70)
    assert again.find_receipt("job-1") == first
    assert printer.receipts_for(SERIAL[family]) == 2


@pytest.mark.parametrize("family", FAMILIES)
def test_a_refused_open_leaves_no_plan_so_no_later_document_passes_for_the_job(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family, refuse_with={0x30: {"not_allowed", "clock"}})
    driver = driver_on(printer, tmp_path)
    with pytest.raises(ClockNotSet):
        driver.print_receipt(job("job-1"))
    printer.refuse_with.clear()
    driver.x_report()  # a document between the refused open and the next receipt
    driver.print_receipt(job("job-2"))
    assert driver.find_receipt("job-1") is None and printer.receipts_for(SERIAL[family]) == 1


# The same through the edge process, per family, on the emulator written from the documents: the edge dies
# just before or just after the device call, restarts, reconciles with the printer, and reports one receipt.
EDGE_MODELS = {"C": ("DATECS", "DP25"), "P": ("DATECS", "FP800"), "Daisy": ("Daisy", "Compact M")}
EDGE_POINTS = ("before_device_call", "after_device_call")
PASSWORD = "4321"  # set on the printer (65h) and given in the config, valid in every family


@pytest.fixture(scope="module")
def edge_crash_runs(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[tuple[str, str], tuple[CrashRun, FiscalPrinter]]]:
    servers, stacks, printers = [], {}, {}
    for family, (manufacturer, model) in EDGE_MODELS.items():
        for point in EDGE_POINTS:
            printer = FiscalPrinter(model)
            printer.passwords[1] = PASSWORD
            server = PtyServer(printer).start()
            servers.append(server)
            stack = open_stack(sqs, aws_url, tmp_path_factory.mktemp(f"{family}-{point}"))
            stack.device_toml = (
                f'[fiscal_device]\nmanufacturer = "{manufacturer}"\nmodel = "{model}"\noperator_password = "{PASSWORD}"\n'
                f'[fiscal_device.connection]\ntype = "serial"\nport = "{server.path}"\nbaud_rate = 115200\n'
                "[fiscal_device.timeouts]\nanswer_seconds = 0.3\nretries = 2"
            )
            stacks[(family, point)], printers[(family, point)] = stack, printer
    try:
        runs = crash_and_restart_each(stacks)
        yield {key: (run, printers[key]) for key, run in runs.items()}
    finally:
        for stack in stacks.values():
            stack.close()
        for server in servers:
            server.stop()


def crash_and_restart_each(stacks: dict[tuple[str, str], Stack]) -> dict[tuple[str, str], CrashRun]:
    crashing = {key: stack.start_edge(crash_at=key[1], ready=False) for key, stack in stacks.items()}
    for key, edge in crashing.items():
        edge.wait_ready(timeout=30)
        stacks[key].send(make_job("job-isl"))
    codes = {key: edge.wait_exit() for key, edge in crashing.items()}
    return {key: CrashRun(stacks[key], codes[key], stacks[key].start_edge(ready=False)) for key in stacks}


@pytest.mark.parametrize("point", EDGE_POINTS)
@pytest.mark.parametrize("family", list(EDGE_MODELS))
def test_the_edge_killed_around_the_device_call_prints_once_per_family(edge_crash_runs: dict[tuple[str, str], tuple[CrashRun, FiscalPrinter]], family: str, point: str) -> None:
    run, printer = edge_crash_runs[(family, point)]
    assert run.crashed_with == CRASH_EXIT_CODE
    run.restarted.wait_ready(timeout=30)
    wait_for(lambda: run.stack.settled("job-isl"), timeout=30, what=f"job settled on {family} after a crash {point}")
    assert [len(docs) for docs in printer.receipts_by_unp().values()] == [1]
    assert len(printer.receipts_with_text("job-isl")) == 1
    [result] = run.stack.cloud.results
    assert result.status.value == "printed" and result.fiscal is not None
    assert result.fiscal.fiscal_number == f"{printer.fiscal_receipts()[0].number:07d}"
    assert run.restarted.stop() == 0
