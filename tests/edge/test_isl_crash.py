"""Exactly once per family: the host dies between any two device steps of a receipt (before or after the
printer ran the step), restarts with a new link and the same sale book, asks the printer what became of
the job, prints it only if the printer proves it was not, and every job ends with one receipt per UNP."""

from __future__ import annotations

from pathlib import Path

import pytest
from isl_fake import SERIAL, FakePrinter, Family, HostCrash
from test_isl_golden import driver_on, job

from edge.drivers.base import ClockNotSet

FAMILIES: tuple[Family, ...] = ("P", "C", "Daisy")
STEPS = 14  # commands a receipt takes on a fresh link, priming included, for the longest family (P)


def restart_and_settle(printer: FakePrinter, state: Path, job_id: str, seq: int) -> str:
    """What the poller does after a restart: reconcile the job, print it again only if proven unprinted."""
    printer.crash_at = None
    driver = driver_on(printer, state, first_seq=seq)
    try:
        found = driver.find_receipt(job_id)
        if found is None:
            driver.print_receipt(job(job_id))
            return "printed again"
        return "reconciled"
    finally:
        driver.book.close()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("before_run", [False, True], ids=["after-step", "before-step"])
@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_crash_at_any_step_ends_with_exactly_one_receipt(family: Family, before_run: bool, step: int, tmp_path: Path) -> None:
    printer = FakePrinter(family, crash_at=step, crash_before_run=before_run)
    driver = driver_on(printer, tmp_path)
    try:
        driver.print_receipt(job("job-1"))
        crashed = False
    except HostCrash:
        crashed = True
    driver.book.close()

    outcome = restart_and_settle(printer, tmp_path, "job-1", 0x50) if crashed else "no crash"
    assert printer.receipts_for(SERIAL[family]) == 1, outcome
    assert printer.receipt is None  # nothing left open on the printer
    unps = [d.unp for d in printer.documents if d.kind == "fiscal"]
    assert len(unps) == len(set(unps)) == 1


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
