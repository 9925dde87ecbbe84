"""The simulated cash register and its driver, used in-process."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest
from edge_harness import make_job

from chalicelib.contracts import FiscalJob
from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    DeviceBusy,
    InvalidJob,
    LinkLost,
    PaperOut,
    UnsupportedDevice,
)
from edge.drivers.simulated import SimulatedDriver
from edge.emulators.simulated.models import STATE_FILE
from edge.emulators.simulated.register import SimulatedRegister


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[SimulatedDriver]:
    opened = create_driver(FiscalDeviceConfig(manufacturer="Simulated", model="Simulated"), tmp_path)
    assert isinstance(opened, SimulatedDriver)
    yield opened
    opened.close()


def _refund(job_id: str) -> FiscalJob:
    return make_job(job_id).model_copy(update={"is_refund": True})


def test_receipts_are_numbered_in_sequence_and_never_deduplicated(driver: SimulatedDriver) -> None:
    first = driver.print_receipt(make_job("a"))
    again = driver.print_receipt(make_job("a"))  # a real register prints what it is told
    other = driver.print_receipt(make_job("b"))

    assert [first.fiscal_number, again.fiscal_number, other.fiscal_number] == ["00000001", "00000002", "00000003"]
    assert first.device == f"Simulated:{driver.register.serial}"
    assert len(driver.register.receipts_for_sale("a")) == 2
    assert driver.find_receipt("b") == other
    assert driver.find_receipt("nope") is None
    assert driver.last_receipt() == other


def test_receipt_keeps_lines_vat_groups_payment_and_text(driver: SimulatedDriver) -> None:
    driver.print_receipt(make_job("a", vat_rate="9"))
    [receipt] = driver.register.receipts_for_sale("a")

    assert [(line.name, line.vat_group, line.vat_rate) for line in receipt.lines] == [
        ("Coffee", "D", Decimal("9")),
        ("Tea", "A", Decimal("20")),
    ]
    assert receipt.total == 1330 and [(p.type, p.amount) for p in receipt.payments] == [("cash", 1330)] and receipt.change == 0
    assert "FISCAL RECEIPT No 00000001" in receipt.text and "SALE ID a" in receipt.text
    assert "TOTAL" in receipt.text and "EUR 13.30" in receipt.text


def test_state_survives_reopening(tmp_path: Path) -> None:
    register = SimulatedRegister(tmp_path / STATE_FILE)
    SimulatedDriver(register, "p").print_receipt(make_job("a"))
    serial = register.serial
    register.set_faults(latency_ms=5)
    register.close()

    reopened = SimulatedRegister(tmp_path / STATE_FILE)
    assert reopened.serial == serial
    assert [r.sale_id for r in reopened.receipts()] == ["a"]
    assert reopened.faults().latency_ms == 5
    reopened.close()


def test_receipts_in_memory_from_before_split_tender_are_still_read(tmp_path: Path) -> None:
    """An edge upgraded with receipts of the one-payment register in its memory finds them and reports them."""
    SimulatedRegister(tmp_path / STATE_FILE).close()
    old = ('{"number": 1, "fiscal_number": "00000001", "serial": "SIM-OLD", "sale_id": "a", "operator": "o", "currency": "EUR", '
           '"is_refund": false, "lines": [{"name": "Tea", "quantity": "1", "unit_price": 280, "vat_group": "A", "amount": 280, '
           '"vat_rate": "20"}], "payment_type": "card", "payment_amount": 280, "total": 280, "printed_at": 1700000000, "text": "t"}')
    with closing(sqlite3.connect(tmp_path / STATE_FILE)) as db, db:
        db.execute("INSERT INTO receipts (number, sale_id, body) VALUES (1, 'a', ?)", (old,))
    register = SimulatedRegister(tmp_path / STATE_FILE)
    driver = SimulatedDriver(register, "p")

    assert driver.find_receipt("a") is not None
    [found] = register.receipts_for_sale("a")
    assert [(p.type, p.amount) for p in found.payments] == [("card", 280)] and found.lines[0].discount == 0
    assert [(p.type, p.net) for p in register.x_report().payments] == [("card", 280)]
    register.close()


def test_x_report_totals_and_z_report_closes_the_day(driver: SimulatedDriver) -> None:
    driver.print_receipt(make_job("s1"))
    driver.print_receipt(make_job("s2", vat_rate="9"))
    driver.print_receipt(_refund("r1"))

    x = driver.register.x_report()
    by_group = {t.group: t for t in x.totals}
    assert (by_group["A"].sales, by_group["A"].refunds, by_group["A"].net) == (1050 + 280 + 280, 1330, 280)
    assert (by_group["D"].sales, by_group["D"].net, by_group["D"].vat) == (1050, 1050, 87)  # 1050 * 9 / 109
    assert by_group["A"].vat == 47  # 280 * 20 / 120 = 46.67
    assert (x.receipt_count, x.sales, x.refunds, x.net) == (3, 2660, 1330, 1330)
    assert driver.x_report().amount_cents == 1330

    z = driver.z_report()
    assert (z.kind, z.number, z.amount_cents) == ("Z", 1, 1330)
    assert "Z REPORT No 0001" in z.full_text
    assert driver.register.x_report().receipt_count == 0
    assert all(r.z_number == 1 for r in driver.register.receipts())

    empty_z = driver.register.z_report()
    assert (empty_z.z_number, empty_z.net, empty_z.totals) == (2, 0, [])
    assert driver.status().z_counter == 2 and driver.status().receipts_since_z == 0


def test_electronic_journal_holds_receipts_and_z_reports(driver: SimulatedDriver) -> None:
    driver.print_receipt(make_job("a"))
    driver.z_report()
    text = driver.register.electronic_journal()
    assert text.index("FISCAL RECEIPT No 00000001") < text.index("Z REPORT No 0001")


def test_faults_map_to_typed_device_errors(driver: SimulatedDriver) -> None:
    register = driver.register
    register.set_faults(paper_out=True)
    with pytest.raises(PaperOut):
        driver.print_receipt(make_job("a"))
    assert driver.find_receipt("a") is None  # queries need no paper
    assert driver.status().paper_out is True

    register.set_faults(paper_out=False, busy=True)
    with pytest.raises(DeviceBusy):
        driver.print_receipt(make_job("a"))
    assert driver.status().busy is True

    register.set_faults(busy=False, link_loss=True)
    with pytest.raises(LinkLost) as lost:
        driver.find_receipt("a")
    assert lost.value.may_have_printed and lost.value.reason.value == "device_unreachable"
    assert driver.status().online is False

    register.set_faults(link_loss=False)
    assert register.receipts() == []
    assert driver.status().online is True


def test_unknown_vat_rate_is_an_invalid_job(driver: SimulatedDriver) -> None:
    with pytest.raises(InvalidJob) as invalid:
        driver.print_receipt(make_job("a", vat_rate="33"))
    assert invalid.value.reason.value == "invalid_job" and not invalid.value.transient
    assert driver.register.receipts() == []


def test_bad_fault_value_is_refused(driver: SimulatedDriver) -> None:
    with pytest.raises(ValueError):
        driver.register.set_faults(latency_ms=-1)
    with pytest.raises(ValueError):
        driver.register.set_faults(smoke=True)


@pytest.mark.parametrize(("manufacturer", "model"), [("Datecs", "DP25"), ("Simulated", "Other")])
def test_factory_names_what_is_supported(tmp_path: Path, manufacturer: str, model: str) -> None:
    with pytest.raises(UnsupportedDevice, match="supported: Simulated"):
        create_driver(FiscalDeviceConfig(manufacturer=manufacturer, model=model), tmp_path)
