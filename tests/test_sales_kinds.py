"""Every kind of sale through the order API (issue 18, DESIGN §4.2 second wave): split tender with cash tendered,
line and order discounts, the buyer's tax id, the printer, refunds naming their printed original; the job on the
queue (v1's shape for a plain sale), the eReceipt, and typed 4xx for every bad body with nothing half recorded."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from pypdf import PdfReader

from chalicelib.aws import clients as aws
from chalicelib.contracts import FiscalJob
from tests import contract_v1
from tests.conftest import demo_order, queue_messages
from tests.test_edge_results import fiscalize
from tests.test_receipts import aws_bucket, render_pending_pdfs

SPLIT = [{"payment_method_id": "cash", "amount": "5.00", "tendered": "20.00"},
         {"payment_method_id": "card", "amount": "3.20"}]  # demo_order's 8.20


def post(api, shop, body):
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})


def get(api, shop, order_id):
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/{order_id}", headers={"x-shop-key": shop["shop_key"]})


def split_order(order_id: str, **overrides) -> dict:
    body = demo_order(order_id, **{"payments": SPLIT, **overrides})
    del body["payment_method_id"]
    return body


def wire(shop) -> list[dict]:
    """The jobs on the shop's queue as the edge reads them: raw JSON."""
    return [json.loads(m["Body"]) for m in queue_messages(shop["queue_url"])]


def test_split_tender_goes_as_v2_with_every_payment_and_the_cash_tendered(api, shop):
    r = post(api, shop, split_order("S-1"))
    assert r.status_code == 201 and r.json["total"] == "8.20", r.body
    [raw] = wire(shop)
    assert raw["v"] == 2 and "payment" not in raw
    assert raw["payments"] == [{"type": "cash", "method_id": "cash", "amount": 500, "tendered": 2000},
                               {"type": "card", "method_id": "card", "amount": 320}]
    assert FiscalJob.model_validate(raw).total == 820
    with pytest.raises(ValueError):
        contract_v1.FiscalJob.model_validate(raw)  # a v1 edge refuses it rather than printing half of it
    assert post(api, shop, split_order("S-1")).status_code == 200, "replay"
    other = split_order("S-1", payments=[{**SPLIT[0], "amount": "6.00"}, {**SPLIT[1], "amount": "2.20"}])
    assert post(api, shop, other).json["code"] == "E_CONFLICT"
    assert wire(shop) == [], "the replay and the conflict queued nothing"


def test_a_plain_sale_still_reaches_a_v1_edge_in_v1s_exact_shape(api, shop):
    assert post(api, shop, demo_order("P-1")).status_code == 201
    one_cash_payment = split_order("P-2", payments=[{"payment_method_id": "cash", "amount": "8.20"}])
    assert post(api, shop, one_cash_payment).status_code == 201
    for raw in wire(shop):
        assert raw["v"] == 1 and "payments" not in raw and all("discount" not in line for line in raw["lines"])
        seen_by_v1_edge = contract_v1.FiscalJob.model_validate(raw)
        assert (seen_by_v1_edge.payment.method_id, seen_by_v1_edge.payment.amount) == ("cash", 820)


def test_line_and_order_discounts_spread_to_the_cent_and_vat_follows(api, shop):
    """3 x 0.33 (20 %) less 0.10 = 0.89, and 1.00 (9 %); 0.10 off the order pro rata: 10 x 89/189 = 4 rem 134,
    10 x 100/189 = 5 rem 55, the cent left over to line 1 (larger remainder): 0.05 + 0.05."""
    items = [{"name": "Sticker", "quantity": "3", "unit_price": "0.33", "vat_rate": "20", "discount": "0.10"},
             {"name": "Pin", "quantity": "1", "unit_price": "1.00", "vat_rate": "9"}]
    r = post(api, shop, demo_order("D-1", items=items, discount="0.10"))
    assert r.status_code == 201 and r.json["total"] == "1.79", r.body
    [raw] = wire(shop)
    job = FiscalJob.model_validate(raw)
    assert [(line.unit_price, line.discount, line.amount) for line in job.lines] == [(33, 15, 84), (100, 5, 95)]
    assert sum(line.amount for line in job.lines) == job.total == 179 and job.v == 2
    from chalicelib.orders.service import get_order

    stored = get_order(shop["shop_id"], "D-1")
    assert stored["vats"] == [{"rate": "9", "gross": 95, "vat": 8, "net": 87},
                              {"rate": "20", "gross": 84, "vat": 14, "net": 70}], "VAT on the lines after discounts"


