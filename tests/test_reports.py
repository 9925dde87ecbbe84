"""Daily sales export: one shop, one local day (its own time zone), five formats with the same totals."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from decimal import Decimal
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from devstack.stack import DEMO_CATALOG
from tests.test_edge_results import fiscalize

DAY = "2026-03-29"  # Berlin switches to summer time that night: a 23-hour day
# A 8.20 cash; B 2.80 card; E split tender: coffee x2 7.00 - 0.50 line discount, cookie 1.20, 1.00 off the
# order spread pro rata to the cent (0.84 + 0.16) = 5.66 + 1.04 = 6.70, paid 3.00 cash (5.00 tendered) + 3.70 card;
# A-R refunds 3.50 of A in cash.
EXPECTED = {
    "totals": {"orders": "3", "refunds": "1", "sales_gross": "17.70", "refunds_gross": "3.50", "net_gross": "14.20",
               "net_vat": "2.19", "net_excl_vat": "12.01", "discounts": "1.50"},
    "vats": {"9": ("2.24", "2.05", "0.19"), "20": ("11.96", "9.96", "2.00")},
    "payments": {"Cash": ("7.70", "3"), "Card": ("6.50", "2")},
    "lines": 6,
}


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


@pytest.fixture
def berlin(api, merchant) -> dict:
    shop = api.call("POST", "/api/v1/shops", {"name": "Späti <Berlin>", "timezone": "Europe/Berlin"}, merchant["auth"]).json
    for kind, entry_id, entry in DEMO_CATALOG:
        api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}/{entry_id}", entry, merchant["auth"])
    orders = [
        ("A", "2026-03-28T23:30:00", "cash", [{"item_id": "coffee", "quantity": "2"},
                                              {"name": "Cookie", "quantity": "1", "unit_price": "1.20", "vat_rate": "9"}]),
        ("B", "2026-03-29T21:30:00", "card", [{"item_id": "tea", "quantity": "1"}]),
        ("C", "2026-03-29T22:30:00", "card", [{"item_id": "tea", "quantity": "5"}]),  # 00:30 next day in Berlin
        ("D", "2026-03-28T22:30:00", "cash", [{"item_id": "tea", "quantity": "7"}]),  # 23:30 the day before
    ]
    split = {"payments": [{"payment_method_id": "cash", "amount": "3.00", "tendered": "5.00"},
                          {"payment_method_id": "card", "amount": "3.70"}], "discount": "1.00"}
    orders.append(("E", "2026-03-29T08:00:00", split, [{"item_id": "coffee", "quantity": "2", "discount": "0.50"},
                                                        {"name": "Cookie", "quantity": "1", "unit_price": "1.20",
                                                         "vat_rate": "9"}]))
    for order_id, at, payment, items in orders:
        paid = payment if isinstance(payment, dict) else {"payment_method_id": payment}
        r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders",
                     {"order_id": order_id, **paid, "delivery_method_id": "pickup",
                      "user_id": "demo-cashier", "items": items, "date": utc(at)}, {"x-shop-key": shop["shop_key"]})
        assert r.status_code == 201, r.body
    fiscalize(api, shop, "A")
    refund = {"order_id": "A-R", "payment_method_id": "cash", "delivery_method_id": "pickup", "user_id": "demo-cashier",
              "is_refund": True, "parent_order_id": "A", "date": utc("2026-03-29T10:00:00"),
              "items": [{"name": "Coffee back", "quantity": "1", "unit_price": "3.50", "vat_rate": "20"}]}
    assert api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", refund,
                    {"x-shop-key": shop["shop_key"]}).status_code == 201
    return shop


def fetch(api, shop, merchant, fmt: str, day: str = DAY):
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/reports/sales?date={day}&format={fmt}",
                    headers={**merchant["auth"], "accept": "*/*"})


class Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs)["id"], [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def from_html(body: bytes) -> dict:
    parser = Tables()
    parser.feed(body.decode())
    t = parser.tables
    return {"totals": {k: v for k, v in t["totals"][1:]}, "vats": {r[0]: (r[1], r[2], r[3]) for r in t["vat"][1:]},
            "payments": {r[0]: (r[3], r[2]) for r in t["payments"][1:]}, "lines": len(t["lines"]) - 1}


def from_csv(body: bytes) -> dict:
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    return {"totals": {r["name"]: r["amount"] for r in rows if r["section"] == "total"},
            "vats": {r["vat_rate"]: (r["amount"], r["net"], r["vat"]) for r in rows if r["section"] == "vat"},
            "payments": {r["name"]: (r["amount"], r["count"]) for r in rows if r["section"] == "payment"},
            "lines": sum(1 for r in rows if r["section"] == "line")}


def from_xml(body: bytes) -> dict:
    root = ElementTree.fromstring(body)
    return {"totals": dict(root.find("totals").attrib),
            "vats": {v.get("rate"): (v.get("gross"), v.get("net"), v.get("vat")) for v in root.iter("vat")},
            "payments": {p.get("name"): (p.get("amount"), p.get("count")) for p in root.iter("payment")},
            "lines": len(root.findall("lines/line"))}


def from_xlsx(body: bytes) -> dict:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(body))
    rows = {name: list(book[name].iter_rows(min_row=2, values_only=True)) for name in book.sheetnames}

    def money(value) -> str:
        assert isinstance(value, (int, float)), "money cells are numbers in a spreadsheet"
        return str(Decimal(str(value)).quantize(Decimal("0.01")))

    return {"totals": {r[0]: str(r[1]) if r[0] in ("orders", "refunds") else money(r[1]) for r in rows["Totals"]},
            "vats": {r[0]: (money(r[1]), money(r[2]), money(r[3])) for r in rows["VAT"]},
            "payments": {r[0]: (money(r[3]), str(r[2])) for r in rows["Payments"]}, "lines": len(rows["Lines"])}


def from_pdf(body: bytes) -> dict:
    from pypdf import PdfReader

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    money = r"(-?\d+\.\d\d)"
    totals = {name: re.search(rf"{name}\s+(-?[\d.]+)", text).group(1) for name in EXPECTED["totals"]}
    vats = {m.group(1): (m.group(2), m.group(3), m.group(4))
            for m in re.finditer(rf"^(\d+(?:\.\d+)?)\s+{money}\s+{money}\s+{money}$", text, re.M)}
    payments = {m.group(1): (m.group(3), m.group(2))
                for m in re.finditer(rf"^(Cash|Card)\s+\w+\s+(\d+)\s+{money}$", text, re.M)}
    lines = len(re.findall(r"^(A|B|E|A-R)\s+\d\d:\d\d:\d\d", text, re.M))
    return {"totals": totals, "vats": vats, "payments": payments, "lines": lines}


@pytest.mark.parametrize("fmt,parse", [("html", from_html), ("csv", from_csv), ("xml", from_xml), ("xlsx", from_xlsx),
                                       ("pdf", from_pdf)])
def test_every_format_parses_back_to_the_same_totals(api, berlin, merchant, fmt, parse):
    r = fetch(api, berlin, merchant, fmt)
    assert r.status_code == 200, r.body
    assert parse(r.body) == EXPECTED


def test_the_day_is_the_shops_own(api, berlin, merchant):
    rows = list(csv.DictReader(io.StringIO(fetch(api, berlin, merchant, "csv").body.decode("utf-8-sig"))))
    lines = [(r["order_id"], r["time"], r["discount"], r["amount"]) for r in rows if r["section"] == "line"]
    assert lines == [("A", "00:30:00", "0.00", "7.00"), ("A", "00:30:00", "0.00", "1.20"),
                     ("E", "10:00:00", "1.34", "5.66"), ("E", "10:00:00", "0.16", "1.04"),
                     ("A-R", "12:00:00", "0.00", "-3.50"), ("B", "23:30:00", "0.00", "2.80")]
    next_day = from_csv(fetch(api, berlin, merchant, "csv", "2026-03-30").body)
    assert next_day["totals"]["sales_gross"] == "14.00" and next_day["lines"] == 1


def test_html_escapes_and_empty_day(api, berlin, merchant):
    page = fetch(api, berlin, merchant, "html").body.decode()
    assert "Späti &lt;Berlin&gt;" in page and "<Berlin>" not in page
    empty = from_xml(fetch(api, berlin, merchant, "xml", "2025-01-01").body)
    assert empty["totals"]["net_gross"] == "0.00" and empty["lines"] == 0


def test_typed_errors_and_owner_only(api, berlin, merchant):
    from chalicelib.auth.merchants import create_merchant

    for query in ("date=2026-02-30", "date=yesterday", "date=2026-03-29&format=docx", "format=csv", ""):
        r = api.call("GET", f"/api/v1/shops/{berlin['shop_id']}/reports/sales?{query}", headers=merchant["auth"])
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", query
    other = create_merchant("Other")
    token = api.call("POST", "/api/v1/auth", {"api_key": other["api_key"], "api_secret": other["api_secret"]}).json
    r = api.call("GET", f"/api/v1/shops/{berlin['shop_id']}/reports/sales?date={DAY}",
                 headers={"authorization": f"Bearer {token['access_token']}"})
    assert r.status_code == 404
