"""The till keeps selling offline (issue 20 point 1, DESIGN §5): ``POST /manage/sales`` prints at once with or
without internet, journals the sale and uploads it exactly once when the link is back. Everything through the
edge's public surface: its management API, the register's own record of receipts, the fake cloud's records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from edge_harness import EdgeProcess, Stack, open_stack, wait_for

from chalicelib.contracts import TillSale
from edge.faults import CRASH_EXIT_CODE, TILL_CRASHPOINTS
from edge.journal import Journal
from edge.tillsales.model import job_id_of


def sale(order_id: str, **changes: Any) -> dict[str, Any]:
    """Three coffees (3.50) with 0.50 off and a tea (2.80), 5.00 cash (10.00 tendered) and the rest by card: 12.80."""
    body: dict[str, Any] = {
        "order_id": order_id,
        "user_id": "demo-cashier",
        "payments": [{"payment_method_id": "cash", "amount": "5.00", "tendered": "10.00"},
                     {"payment_method_id": "card", "amount": "7.80"}],
        "items": [{"name": "Coffee", "quantity": "3", "unit_price": "3.50", "vat_rate": "20", "discount": "0.50"},
                  {"name": "Tea", "quantity": "1", "unit_price": "2.80", "vat_rate": "20"}],
    }
    body.update(changes)
    return body


def start_offline(stack: Stack, **kwargs: Any) -> EdgeProcess:
    """An edge whose cloud may be out of reach: ready once its management API answers (no EDGE READY needed)."""
    edge = stack.start_edge(ready=False, **kwargs)

    def listening() -> bool:
        if edge.proc.poll() is not None:
            raise AssertionError(f"edge exited with {edge.proc.returncode}:\n{edge.stderr_text()}")
        try:
            return httpx.get(f"{stack.manage_url}/status", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(listening, 30, what="management API")
    return edge


def pending(stack: Stack) -> int:
    return int(stack.manage("status").json()["sales"]["pending"])


def sale_state(stack: Stack, order_id: str) -> str | None:
    journal = Journal(stack.state_dir / "journal.sqlite", readonly=True)
    try:
        row = journal.sale(order_id)
    finally:
        journal.close()
    return row.state.value if row else None


def uploaded(stack: Stack, order_id: str) -> bool:
    return order_id in stack.cloud.sales and sale_state(stack, order_id) == "uploaded"


def test_offline_sales_print_at_once_and_upload_once_when_the_link_is_back(stack: Stack) -> None:
    stack.cloud.mode = "503"
    start_offline(stack)
    replies = [stack.manage("sales", sale(f"T-{i}")) for i in range(5)]
    assert [r.status_code for r in replies] == [200] * 5, [r.text for r in replies]
    reply = replies[0].json()
    assert reply["success"] is True and reply["message"] == "Sale printed" and reply["order_id"] == "T-0"
    assert set(reply["fiscal"]) >= {"device", "fiscal_number", "printed_at"}
    assert [stack.receipts_for(job_id_of(f"T-{i}")) for i in range(5)] == [1] * 5, "printed at once, offline"
    receipt = stack.register().receipts_for_sale(job_id_of("T-0"))[0]
    assert receipt.total == 1280 and str(receipt.number).endswith(reply["fiscal"]["fiscal_number"].lstrip("0"))
    assert stack.cloud.sales == {} and pending(stack) == 5, "the backlog grows while the cloud is out of reach"
    stack.cloud.mode = None
    wait_for(lambda: all(uploaded(stack, f"T-{i}") for i in range(5)), 30, what="the backlog uploaded")
    assert sorted(stack.cloud.sale_posts) == [f"T-{i}" for i in range(5)], "each sale uploaded exactly once"
    assert pending(stack) == 0
    first = TillSale.model_validate_json(stack.cloud.sales["T-0"])
    assert first.receipt.shop_id == "shop-1" and first.fiscal.fiscal_number == reply["fiscal"]["fiscal_number"]
    assert [(line.name, line.amount, line.discount) for line in first.receipt.lines] == [("Coffee", 1000, 50), ("Tea", 280, 0)]
    assert [(p.method_id, p.type.value, p.amount, p.tendered) for p in first.receipt.tender] == [
        ("cash", "cash", 500, 1000), ("card", "card", 780, None)]


def test_the_same_sale_again_prints_nothing_and_another_body_is_a_409(stack: Stack) -> None:
    start_offline(stack)
    first = stack.manage("sales", sale("T-10"))
    again = stack.manage("sales", sale("T-10", items=[{"name": "Coffee", "quantity": "3.000", "unit_price": "3.5",
                                                        "vat_rate": "20.0", "discount": "0.5"},
                                                       {"name": "Tea", "quantity": "1", "unit_price": "2.80", "vat_rate": "20"}]))
    assert first.status_code == again.status_code == 200
    assert again.json()["fiscal"] == first.json()["fiscal"] and again.json()["message"] == "Sale already printed"
    other = stack.manage("sales", sale("T-10", user_id="someone-else"))
    assert other.status_code == 409 and other.json()["code"] == "E_CONFLICT"
    assert stack.receipts_for(job_id_of("T-10")) == 1
    wait_for(lambda: uploaded(stack, "T-10"), 20, what="upload")
    assert stack.cloud.sale_posts == ["T-10"]


def test_a_sale_needs_the_local_token_and_loopback(stack: Stack) -> None:
    start_offline(stack)
    url = f"{stack.manage_url}/sales"
    no_token = httpx.post(url, json=sale("T-20"), timeout=10)
    assert no_token.status_code == 401 and no_token.json()["code"] == "E_LOCAL_TOKEN_REQUIRED"
    foreign = httpx.post(url, json=sale("T-20"), timeout=10, headers={**stack.token_header(), "Origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "E_FORBIDDEN_ORIGIN"
    assert stack.receipts_for(job_id_of("T-20")) == 0 and sale_state(stack, "T-20") is None


@pytest.mark.parametrize(("changes", "status", "code"), [
    ({"items": [{"name": "Coffee", "quantity": "1", "unit_price": 3.5, "vat_rate": "20"}]}, 400, "E_BAD_REQUEST"),
    ({"items": [{"item_id": "coffee", "quantity": "1"}]}, 400, "E_BAD_REQUEST"),
    ({"payments": None, "payment_method_id": "voucher"}, 422, "E_PAYMENT_TYPE_UNKNOWN"),
    ({"payments": [{"payment_method_id": "cash", "amount": "1.00"}]}, 422, "E_PAYMENT_MISMATCH"),
    ({"payments": [{"payment_method_id": "card", "amount": "12.80", "tendered": "20.00"}]}, 422, "E_TENDERED_INVALID"),
    ({"items": [{"name": "Coffee", "quantity": "1", "unit_price": "3.50", "vat_rate": "20", "discount": "4"}]}, 422,
     "E_DISCOUNT_EXCEEDS_LINE"),
    ({"printer": "kitchen"}, 422, "E_UNKNOWN_PRINTER"),
    ({"order_id": "a b"}, 400, "E_BAD_REQUEST"),
])
def test_a_sale_no_device_could_print_is_refused_before_anything_prints(stack: Stack, changes: dict[str, Any],
                                                                         status: int, code: str) -> None:
    start_offline(stack)
    r = stack.manage("sales", {**sale("T-30"), **changes})
    assert r.status_code == status and r.json()["code"] == code and r.json()["success"] is False, r.text
    assert stack.receipts_for(job_id_of("T-30")) == 0 and sale_state(stack, "T-30") is None


def test_a_voucher_with_its_type_prints(stack: Stack) -> None:
    start_offline(stack)
    r = stack.manage("sales", sale("T-31", payments=None, payment_method_id="voucher", payment_type="other"))
    assert r.status_code == 200, r.text
    wait_for(lambda: uploaded(stack, "T-31"), 20, what="upload")
    assert TillSale.model_validate_json(stack.cloud.sales["T-31"]).receipt.tender[0].type.value == "other"


def test_paper_out_prints_nothing_and_the_same_sale_prints_once_paper_is_back(stack: Stack) -> None:
    start_offline(stack)
    assert stack.manage("simulator/set_faults", {"paper_out": True}).status_code == 200
    refused = stack.manage("sales", sale("T-40"))
    assert refused.status_code in (409, 503) and refused.json()["success"] is False
    assert stack.receipts_for(job_id_of("T-40")) == 0 and sale_state(stack, "T-40") == "failed" and pending(stack) == 0
    stack.manage("simulator/set_faults", {"paper_out": False})
    assert stack.manage("sales", sale("T-40")).status_code == 200
    wait_for(lambda: uploaded(stack, "T-40"), 20, what="upload")
    assert stack.receipts_for(job_id_of("T-40")) == 1 and stack.cloud.sale_posts == ["T-40"]


def test_a_sale_the_cloud_refuses_for_good_stays_in_the_journal(stack: Stack) -> None:
    stack.cloud.sales["T-50"] = b"a web order under the same id"
    start_offline(stack)
    assert stack.manage("sales", sale("T-50")).status_code == 200
    wait_for(lambda: sale_state(stack, "T-50") == "rejected", 20, what="rejected")
    assert stack.receipts_for(job_id_of("T-50")) == 1 and pending(stack) == 0
    assert stack.manage("status").json()["sales"]["counts"]["rejected"] == 1


# -- a crash between every two steps --------------------------------------------------------------------------

# Crash points reached while the cashier's request is under way (the request dies with the edge) and those of the
# background upload; ``during_device_call`` is the register's own: hit 1 opens the receipt, hit 5 closes it.
CRASHES = (*TILL_CRASHPOINTS, "during_device_call", "during_device_call:5")


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, Stack]]:
    """Each crash point in its own world, side by side: an edge armed to die there takes one sale, dies, and a plain
    edge restarts; the cashier then sends the same sale again (whether or not a receipt came out)."""
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point.replace(":", "-"))) for point in CRASHES}
    try:
        armed = {point: start_offline(stack, crash_at=point) for point, stack in stacks.items()}
        for point, stack in stacks.items():
            try:
                stack.manage("sales", sale("T-C"))
            except httpx.HTTPError:
                pass  # the edge died under the request
        codes = {point: edge.wait_exit() for point, edge in armed.items()}
        for point, stack in stacks.items():
            assert codes[point] == CRASH_EXIT_CODE, f"{point}: {codes[point]}"
            start_offline(stack)
        for stack in stacks.values():
            wait_for(lambda stack=stack: sale_state(stack, "T-C") not in ("received", "printing"), 30, what="settled")
        for stack in stacks.values():
            retried = stack.manage("sales", sale("T-C"))
            assert retried.status_code == 200, retried.text
        yield stacks
    finally:
        for stack in stacks.values():
            stack.close()


@pytest.mark.parametrize("point", CRASHES)
def test_a_crash_between_any_two_steps_never_prints_twice_nor_records_twice(crashed: dict[str, Stack], point: str) -> None:
    stack = crashed[point]
    wait_for(lambda: uploaded(stack, "T-C"), 30, what="upload after the crash")
    assert stack.receipts_for(job_id_of("T-C")) == 1, "exactly one receipt on the device"
    assert list(stack.cloud.sales) == ["T-C"] and stack.cloud.sale_posts.count("T-C") in (1, 2)
    if point != "till_after_upload":
        assert stack.cloud.sale_posts == ["T-C"], "uploaded once"
    assert json.loads(stack.cloud.sales["T-C"])["fiscal"]["fiscal_number"] == stack.manage("sales", sale("T-C")).json()["fiscal"]["fiscal_number"]
