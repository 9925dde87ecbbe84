"""A valid eReceipt PUT body and helpers to spoil it, shared by the receipt tests."""

from __future__ import annotations

import copy
from typing import Any


def receipt_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema": {"ekabs_v0": {
            "head": {
                "id": "SALE-1001",
                "number": "1001",
                "date": 1764000000,
                "seller": {"name": "Café Lumière", "vat_id": "DE123456789",
                           "address": {"street": "Hauptstraße 5", "postal_code": "10115", "city": "Berlin",
                                       "country_code": "DEU"}},
                "buyer": {"name": "Ana Petrova"},
                "pos": {"id": "till-1", "name": "Front till", "cashier": "Mara"},
            },
            "data": {
                "currency": "EUR",
                "full_amount_incl_vat": "9.90",
                "payment_types": [{"name": "Card", "type": "card", "amount": "9.90"}],
                "vat_amounts": [
                    {"percentage": "19", "incl_vat": "7.00", "excl_vat": "5.88", "vat": "1.12"},
                    {"percentage": "7", "incl_vat": "2.90", "excl_vat": "2.71", "vat": "0.19"},
                ],
                "lines": [
                    {"text": "Flat white", "item": {"number": "FW", "quantity": "2", "price_per_unit": "3.50"},
                     "vat_amounts": [{"percentage": "19", "incl_vat": "7.00"}]},
                    {"text": "Croissant", "additional_text": "to go",
                     "item": {"quantity": "1", "price_per_unit": "2.90"},
                     "vat_amounts": [{"percentage": "7", "incl_vat": "2.90"}]},
                ],
            },
            "security": {"fiscal_device": "TSE-01", "fiscal_number": "0004711", "printed_at": 1764000005},
        }},
        "user_association": {"customer_id": "C-77"},
        "metadata": {"till": "1"},
    }
    body.update(overrides)
    return body


def spoiled(path: str, value: Any) -> dict[str, Any]:
    """The valid body with one field (dotted path into ekabs_v0, list indexes as numbers) replaced."""
    body = copy.deepcopy(receipt_body())
    node: Any = body["schema"]["ekabs_v0"]
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return body
