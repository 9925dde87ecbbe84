"""The Tremol driver against the emulated device over a real pseudo-terminal and TCP: every operation, and each
refusal the document gives the device (pages in the emulator), as the typed error the poller acts on."""

from __future__ import annotations

from pathlib import Path

import pytest
from tremol_support import (
    COFFEE,
    TEA,
    EmulatedPort,
    card,
    cash,
    driver_on,
    refund,
    sale,
)

from chalicelib.contracts import FiscalJob, JobLine
from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    FiscalMemoryFull,
    InvalidJob,
    OperationRefused,
    PaperOut,
    UnsupportedDevice,
    WrongPassword,
)
from edge.drivers.isl.sales import SaleBook
from edge.drivers.tremol.driver import BOOK_FILE, TremolDriver
from edge.drivers.tremol.link import TremolLink, TremolTcpTransport
from edge.drivers.tremol.status import DeviceRefused
from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.server import PtyServer, TcpServer


def _config(connection: dict[str, object], model: str = "S25") -> FiscalDeviceConfig:
    return FiscalDeviceConfig(manufacturer="Tremol", model=model, connection=connection,
                              timeouts={"answer_seconds": 0.5, "busy_seconds": 2, "retries": 2})


def test_a_day_on_a_pty_sale_refund_cash_text_x_and_z(device: TremolDevice, tmp_path: Path) -> None:
    server = PtyServer(device).start()
    driver = create_driver(_config({"type": "serial", "port": server.path}), tmp_path)
    try:
        assert isinstance(driver, TremolDriver)
        first = driver.print_receipt(sale("job-1", payments=[cash(500, tendered=1000), card(480)]))
        back = driver.print_receipt(refund("job-2", first, [TEA]))
        driver.cash_in(2000)
        driver.cash_out(500)
        text = driver.non_fiscal_receipt(["Till opened"])
        x = driver.x_report()
        z = driver.z_report()
        status = driver.status()
    finally:
        driver.close()
        server.stop()

    kinds = [(d.kind, d.number, d.total) for d in device.journal]
    assert kinds == [("fiscal", 1, 980), ("storno", 2, 280), ("cash", 3, 2000), ("cash", 4, -500), ("service", 5, 0), ("z_report", 1, 980)]
    assert (first.fiscal_number, back.fiscal_number, text.number) == ("000001", "000002", "000005")
    assert first.printed_at == int(device.journal[0].at.timestamp())  # the receipt's own date-time (72h, p.74)
    assert device.journal[1].related == 1 and device.journal[0].paid == (("7", 480), ("0", 1000))
    assert (x.kind, x.amount_cents, z.number, z.amount_cents) == ("X", 980, 1, 980)
    assert status.online and status.last_fiscal_number == "000005" and status.device == "Tremol:ZK000601"


def test_tcp_with_the_devices_password(device: TremolDevice, tmp_path: Path) -> None:
    server = TcpServer(device, password="4321").start()
    try:
        good = TremolLink(TremolTcpTransport("127.0.0.1", server.port, 2, "4321"), 0.5, 2, 1)
        driver = TremolDriver(good, SaleBook(tmp_path / BOOK_FILE), "M20", "Front")
        driver.print_receipt(sale("job-1"))
        driver.close()
        wrong = TremolLink(TremolTcpTransport("127.0.0.1", server.port, 2, "0000"), 0.2, 1, 0)
        stranger = TremolDriver(wrong, SaleBook(tmp_path / "other.sqlite"), "M20", "Front")
        assert stranger.status().online is False  # p.8: 70h wrong password, and the device hangs up
        stranger.close()
    finally:
        server.stop()
    assert [d.kind for d in device.journal] == ["fiscal"]


def test_a_serial_device_server_url_reaches_the_device(device: TremolDevice, tmp_path: Path) -> None:
    server = TcpServer(device).start()  # a serial device server passes the bytes through unchanged
    driver = create_driver(_config({"type": "serial", "port": f"socket://127.0.0.1:{server.port}"}), tmp_path)
    try:
        record = driver.print_receipt(sale("job-1"))
    finally:
        driver.close()
        server.stop()
    assert record.fiscal_number == "000001" and [d.kind for d in device.journal] == ["fiscal"]


def test_the_registry_opens_tremol_over_tcp_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    driver = create_driver(_config({"type": "tcp", "host": "127.0.0.1", "port": 8000}, "A19 Plus"), tmp_path)
    assert isinstance(driver, TremolDriver) and driver.model == "A19 Plus"
    driver.close()
    with pytest.raises(UnsupportedDevice, match="serial or tcp"):
        create_driver(FiscalDeviceConfig(manufacturer="Tremol", model="M20"), tmp_path)
    with pytest.raises(UnsupportedDevice, match="unsupported Tremol model"):
        create_driver(_config({"type": "serial", "port": "/dev/ttyS0"}, "Tremol X9"), tmp_path)
    with pytest.raises(UnsupportedDevice, match="1-20"):
        create_driver(_config({"type": "serial", "port": "/dev/ttyS0"}).model_copy(update={"operator": 25}), tmp_path)


def test_status_warnings_come_from_the_status_bytes(device: TremolDevice, driver: TremolDriver) -> None:
    device.faults.paper_near_end = True  # ST6.4 (p.11)
    device.faults.fiscal_memory_near_full = True  # ST3.3 (p.11)
    status = driver.status()
    assert {"W_PAPER_NEAR_END", "W_FISCAL_MEMORY_NEAR_FULL"} <= set(status.warnings) and status.paper_out is False
    device.faults.paper_out = True  # ST1.0 (p.10)
    status = driver.status()
    assert status.paper_out is True and "W_PAPER_OUT" in status.warnings


