"""Job contract v2 (issue 18): what every kind of sale needs, while an edge still on v1 keeps printing plain sales."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
)
from tests import contract_v1

BASE = {"job_id": "j-1", "shop_id": "s-1", "order_id": "o-1", "order_internal_id": "i-1", "created_at": 1796600000,
        "operator": "demo-cashier"}
TEA = JobLine(name="Tea", quantity=Decimal(2), unit_price=280, vat_rate=Decimal(20), amount=560)


def cash(amount: int, **extra) -> JobPayment:
    return JobPayment(type=PaymentType.CASH, method_id="cash", amount=amount, **extra)


def card(amount: int) -> JobPayment:
    return JobPayment(type=PaymentType.CARD, method_id="card", amount=amount)


def test_a_v1_job_in_flight_is_a_valid_job_for_an_upgraded_edge():
    queued_by_a_v1_cloud = contract_v1.FiscalJob(**BASE, lines=[contract_v1.JobLine(**TEA.model_dump(exclude={"discount"}))],
                                                 payment=contract_v1.JobPayment(type="cash", method_id="cash", amount=560),
                                                 total=560).model_dump_json()
    job = FiscalJob.model_validate_json(queued_by_a_v1_cloud)
    assert job.v == 1 and [p.amount for p in job.tender] == [560] and not job.needs_version_2


def test_a_plain_sale_is_written_in_the_v1_shape_a_v1_edge_parses():
    job = FiscalJob(v=2, **BASE, lines=[TEA], payments=[cash(560)], total=560)
    on_the_queue = job.wire_json()
    assert json.loads(on_the_queue)["v"] == 1
    seen_by_v1_edge = contract_v1.FiscalJob.model_validate_json(on_the_queue)
    assert seen_by_v1_edge.payment.amount == 560 and seen_by_v1_edge.lines[0].amount == 560
    assert FiscalJob.model_validate_json(on_the_queue).tender == job.tender


@pytest.mark.parametrize("feature", ["split", "tendered", "discount", "tax_id", "refund", "printer"])
def test_every_v2_feature_goes_out_as_v2_which_a_v1_edge_refuses_rather_than_misprints(feature):
    fields: dict = {"lines": [TEA], "payments": [cash(560)], "total": 560}
    if feature == "split":
        fields["payments"] = [cash(200), card(360)]
    elif feature == "tendered":
        fields["payments"] = [cash(560, tendered=1000)]
    elif feature == "discount":
        fields.update(lines=[TEA.model_copy(update={"discount": 60, "amount": 500})], payments=[cash(500)], total=500)
    elif feature == "tax_id":
        fields["buyer_tax_id"] = "BG123456789"
    elif feature == "refund":
        fields.update(is_refund=True, original=OriginalReceipt(order_id="o-0", total=560, fiscal=FiscalRecord(
            device="DATECS:DT000600", fiscal_number="0000042", printed_at=1796500000, fiscal_memory_number="02000600",
            unique_sale_number="DT000600-0001-0000042")))
    else:
        fields["printer"] = "Front"
    wire = FiscalJob(v=2, **BASE, **fields).wire_json()
    assert json.loads(wire)["v"] == 2
    assert FiscalJob.model_validate_json(wire).needs_version_2
    with pytest.raises(ValidationError):
        contract_v1.FiscalJob.model_validate_json(wire)


@pytest.mark.parametrize(("fields", "words"), [
    ({"payments": [cash(200), card(300)]}, "must equal total"),
    ({"payments": [card(560)], "payment": cash(560)}, "one of them"),
    ({"payments": [JobPayment(type=PaymentType.CARD, method_id="card", amount=560)], "v": 1}, "need v 2"),
    ({"is_refund": True}, "names its original"),
    ({"lines": [TEA.model_copy(update={"discount": 600, "amount": 0})], "payments": [cash(0)], "total": 0}, "more than the line"),
])
def test_inconsistent_jobs_are_refused(fields, words):
    body = {"v": 2, **BASE, "lines": [TEA], "payments": [cash(560)], "total": 560, **fields}
    with pytest.raises(ValidationError, match=words):
        FiscalJob(**body)


def test_tendered_is_cash_only_and_covers_the_payment():
    with pytest.raises(ValidationError):
        JobPayment(type=PaymentType.CARD, method_id="card", amount=100, tendered=100)
    with pytest.raises(ValidationError):
        cash(500, tendered=400)
