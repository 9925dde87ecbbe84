"""Hostile inputs the red team found (issue 19): each answers a typed 4xx, and what is stored renders safely."""

from __future__ import annotations

import io
from xml.etree import ElementTree

import pytest

from tests.conftest import demo_order


def post_order(api, shop, body):
    return api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", body, {"x-shop-key": shop["shop_key"]})


def free_line(name="Tea", quantity="1", unit_price="2.00", vat_rate="20"):
    return {"name": name, "quantity": quantity, "unit_price": unit_price, "vat_rate": vat_rate}


@pytest.mark.parametrize("name", ["Bad\x01name", "Nul\x00", "Esc\x1b[31m", "Non\ufffechar", "Non\uffffchar", "Lone\ud800"])
def test_control_characters_are_refused_in_order_names(api, shop, name):
    body = demo_order("CC-1", items=[free_line(name=name)])
    r = post_order(api, shop, body)
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.json
    if "\ud800" not in name:  # a lone surrogate is already invalid JSON to the parser
        assert "items.0.name: control character" in r.json["message"]


def test_control_characters_are_refused_in_catalogue_and_client(api, shop, merchant):
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/items/evil", {"name": "A\x07B", "price": "1.00",
                                                                                   "vat_rate": "20"}, merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION"
    body = demo_order("CC-2", client={"name": "E\x0bve"})
    assert post_order(api, shop, body).status_code == 400


@pytest.mark.parametrize("quantity", ["٣", "１", "1\u0660"])
def test_quantities_are_ascii_digits_only(api, shop, quantity):
    r = post_order(api, shop, demo_order("Q-1", items=[free_line(quantity=quantity)]))
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", r.json


def test_a_long_catalogue_name_cannot_break_the_job(api, shop, merchant):
    """The job line name allows 72 characters: a longer catalogue name is refused when it is saved."""
    r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/items/long", {"name": "N" * 120, "price": "1.00",
                                                                                  "vat_rate": "20"}, merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION"


def test_an_amount_beyond_what_any_register_can_hold_is_refused(api, shop):
    r = post_order(api, shop, demo_order("BIG-1", items=[free_line(quantity="100000", unit_price="10000000.00")]))
    assert r.status_code == 422 and r.json["code"] == "E_AMOUNT_TOO_LARGE", r.json


POISON = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", ";=1+1", "\uff1d1+1", " =1+1"]


def _report(api, shop, merchant, fmt):
    from chalicelib.core import clock

    day = __import__("datetime").datetime.fromtimestamp(clock.now(), __import__("datetime").timezone.utc).date()
    r = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/reports/sales?date={day}&format={fmt}",
                 headers={**merchant["auth"], "accept": "*/*"})
    assert r.status_code == 200, r.body[:300]
    return r.body


def _poisoned_day(api, shop):
    for i, name in enumerate(POISON):
        r = post_order(api, shop, demo_order(f"P-{i}", items=[free_line(name=name)]))
        assert r.status_code == 201, r.json


def test_no_spreadsheet_cell_of_the_sales_export_is_a_formula(api, shop, merchant):
    import zipfile

    from openpyxl import load_workbook

    _poisoned_day(api, shop)
    body = _report(api, shop, merchant, "xlsx")
    sheets = zipfile.ZipFile(io.BytesIO(body))
    assert not any(b"<f>" in sheets.read(n) for n in sheets.namelist() if n.startswith("xl/worksheets/"))
    names = [row[3] for row in load_workbook(io.BytesIO(body))["Lines"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted(p.strip() for p in POISON), "the text is kept as sold (names are trimmed), never evaluated"
    rows = list(__import__("csv").reader(io.StringIO(_report(api, shop, merchant, "csv").decode("utf-8-sig"))))
    csv_names = [row[4] for row in rows if row[0] == "line"]
    assert len(csv_names) == len(POISON) and all(name.startswith("'") for name in csv_names), csv_names


def test_text_stored_before_the_boundary_check_still_renders(api, shop, merchant):
    """An order saved with a control character (before intake refused them) must not break the day's files."""
    from chalicelib.aws.clients import client
    from chalicelib.aws.storage import from_item, to_item
    from chalicelib.core.settings import settings

    assert post_order(api, shop, demo_order("OLD-1", items=[free_line(name="Plain")])).status_code == 201
    table = settings().table("orders")
    [day_entry] = client("dynamodb").scan(TableName=table, FilterExpression="begins_with(pk, :day)",
                                          ExpressionAttributeValues={":day": {"S": f"DAY#{shop['shop_id']}#"}})["Items"]
    item = from_item(day_entry)
    item["lines"][0]["name"] = "Bell\x07\x00\ufffe"
    client("dynamodb").put_item(TableName=table, Item=to_item(item))
    ElementTree.fromstring(_report(api, shop, merchant, "xml"))  # well-formed
    from openpyxl import load_workbook

    names = [row[3] for row in load_workbook(io.BytesIO(_report(api, shop, merchant, "xlsx")))["Lines"].iter_rows(
        min_row=2, values_only=True)]
    assert names == ["Bell\ufffd\ufffd\ufffd"]
    assert _report(api, shop, merchant, "pdf").startswith(b"%PDF")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin\x00", "", "UTC+25"])
def test_a_shop_time_zone_must_be_one_the_runtime_knows(api, merchant, zone):
    r = api.call("POST", "/api/v1/shops", {"name": "Zoned", "timezone": zone}, merchant["auth"])
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", zone


def test_a_known_time_zone_is_kept(api, merchant):
    r = api.call("POST", "/api/v1/shops", {"name": "Zoned", "timezone": "Asia/Baku"}, merchant["auth"])
    assert r.status_code == 201 and r.json["timezone"] == "Asia/Baku"
