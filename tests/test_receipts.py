"""The eReceipt API (DESIGN §4.1, fiskaly parity) through the HTTP surface, on moto."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from chalicelib.auth.merchants import create_merchant
from chalicelib.aws import clients as aws
from chalicelib.core import clock
from tests.conftest import Api, queue_messages
from tests.receipt_samples import receipt_body, spoiled

RESOURCE_FIELDS = {"_id", "_type", "_env", "_version", "schema", "user_association", "metadata", "public_link", "assets"}


def put(api: Api, merchant: dict[str, Any], body: dict[str, Any], receipt_id: str | None = None) -> Any:
    return api.call("PUT", f"/api/v1/receipts/{receipt_id or uuid.uuid4()}", body, merchant["auth"])


def token_of(resource: dict[str, Any]) -> str:
    return resource["public_link"]["url"].rsplit("/", 1)[-1]


def render_pending_pdfs(aws_env: dict[str, str]) -> int:
    from app import render_pdfs
    from devstack.pump import sqs_event

    messages = queue_messages(aws_env["pdfs"])
    if messages:
        render_pdfs(sqs_event(messages, "arn:aws:sqs:eu-central-1:123456789012:pdfs", "eu-central-1"), None)
    return len(messages)


@pytest.fixture
def other_merchant(api: Api) -> dict[str, Any]:
    creds = create_merchant("Other merchant")
    token = api.call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]}).json
    return {**creds, "auth": {"authorization": f"Bearer {token['access_token']}"}}


def test_put_creates_the_resource_of_the_seed(api, merchant, aws_env, aws_calls):
    receipt_id = str(uuid.uuid4())
    aws_calls.clear()
    r = put(api, merchant, receipt_body(), receipt_id)
    assert r.status_code == 200, r.body
    assert aws_calls == ["dynamodb.PutItem", "sqs.GetQueueUrl", "sqs.SendMessage"]
    body = r.json
    assert set(body) == RESOURCE_FIELDS
    assert (body["_id"], body["_type"], body["_env"], body["_version"]) == (receipt_id, "RECEIPT", "TEST", "1.0.0")
    assert body["schema"] == receipt_body()["schema"], "the schema comes back exactly as sent"
    assert body["metadata"] == {"till": "1"} and body["user_association"] == {"customer_id": "C-77"}
    assert body["assets"] == {"pdf": {"url": None}}
    assert body["public_link"]["expires_at"] - clock.now() in range(90 * 86400 - 5, 90 * 86400 + 1)
    assert len(token_of(body)) == 44, "16 bytes of id and 17 random bytes (136 bits), base64url"
    [work] = [json.loads(m["Body"]) for m in queue_messages(aws_env["pdfs"])]
    assert work["receipt_id"] == receipt_id and work["record"]["schema"] == body["schema"], "rendering needs no read"


def test_pdf_work_without_the_record_reads_it(api, merchant, aws_env):
    """A receipt too large to travel inline (or work queued by an earlier version) is read before rendering."""
    from app import render_pdfs
    from devstack.pump import sqs_event

    receipt_id = str(uuid.uuid4())
    created = put(api, merchant, receipt_body(), receipt_id).json
    message = {"MessageId": "m-1", "ReceiptHandle": "h-1", "Body": json.dumps({"receipt_id": receipt_id}),
               "Attributes": {}, "MessageAttributes": {}, "MD5OfBody": ""}
    render_pdfs(sqs_event([message], "arn:aws:sqs:eu-central-1:123456789012:pdfs", "eu-central-1"), None)
    assert api.call("GET", f"/r/{token_of(created)}.pdf").status_code == 302


def test_same_put_returns_same_resource_and_different_body_conflicts(api, merchant, aws_calls):
    receipt_id = str(uuid.uuid4())
    first = put(api, merchant, receipt_body(), receipt_id).json
    aws_calls.clear()
    again = put(api, merchant, receipt_body(), receipt_id)
    assert again.status_code == 200 and again.json == first
    assert aws_calls[0] == "dynamodb.PutItem" and "dynamodb.GetItem" not in aws_calls, "the old item comes back with the failed condition"
    changed = put(api, merchant, receipt_body(metadata={"till": "2"}), receipt_id)
    assert changed.status_code == 409 and changed.json["code"] == "E_CONFLICT"


def test_put_chooses_public_link_expiry_and_refuses_past(api, merchant):
    at = clock.now() + 3600
    r = put(api, merchant, receipt_body(public_link={"expires_at": at}))
    assert r.status_code == 200 and r.json["public_link"]["expires_at"] == at
    past = put(api, merchant, receipt_body(public_link={"expires_at": clock.now() - 1}))
    assert past.status_code == 400 and past.json["code"] == "E_FAILED_SCHEMA_VALIDATION"


@pytest.mark.parametrize("receipt_id", ["not-a-uuid", str(uuid.uuid1()), "1c81cb86-c2e8-4074-afc3-a0601b2bf06"])
def test_receipt_id_must_be_uuid4(api, merchant, receipt_id):
    for method in ("PUT", "GET"):
        r = api.call(method, f"/api/v1/receipts/{receipt_id}", receipt_body() if method == "PUT" else None, merchant["auth"])
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (method, r.body)


@pytest.mark.parametrize("metadata, ok", [
    ({f"k{i}": "v" for i in range(20)}, True),
    ({f"k{i}": "v" for i in range(21)}, False),
    ({"k" * 40: "v"}, True),
    ({"k" * 41: "v"}, False),
    ({"k": "v" * 500}, True),
    ({"k": "v" * 501}, False),
    ({"k": 5}, False),
])
def test_metadata_limits(api, merchant, metadata, ok):
    r = put(api, merchant, receipt_body(metadata=metadata))
    assert r.status_code == (200 if ok else 400), r.body
    if not ok:
        assert r.json["code"] == "E_FAILED_SCHEMA_VALIDATION"


@pytest.mark.parametrize("path, value, words", [
    ("data.full_amount_incl_vat", "9.91", "not full_amount_incl_vat"),
    ("data.lines.0.vat_amounts.0.incl_vat", "7.01", "quantity x price_per_unit"),
    ("data.payment_types.0.amount", "9.00", "payment_types add up"),
    ("data.vat_amounts.0.vat", "1.50", "excl_vat + vat"),
    ("data.vat_amounts.1.percentage", "10", "no row for 7%"),
    ("data.full_amount_incl_vat", 9.9, "decimal string"),
    ("data.lines.0.item.quantity", "0", "greater than 0"),
    ("data.currency", "euro", "pattern"),
    ("head.seller", {"name": "x", "iban": "DE00"}, "Extra inputs"),
    ("head.date", "yesterday", "valid integer"),
    ("data.lines.0.discount", "0.50", "quantity x price_per_unit - discount"),
    ("data.payment_types.0.tendered", "10.00", "only a cash payment has a tendered amount"),
    ("head.refund_of", {"id": "SALE-1000", "number": "1000", "date": 1764000000}, "only for a refund"),
])
def test_schema_must_be_valid_and_add_up(api, merchant, path, value, words):
    r = put(api, merchant, spoiled(path, value))
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.body
    assert words in r.json["message"]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://x/\"onmouseover=alert(1)", "data:text/html,x", "//evil"])
def test_a_refunds_link_to_its_original_is_a_web_link_only(api, merchant, url):
    original = {"id": "SALE-1000", "number": "1000", "date": 1764000000, "url": url}
    body = spoiled("head.refund_of", original)
    body["schema"]["ekabs_v0"]["head"]["is_refund"] = True
    r = put(api, merchant, body)
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.body


def test_a_refund_put_by_the_merchant_links_to_its_original(api, merchant):
    original = {"id": "SALE-1000", "number": "1000", "date": 1764000000, "url": "https://receipts.example/r/abc"}
    body = spoiled("head.refund_of", original)
    body["schema"]["ekabs_v0"]["head"]["is_refund"] = True
    created = put(api, merchant, body)
    assert created.status_code == 200, created.body
    page = api.call("GET", f"/r/{token_of(created.json)}").body.decode()
    assert 'Refund of receipt <a href="https://receipts.example/r/abc">1000</a>' in page


def test_merchant_get_and_tenant_isolation(api, merchant, other_merchant):
    receipt_id = str(uuid.uuid4())
    created = put(api, merchant, receipt_body(), receipt_id).json
    mine = api.call("GET", f"/api/v1/receipts/{receipt_id}", headers=merchant["auth"])
    assert mine.status_code == 200 and mine.json == created
    theirs = api.call("GET", f"/api/v1/receipts/{receipt_id}", headers=other_merchant["auth"])
    assert theirs.status_code == 404 and theirs.json["code"] == "E_RECEIPT_NOT_FOUND"
    taken = put(api, other_merchant, receipt_body(), receipt_id)
    assert taken.status_code == 409, "another merchant cannot overwrite or read it through PUT"
    assert api.call("GET", "/api/v1/receipts", headers=other_merchant["auth"]).json["count"] == 0


def test_list_orders_pages_and_counts(api, merchant, monkeypatch):
    ids = []
    for i in range(5):
        receipt_id = str(uuid.uuid4())
        monkeypatch.setattr(clock, "now_ms", lambda i=i: 1_764_000_000_000 + i)
        assert put(api, merchant, receipt_body(), receipt_id).status_code == 200
        ids.append(receipt_id)

    def listed(query: str) -> dict[str, Any]:
        r = api.call("GET", f"/api/v1/receipts{query}", headers=merchant["auth"])
        assert r.status_code == 200, r.body
        return r.json

    everything = listed("")
    assert (everything["_type"], everything["_env"], everything["_version"]) == ("RECEIPT_LIST", "TEST", "1.0.0")
    assert [d["_id"] for d in everything["data"]] == ids and everything["count"] == 5
    assert [d["_id"] for d in listed("?order=DESC")["data"]] == ids[::-1]
    page = listed("?order=ASC&limit=2&offset=1")
    assert [d["_id"] for d in page["data"]] == ids[1:3] and page["count"] == 2
    assert listed("?offset=5")["data"] == []
    for bad in ("?limit=101", "?limit=0", "?offset=-1", "?order=UP", "?limit=abc", "?colour=red"):
        r = api.call("GET", f"/api/v1/receipts{bad}", headers=merchant["auth"])
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", bad


def test_public_page_json_and_pdf(api, merchant, aws_env):
    created = put(api, merchant, receipt_body()).json
    token = token_of(created)
    page = api.call("GET", f"/r/{token}")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    for expected in ("Café Lumière", "Flat white", "Croissant", "9.90 EUR", "0004711", "<svg", "PDF is being prepared"):
        assert expected in text, expected
    public = api.call("GET", f"/r/{token}.json")
    assert public.status_code == 200
    assert set(public.json) == {"_id", "_type", "_version", "schema", "assets"}
    missing = api.call("GET", f"/r/{token}.pdf")
    assert missing.status_code == 404 and missing.json["code"] == "E_PDF_LINK_MISSING"

    assert render_pending_pdfs(aws_env) == 1
    assert f'href="{created["public_link"]["url"]}.pdf"' in api.call("GET", f"/r/{token}").body.decode()
    merchant_view = api.call("GET", f"/api/v1/receipts/{created['_id']}", headers=merchant["auth"]).json
    assert merchant_view["assets"]["pdf"]["url"] == created["public_link"]["url"] + ".pdf"
    pdf = api.call("GET", f"/r/{token}.pdf")
    assert pdf.status_code == 302 and "X-Amz-Signature=" in pdf.headers["Location"]
    stored = aws.client("s3").list_objects_v2(Bucket=aws_bucket())["Contents"]
    body = aws.client("s3").get_object(Bucket=aws_bucket(), Key=stored[0]["Key"])["Body"].read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    for expected in ("Café Lumière", "Flat white", "Croissant", "9.90", "0004711", "19%"):
        assert expected in text, expected


def aws_bucket() -> str:
    from chalicelib.core import resource_names as names
    from chalicelib.core.settings import settings

    return settings().bucket(names.PDF_BUCKET)


def test_public_link_expires_but_merchant_get_works(api, merchant, aws_env, monkeypatch):
    created = put(api, merchant, receipt_body(public_link={"expires_at": clock.now() + 60})).json
    render_pending_pdfs(aws_env)
    token = token_of(created)
    assert api.call("GET", f"/r/{token}.pdf").status_code == 302
    later = clock.now() + 61
    monkeypatch.setattr(clock, "now", lambda: later)
    for suffix in ("", ".json", ".pdf"):
        r = api.call("GET", f"/r/{token}{suffix}")
        assert r.status_code == 401 and r.json["code"] == "E_PUBLIC_ACCESS_EXPIRED", suffix
    assert api.call("GET", f"/api/v1/receipts/{created['_id']}", headers=merchant["auth"]).status_code == 200


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # right receipt, wrong secret
    lambda t: t[:10],
    lambda t: "!" * 44,
    lambda t: "A" * 44,
])
def test_wrong_tokens_are_not_found(api, merchant, mangle):
    token = token_of(put(api, merchant, receipt_body()).json)
    for suffix in ("", ".json", ".pdf"):
        r = api.call("GET", f"/r/{mangle(token)}{suffix}")
        assert r.status_code == 404 and r.json["code"] == "E_RECEIPT_NOT_FOUND", suffix


def test_receipt_routes_need_a_valid_access_token(api, merchant):
    for method, path in (("PUT", f"/api/v1/receipts/{uuid.uuid4()}"), ("GET", f"/api/v1/receipts/{uuid.uuid4()}"),
                         ("GET", "/api/v1/receipts")):
        r = api.call(method, path, receipt_body() if method == "PUT" else None)
        assert r.status_code == 401 and r.json["code"] == "E_AUTHENTICATION"


def test_terminated_order_gets_its_ereceipt_through_the_same_api(api, merchant, shop, aws_env):
    from tests.test_edge_results import open_session, printed, report, take_job

    job = take_job(api, shop, "R-1")
    report(api, open_session(api, shop), printed(job, "0000777"))
    order = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/orders/R-1", headers=merchant["auth"]).json
    receipt = api.call("GET", f"/api/v1/receipts/{order['receipt_id']}", headers=merchant["auth"])
    assert receipt.status_code == 200
    ekabs = receipt.json["schema"]["ekabs_v0"]
    assert ekabs["head"]["seller"]["name"] == "Demo shop" and ekabs["security"]["fiscal_number"] == "0000777"
    assert ekabs["data"]["full_amount_incl_vat"] == order["total"]
    assert receipt.json["public_link"] == order["public_link"]
    listed = api.call("GET", "/api/v1/receipts", headers=merchant["auth"]).json
    assert [d["_id"] for d in listed["data"]] == [order["receipt_id"]]
    assert render_pending_pdfs(aws_env) == 0, "its PDF was stored with it"
    pdf = api.call("GET", f"/r/{token_of(receipt.json)}.pdf")
    assert pdf.status_code == 302


def test_pdf_prints_any_script_on_one_till_roll_page(api, merchant, aws_env):
    body = spoiled("head.seller", {"name": "Кафе „Ловеч“ — Çay evi şəki"})
    many = [{"text": f"Артикул {i} с доста дълго име, което се пренася на втори ред", "item": {"quantity": "1", "price_per_unit": "0.10"},
             "vat_amounts": [{"percentage": "20", "incl_vat": "0.10"}]} for i in range(60)]
    data = body["schema"]["ekabs_v0"]["data"]
    data.update(lines=many, full_amount_incl_vat="6.00",
                vat_amounts=[{"percentage": "20", "incl_vat": "6.00", "excl_vat": "5.00", "vat": "1.00"}],
                payment_types=[{"name": "Брой", "type": "cash", "amount": "6.00"}])
    created = put(api, merchant, body)
    assert created.status_code == 200, created.body
    render_pending_pdfs(aws_env)
    key = aws.client("s3").list_objects_v2(Bucket=aws_bucket())["Contents"][0]["Key"]
    reader = PdfReader(io.BytesIO(aws.client("s3").get_object(Bucket=aws_bucket(), Key=key)["Body"].read()))
    assert len(reader.pages) == 1, "one till roll, however long"
    text = reader.pages[0].extract_text()
    assert "Кафе „Ловеч“ — Çay evi şəki" in text and "Артикул 59" in text and "Брой" in text


def test_public_answers_cannot_be_framed_scripted_cached_or_sniffed(api, merchant):
    token = token_of(put(api, merchant, receipt_body()).json)
    page = api.call("GET", f"/r/{token}")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy and "script-src" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    for answer in (page, api.call("GET", f"/r/{token}.json"), api.call("GET", f"/r/{token}.pdf")):
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
