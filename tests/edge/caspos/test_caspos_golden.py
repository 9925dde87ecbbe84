"""Golden bodies: what the Caspos client and driver send, against the examples printed in seed 002 (parsed from the
document itself), and the emulator accepting those examples as they are printed."""

from __future__ import annotations

import ast
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from caspos_support import (
    SECTIONS,
    azn_job,
    example_request,
    example_response,
)

from edge.drivers.caspos.api import CodeType, QuantityType, VatType
from edge.drivers.caspos.client import CasposClient
from edge.drivers.caspos.driver import CasposDriver
from edge.drivers.caspos.models import Client, Item, Payments
from edge.emulators.caspos import wire
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer

EMULATOR = Path(__file__).resolve().parents[3] / "edge" / "emulators" / "caspos"


@pytest.fixture
def client(driver: CasposDriver, register: CasposRegister) -> CasposClient:
    register.open_shift_now()
    return driver.client


def sent(register: CasposRegister, operation: str) -> dict[str, Any]:
    """The last request of this operation the emulator received, parsed exactly as it parses the document's examples."""
    return next(b for b in reversed(register.bodies) if b.get("operation") == operation)


def test_the_emulator_imports_nothing_from_the_drivers() -> None:
    for path in EMULATOR.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith("edge.drivers")], path


# -- the driver's and client's bodies are the document's examples ------------------------------------------


@pytest.mark.parametrize(
    ("section", "call"),
    [
        ("[Login](#)", lambda c: c.login()),
        ("GetInfo", lambda c: c.get_info()),
        ("Get Shift Status", lambda c: c.shift_status()),
        ("Control Tape", lambda c: c.control_tape()),
        ("Printer Connection", lambda c: c.is_connected_printer()),
        ("Print Last", lambda c: c.print_last_cheque()),
        ("Open CashBox", lambda c: c.open_cashbox()),
        ("X-Report", lambda c: c.x_report("Cashier Name")),
        ("Periodic Report", lambda c: c.periodic_z_report(datetime(2021, 8, 23), datetime(2021, 8, 23, 23, 59, 59))),
        ("Deposit", lambda c: c.deposit("unique ID for each transaction", 100, "New Cashier")),
        ("Withdraw", lambda c: c.withdraw("unique ID for each transaction", 100, "New Cashier")),
        ("Close Shift", lambda c: c.close_shift("7c3168f3-1749-4fe4-976c-6ef195d10401", "Yeni Kassir")),
        ("[Logout](#)", lambda c: c.logout()),
    ],
)
def test_bodies_equal_the_documents_examples(client: CasposClient, register: CasposRegister, section: str, call: Any) -> None:
    # One sale first, so printLastCheque has a document to print (else 231).
    client.sale("a-sale", [Item(name="x", code="1", quantity=Decimal(1), sale_price=100, vat_type=VatType.VAT18)], Payments(cash=100), "c")
    call(client)
    assert sent(register, SECTIONS[section]) == example_request(section)


def test_open_shift_body_is_the_documents_example(driver: CasposDriver, register: CasposRegister) -> None:
    driver.client.open_shift("Yeni Kassir", 100)  # §Open Shift l.216-227: data.sum and a top-level cashierName
    assert sent(register, "openShift") == example_request("Open Shift")


def test_sale_body_is_the_documents_example(client: CasposClient, register: CasposRegister) -> None:
    example = example_request("Sales")
    item = Item(name="Product Name", code="Product Barcode", quantity=Decimal(1), sale_price=1, purchase_price=0, code_type=CodeType.EAN8,
                quantity_type=QuantityType.KG, vat_type=VatType.VAT18, item_uid="12343265437yy645", marking_codes=["ooo333", "qqq444"])
    customer = Client(name="Test Customer", bonus_card_number="Customer Bonus card")
    client.sale("{$guid}", [item], Payments(card=1), "New Cashier", client=customer, note="Text Description ", rrn="")
    assert sent(register, "sale") == example


def test_credit_sale_correction_and_rollback_bodies_are_the_documents_examples(client: CasposClient, register: CasposRegister) -> None:
    item = Item(name="Product Name", code="Product Barcode", quantity=Decimal(1), sale_price=48000, purchase_price=117, code_type=CodeType.EAN8,
                quantity_type=QuantityType.KG, vat_type=VatType.VAT18, discount=2000)
    customer = Client(name="Test Customer", total_bonus=67000, earned_bonus=48000, bonus_card_number="Customer Bonus card")
    client.sale("unique ID for each transaction", [item], Payments(credit=40000, card=8000), "New Cashier", client=customer,
                note="Text Description ", rrn="123456789101", credit_contract="A1", credit_payer="CreditPayerName")
    assert sent(register, "sale") == example_request("Credit Sale")

    client.correction("unique ID for each transaction1x1xx", datetime(2021, 8, 31, 3, 39, 11), datetime(2021, 8, 31, 4, 39, 11), 10000, 45000,
                      VatType.VAT18, "Cashier Name")
    assert sent(register, "correction") == example_request("Correction")

    parent = client.sale("to-roll-back", [Item(name="x", code="1", quantity=Decimal(1), sale_price=70, vat_type=VatType.VAT18)], Payments(cash=70), "c")
    client.rollback("unique ID for each transaction", parent.document_id, Payments(cash=70), {VatType.VAT18: 70}, "New Cashier", note="123456")
    example = example_request("RollBack")
    example["data"]["parentDocumentId"] = parent.document_id  # the example's parent is no document of this register
    assert sent(register, "rollBack") == example


