"""GET /api/v1/openapi.json: a valid OpenAPI 3.1 document naming every route of app.py."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator
from openapi_spec_validator import validate


def test_every_route_is_described_and_the_document_is_valid(api):
    from app import app
    from chalicelib.core.http_api import CATCH_ALL
    from chalicelib.openapi.document import OPERATIONS

    # The console's pages are for a person in a browser (docs: README "Merchant console"), not part of the API.
    routes = {(method, path) for path, entry in app.routes.items() for method in entry
              if path not in CATCH_ALL and not path.startswith("/console")}
    document = api.call("GET", "/api/v1/openapi.json").json
    described = {(method.upper(), OPERATIONS[(method.upper(), path)].route or path)
                 for path, operations in document["paths"].items() for method in operations}
    assert routes == described, f"undocumented: {routes - described}; stale: {described - routes}"
    assert {path for path in document["paths"] if path.startswith("/r/")} == {"/r/{token}", "/r/{token}.json",
                                                                              "/r/{token}.pdf"}
    token = next(p for p in document["paths"]["/r/{token}.json"]["get"]["parameters"] if p["name"] == "token")
    assert not re.fullmatch(token["schema"]["pattern"], "A" * 44 + ".json"), "the suffix is no part of the token"
    validate(document)


def test_request_and_response_schemas_come_from_the_models(api):
    document = api.call("GET", "/api/v1/openapi.json").json
    put = document["paths"]["/api/v1/receipts/{receipt_id}"]["put"]
    body_ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schemas = document["components"]["schemas"]
    assert set(schemas[body_ref]["properties"]) == {"schema", "user_association", "metadata", "public_link"}
    assert schemas[body_ref]["properties"]["metadata"]["maxProperties"] == 20
    line = schemas["Line"]["properties"]
    assert {"text", "item", "vat_amounts"} <= set(line)
    money = schemas["LineItem"]["properties"]["price_per_unit"]
    assert money["type"] == "string" and "pattern" in money, "money is a decimal string, never a number"
    order_line = schemas["OrderLineIn"]["properties"]
    assert order_line["quantity"]["type"] == "string", "an order's quantity is a decimal string too"
    quantity = re.compile(order_line["quantity"]["pattern"])
    samples = ["0", "0.000", "0.0005", "1.", "01", "2", "0.005", "0.050", "3.500", "100000"]
    assert [s for s in samples if quantity.fullmatch(s)] == ["2", "0.005", "0.050", "3.500", "100000"]
    assert {"type": "string", "pattern": r"^\d{1,8}(\.\d{1,2})?$"} in order_line["unit_price"]["anyOf"]
    listing = document["paths"]["/api/v1/receipts"]["get"]["parameters"]
    limit = next(p for p in listing if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    error = document["components"]["schemas"]["ErrorBody"]["properties"]
    assert set(error) == {"status_code", "error", "code", "message"}


def test_every_kind_of_sale_is_documented(api):
    """Split tender, discounts, the buyer's tax id, the printer, a refund's parent, and the webhook events."""
    document = api.call("GET", "/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]
    order = schemas["OrderIn"]
    assert {"payments", "discount", "printer", "payment_method_id"} <= set(order["properties"])
    one_of_the_two = Draft202012Validator({**order, "properties": {}, "required": [], "additionalProperties": True})
    assert [one_of_the_two.is_valid(body) for body in ({"payment_method_id": "cash"}, {"payments": []}, {},
                                                        {"payment_method_id": "cash", "payments": []})] == [
        True, True, False, False], "a payment_method_id or payments, never both"
    payments = order["properties"]["payments"]["anyOf"][0]
    assert (payments["minItems"], payments["maxItems"]) == (1, 10)
    payment = schemas["PaymentIn"]["properties"]
    assert payment["amount"]["type"] == "string" and re.fullmatch(payment["amount"]["pattern"], "4.80")
    assert not re.fullmatch(payment["amount"]["pattern"], "0.00"), "a payment is more than zero"
    assert "discount" in schemas["OrderLineIn"]["properties"] and "tax_id" in schemas["Client"]["properties"]
    assert set(schemas["ParentOut"]["properties"]) == {"order_id", "fiscal"}
    assert "parent" in schemas["OrderOut"]["properties"]
    event = document["webhooks"]["order"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    event = schemas[event.rsplit("/", 1)[-1]]
    assert event["properties"]["type"]["enum"] == ["validated", "terminated", "failed"]
    assert {"parentOrderID", "reason", "message"} <= set(event["properties"])