def test_paper_out_refuses_the_receipt_and_leaves_nothing(device: TremolDevice, driver: TremolDriver) -> None:
    device.faults.paper_out = True
    with pytest.raises(PaperOut):
        driver.print_receipt(sale("job-1"))
    assert device.journal == [] and device.receipt is None
    device.faults.paper_out = False
    assert driver.find_receipt("job-1") is None  # the refused open left no plan
    driver.print_receipt(sale("job-1"))
    assert len(device.receipts_by_unp()) == 1


def test_a_full_fiscal_memory_is_told_apart(device: TremolDevice, driver: TremolDriver) -> None:
    device.faults.fiscal_memory_full = True  # p.7 device error 2 on the open; 20h ST3.2 says why
    with pytest.raises(FiscalMemoryFull):
        driver.print_receipt(sale("job-1"))


def test_a_wrong_operator_password_is_refused(port: EmulatedPort, tmp_path: Path) -> None:
    driver = driver_on(port, tmp_path, password="1111")
    with pytest.raises(WrongPassword):
        driver.print_receipt(sale("job-1"))
    driver.close()


def test_a_payout_above_the_cash_on_hand_is_refused(driver: TremolDriver, device: TremolDevice) -> None:
    driver.cash_in(1000)
    with pytest.raises(OperationRefused, match="insufficient amount on hand"):
        driver.cash_out(1500)  # p.7: 38
    assert device.cash_on_hand == 1000


def test_a_refund_above_the_original_is_refused_by_the_driver_and_by_the_device(driver: TremolDriver, device: TremolDevice) -> None:
    original = driver.print_receipt(sale("job-1"))
    with pytest.raises(InvalidJob, match="exceeds the original"):
        driver.print_receipt(refund("job-2", original, [COFFEE, TEA, TEA], original_total=980))
    driver.print_receipt(refund("job-3", original, [COFFEE]))  # 7.00 of 9.80 back
    # The device keeps what is left of the original (2.80): a second refund of 7.00 is refused line by line (p.7 37).
    with pytest.raises(OperationRefused, match="correction"):
        driver.print_receipt(refund("job-4", original, [COFFEE]))
    assert [d.kind for d in device.journal] == ["fiscal", "storno", "void"]  # the refused storno was cancelled
    assert driver.find_receipt("job-4") is None


def test_a_storno_naming_a_receipt_the_device_never_issued_is_refused(driver: TremolDriver) -> None:
    original = driver.print_receipt(sale("job-1"))
    forged = original.model_copy(update={"fiscal_number": "000077"})
    with pytest.raises(OperationRefused):
        driver.print_receipt(refund("job-2", forged, [TEA]))
    assert driver.find_receipt("job-2") is None


def test_a_vat_rate_the_device_lacks_and_a_job_total_it_disagrees_with(driver: TremolDriver, device: TremolDevice) -> None:
    odd = JobLine(name="Book", quantity=1, unit_price=1000, vat_rate=7, amount=1000)
    with pytest.raises(InvalidJob, match="VAT 7"):
        driver.print_receipt(sale("job-1", [odd]))
    wrong = sale("job-2").model_copy(update={"total": 990, "payments": [cash(990)]})
    with pytest.raises(InvalidJob, match="totals 9.80"):
        driver.print_receipt(wrong)
    assert [d.kind for d in device.journal] == ["void"] and driver.find_receipt("job-2") is None


def test_an_open_receipt_left_behind_is_cancelled_before_the_next(driver: TremolDriver, device: TremolDevice) -> None:
    with device.lock:
        device.open_receipt("1;0000;1;1;0")
        device.sell("Stray;Б;1.00")
    record = driver.print_receipt(sale("job-1"))
    assert [d.kind for d in device.journal] == ["void", "fiscal"] and record.fiscal_number == "000002"


def test_after_a_power_failure_the_status_is_read_and_the_receipt_opens(driver: TremolDriver, device: TremolDevice) -> None:
    device.faults.power_down = True  # p.7 3d: the first command is refused until 20h is read
    record = driver.print_receipt(sale("job-1"))
    assert [d.kind for d in device.journal] == ["fiscal"] and record.fiscal_number == "000001"


def test_commands_the_device_refuses_in_its_state_are_typed(driver: TremolDriver, device: TremolDevice) -> None:
    with device.lock:
        device.open_receipt("1;0000;1;1;0")
    with pytest.raises(DeviceRefused, match="fiscal receipt is open"):
        driver.cash_in(100)  # p.7: 34 opened fiscal receipt
    with pytest.raises(DeviceRefused):
        driver.x_report()


def test_a_refund_must_name_the_original_as_the_storno_asks(driver: TremolDriver, device: TremolDevice) -> None:
    original = driver.print_receipt(sale("job-1"))
    # p.40: RelatedToRcpNum up to 6 digits, FMNum 8 symbols, RelatedToURN in the NRA format.
    for bad in ({"fiscal_number": "1234567"}, {"fiscal_memory_number": "123"}, {"unique_sale_number": "not-an-nra-number"}):
        with pytest.raises(InvalidJob):
            driver.print_receipt(refund("job-2", original.model_copy(update=bad), [TEA]))
    v1 = FiscalJob(v=1, job_id="job-3", shop_id="shop-1", order_id="o-3", order_internal_id="i-3", created_at=1_700_000_000,
                   operator="cashier", lines=[TEA], payment=cash(280), total=280, is_refund=True)  # v1 carries no original
    with pytest.raises(InvalidJob, match="names the original"):
        driver.print_receipt(v1)
    assert [d.kind for d in device.journal] == ["fiscal"]
