"""What the driver sends and reads back: receipt lines, payments, client, and the register's answers (seed 002)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from edge.drivers.caspos.api import CodeType, QuantityType, VatType, amount, qty


NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]


class Item(BaseModel):
    """One receipt line in minor units; ``wire`` gives the field names and formats of §Sales items (l.564-575)."""

    model_config = ConfigDict(frozen=True)

    name: str
    code: str
    quantity: Decimal
    sale_price: int
    vat_type: VatType
    purchase_price: int = 0
    code_type: CodeType = CodeType.PLAIN_TEXT
    quantity_type: QuantityType = QuantityType.PIECE
    line_sum: int | None = None
    discount: int = 0
    marking_codes: list[str] = Field(default_factory=list)
    item_uid: str | None = None
    parent_item_uid: str | None = None
    real_price: int | None = None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "code": self.code,
            "quantity": qty(self.quantity),
            "salePrice": amount(self.sale_price),
            "purchasePrice": amount(self.purchase_price),
            "codeType": int(self.code_type),
            "quantityType": int(self.quantity_type),
            "vatType": int(self.vat_type),
            "discountAmount": amount(self.discount),
        }
        if self.line_sum is not None:
            out["sum"] = amount(self.line_sum)
        if self.marking_codes:
            out["markingCodes"] = list(self.marking_codes)
        if self.item_uid:
            out["itemUid"] = self.item_uid
        if self.parent_item_uid:
            out["parentItemUid"] = self.parent_item_uid
        if self.real_price is not None:
            out["realPrice"] = amount(self.real_price)
        return out

    def paid_wire(self) -> dict[str, Any]:
        """A line of a Credit Pay (§Credit Pay l.730-741) or Advance Sale Items (l.910-918): no purchase price, no discount."""
        return {k: v for k, v in self.wire().items() if k not in ("purchasePrice", "discountAmount")}


class Payments(BaseModel):
    """The five payment fields of every document (§Parameter Descriptions l.46-50)."""

    model_config = ConfigDict(frozen=True)

    cash: int = 0
    card: int = 0
    credit: int = 0
    deposit: int = 0
    bonus: int = 0

    def wire(self) -> dict[str, Decimal]:
        return {
            "cashPayment": amount(self.cash),
            "creditPayment": amount(self.credit),
            "depositPayment": amount(self.deposit),
            "cardPayment": amount(self.card),
            "bonusPayment": amount(self.bonus),
        }


class Client(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = ""
    total_bonus: int = 0
    earned_bonus: int = 0
    bonus_card_number: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "clientName": self.name,
            "clientTotalBonus": amount(self.total_bonus),
            "clientEarnedBonus": amount(self.earned_bonus),
            "clientBonusCardNumber": self.bonus_card_number,
        }


class Document(BaseModel):
    """What the register answers for a fiscal document (§Sales response table l.599-607). The ids are what the
    receipt's fiscal record and a later refund name, so an answer with a blank one is no answer."""

    document_id: NonBlank
    document_number: int
    shift_document_number: int
    short_document_id: NonBlank
    number: str | None = None
    total: int
    rrn: str | None = None
    approval_code: str | None = None
    transaction_id: str | None = None
    transaction_number: str | None = None
    duplicate: bool = False


class Info(BaseModel):
    """``getInfo`` (§GetInfo l.122-173), read tolerantly: any field may be missing or null, unknown ones are ignored.

    The table calls ``last_doc_number`` a Float (l.166) while the example sends 10520: both are read."""

    model_config = ConfigDict(extra="ignore")

    application_version: str | None = None
    cashregister_model: str | None = None
    cashbox_tax_number: str | None = None
    cashbox_factory_number: str | None = None
    cashregister_factory_number: str | None = None
    company_name: str | None = None
    company_tax_number: str | None = None
    last_doc_number: int | None = None
    last_online_time: str | None = None
    object_address: str | None = None
    object_name: str | None = None
    object_tax_number: str | None = None
    qr_code_url: str | None = None
    state: str | None = None
    token_version: str | None = None

    @field_validator("last_doc_number", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> int | None:
        try:
            return int(Decimal(str(value))) if value is not None and not isinstance(value, bool) else None
        except ArithmeticError:
            return None

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else value

    def device_number(self) -> str | None:
        """The register's own number: the cash register factory number, else the cashbox's numbers."""
        return self.cashregister_factory_number or self.cashbox_factory_number or self.cashbox_tax_number


class ShiftStatus(BaseModel):
    """``getShiftStatus``: the example answers ``shift_open`` / ``shift_open_time`` (l.196-201), the table names them
    ``shiftOpen`` / ``shiftOpenTime`` (l.206-207); both are read."""

    shift_open: bool
    shift_open_time: str | None = None

    @classmethod
    def read(cls, data: dict[str, Any]) -> ShiftStatus:
        is_open = data.get("shift_open", data.get("shiftOpen"))
        opened = data.get("shift_open_time", data.get("shiftOpenTime"))
        return cls(shift_open=bool(is_open), shift_open_time=str(opened) if opened else None)
