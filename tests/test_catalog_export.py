"""Catalogue downloads: json, csv and html, owner only, hostile names harmless."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest

KINDS = ["items", "departments", "clients", "payment_methods", "delivery_methods", "users"]


class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def header(response, name: str) -> str:
    return {k.lower(): v for k, v in response.headers.items()}[name]


def download(api, shop, merchant, kind: str, fmt: str | None = None):
    query = f"?format={fmt}" if fmt is not None else ""
    return api.call("GET", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}{query}", headers=merchant["auth"])


@pytest.fixture
def hostile_item(api, shop, merchant):
    entry = {"name": "=HYPERLINK(\"http://evil\")<script>alert(1)</script>", "price": "1.50", "vat_rate": "9",
             "barcode": "+4006381333931"}
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/items/evil", entry, merchant["auth"])
    assert r.status_code == 200
    return entry


def test_every_kind_downloads_in_every_format(api, shop, merchant):
    for kind in KINDS:
        as_json = download(api, shop, merchant, kind)
        assert as_json.status_code == 200 and as_json.json["kind"] == kind
        assert as_json.json["count"] == len(as_json.json["data"])
        rows = list(csv.DictReader(io.StringIO(download(api, shop, merchant, kind, "csv").body.decode())))
        assert [r["id"] for r in rows] == [e["id"] for e in as_json.json["data"]]
        page = download(api, shop, merchant, kind, "html")
        assert page.status_code == 200 and header(page, "content-type").startswith("text/html")
        parser = Cells()
        parser.feed(page.body.decode())
        assert [row[0] for row in parser.rows[1:]] == [e["id"] for e in as_json.json["data"]]


def test_items_carry_prices_as_decimal_strings(api, shop, merchant):
    data = {e["id"]: e for e in download(api, shop, merchant, "items").json["data"]}
    assert data["coffee"] == {"id": "coffee", "name": "Coffee", "price": "3.50", "vat_rate": "20", "department_id": "drinks"}
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(download(api, shop, merchant, "items", "csv").body.decode()))}
    assert rows["coffee"]["price"] == "3.50" and rows["tea"]["vat_rate"] == "20"
    assert header(download(api, shop, merchant, "items", "csv"), "content-disposition").startswith("attachment")


def test_hostile_names_are_escaped_and_not_formulas(api, shop, merchant, hostile_item):
    page = download(api, shop, merchant, "items", "html").body.decode()
    assert "<script>" not in page and "&lt;script&gt;" in page
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(download(api, shop, merchant, "items", "csv").body.decode()))}
    assert rows["evil"]["name"].startswith("'=") and rows["evil"]["barcode"] == "+4006381333931", "a number stays one"
    assert download(api, shop, merchant, "items").json["data"][1]["name"] == hostile_item["name"]


def test_owner_only_and_typed_errors(api, shop, merchant):
    from chalicelib.auth.merchants import create_merchant

    other = create_merchant("Other")
    token = api.call("POST", "/api/v1/auth", {"api_key": other["api_key"], "api_secret": other["api_secret"]}).json
    foreign = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/catalog/items",
                       headers={"authorization": f"Bearer {token['access_token']}"})
    assert foreign.status_code == 404 and foreign.json["code"] == "E_SHOP_NOT_FOUND"
    assert api.call("GET", f"/api/v1/shops/{shop['shop_id']}/catalog/items").status_code == 401
    shop_key = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/catalog/items", headers={"x-shop-key": shop["shop_key"]})
    assert shop_key.status_code == 401, "the shop key posts orders; it does not read the catalogue"
    for kind, fmt in (("items", "xls"), ("gadgets", "json"), ("items", "")):
        r = download(api, shop, merchant, kind, fmt)
        assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (kind, fmt)