@pytest.mark.parametrize("amounts, shares", [
    ((100, 100, 100), (34, 33, 33)),  # equal remainders: the earlier line takes the cent
    ((1, 1, 998), (0, 0, 100)),
    ((333, 333, 334), (33, 33, 34)),
])
def test_an_order_discount_adds_up_to_the_cent_by_largest_remainder(api, shop, amounts, shares):
    items = [{"name": f"L{i}", "quantity": "1", "unit_price": f"{a / 100:.2f}", "vat_rate": "20"}
             for i, a in enumerate(amounts)]
    assert post(api, shop, demo_order("D-2", items=items, discount="1.00")).status_code == 201
    [raw] = wire(shop)
    assert [line["discount"] for line in raw["lines"]] == list(shares)
    assert sum(line["amount"] for line in raw["lines"]) == raw["total"] == sum(amounts) - 100


def test_buyer_tax_id_from_the_order_or_the_catalogue_and_the_printer(api, shop, merchant):
    entry = {"name": "Firma OOD", "tax_id": "BG 123456789"}
    path = f"/api/v1/shops/{shop['shop_id']}/catalog/clients/firma"
    assert api.call("PUT", path, entry, merchant["auth"]).status_code == 200
    assert post(api, shop, demo_order("T-1", client_id="firma", printer="till-2")).status_code == 201
    assert post(api, shop, demo_order("T-2", client={"name": "Ana", "tax_id": "DE811907980"})).status_code == 201
    jobs = {job["order_id"]: job for job in wire(shop)}
    assert (jobs["T-1"]["buyer_tax_id"], jobs["T-1"]["printer"], jobs["T-1"]["v"]) == ("BG 123456789", "till-2", 2)
    assert (jobs["T-2"]["buyer_tax_id"], jobs["T-2"].get("printer")) == ("DE811907980", None)
    bad = api.call("PUT", path, {**entry, "tax_id": "<script>"}, merchant["auth"])
    assert bad.status_code == 400 and bad.json["code"] == "E_FAILED_SCHEMA_VALIDATION"


def test_a_refund_names_its_printed_original_on_the_job_the_order_and_the_ereceipt(api, shop, aws_env):
    assert post(api, shop, split_order("O-1")).status_code == 201
    refund = split_order("O-1R", is_refund=True, parent_order_id="O-1",
                         items=[{"item_id": "coffee", "quantity": "1"}],
                         payments=[{"payment_method_id": "cash", "amount": "3.50"}])
    r = post(api, shop, refund)
    assert r.status_code == 409 and r.json["code"] == "E_PARENT_NOT_FISCALIZED"
    fiscalize(api, shop, "O-1", "0000321", fiscal_memory_number="02345678", unique_sale_number="DT123456-0001-0000321")
    parent = get(api, shop, "O-1").json
    r = post(api, shop, refund)
    assert r.status_code == 201, r.body
    raw = [job for job in wire(shop) if job["order_id"] == "O-1R"][0]
    assert raw["v"] == 2 and raw["is_refund"] is True
    assert raw["original"] == {"order_id": "O-1", "total": 820, "fiscal": {
        "device": "SIM-1", "fiscal_number": "0000321", "printed_at": parent["fiscal"]["printed_at"],
        "fiscal_memory_number": "02345678", "unique_sale_number": "DT123456-0001-0000321"}}
    view = get(api, shop, "O-1R").json
    assert view["parent"] == {"order_id": "O-1", "fiscal": parent["fiscal"]}
    assert get(api, shop, "O-1").json["parent"] is None and get(api, shop, "O-1").json["refunded"] == "3.50"

    fiscalize(api, shop, "O-1R", "0000322")
    refunded = get(api, shop, "O-1R").json
    token = refunded["public_link"]["url"].rsplit("/", 1)[-1]
    head = api.call("GET", f"/r/{token}.json").json["schema"]["ekabs_v0"]["head"]
    assert head["is_refund"] is True
    assert head["refund_of"] == {"id": "O-1", "number": "0000321", "date": parent["fiscal"]["printed_at"],
                                 "url": parent["public_link"]["url"]}
    page = api.call("GET", f"/r/{token}").body.decode()
    assert f'Refund of receipt <a href="{parent["public_link"]["url"]}">0000321</a>' in page
    render_pending_pdfs(aws_env)
    key = f"receipts/{refunded['receipt_id']}.pdf"
    pdf = aws.client("s3").get_object(Bucket=aws_bucket(), Key=key)["Body"].read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Refund of receipt 0000321" in text and parent["public_link"]["url"][:30] in text


