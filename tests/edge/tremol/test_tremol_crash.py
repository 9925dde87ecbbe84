"""Exactly once on Tremol: the host dies between any two commands of a receipt (before the device got the next one,
or after it ran it and before its answer came back), restarts with a new link and the same sale book, and does
what the poller does: asks the device what became of the job (``find_receipt``) and prints again only if the
device proves there is no receipt. Every job ends with one receipt of its total on the device, never two."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tremol_support import TEA, EmulatedPort, card, cash, driver_on, refund, sale

from chalicelib.contracts import FiscalJob, FiscalRecord
from edge.drivers.base import DeviceError
from edge.emulators.tremol.device import TremolDevice

STEPS = 12  # frames of the longest receipt on a fresh driver (split tender: two 35h)


def _split(job_id: str) -> FiscalJob:
    return sale(job_id, payments=[cash(500, tendered=1000), card(480)])


def _storno(original: FiscalRecord) -> Callable[[str], FiscalJob]:
    return lambda job_id: refund(job_id, original, [TEA], [cash(100), card(180)])


# What each kind leaves on the device once: its document kind and total.
KINDS = {"sale": ("fiscal", 980), "split": ("fiscal", 980), "storno": ("storno", 280)}


def _restart(device: TremolDevice, state: Path, job_id: str, make: Callable[[str], FiscalJob]) -> str:
    """A new process: a new port and link, the same book; reconcile, then print only if proven unprinted."""
    driver = driver_on(EmulatedPort(device), state, first_nbl=0x70)
    try:
        found = driver.find_receipt(job_id)
        if found is None:
            driver.print_receipt(make(job_id))
            return "printed again"
        assert driver.find_receipt(job_id) == found  # asked twice, the same answer
        return "reconciled"
    finally:
        driver.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("before", [False, True], ids=["after-step", "before-step"])
@pytest.mark.parametrize("step", range(1, STEPS + 1))
def test_a_crash_at_any_step_ends_with_exactly_one_receipt(kind: str, before: bool, step: int, tmp_path: Path) -> None:
    device = TremolDevice()
    make: Callable[[str], FiscalJob] = sale if kind == "sale" else _split
    if kind == "storno":
        first = driver_on(EmulatedPort(device), tmp_path)
        make = _storno(first.print_receipt(sale("job-0")))
        first.close()
    port = EmulatedPort(device)
    port.cut_at, port.before = step, before
    driver = driver_on(port, tmp_path)
    try:
        driver.print_receipt(make("job-1"))
    except DeviceError:
        pass
    finally:
        driver.close()
    doc_kind, total = KINDS[kind]
    closed = [d for d in device.journal if d.kind == doc_kind and d.number > (1 if kind == "storno" else 0)]
    part_paid = device.receipt is not None and bool(device.receipt.paid)

    outcome = _restart(device, tmp_path, "job-1", make)
    mine = [d for d in device.journal if d.kind == doc_kind and d.number > (1 if kind == "storno" else 0)]
    assert [(d.kind, d.total) for d in mine] == [(doc_kind, total)], (outcome, [(d.kind, d.number, d.total) for d in device.journal])
    assert device.receipt is None
    # Printed again only when the first try left no receipt that was closed or had its payment begun.
    assert outcome == ("reconciled" if closed or part_paid else "printed again")


def test_a_receipt_cut_after_payment_is_finished_with_its_planned_payments(tmp_path: Path) -> None:
    """The host dies after the first of two payments: the restart pays the second as planned and closes."""
    device = TremolDevice()
    port = EmulatedPort(device)
    port.cut_at = 10  # 60h 62h 71h 30h 31h 31h 37h 33h 35h(card) | 35h(cash) never arrives
    port.before = True
    driver = driver_on(port, tmp_path)
    with pytest.raises(DeviceError) as raised:
        driver.print_receipt(_split("job-1"))
    driver.close()
    assert raised.value.may_have_printed
    assert _restart(device, tmp_path, "job-1", _split) == "reconciled"
    assert [(d.kind, d.paid, d.change) for d in device.journal] == [("fiscal", (("7", 480), ("0", 1000)), 500)]