def test_other_bodies_send_nothing_the_examples_do_not_show(client: CasposClient, register: CasposRegister) -> None:
    item = Item(name="Product Name", code="Product Barcode", quantity=Decimal(1), sale_price=8000, vat_type=VatType.VAT18, real_price=48000)
    credit = client.sale("credit", [item.model_copy(update={"real_price": None})], Payments(credit=8000), "c", credit_contract="A1", credit_payer="P")
    client.credit_pay("cp", credit.document_id, [item], Payments(card=8000), "New Cashier", payment_number="1", residue=0,
                      credit_contract="A1", credit_payer="CreditOwner", rrn="123456789101")
    advance = client.prepayment("pp", 71000, VatType.VAT18, Payments(card=71000), "New Cashier")
    client.prepayment("ppi", 8000, VatType.VAT18, Payments(card=8000), "New Cashier", items=[item.model_copy(update={"real_price": None})])
    client.sale("adv", [item.model_copy(update={"real_price": None})], Payments(deposit=8000), "c", prepayment_document_id=advance.document_id)
    client.money_back("mb", credit.document_id, [item.model_copy(update={"real_price": None, "item_uid": "u", "parent_item_uid": "p"})],
                      Payments(card=8000), "New Cashier", manual=True, rrn="420411938397")
    for section, operation in (("Credit Pay", "credit"), ("Advance (Deposit) Sale", "prepayment"), ("Advance Sale Items", "prepaymentProducts"),
                               ("Money Back (Refound)", "moneyBack")):
        ours, example = sent(register, operation), example_request(section)
        assert set(ours) == set(example) and set(ours["data"]) <= set(example["data"]), section
        for mine, theirs in zip(ours["data"].get("items", []), example["data"].get("items", []), strict=False):
            assert set(mine) <= set(theirs), section
    advance_pay = next(b for b in reversed(register.bodies) if b.get("data", {}).get("prepaymentDocumentId"))
    assert set(advance_pay["data"]) - {"creditPayment", "note", "rrn"} <= set(example_request("Advance Pay")["data"])


def test_a_jobs_sale_has_the_fields_and_formats_of_the_sales_example(driver: CasposDriver, register: CasposRegister) -> None:
    driver.print_receipt(azn_job("job-1"))
    body, example = sent(register, "sale"), example_request("Sales")
    assert set(body) == set(example) and set(body["data"]) == set(example["data"])
    assert set(body["data"]["items"][0]) == set(example["data"]["items"][0]) - {"itemUid", "markingCodes"}
    assert body["data"]["currency"] == example["data"]["currency"] == "AZN"
    raw = next(b for b in register.raw_bodies if b"\"sale\"" in b)
    assert b'"quantity":3.000' in raw and b'"salePrice":3.50' in raw and b'"purchasePrice":0.00' in raw  # §Introduction l.16


# -- the emulator accepts the document's own examples -----------------------------------------------------


def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(url, content=wire.encode(body), headers={"content-type": wire.CONTENT_TYPE}, timeout=5)
    return wire.decode(answer.content)


@pytest.mark.parametrize("section", [s for s in SECTIONS if s not in ("Credit Pay", "RollBack")])
def test_the_emulator_accepts_each_example_as_printed(server: CasposServer, register: CasposRegister, section: str) -> None:
    assert post(server.url, example_request("[Login](#)"))["code"] == "0"
    if section not in ("Open Shift", "[Login](#)"):
        assert post(server.url, example_request("Open Shift"))["code"] == "0"
    answer = post(server.url, example_request(section))
    assert int(answer["code"]) == 0, answer


def test_the_emulator_accepts_the_examples_that_name_a_parent(server: CasposServer) -> None:
    for request in (example_request("[Login](#)"), example_request("Open Shift")):
        post(server.url, request)
    credit = post(server.url, example_request("Credit Sale"))["data"]
    pay = example_request("Credit Pay")
    # The examples share the placeholder "unique ID for each transaction": each gets its own, as the placeholder says.
    pay["data"] |= {"parentDocumentId": credit["document_id"], "documentUUID": "credit-pay"}
    assert int(post(server.url, pay)["code"]) == 0
    sale = example_request("Sales")
    sale["data"] |= {"cashPayment": Decimal("0.70"), "cardPayment": 0, "documentUUID": "parent"}
    sale["data"]["items"][0]["salePrice"] = Decimal("0.70")
    parent = post(server.url, sale)["data"]
    rollback = example_request("RollBack")
    rollback["data"] |= {"parentDocumentId": parent["document_id"], "documentUUID": "rollback"}
    assert int(post(server.url, rollback)["code"]) == 0


@pytest.mark.parametrize("section", ["Sales", "Deposit", "Withdraw", "GetInfo", "Get Shift Status", "Control Tape", "Correction"])
def test_the_emulators_answers_carry_the_examples_fields(server: CasposServer, section: str) -> None:
    for request in (example_request("[Login](#)"), example_request("Open Shift")):
        post(server.url, request)
    if section == "Control Tape":
        post(server.url, example_request("Sales"))
    answer = post(server.url, example_request(section))
    example = example_response(section)
    assert set(answer["data"]) >= set(example["data"]), section
    if section == "Control Tape":
        assert set(answer["data"]["tape"][0]) == set(example["data"]["tape"][0])
