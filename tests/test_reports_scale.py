"""A sales day too large for a response: the API answers 303 to a short-lived S3 link, whose file is the inline one.

The inline limit is a setting (``BRIDGE_REPORT_INLINE_BYTES``, 4 MB deployed), so a 2,000-line day proves here
what a 50,000-line day does in production.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from chalicelib.core.settings import settings
from devstack.stack import DEMO_CATALOG
from tests.test_edge_results import fiscalize
from tests.test_reports import from_csv, from_html, from_pdf, from_xlsx, from_xml, utc

DAY = "2026-03-29"
ORDERS, LINES_EACH = 40, 50
FORMATS = ("html", "csv", "xml", "json", "xlsx", "pdf")


def price(order: int, line: int) -> Decimal:
    return Decimal(f"{1 + (order * 7 + line) % 13}.{(order * 31 + line * 17) % 100:02d}")


@pytest.fixture
def busy_day(api, merchant) -> dict:
    """40 orders of 50 lines (cash and card, VAT 9 % and 20 %) and a refund of the first one's first line."""
    shop = api.call("POST", "/api/v1/shops", {"name": "Busy <Kiosk>", "timezone": "UTC"}, merchant["auth"]).json
    for kind, entry_id, entry in DEMO_CATALOG:
        api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}/{entry_id}", entry, merchant["auth"])
    for order in range(ORDERS):
        items = [{"name": f"Item {order}-{line}", "quantity": str(1 + line % 3), "unit_price": str(price(order, line)),
                  "vat_rate": "9" if line % 2 else "20"} for line in range(LINES_EACH)]
        r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders",
                     {"order_id": f"O{order:03d}", "payment_method_id": "card" if order % 3 else "cash",
                      "delivery_method_id": "pickup", "user_id": "demo-cashier", "items": items,
                      "date": utc("2026-03-29T08:00:00") + order * 60}, {"x-shop-key": shop["shop_key"]})
        assert r.status_code == 201, r.body
    fiscalize(api, shop, "O000")
    refund = {"order_id": "O000-R", "payment_method_id": "cash", "delivery_method_id": "pickup",
              "user_id": "demo-cashier", "is_refund": True, "parent_order_id": "O000", "date": utc("2026-03-29T20:00:00"),
              "items": [{"name": "Item 0-0", "quantity": "1", "unit_price": str(price(0, 0)), "vat_rate": "20"}]}
    assert api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", refund,
                    {"x-shop-key": shop["shop_key"]}).status_code == 201
    return shop


def expected_sales() -> Decimal:
    return sum((price(o, l) * (1 + l % 3) for o in range(ORDERS) for l in range(LINES_EACH)), Decimal("0"))


def fetch(api, shop, merchant, fmt: str, day: str = DAY):
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/reports/sales?date={day}&format={fmt}",
                    headers={**merchant["auth"], "accept": "*/*"})


@pytest.fixture
def inline_limit(monkeypatch):
    def set_limit(limit: int) -> None:
        monkeypatch.setenv("BRIDGE_REPORT_INLINE_BYTES", str(limit))
        settings.cache_clear()

    yield set_limit
    monkeypatch.delenv("BRIDGE_REPORT_INLINE_BYTES", raising=False)
    settings.cache_clear()


def from_json(body: bytes) -> dict:
    report = json.loads(body)
    return {"totals": {k: str(v) for k, v in report["totals"].items()},
            "vats": {v["rate"]: (v["gross"], v["net"], v["vat"]) for v in report["vats"]},
            "payments": {p["name"]: (p["amount"], str(p["count"])) for p in report["payments"]},
            "lines": len(report["lines"])}


def from_pdf_text(body: bytes) -> dict:
    """The PDF's totals, VAT and payment rows (``test_reports.from_pdf``), and its line rows counted."""
    parsed = from_pdf(body)
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return {**parsed, "lines": sum(1 for row in text.splitlines() if row.startswith("O") and ":" in row[:20])}


PARSERS = {"html": from_html, "csv": from_csv, "xml": from_xml, "json": from_json, "xlsx": from_xlsx,
           "pdf": from_pdf_text}


def test_a_day_over_the_inline_limit_redirects_to_the_same_file_in_s3(api, busy_day, merchant, inline_limit):
    for fmt in FORMATS:
        check_redirect(api, busy_day, merchant, inline_limit, fmt)


def check_redirect(api, busy_day, merchant, inline_limit, fmt: str) -> None:
    inline_limit(4_000_000)
    inline = fetch(api, busy_day, merchant, fmt)
    assert inline.status_code == 200, inline.body
    inline_limit(20_000)
    r = fetch(api, busy_day, merchant, fmt)
    assert r.status_code == 303 and r.body == b"", r.body
    link = r.headers["Location"]
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == ["300"], "a short-lived link"
    assert "attachment" in query["response-content-disposition"][0]
    stored = requests.get(link, timeout=30)
    assert stored.status_code == 200
    assert len(stored.content) > 20_000
    assert PARSERS[fmt](stored.content) == PARSERS[fmt](inline.body), "the linked file says what the inline one says"
    if fmt not in ("xlsx", "pdf"):  # both carry their creation time
        assert stored.content == inline.body
    parsed = PARSERS[fmt](stored.content)
    refund = price(0, 0)
    assert parsed["lines"] == ORDERS * LINES_EACH + 1
    assert Decimal(parsed["totals"]["sales_gross"]) == expected_sales()
    assert Decimal(parsed["totals"]["net_gross"]) == expected_sales() - refund
    assert parsed["totals"]["orders"] == str(ORDERS) and parsed["totals"]["refunds"] == "1"
    vat_gross = sum(Decimal(gross) for gross, _, _ in parsed["vats"].values())
    assert vat_gross == expected_sales() - refund, "the VAT rows add up to the day, to the cent"


def test_lines_stay_in_time_order_across_the_day_and_a_small_day_stays_inline(api, busy_day, merchant, inline_limit):
    inline_limit(20_000)
    stored = requests.get(fetch(api, busy_day, merchant, "csv").headers["Location"], timeout=30)
    rows = [r for r in csv.DictReader(io.StringIO(stored.content.decode("utf-8-sig"))) if r["section"] == "line"]
    assert [r["order_id"] for r in rows[:LINES_EACH]] == ["O000"] * LINES_EACH
    assert [r["name"] for r in rows[:3]] == ["Item 0-0", "Item 0-1", "Item 0-2"], "lines in their order's order"
    assert rows[-1]["order_id"] == "O000-R" and rows[-1]["amount"] == f"-{price(0, 0)}"
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    empty = fetch(api, busy_day, merchant, "csv", "2026-03-30")
    assert empty.status_code == 200 and from_csv(empty.body)["lines"] == 0