def test_the_sales_ereceipt_shows_split_tender_change_and_discounts(api, shop):
    body = split_order("E-1", discount="0.20", client={"name": "Ana", "tax_id": "BG123456789"},
                       payments=[{"payment_method_id": "cash", "amount": "5.00", "tendered": "20.00"},
                                 {"payment_method_id": "card", "amount": "3.00"}])
    assert post(api, shop, body).status_code == 201, "8.20 - 0.20"
    fiscalize(api, shop, "E-1")
    token = get(api, shop, "E-1").json["public_link"]["url"].rsplit("/", 1)[-1]
    data = api.call("GET", f"/r/{token}.json").json["schema"]["ekabs_v0"]["data"]
    assert data["payment_types"] == [{"name": "Cash", "type": "cash", "amount": "5.00", "tendered": "20.00"},
                                     {"name": "Card", "type": "card", "amount": "3.00"}]
    assert [(line["item"]["price_per_unit"], line["discount"], line["vat_amounts"][0]["incl_vat"])
            for line in data["lines"]] == [("3.50", "0.17", "6.83"), ("1.20", "0.03", "1.17")]
    page = api.call("GET", f"/r/{token}").body.decode()
    for expected in ("Paid by Cash</dt><dd>5.00", "Paid by Card</dt><dd>3.00", "Change</dt><dd>15.00",
                     "discount −0.17", "Buyer tax no. BG123456789"):
        assert expected in page, expected


def _payments(*entries) -> dict:
    return {"payments": [dict(zip(("payment_method_id", "amount", "tendered"), e)) for e in entries],
            "payment_method_id": None}


