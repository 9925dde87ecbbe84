"""The Caspos Mobile driver and client against the emulated register over real HTTP (seed 002)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from edge_harness import free_port, make_job

from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    DeviceUnreachable,
    InvalidJob,
    LinkLost,
    UnsupportedDevice,
    UnsupportedOperation,
)
from edge.drivers.caspos.api import (
    DocumentType,
    MoneyBackType,
    QuantityType,
    VatType,
    dumps,
)
from edge.drivers.caspos.client import (
    CasposAuthFailed,
    CasposClient,
    CasposError,
    CasposRejected,
    Item,
    Payments,
    ShiftClosed,
    ShiftTooLong,
    error_for,
)
from edge.drivers.caspos.driver import CasposDriver, document_uuid
from edge.emulators.caspos.server import CasposRegister, CasposServer


@pytest.fixture
def register() -> CasposRegister:
    return CasposRegister(currencies=("AZN", "EUR"), vat_percent={VatType.VAT18: Decimal(20)})


@pytest.fixture
def server(register: CasposRegister) -> Iterator[CasposServer]:
    running = CasposServer(register).start()
    yield running
    running.stop()


def config(url: str, password: str = "password") -> FiscalDeviceConfig:
    return FiscalDeviceConfig(
        manufacturer="Caspos", model="Caspos Mobile", timeouts={"answer_seconds": 0.1},
        connection={"type": "http", "url": url, "username": "username", "password": password}, vat_codes={"20": 1},
    )


@pytest.fixture
def driver(server: CasposServer, tmp_path: Path) -> Iterator[CasposDriver]:
    opened = create_driver(config(server.url), tmp_path)
    assert isinstance(opened, CasposDriver)
    yield opened
    opened.close()


@pytest.fixture
def client(driver: CasposDriver) -> CasposClient:
    driver.client.open_shift("Cashier", 1000)
    return driver.client


def coffee(price: int = 350, quantity: str = "2", vat: VatType = VatType.VAT18) -> Item:
    return Item(name="Coffee", code="4006381333931", quantity=Decimal(quantity), sale_price=price, vat_type=vat)


def test_a_job_prints_once_per_document_uuid_even_when_sent_again(driver: CasposDriver, register: CasposRegister) -> None:
    record = driver.print_receipt(make_job("job-1"))  # the shift is closed: the driver opens it
    again = driver.print_receipt(make_job("job-1"))
    assert again == record and record.device == "Caspos:VS4319W60010"
    [sale] = register.documents("sale")
    assert sale.uuid == document_uuid("job-1") and sale.total == 1330 and sale.payments["cashPayment"] == 1330
    assert register.requests.count("openShift") == 1
    assert driver.find_receipt("job-1") is None  # reconciliation is printing again, which is idempotent
    assert driver.last_receipt() is not None and driver.last_receipt().fiscal_number == record.fiscal_number  # type: ignore[union-attr]


def test_numbers_travel_in_the_seeds_formats(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(make_job("job-1"))
    body = next(b for b in register.raw_bodies if b'"operation":"sale"' in b).decode()
    assert '"quantity":3.000' in body and '"salePrice":3.50' in body and '"purchasePrice":0.00' in body
    assert '"cashPayment":13.30' in body and '"cardPayment":0.00' in body
    sale = json.loads(body)
    assert sale["data"]["documentUUID"] == document_uuid("job-1") and sale["data"]["note"] == "SALE ID job-1"
    assert {"name", "code", "quantity", "salePrice", "purchasePrice", "codeType", "quantityType", "vatType", "discountAmount"} <= set(sale["data"]["items"][0])
    assert (sale["username"], sale["password"]) == ("username", "password")


def test_every_operation_of_the_seed(client: CasposClient, register: CasposRegister) -> None:
    assert client.get_info().cashregister_model == "SUNMI V1S"
    assert client.shift_status().shift_open is True
    assert client.deposit("dep-1", 500, "Cashier").document_number > 0
    assert client.withdraw("wd-1", 200, "Cashier").short_document_id
    card = client.sale("s-card", [coffee()], Payments(card=700), "Cashier", rrn="420012558257")
    assert card.total == 700 and card.rrn == "420012558257" and card.approval_code
    credit = client.sale("s-credit", [coffee(48000, "1")], Payments(credit=40000, card=8000), "Cashier", credit_contract="A1", credit_payer="Payer")
    assert client.credit_pay("cp-1", credit.document_id, [coffee(8000, "1")], Payments(card=8000), "Cashier",
                             payment_number="1", residue=32000, credit_contract="A1", credit_payer="Payer").total == 8000
    advance = client.prepayment("pp-1", 71000, VatType.VAT18, Payments(card=71000), "Cashier")
    assert client.prepayment("pp-2", 700, VatType.VAT18, Payments(cash=700), "Cashier", items=[coffee()]).total == 700
    assert client.sale("s-adv", [coffee(71000, "1")], Payments(deposit=71000), "Cashier", prepayment_document_id=advance.document_id).total == 71000
    bonus = client.sale("s-bonus", [coffee()], Payments(cash=500, bonus=200), "Cashier")
    assert client.money_back("mb-1", bonus.document_id, [coffee()], Payments(cash=700), "Cashier").total == 700
    assert client.money_back("mb-2", "elsewhere", [coffee()], Payments(cash=700), "Cashier", manual=True, money_back_type=MoneyBackType.SALE).total == 700
    now = datetime.now(UTC)
    assert client.correction("cor-1", now - timedelta(hours=2), now - timedelta(hours=1), 10000, 45000, VatType.VAT18, "Cashier").total == 55000
    cash = client.sale("s-cash", [coffee(35, "2")], Payments(cash=100), "Cashier")  # 0.70 paid with 1.00: change
    assert client.rollback("rb-1", cash.document_id, Payments(cash=70), {VatType.VAT18: 70}, "Cashier").total == 70
    x = client.x_report("Cashier")["currencies"][0]
    assert (x["saleCount"], x["rollbackCount"], x["depositCount"], x["withdrawCount"]) == (5, 1, 2, 1)
    assert x["saleCashSum"] == Decimal("5.70") and x["moneyBackSum"] == Decimal("14.00")
    tape = client.control_tape()
    assert tape["documents_quantity"] == len(tape["tape"]) == 15
    client.print_last_cheque()
    client.open_cashbox()
    assert client.is_connected_printer() is True
    closed = client.close_shift("z-1", "Cashier")
    assert closed["reportNumber"] and closed["document_id"]
    day = datetime.now(UTC)
    periodic = client.periodic_z_report(day - timedelta(days=1), day + timedelta(days=1))
    assert periodic["saleCount"] == 5 and periodic["cashInCount"] == 2
    client.logout()
    assert client.get_info().state == "ACTIVE"  # logs in again by itself


@pytest.mark.parametrize(
    ("code", "error", "transient"),
    [(607, CasposRejected, False), (611, CasposRejected, False), (613, CasposRejected, False), (503, ShiftClosed, True),
     (504, ShiftTooLong, True), (403, CasposAuthFailed, True), (405, CasposAuthFailed, True), (604, CasposError, True)],
)
def test_error_codes_map_to_typed_errors(code: int, error: type[Exception], transient: bool) -> None:
    raised = error_for(code, "m")
    assert isinstance(raised, error) and raised.transient is transient and raised.caspos_code == code


def test_register_checks_reach_the_driver_typed(client: CasposClient, register: CasposRegister) -> None:
    with pytest.raises(CasposRejected) as short:
        client.sale("bad-1", [coffee()], Payments(cash=600), "Cashier")
    assert short.value.caspos_code == 607 and isinstance(short.value, InvalidJob)
    with pytest.raises(CasposRejected) as rrn:
        client.sale("bad-2", [coffee()], Payments(cash=700), "Cashier", rrn="123")
    assert rrn.value.caspos_code == 648
    with pytest.raises(CasposRejected) as vat:
        client.rollback("bad-3", "nope", Payments(cash=70), {VatType.VAT18: 70}, "Cashier")
    assert vat.value.caspos_code == 627
    with pytest.raises(CasposRejected) as currency:
        client.sale("bad-4", [coffee()], Payments(cash=700), "Cashier", currency="USD")
    assert currency.value.caspos_code == 606
    register.clock_offset = timedelta(hours=25)
    with pytest.raises(ShiftTooLong):
        client.sale("late", [coffee()], Payments(cash=700), "Cashier")


def test_job_problems_and_refusals_in_the_driver(driver: CasposDriver, register: CasposRegister) -> None:
    with pytest.raises(InvalidJob):
        driver.print_receipt(make_job("j-vat", vat_rate="33"))
    with pytest.raises(InvalidJob):
        driver.print_receipt(make_job("j-ref").model_copy(update={"is_refund": True}))
    register.fail_next = [613]
    with pytest.raises(CasposRejected):
        driver.print_receipt(make_job("j-613"))
    register.fail_next = [401, 401]
    with pytest.raises(CasposAuthFailed):
        driver.print_receipt(make_job("j-401"))
    assert register.documents("sale") == []


def test_lost_answer_is_link_lost_and_printing_again_is_idempotent(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(make_job("warm-up"))
    register.drop_next = 1
    with pytest.raises(LinkLost):
        driver.print_receipt(make_job("job-1"))
    record = driver.print_receipt(make_job("job-1"))
    assert len([d for d in register.documents("sale") if d.uuid == document_uuid("job-1")]) == 1
    assert record.fiscal_number


def test_wrong_password_unreachable_register_and_bad_config(server: CasposServer, tmp_path: Path) -> None:
    wrong = create_driver(config(server.url, password="nope"), tmp_path)
    with pytest.raises(CasposAuthFailed):
        wrong.print_receipt(make_job("job-1"))
    assert wrong.status().online is False
    gone = create_driver(config(f"http://127.0.0.1:{free_port()}"), tmp_path)
    with pytest.raises(DeviceUnreachable) as unreachable:
        gone.print_receipt(make_job("job-1"))
    assert not unreachable.value.may_have_printed
    with pytest.raises(UnsupportedDevice):
        create_driver(FiscalDeviceConfig(manufacturer="Caspos", model="Caspos Mobile", connection={"type": "tcp", "host": "h"}), tmp_path)


def test_enums_and_json_formats_match_the_seed() -> None:
    assert [int(v) for v in VatType] == [1, 2, 3, 5, 6, 7]
    assert (DocumentType.MONEY_BACK, DocumentType.PREPAYMENT_RETURN, QuantityType.CUBIC_METRE) == (1, 11, 5)
    assert dumps({"q": Decimal("1.000"), "p": Decimal("0.70"), "s": "ƏDV"}) == '{"q":1.000,"p":0.70,"s":"ƏDV"}'.encode()


def test_cash_moves_and_the_periodic_report_as_device_operations(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(make_job("job-cash"))  # opens the shift
    assert driver.cash_in(5000).amount_cents == 5000
    assert driver.cash_out(1000).amount_cents == 1000
    with pytest.raises(UnsupportedOperation):
        driver.non_fiscal_receipt(["no free text on Caspos"])
    driver.z_report()
    today = datetime.now(UTC).date()
    report = driver.fiscal_memory_report(today, today)
    assert report.amount_cents == 1330 and '"cashInTotal":50.00' in report.full_text and '"cashOutTotal":10.00' in report.full_text
