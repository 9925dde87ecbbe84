"""Hostile inputs the red team found (issue 19): each answers a typed 4xx, and what is stored renders safely."""

from __future__ import annotations

import io
import json
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
