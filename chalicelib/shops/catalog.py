"""A shop's catalogue: items, departments, clients, payment/delivery methods, users."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from chalicelib.aws.clients import client
from chalicelib.aws.storage import to_item
from chalicelib.contracts import LINE_NAME_MAX, Identifier, PaymentType
from chalicelib.core import money
from chalicelib.core.errors import SchemaValidationError
from chalicelib.core.settings import settings
from chalicelib.core.validation import parse_body

Name = Annotated[str, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
ItemName = Annotated[str, StringConstraints(min_length=1, max_length=LINE_NAME_MAX, strip_whitespace=True)]
PriceString = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), max_digits=12, decimal_places=2),
                        BeforeValidator(money.ascii_decimal_text)]
TaxId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9 ./-]+$",
                                         strip_whitespace=True)]  # what a fiscal job's buyer_tax_id can carry
RateString = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2), BeforeValidator(money.ascii_decimal_text)]


class CatalogKind(str, Enum):
    ITEMS = "items"
    DEPARTMENTS = "departments"
    CLIENTS = "clients"
    PAYMENT_METHODS = "payment_methods"
    DELIVERY_METHODS = "delivery_methods"
    USERS = "users"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name


class Item(_Entry):
    name: ItemName  # printed as a job line, so no longer than one
    price: PriceString
    vat_rate: RateString
    department_id: Identifier | None = None
    barcode: Annotated[str, StringConstraints(max_length=64)] | None = None


class Department(_Entry):
    pass


class Client(_Entry):
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    address: Annotated[str, StringConstraints(max_length=300)] | None = None
    tax_id: TaxId | None = Field(default=None, description="The buyer's tax or VAT number, printed on the fiscal "
                                                           "receipt where the device can.")


class PaymentMethod(_Entry):
    type: PaymentType


class DeliveryMethod(_Entry):
    pass


class User(_Entry):
    pass


ENTRY_MODELS: dict[CatalogKind, type[_Entry]] = {
    CatalogKind.ITEMS: Item,
    CatalogKind.DEPARTMENTS: Department,
    CatalogKind.CLIENTS: Client,
    CatalogKind.PAYMENT_METHODS: PaymentMethod,
    CatalogKind.DELIVERY_METHODS: DeliveryMethod,
    CatalogKind.USERS: User,
}


def sort_key(kind: CatalogKind, entry_id: str) -> str:
    return f"CAT#{kind.value}#{entry_id}"


def parse_kind(value: str) -> CatalogKind:
    try:
        return CatalogKind(value)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in CatalogKind)
        raise SchemaValidationError(f"catalogue kind must be one of {kinds}") from exc


def parse_entry(kind: CatalogKind, raw: bytes | None) -> _Entry:
    return parse_body(ENTRY_MODELS[kind], raw)


def put_entry(shop_id: str, kind: CatalogKind, entry_id: str, entry: _Entry) -> dict[str, Any]:
    data = {"id": entry_id, **entry.model_dump(mode="json", exclude_none=True)}
    client("dynamodb").put_item(
        TableName=settings().table("tenants"),
        Item=to_item({"pk": f"SHOP#{shop_id}", "sk": sort_key(kind, entry_id), "kind": kind.value, "data": data}),
    )
    return data


class Catalog:
    """A read-only snapshot of a shop's catalogue, indexed by kind and id."""

    def __init__(self, entries: dict[CatalogKind, dict[str, dict[str, Any]]]) -> None:
        self._entries = entries

    @classmethod
    def from_records(cls, records: list[dict[str, Any]]) -> Catalog:
        entries: dict[CatalogKind, dict[str, dict[str, Any]]] = {kind: {} for kind in CatalogKind}
        for record in records:
            entries[CatalogKind(record["kind"])][record["data"]["id"]] = record["data"]
        return cls(entries)

    def get(self, kind: CatalogKind, entry_id: str) -> dict[str, Any] | None:
        return self._entries[kind].get(entry_id)

    def entries(self, kind: CatalogKind) -> list[dict[str, Any]]:
        """Every entry of one kind, sorted by id."""
        return [self._entries[kind][entry_id] for entry_id in sorted(self._entries[kind])]


def columns(kind: CatalogKind) -> list[str]:
    """The fields an entry of this kind can have, ``id`` first: the columns of every export."""
    return ["id", *ENTRY_MODELS[kind].model_fields]