BAD_BODIES = [
    (_payments(("cash", "5.00"), ("card", "3.00")), 422, "E_PAYMENT_MISMATCH"),
    (_payments(("cash", "5.00"), ("card", "3.21")), 422, "E_PAYMENT_MISMATCH"),
    (_payments(("card", "8.20", "10.00")), 422, "E_TENDERED_INVALID"),
    (_payments(("cash", "8.20", "8.19")), 422, "E_TENDERED_INVALID"),
    (_payments(("bitcoin", "8.20")), 422, "E_UNKNOWN_REFERENCE"),
    (_payments(("cash", "0.00"), ("card", "8.20")), 400, "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(("cash", "-1.00"), ("card", "9.20")), 400, "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(("cash", "8.205")), 400, "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(("cash", 8.2)), 400, "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(("cash", "1e2")), 400, "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(*[("cash", "0.82")] * 10), 201, None),
    (_payments(*[("cash", "0.82")] * 9, ("cash", "0.41"), ("cash", "0.41")), 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"payments": [], "payment_method_id": None}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"payments": "cash", "payment_method_id": None}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"payments": [{"payment_method_id": "cash", "amount": "8.20", "extra": 1}], "payment_method_id": None}, 400,
     "E_FAILED_SCHEMA_VALIDATION"),
    (_payments(("cash", "8.20")) | {"payment_method_id": "cash"}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"payment_method_id": None}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"discount": "8.21"}, 422, "E_DISCOUNT_EXCEEDS_LINE"),
    ({"discount": "8.20"}, 400, "E_FAILED_SCHEMA_VALIDATION"),  # nothing left to pay: no fiscal receipt of zero
    ({"discount": "-0.01"}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"discount": "99999999999"}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"items": [{"item_id": "coffee", "quantity": "1", "discount": "3.51"}]}, 422, "E_DISCOUNT_EXCEEDS_LINE"),
    ({"items": [{"item_id": "coffee", "quantity": "1", "discount": "3.50"}, {"item_id": "tea", "quantity": "1"}],
      "payment_method_id": "card"}, 201, None),
    ({"items": [{"name": "Bit", "quantity": "0.005", "unit_price": "1.00", "vat_rate": "20", "discount": "0.01"}]},
     422, "E_DISCOUNT_EXCEEDS_LINE"),  # 0.005 x 1.00 rounds to 0.01 but is half a cent: no whole cent to take off
    ({"items": [{"item_id": "coffee", "quantity": "1", "discount": "x"}]}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"client": {"name": "Ana", "tax_id": "a" * 33}}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"client": {"name": "Ana", "tax_id": "BG\u0661\u0662"}}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"client": {"name": "Ana", "tax_id": ""}}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"printer": ""}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"printer": "p" * 65}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"printer": ["a"]}, 400, "E_FAILED_SCHEMA_VALIDATION"),
    ({"is_refund": True, "parent_order_id": "NOPE"}, 422, "E_UNKNOWN_REFERENCE"),
    ({"is_refund": True}, 400, "E_FAILED_SCHEMA_VALIDATION"),
]


@pytest.mark.parametrize("overrides, status, code", BAD_BODIES)
def test_bad_input_is_a_typed_4xx_and_records_nothing(api, shop, aws_env, overrides, status, code):
    body = {k: v for k, v in {**demo_order("BAD-1"), **overrides}.items() if v is not None}
    r = post(api, shop, body)
    assert r.status_code == status, r.body
    if status == 201:
        assert get(api, shop, "BAD-1").status_code == 200
        return
    assert r.json["code"] == code, r.body
    assert get(api, shop, "BAD-1").json["code"] == "E_ORDER_NOT_FOUND"
    assert queue_messages(shop["queue_url"]) == [] and queue_messages(aws_env["webhooks.fifo"]) == []


def test_a_refund_of_a_split_sale_with_discounts_is_bounded_by_what_was_paid(api, shop, aws_calls):
    """The refund-exceeds-parent check is unchanged: the parent's total after discounts bounds its refunds;
    a refund's intake still costs the parent's read and the transaction (the stream dispatches it)."""
    paid = [{**SPLIT[0]}, {**SPLIT[1], "amount": "2.20"}]
    assert post(api, shop, split_order("B-1", discount="1.00", payments=paid)).status_code == 201  # 7.20
    fiscalize(api, shop, "B-1")
    back = {"name": "Back", "quantity": "1", "unit_price": "7.21", "vat_rate": "20"}
    too_much = demo_order("B-1R", is_refund=True, parent_order_id="B-1", items=[back])
    assert post(api, shop, too_much).json["code"] == "E_REFUND_EXCEEDS_PARENT"
    aws_calls.clear()
    exact = demo_order("B-1R", is_refund=True, parent_order_id="B-1", items=[{**back, "unit_price": "8.20"}],
                       discount="1.00")
    assert post(api, shop, exact).status_code == 201
    assert aws_calls == ["dynamodb.GetItem", "dynamodb.TransactWriteItems"]
    assert get(api, shop, "B-1").json["refunded"] == "7.20"
    assert Decimal(get(api, shop, "B-1R").json["total"]) == Decimal("7.20")
