"""Issue 27 point 12: eReceipt addresses carry ISO 3166-1 alpha-3 country codes ("DEU"), as DFKA's EKaBS schema
writes them (seed 004: the receipt "closely resembling the DFKA EKaBS standard schema"; the seed names no other
form), for the seller and the buyer alike; any other form is 400 E_FAILED_SCHEMA_VALIDATION."""

from __future__ import annotations

import pytest

from tests.receipt_samples import spoiled
from tests.test_receipts import put

ADDRESS = {"street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin"}


@pytest.mark.parametrize("party", ["seller", "buyer"])
@pytest.mark.parametrize("code", ["DEU", "AUT", "BGR"])
def test_alpha_3_is_accepted_and_kept(api, merchant, party, code):
    r = put(api, merchant, spoiled(f"head.{party}.address", {**ADDRESS, "country_code": code}))
    assert r.status_code == 200, r.body
    assert r.json["schema"]["ekabs_v0"]["head"][party]["address"]["country_code"] == code


@pytest.mark.parametrize("code", ["DE", "deu", "DEUT", "D3U", "", " DEU", 276])
def test_anything_else_is_a_schema_error(api, merchant, code):
    r = put(api, merchant, spoiled("head.seller.address.country_code", code))
    assert r.status_code == 400 and r.json["code"] == "E_FAILED_SCHEMA_VALIDATION", (code, r.body)
    assert "country_code" in r.json["message"]


def test_the_document_says_alpha_3(api):
    address = api.call("GET", "/api/v1/openapi.json").json["components"]["schemas"]["Address"]
    assert address["properties"]["country_code"]["pattern"] == "^[A-Z]{3}$"
