"""The Caspos Mobile driver against the emulated register over real HTTP (seed 002; issue 26, Caspos points 1-8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from caspos_support import azn_job, open_driver
from pydantic import SecretStr
from structlog.testing import capture_logs

from chalicelib.contracts import PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.base import (
    DeviceUnreachable,
    InvalidJob,
    LinkLost,
    OperationRefused,
    UnsupportedDevice,
    UnsupportedOperation,
)
from edge.drivers.caspos.api import MoneyBackType, VatType
from edge.drivers.caspos.client import (
    CasposAuthFailed,
    CasposClient,
    CasposError,
    CasposRejected,
)
from edge.drivers.caspos.driver import CasposDriver, document_uuid
from edge.drivers.caspos.memory import DriverMemory
from edge.drivers.caspos.models import Item, Payments
from edge.emulators.caspos import wire
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer


def sales(register: CasposRegister, job_id: str) -> int:
    return len([d for d in register.documents("sale") if d.uuid == document_uuid(job_id)])


def coffee(price: int = 350, quantity: str = "2", vat: VatType = VatType.VAT18) -> Item:
    return Item(name="Qəhvə", code="4006381333931", quantity=Decimal(quantity), sale_price=price, vat_type=vat)


# -- 1. currency --------------------------------------------------------------------------------------------


def test_1_currency_is_always_azn_and_another_currency_is_refused_before_sending(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-azn"))
    assert register.bodies[-1]["data"]["currency"] == "AZN"
    with pytest.raises(InvalidJob, match="AZN only"):
        driver.print_receipt(azn_job("job-eur", currency="EUR"))
    assert sales(register, "job-eur") == 0 and register.requests.count("sale") == 1


def test_1_the_register_refuses_another_currency_with_606(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    with pytest.raises(CasposRejected) as refused:
        driver.client.call("deposit", {"documentUUID": "d", "sum": Decimal(1), "cashierName": "c", "currency": "EUR"}, document=True)
    assert refused.value.caspos_code == wire.INVALID_CURRENCY


# -- 2. a recorded sale is never failed --------------------------------------------------------------------


def test_2_a_recorded_sale_whose_total_differs_is_printed_and_logged(server: CasposServer, register: CasposRegister, tmp_path: Path) -> None:
    upstream = httpx.Client(base_url=server.url)

    def lying_total(request: httpx.Request) -> httpx.Response:
        answer = upstream.post("/", content=request.content, headers={"content-type": wire.CONTENT_TYPE})
        body = wire.decode(answer.content)
        if isinstance(body.get("data"), dict) and "totalSum" in body["data"]:
            body["data"]["totalSum"] = Decimal("13.31")
        return httpx.Response(200, content=wire.encode(body))

    client = CasposClient(server.url, "username", SecretStr("password"), 2.0, 90.0,
                          transport=httpx.MockTransport(lying_total))
    driver = CasposDriver(client, "Caspos Mobile", "Kassa", {Decimal(18): VatType.VAT18}, DriverMemory(tmp_path / "m.sqlite"))
    with capture_logs() as logs:
        record = driver.print_receipt(azn_job("job-1"))
    assert record.fiscal_number == register.documents("sale")[0].document_id[:12]
    assert next(e for e in logs if e["event"] == "caspos_total_differs")["device_total"] == 1331
    driver.close()


# -- 3. getInfo read tolerantly ----------------------------------------------------------------------------


def test_3_get_info_with_null_and_missing_fields_prints_and_reports_status(driver: CasposDriver, register: CasposRegister) -> None:
    register.info_nulls = {"cashregister_factory_number", "last_doc_number", "company_name", "state", "token_version", "last_online_time"}
    record = driver.print_receipt(azn_job("job-1"))
    assert record.device == "Caspos:00320029594B500B20373357"  # the cashbox factory number stands in
    status = driver.status()
    assert status.online is True and status.last_fiscal_number is None
    assert register.requests.count("getInfo") == 2 and sales(register, "job-1") == 1


def test_3_get_info_with_every_field_null_names_the_device_by_its_configuration(server: CasposServer, register: CasposRegister, tmp_path: Path) -> None:
    register.info_nulls = {"cashregister_factory_number", "cashbox_factory_number", "cashbox_tax_number"}
    driver = open_driver(server.url, tmp_path)
    assert driver.print_receipt(azn_job("job-1")).device == "Caspos:Fiscal printer"
    driver.close()


# -- 4. an uncertain job is recovered by sending it again --------------------------------------------------


def test_4_an_unanswered_sale_is_recovered_after_the_shift_closed_and_aged(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("warm-up"))
    register.drop_answer_to = ["sale"]
    with pytest.raises(LinkLost):
        driver.print_receipt(azn_job("job-1"))
    register.handle({"operation": "closeShift", "data": {"documentUUID": "someone-else", "cashierName": "x"}})
    register.clock_offset = timedelta(hours=30)
    assert driver.find_receipt("job-1") is None and driver.last_receipt() is None  # no tape needed, nothing raises
    record = driver.print_receipt(azn_job("job-1"))
    assert sales(register, "job-1") == 1 and record.fiscal_number == next(
        d.document_id[:12] for d in register.documents("sale") if d.uuid == document_uuid("job-1"))
    driver.print_receipt(azn_job("job-2"))  # and the next job is not blocked
    assert sales(register, "job-2") == 1


def test_4_an_unanswered_sale_stays_uncertain_while_the_register_is_unreachable(server: CasposServer, register: CasposRegister,
                                                                                tmp_path: Path) -> None:
    driver = open_driver(server.url, tmp_path)
    driver.print_receipt(azn_job("warm-up"))
    register.drop_answer_to = ["sale"]
    with pytest.raises(LinkLost):
        driver.print_receipt(azn_job("job-1"))
    server.stop()
    restarted = open_driver(server.url, tmp_path)  # an edge restart: the driver's memory says the job went out
    with pytest.raises(LinkLost) as unreachable:  # not DeviceUnreachable: the poller must never give it up as unprinted
        restarted.print_receipt(azn_job("job-1"))
    assert unreachable.value.may_have_printed
    with pytest.raises(DeviceUnreachable) as fresh:
        restarted.print_receipt(azn_job("job-2"))
    assert not fresh.value.may_have_printed
    driver.close()
    restarted.close()


def test_4_a_refused_sale_is_no_longer_uncertain(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("warm-up"))
    register.fail_next = [604]
    with pytest.raises(CasposError):
        driver.print_receipt(azn_job("job-1"))
    assert not driver._memory.unanswered(document_uuid("job-1"))


def test_4_an_answered_sale_is_found_again_after_a_restart(server: CasposServer, register: CasposRegister, tmp_path: Path) -> None:
    first = open_driver(server.url, tmp_path)
    record = first.print_receipt(azn_job("job-1"))
    first.close()
    again = open_driver(server.url, tmp_path)
    assert again.find_receipt("job-1") == record and again.find_receipt("job-2") is None
    again.close()


# -- 5. the shift is closed before its 24 h limit, exactly once ---------------------------------------------


def test_5_a_shift_near_its_limit_is_closed_and_reopened_before_the_sale(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    clock = driver.shift._clock
    driver.shift._clock = lambda: clock() + 23.9 * 3600
    driver.print_receipt(azn_job("job-2"))
    assert len(register.shifts) == 1 and register.shifts[0].docs[-1].uuid == document_uuid("job-1")
    assert register.shift is not None and register.shift.docs[0].uuid == document_uuid("job-2")
    driver.print_receipt(azn_job("job-3"))
    assert len(register.shifts) == 1 and register.requests.count("closeShift") == 1


def test_5_a_shift_over_its_limit_is_closed_on_504_and_the_sale_goes_through(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    register.clock_offset = timedelta(hours=25)
    driver.print_receipt(azn_job("job-1"))
    assert len(register.shifts) == 1 and sales(register, "job-1") == 1 and register.requests.count("closeShift") == 1


def test_5_a_z_whose_answer_was_lost_is_not_made_twice(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    register.drop_answer_to = ["closeShift"]
    with pytest.raises(LinkLost):
        driver.z_report()
    report = driver.z_report()  # the register's shift is closed now: the same documentUUID fetches the earlier Z
    assert len(register.shifts) == 1 and report.kind == "Z" and report.amount_cents == 1330
    with pytest.raises(OperationRefused):
        driver.z_report()


# -- 6. the login token --------------------------------------------------------------------------------------


def test_6_the_token_travels_beside_bodies_that_stay_as_the_examples(driver: CasposDriver, register: CasposRegister) -> None:
    register.require_token = True  # §Common Errors 401 l.1928: "the token is not being sent at all"
    driver.print_receipt(azn_job("job-1"))
    assert sales(register, "job-1") == 1 and all("access_token" not in body for body in register.bodies)
    answer = register.handle({"operation": "getInfo", "username": "username", "password": "password"})
    assert answer["code"] == wire.INVALID_LOGIN_SESSION


def test_6_a_lost_session_logs_in_again_once(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    register.token = None  # §Logout l.106: the register forgot the session
    driver.print_receipt(azn_job("job-2"))
    assert register.requests.count("toLogin") == 2 and sales(register, "job-2") == 1


# -- 7. repeated documentUUIDs and stable ids ------------------------------------------------------------------


def test_7_a_repeat_answered_without_data_is_printed_once_and_never_loops(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    register.repeat_without_data = True
    before = len(register.requests)
    record = driver.print_receipt(azn_job("job-1"))
    assert record.fiscal_number == document_uuid("job-1") and register.requests[before:] == ["sale"]
    assert sales(register, "job-1") == 1


def test_7_deposit_and_withdraw_resent_after_a_lost_answer_are_recorded_once(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    for move, kind, operation in ((driver.cash_in, "deposit", "deposit"), (driver.cash_out, "withdraw", "withDraw")):
        register.drop_answer_to = [operation]
        with pytest.raises(LinkLost):
            move(5000)
        assert move(5000).amount_cents == 5000
        assert len(register.documents(kind)) == 1
    assert driver.cash_in(5000).number and len(register.documents("deposit")) == 2  # a new request is a new deposit


def test_7_a_refused_deposit_does_not_hold_its_id(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    register.fail_next = [wire.INVALID_TOTAL_SUM]
    with pytest.raises(CasposRejected):
        driver.cash_in(100)
    driver.cash_in(100)
    uuids = [b["data"]["documentUUID"] for b in register.bodies if b.get("operation") == "deposit"]
    assert len(uuids) == 2 and uuids[0] != uuids[1]


# -- 8. VAT, units, card sales -------------------------------------------------------------------------------------


def test_8_vat_types_follow_the_documents_table_and_the_devices_vat_codes(server: CasposServer, register: CasposRegister, tmp_path: Path) -> None:
    default = open_driver(server.url, tmp_path / "a")
    default.print_receipt(azn_job("zero", vat_rate="0"))
    assert [i["vatType"] for i in register.bodies[-1]["data"]["items"]] == [5, 1]  # ƏDV 0% and ƏDV 18 %
    exempt = open_driver(server.url, tmp_path / "b", vat_codes={"0": 3})
    exempt.print_receipt(azn_job("exempt", vat_rate="0"))
    assert [i["vatType"] for i in register.bodies[-1]["data"]["items"]] == [3, 1]  # ƏDV-dən azad
    margin = open_driver(server.url, tmp_path / "c", vat_codes={"18": 2})
    with pytest.raises(InvalidJob, match="purchase price"):
        margin.print_receipt(azn_job("margin"))
    with pytest.raises(InvalidJob, match="no VAT type"):
        default.print_receipt(azn_job("twenty", vat_rate="20"))
    with pytest.raises(UnsupportedDevice):
        open_driver(server.url, tmp_path / "d", vat_codes={"18": 4})
    for opened in (default, exempt, margin):
        opened.close()


def test_8_the_register_refuses_trade_margin_vat_without_a_purchase_price(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    with pytest.raises(CasposRejected) as refused:
        driver.client.sale("m", [coffee(vat=VatType.TRADE_SUPPLEMENT)], Payments(cash=700), "c")
    assert refused.value.caspos_code == wire.INVALID_MARGIN_PRICE
    margin = coffee(vat=VatType.TRADE_SUPPLEMENT).model_copy(update={"purchase_price": 300})
    assert driver.client.sale("m2", [margin], Payments(cash=700), "c").total == 700


def test_8_weighed_goods_go_out_as_kilograms_and_odd_lines_with_their_sum(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("weighed", quantity="0.335"))  # 0.335 kg at 3.50 is 1.17 exactly: no "sum"
    items = register.bodies[-1]["data"]["items"]
    assert [i["quantityType"] for i in items] == [1, 0] and [i["code"] for i in items] == ["1", "2"]
    assert [i["codeType"] for i in items] == [0, 0] and "sum" not in items[0]
    driver.print_receipt(azn_job("discounted", quantity="0.335", coffee_amount=110))
    line = register.bodies[-1]["data"]["items"][0]
    assert (line["quantity"], line["salePrice"], line["sum"]) == (Decimal("0.335"), Decimal("3.28"), Decimal("1.10"))
    assert register.by_uuid[document_uuid("discounted")].total == 110 + 280


def test_8_a_card_sale_waits_for_the_register_to_take_the_card(server: CasposServer, register: CasposRegister, tmp_path: Path) -> None:
    driver = open_driver(server.url, tmp_path, answer_seconds=0.02)  # 0.4 s for an ordinary answer
    driver.print_receipt(azn_job("warm-up"))
    register.delay_seconds = 0.8
    driver.print_receipt(azn_job("card", payment=PaymentType.CARD))
    card = register.bodies[-1]["data"]
    assert card["cardPayment"] == Decimal("13.30") and card["rrn"] == ""  # the job carries no RRN
    assert len(register.by_uuid[document_uuid("card")].answer["rrn"]) == 12
    with pytest.raises(LinkLost):
        driver.print_receipt(azn_job("cash"))  # a cash sale is not given that long
    register.delay_seconds = 0
    driver.close()


# -- the rest of the API --------------------------------------------------------------------------------------------


def test_every_operation_of_the_document(driver: CasposDriver, register: CasposRegister) -> None:
    client = driver.client
    client.open_shift("Cashier", 1000)
    assert client.get_info().cashregister_model == "SUNMI V1S" and client.shift_status().shift_open is True
    assert client.deposit("dep-1", 500, "Cashier").document_number > 0
    assert client.withdraw("wd-1", 200, "Cashier").short_document_id
    card = client.sale("s-card", [coffee()], Payments(card=700), "Cashier", rrn="420012558257", approval_code="537959")
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
    assert client.control_tape()["documents_quantity"] == 15
    client.print_last_cheque()
    client.open_cashbox()
    assert client.is_connected_printer() is True
    assert client.close_shift("z-1", "Cashier")["reportNumber"]
    day = datetime.now(UTC)
    periodic = client.periodic_z_report(day - timedelta(days=1), day + timedelta(days=1))
    assert periodic["saleCount"] == 5 and periodic["cashInCount"] == 2
    client.logout()
    assert client.get_info().state == "ACTIVE"  # logs in again by itself


def test_refunds_other_payments_and_missing_operations_are_refused_clearly(driver: CasposDriver) -> None:
    with pytest.raises(InvalidJob, match="parent document"):
        driver.print_receipt(azn_job("refund").model_copy(update={"is_refund": True}))
    with pytest.raises(InvalidJob, match="cash or card"):
        driver.print_receipt(azn_job("other", payment=PaymentType.OTHER))
    with pytest.raises(UnsupportedOperation):
        driver.non_fiscal_receipt(["no free text on Caspos"])


def test_cash_moves_x_z_and_the_periodic_report(driver: CasposDriver) -> None:
    driver.print_receipt(azn_job("job-cash"))
    assert driver.cash_in(5000).amount_cents == 5000 and driver.cash_out(1000).amount_cents == 1000
    assert driver.x_report().amount_cents == 1330
    assert driver.z_report().number == 1801
    today = datetime.now(UTC).date()
    report = driver.fiscal_memory_report(today, today)
    assert report.amount_cents == 1330 and '"cashInTotal":50.00' in report.full_text and '"cashOutTotal":10.00' in report.full_text
    driver.cash_in(100)  # a cash move after the Z opens the next shift itself
    assert driver.status().online is True


def test_wrong_password_unreachable_register_and_bad_config(server: CasposServer, tmp_path: Path) -> None:
    wrong = open_driver(server.url, tmp_path / "a", password="nope")
    with pytest.raises(CasposAuthFailed):
        wrong.print_receipt(azn_job("job-1"))
    assert wrong.status().online is False
    gone = open_driver("http://127.0.0.1:9", tmp_path / "b")
    with pytest.raises(DeviceUnreachable) as unreachable:
        gone.print_receipt(azn_job("job-1"))
    assert not unreachable.value.may_have_printed
    with pytest.raises(UnsupportedDevice):
        create_driver(FiscalDeviceConfig(manufacturer="Caspos", model="Caspos Mobile", connection={"type": "tcp", "host": "h"}), tmp_path)
