"""Every kind of sale on Caspos Mobile (issue 18): split tender with cash tendered, line discounts, the buyer's tax id,
and refunds as rollBack or moneyBack naming their parent. Golden bodies against seed 002's own examples, the driver
against the emulated register, and the register's refusals with the document's codes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from caspos_support import (
    DEVICE,
    azn_job,
    example_request,
    open_driver,
    refund_job,
    split_job,
)

from chalicelib.contracts import FiscalRecord
from edge.drivers.base import InvalidJob
from edge.drivers.caspos.api import CodeType, QuantityType, VatType
from edge.drivers.caspos.client import CasposClient, CasposRejected
from edge.drivers.caspos.driver import CasposDriver, document_uuid
from edge.drivers.caspos.models import Client, Item, Payments
from edge.emulators.caspos import wire
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer

D = Decimal


def sent(register: CasposRegister, operation: str) -> dict[str, Any]:
    return next(b for b in reversed(register.bodies) if b.get("operation") == operation)


def only(register: CasposRegister, kind: str, job_id: str) -> Any:
    [doc] = [d for d in register.documents(kind) if d.uuid == document_uuid(job_id)]
    return doc


def full_id(register: CasposRegister, record: FiscalRecord) -> str:
    [doc] = [d for d in register.documents() if d.document_id[:12] == record.fiscal_number]
    return doc.document_id


NO_CLIENT = {"clientName": "", "clientTotalBonus": D("0.00"), "clientEarnedBonus": D("0.00"), "clientBonusCardNumber": ""}


def coffee_line(*, price: str = "3.50", discount: str = "0.00", **extra: Any) -> dict[str, Any]:
    return {"name": "Qəhvə", "code": "1", "quantity": D("3.000"), "salePrice": D(price), "purchasePrice": D("0.00"), "codeType": 0,
            "quantityType": 0, "vatType": 1, "discountAmount": D(discount), **extra}


TEA = {"name": "Çay", "code": "2", "quantity": D("1.000"), "salePrice": D("2.80"), "purchasePrice": D("0.00"), "codeType": 0,
       "quantityType": 0, "vatType": 1, "discountAmount": D("0.00")}


# -- 1. split tender and cash tendered ------------------------------------------------------------------------


def test_a_split_sale_is_one_sale_with_cash_tendered_and_card_in_the_examples_fields(driver: CasposDriver, register: CasposRegister) -> None:
    record = driver.print_receipt(split_job("split-1", cash=500, card=830, tendered=1000))
    body = sent(register, "sale")
    assert body["data"] == {
        "documentUUID": document_uuid("split-1"),
        "cashPayment": D("10.00"), "creditPayment": D("0.00"), "depositPayment": D("0.00"), "cardPayment": D("8.30"), "bonusPayment": D("0.00"),
        "items": [coffee_line(), TEA], **NO_CLIENT, "cashierName": "demo-cashier", "note": "SALE ID split-1", "rrn": "", "currency": "AZN",
    }
    example = example_request("Sales")  # the same fields in the document's order (§Sales l.500-540)
    assert list(body["data"]) == list(example["data"]) and set(body) == set(example)
    sale = only(register, "sale", "split-1")
    # §Parameter Descriptions l.46: cash above the total is change; the register keeps 5.00 cash and 8.30 card.
    assert sale.total == 1330 and sale.payments["cashPayment"] == 500 and sale.payments["cardPayment"] == 830
    assert record.fiscal_number == sale.document_id[:12]
    x = driver.client.x_report("c")["currencies"][0]
    assert (x["saleCashSum"], x["saleCashlessSum"]) == (D("5.00"), D("8.30"))


def test_a_split_without_tendered_sends_the_cash_amount(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(split_job("split-2", cash=330, card=1000))
    data = sent(register, "sale")["data"]
    assert (data["cashPayment"], data["cardPayment"]) == (D("3.30"), D("10.00"))
    assert only(register, "sale", "split-2").payments["cashPayment"] == 330


def test_the_register_refuses_payments_that_do_not_cover_the_total_or_card_above_it(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    line = [Item(name="x", code="1", quantity=D(1), sale_price=1330, vat_type=VatType.VAT18)]
    for payments in (Payments(cash=500, card=800), Payments(cash=100, card=1400)):  # short by 0.30; card above the total
        with pytest.raises(CasposRejected) as refused:
            driver.client.sale(f"short-{payments.card}", line, payments, "c")
        assert refused.value.caspos_code == wire.INVALID_TOTAL_SUM  # §Common Errors 607 l.1994
    assert register.documents("sale") == []


def test_a_payment_of_type_other_is_refused_before_anything_is_sent(driver: CasposDriver, register: CasposRegister) -> None:
    job = split_job("other", cash=330, card=1000)
    other = job.model_copy(update={"payments": [job.payments[0], job.payments[1].model_copy(update={"type": "other", "method_id": "voucher"})]})
    with pytest.raises(InvalidJob, match="voucher"):
        driver.print_receipt(other)
    assert "sale" not in register.requests


# -- 3. discounts ---------------------------------------------------------------------------------------------


def test_a_line_discount_is_the_items_discount_amount_and_the_line_goes_out_at_what_is_paid(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(split_job("disc-1", cash=280, card=1000, discount=50))
    data = sent(register, "sale")["data"]
    # 3 × 3.50 − 0.50 = 10.00: salePrice is the paid average, "sum" the line's total (l.56), discountAmount the discount (l.61).
    assert data["items"] == [coffee_line(price="3.33", discount="0.50", sum=D("10.00")), TEA]
    assert only(register, "sale", "disc-1").total == 1280


def test_the_emulator_reads_discount_amount_as_the_credit_sale_example_does(server: CasposServer, register: CasposRegister) -> None:
    """§Credit Sale l.619-634: 400 credit + 80 card for one item of 480.0 with discountAmount 20.0. Were the discount
    taken off, the cashless 480 would exceed a 460 total and the example itself would be refused (607)."""
    for request in (example_request("[Login](#)"), example_request("Open Shift")):
        post(server.url, request)
    answer = post(server.url, example_request("Credit Sale"))
    assert int(answer["code"]) == 0 and answer["data"]["totalSum"] == D("480.00")
    negative = example_request("Sales")
    negative["data"]["documentUUID"] = "negative-discount"
    negative["data"]["items"][0]["discountAmount"] = D("-1.00")
    assert int(post(server.url, negative)["code"]) == wire.INVALID_ITEM_TOTAL


# -- 4. buyer tax id -------------------------------------------------------------------------------------------


def test_the_buyer_tax_id_has_no_field_and_is_not_sent(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(split_job("voen", cash=330, card=1000, buyer_tax_id="1403526771"))
    assert only(register, "sale", "voen").total == 1330
    assert not [raw for raw in register.raw_bodies if b"1403526771" in raw]


# -- 2. refunds: the document's examples -------------------------------------------------------------------------


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(url, content=wire.encode(body), headers={"content-type": wire.CONTENT_TYPE}, timeout=5)
    return wire.decode(answer.content)


def test_money_back_body_is_the_documents_example_plus_parent_document_sum(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    client: CasposClient = driver.client
    item = Item(name="Product Name", code="Product Barcode", quantity=D(1), sale_price=200, purchase_price=100, code_type=CodeType.EAN8,
                quantity_type=QuantityType.METRE, vat_type=VatType.VAT18, item_uid="12343265437645", parent_item_uid="12343265437645")
    customer = Client(name="Test Customer", total_bonus=67000, earned_bonus=48000, bonus_card_number="Customer Bonus card")
    call = {"manual": True, "rrn": "420411938397", "note": "Text Description", "client": customer}
    example = example_request("Money Back (Refound)")
    # The example's item has a singular "markingCode" (l.1112) that the Sales example comments out (l.519) and the
    # parameter list does not name (l.61-62 has markingCodes): the driver sends no marking codes.
    del example["data"]["items"][0]["markingCode"]
    client.money_back("unique ID for each transaction", example["data"]["parentDocumentId"], [item], Payments(card=100), "New Cashier", **call)
    assert sent(register, "moneyBack") == example
    client.money_back("with-parent-sum", example["data"]["parentDocumentId"], [item], Payments(card=100), "New Cashier", parent_sum=200, **call)
    ours = sent(register, "moneyBack")
    # parentDocumentSum, "Total amount of the receipt for the return" (§Parameter Descriptions l.79), right after the parent.
    assert list(ours["data"])[:3] == ["parentDocumentId", "parentDocumentSum", "documentUUID"]
    assert ours["data"] == example["data"] | {"documentUUID": "with-parent-sum", "parentDocumentSum": D("2.00")}


# -- 2. refunds: the driver on the register ----------------------------------------------------------------------


def test_a_partial_refund_is_a_money_back_naming_the_parents_document_id_and_sum(driver: CasposDriver, register: CasposRegister) -> None:
    parent = driver.print_receipt(azn_job("sale-1"))
    record = driver.print_receipt(refund_job("refund-1", parent, 1330, coffees="1", cash=300, card=330))
    body = sent(register, "moneyBack")
    assert body == {
        "data": {
            "parentDocumentId": full_id(register, parent), "parentDocumentSum": D("13.30"), "documentUUID": document_uuid("refund-1"),
            "cashPayment": D("3.00"), "creditPayment": D("0.00"), "depositPayment": D("0.00"), "cardPayment": D("3.30"), "bonusPayment": D("0.00"),
            "items": [coffee_line() | {"quantity": D("1.000")}, TEA], "isManual": False, "moneyBackType": 0, **NO_CLIENT,
            "cashierName": "demo-cashier", "currency": "AZN", "rrn": "", "transactionId": "", "transactionNumber": "", "approvalCode": "",
            "note": "REFUND ID refund-1",
        },
        "operation": "moneyBack", "username": "username", "password": "password",
    }
    example = example_request("Money Back (Refound)")
    assert set(body) == set(example) and set(body["data"]) - {"parentDocumentSum"} <= set(example["data"])
    back = only(register, "money_back", "refund-1")
    assert back.total == 630 and back.payments == {"cashPayment": 300, "cardPayment": 330, "creditPayment": 0, "depositPayment": 0, "bonusPayment": 0}
    assert record.fiscal_number == back.document_id[:12] and record.device == DEVICE
    assert "rollBack" not in register.requests


def test_a_whole_refund_in_the_open_shift_is_a_rollback(driver: CasposDriver, register: CasposRegister) -> None:
    parent = driver.print_receipt(azn_job("sale-2"))
    record = driver.print_receipt(refund_job("refund-2", parent, 1330))
    body = sent(register, "rollBack")
    assert body == {
        "data": {
            "documentUUID": document_uuid("refund-2"), "parentDocumentId": full_id(register, parent), "sum": D("13.30"),
            "cashPayment": D("13.30"), "creditPayment": D("0.00"), "depositPayment": D("0.00"), "cardPayment": D("0.00"),
            "bonusPayment": D("0.00"), "vatAmounts": [{"vatType": 1, "vatSum": D("13.30")}], "note": "REFUND ID refund-2",
        },
        "operation": "rollBack", "username": "username", "password": "password", "cashierName": "demo-cashier", "currency": "AZN",
    }
    example = example_request("RollBack")  # §RollBack l.1406-1432: the same fields in the same order
    assert set(body) == set(example) and list(body["data"]) == list(example["data"])
    assert record.fiscal_number == only(register, "rollback", "refund-2").document_id[:12]
    assert [d.rolled_back for d in register.documents("sale")] == [True]
    assert "moneyBack" not in register.requests


def test_a_whole_refund_after_the_shift_closed_is_a_money_back_with_the_id_the_driver_remembered(
        driver: CasposDriver, register: CasposRegister, server: CasposServer, tmp_path: Path) -> None:
    parent = driver.print_receipt(azn_job("sale-3"))
    document_id = full_id(register, parent)
    driver.z_report()  # §RollBack l.1402: receipts of previous shifts only by Money Back
    driver.close()
    again = open_driver(server.url, tmp_path)  # the memory survives a restart
    try:
        again.print_receipt(refund_job("refund-3", parent, 1330))
    finally:
        again.close()
    assert "rollBack" not in register.requests
    assert sent(register, "moneyBack")["data"]["parentDocumentId"] == document_id
    assert only(register, "money_back", "refund-3").total == 1330


def test_a_receipt_of_another_caspos_register_is_refunded_with_money_back_manual(driver: CasposDriver, register: CasposRegister) -> None:
    parent = FiscalRecord(device="Caspos:OTHER0001", fiscal_number="712EyaqxZNtF", printed_at=1_700_000_000)
    driver.print_receipt(refund_job("refund-4", parent, 2000))
    data = sent(register, "moneyBack")["data"]
    # §Money Back Manual l.1210: for a return "performed on another device", without the checks against the parent.
    assert data["isManual"] is True and data["parentDocumentId"] == "712EyaqxZNtF" and data["parentDocumentSum"] == D("20.00")
    assert only(register, "money_back", "refund-4").total == 1330


def test_a_receipt_of_another_kind_of_device_or_a_refund_without_its_original_is_refused_unsent(driver: CasposDriver, register: CasposRegister) -> None:
    datecs = FiscalRecord(device="Datecs:DT123456", fiscal_number="0000042", printed_at=1_700_000_000)
    with pytest.raises(InvalidJob, match="Datecs:DT123456"):
        driver.print_receipt(refund_job("refund-5", datecs, 1330))
    with pytest.raises(InvalidJob, match="parent document"):
        driver.print_receipt(azn_job("refund-6").model_copy(update={"is_refund": True}))
    assert not {"moneyBack", "rollBack"} & set(register.requests)


# -- 2. refunds: what the register refuses, with the document's codes ----------------------------------------------


def refused(driver: CasposDriver, job: Any) -> int:
    with pytest.raises(CasposRejected) as caught:
        driver.print_receipt(job)
    assert not driver._memory.unanswered(document_uuid(job.job_id))  # refused: never left uncertain
    return caught.value.caspos_code


def test_an_unknown_parent_is_refused_628(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("sale-7"))
    stranger = FiscalRecord(device=DEVICE, fiscal_number="NoSuchDocumn", printed_at=1_700_000_000)
    assert refused(driver, refund_job("refund-7", stranger, 1330, coffees="1")) == wire.WRONG_PARENT  # §Error Messages 628
    assert register.documents("money_back") == []


def test_a_refund_above_what_is_left_of_the_parent_is_refused_638(driver: CasposDriver, register: CasposRegister) -> None:
    parent = driver.print_receipt(azn_job("sale-8"))
    driver.print_receipt(refund_job("refund-8a", parent, 1330, coffees="1"))  # 6.30 of 13.30 back
    assert refused(driver, refund_job("refund-8b", parent, 1330, coffees="2")) == wire.PARENT_TOTAL_MISMATCH  # 6.30 + 9.80 > 13.30
    assert refused(driver, refund_job("refund-8c", parent, 1330)) == wire.PARENT_TOTAL_MISMATCH  # no whole rollBack of a part-refunded receipt
    assert [d.total for d in register.documents("money_back")] == [630] and register.documents("rollback") == []


def test_a_parent_sum_that_is_not_the_parents_is_refused_638(driver: CasposDriver, register: CasposRegister) -> None:
    parent = driver.print_receipt(azn_job("sale-9"))
    assert refused(driver, refund_job("refund-9", parent, 9999)) == wire.PARENT_TOTAL_MISMATCH
    assert sent(register, "moneyBack")["data"]["parentDocumentSum"] == D("99.99")


def test_a_second_rollback_and_a_money_back_of_a_rolled_back_receipt_are_refused_639(driver: CasposDriver, register: CasposRegister) -> None:
    parent = driver.print_receipt(azn_job("sale-10"))
    driver.print_receipt(refund_job("refund-10a", parent, 1330))
    assert refused(driver, refund_job("refund-10b", parent, 1330)) == wire.ALREADY_ROLLED_BACK  # §Error Messages 639
    assert refused(driver, refund_job("refund-10c", parent, 1330, coffees="1")) == wire.ALREADY_ROLLED_BACK
    assert len(register.documents("rollback")) == 1 and register.documents("money_back") == []


def test_a_rollback_of_a_document_the_shift_does_not_have_is_refused_627(driver: CasposDriver, register: CasposRegister) -> None:
    register.open_shift_now()
    with pytest.raises(CasposRejected) as caught:
        driver.client.rollback("rb", "CxWJQV3esBSfnVuUWbsKPyi4hgMux", Payments(cash=70), {VatType.VAT18: 70}, "c")  # §RollBack l.1411
    assert caught.value.caspos_code == wire.ROLLBACK_PARENT_MISSING  # §Error Messages 627

