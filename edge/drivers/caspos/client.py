"""The Caspos Mobile JSON API client (seed 002): every operation with its exact field names, and typed errors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from edge.drivers.base import (
    DeviceError,
    DeviceUnreachable,
    InvalidJob,
    LinkLost,
)
from edge.drivers.caspos.api import (
    CONTENT_TYPE,
    DATE_FORMAT,
    DOCUMENT_REJECTIONS,
    Code,
    CodeType,
    MoneyBackType,
    QuantityType,
    VatType,
    amount,
    dumps,
    loads,
    minor,
    qty,
)


class CasposError(DeviceError):
    """The register answered with an error code."""

    code = "E_CASPOS"

    def __init__(self, caspos_code: int, message: str) -> None:
        super().__init__(f"Caspos {caspos_code}: {message}")
        self.caspos_code = caspos_code


class CasposAuthFailed(CasposError):
    """401/403/404/405: no valid session, wrong role, wrong or locked PIN; a person must fix it."""

    code = "E_CASPOS_AUTH"


class ShiftClosed(CasposError):
    """503: documents need an open shift."""

    code = "E_CASPOS_SHIFT_CLOSED"


class ShiftTooLong(CasposError):
    """504: the shift is open for more than 24 h; it must be closed (Z report) before anything else."""

    code = "E_CASPOS_SHIFT_TOO_LONG"
    counts_toward_limit = False


class CasposRejected(CasposError, InvalidJob):
    """The document itself is wrong (607 total, 611 items sum, 613 VAT total, …); resending cannot help."""

    code = "E_CASPOS_REJECTED"
    transient = False


class CasposGarbled(LinkLost):
    """The answer was not the JSON the API promises."""

    code = "E_CASPOS_GARBLED"


_BY_CODE: dict[int, type[CasposError]] = {
    Code.INVALID_LOGIN_SESSION: CasposAuthFailed,
    Code.INVALID_USER_ROLE: CasposAuthFailed,
    Code.INCORRECT_PIN: CasposAuthFailed,
    Code.PIN_LOCKED: CasposAuthFailed,
    Code.SHIFT_CLOSED: ShiftClosed,
    Code.SHIFT_TOO_LONG: ShiftTooLong,
}


def error_for(caspos_code: int, message: str) -> CasposError:
    """The typed error for an answer code other than 0 and 1."""
    if caspos_code in DOCUMENT_REJECTIONS:
        return CasposRejected(caspos_code, message)
    return _BY_CODE.get(caspos_code, CasposError)(caspos_code, message)


class Item(BaseModel):
    """One receipt line, in minor units; ``wire`` gives the seed's field names and formats."""

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


class Payments(BaseModel):
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
    """What the register answers for a fiscal document."""

    document_id: str
    document_number: int
    shift_document_number: int
    short_document_id: str
    number: str | None = None
    total: int
    rrn: str | None = None
    approval_code: str | None = None
    transaction_id: str | None = None
    transaction_number: str | None = None
    duplicate: bool = False


class Info(BaseModel):
    application_version: str
    cashregister_model: str
    cashbox_tax_number: str
    cashbox_factory_number: str
    cashregister_factory_number: str
    company_name: str
    company_tax_number: str
    last_doc_number: int
    last_online_time: str
    object_address: str
    object_name: str
    object_tax_number: str
    qr_code_url: str
    state: str
    token_version: str


class ShiftStatus(BaseModel):
    shift_open: bool
    shift_open_time: str | None = None


class CasposClient:
    """Every operation of the integration API; each call is one HTTP POST with a bounded timeout."""

    def __init__(self, url: str, username: str, password: SecretStr, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout, transport=transport, headers={"content-type": CONTENT_TYPE})
        self._username = username
        self._password = password
        self._logged_in = False

    def close(self) -> None:
        self._http.close()

    # -- session -----------------------------------------------------------------------

    def login(self) -> str:
        data = self._post({"operation": "toLogin", **self._credentials()}, document=False)
        self._logged_in = True
        return str(data.get("access_token", "")) if isinstance(data, dict) else ""

    def logout(self) -> None:
        self._post({"operation": "toLogout", **self._credentials()}, document=False)
        self._logged_in = False

    # -- information ----------------------------------------------------------------------

    def get_info(self) -> Info:
        return self._model(Info, self.call("getInfo"))

    def shift_status(self) -> ShiftStatus:
        return self._model(ShiftStatus, self.call("getShiftStatus"))

    def is_connected_printer(self) -> bool:
        try:
            self.call("isConnectedPrinter")
        except CasposError:
            return False
        return True

    def x_report(self, cashier: str) -> dict[str, Any]:
        return self._dict(self.call("getXReport", {"cashierName": cashier}))

    def periodic_z_report(self, start: datetime, end: datetime) -> dict[str, Any]:
        return self._dict(self.call("getPeriodicZReport", {"startDate": start.strftime(DATE_FORMAT), "endDate": end.strftime(DATE_FORMAT)}))

    def control_tape(self) -> dict[str, Any]:
        return self._dict(self.call("getControlTape"))

    def print_last_cheque(self) -> None:
        self.call("printLastCheque")

    def open_cashbox(self) -> None:
        self.call("openCashbox")

    # -- shift ------------------------------------------------------------------------------

    def open_shift(self, cashier: str, deposit: int = 0) -> None:
        self.call("openShift", {"sum": amount(deposit)}, top={"cashierName": cashier})

    def close_shift(self, document_uuid: str, cashier: str) -> dict[str, Any]:
        return self._dict(self.call("closeShift", {"documentUUID": document_uuid, "cashierName": cashier}, document=True))

    # -- documents ----------------------------------------------------------------------------

    def deposit(self, document_uuid: str, value: int, cashier: str, currency: str = "AZN") -> Document:
        return self._document(self.call("deposit", {"documentUUID": document_uuid, "sum": amount(value), "cashierName": cashier, "currency": currency}, document=True))

    def withdraw(self, document_uuid: str, value: int, cashier: str, currency: str = "AZN") -> Document:
        return self._document(self.call("withDraw", {"documentUUID": document_uuid, "sum": amount(value), "cashierName": cashier, "currency": currency}, document=True))

    def sale(
        self,
        document_uuid: str,
        items: list[Item],
        payments: Payments,
        cashier: str,
        *,
        currency: str = "AZN",
        client: Client | None = None,
        note: str = "",
        rrn: str = "",
        credit_contract: str | None = None,
        credit_payer: str | None = None,
        prepayment_document_id: str | None = None,
    ) -> Document:
        """A sale; with ``payments.credit`` and a contract it is a credit sale, with ``prepayment_document_id`` an advance pay."""
        data: dict[str, Any] = {"documentUUID": document_uuid, **payments.wire(), "items": [i.wire() for i in items]}
        data |= (client or Client()).wire() | {"cashierName": cashier, "note": note, "rrn": rrn, "currency": currency}
        if credit_contract is not None:
            data |= {"creditContract": credit_contract, "creditPayer": credit_payer or ""}
        if prepayment_document_id is not None:
            data["prepaymentDocumentId"] = prepayment_document_id
        return self._document(self.call("sale", data, document=True))

    def credit_pay(
        self, document_uuid: str, parent_document_id: str, items: list[Item], payments: Payments, cashier: str, *,
        payment_number: str, residue: int, credit_contract: str, credit_payer: str, currency: str = "AZN", rrn: str = "",
    ) -> Document:
        data = {
            "documentUUID": document_uuid, "parentDocumentId": parent_document_id,
            "cashPayment": amount(payments.cash), "cardPayment": amount(payments.card), "items": [i.wire() for i in items],
            "paymentNumber": payment_number, "residue": amount(residue), "creditContract": credit_contract,
            "creditPayer": credit_payer, **Client().wire(), "cashierName": cashier, "note": "", "rrn": rrn, "currency": currency,
        }
        return self._document(self.call("credit", data, document=True))

    def prepayment(self, document_uuid: str, value: int, vat_type: VatType, payments: Payments, cashier: str, *, currency: str = "AZN", items: list[Item] | None = None) -> Document:
        """An advance payment; with ``items`` it is the "prepaymentProducts" operation."""
        data: dict[str, Any] = {"documentUUID": document_uuid, "sum": amount(value), "vatType": int(vat_type)}
        data |= {"cashPayment": amount(payments.cash), "cardPayment": amount(payments.card), "bonusPayment": amount(payments.bonus)}
        data |= Client().wire() | {"cashierName": cashier, "currency": currency}
        if items:
            data["items"] = [i.wire() for i in items]
        return self._document(self.call("prepaymentProducts" if items else "prepayment", data, document=True))

    def money_back(
        self, document_uuid: str, parent_document_id: str, items: list[Item], payments: Payments, cashier: str, *,
        money_back_type: MoneyBackType = MoneyBackType.SALE, manual: bool = False, currency: str = "AZN", rrn: str = "",
    ) -> Document:
        data: dict[str, Any] = {"parentDocumentId": parent_document_id, "documentUUID": document_uuid, **payments.wire()}
        data |= {"items": [i.wire() for i in items], "isManual": manual, "moneyBackType": int(money_back_type)}
        data |= Client().wire() | {"cashierName": cashier, "currency": currency, "rrn": rrn, "transactionId": "", "transactionNumber": "", "approvalCode": "", "note": ""}
        return self._document(self.call("moneyBack", data, document=True))

    def correction(self, document_uuid: str, first: datetime, last: datetime, cash: int, card: int, vat_type: VatType, cashier: str, *, currency: str = "AZN", note: str = "") -> Document:
        data = {
            "documentUUID": document_uuid, "firstOperationAtUtc": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastOperationAtUtc": last.strftime("%Y-%m-%dT%H:%M:%SZ"), "currency": currency,
            "cashPayment": amount(cash), "cardPayment": amount(card), "vatType": int(vat_type), "note": note,
        }
        return self._document(self.call("correction", data, top={"cashierName": cashier}, document=True))

    def rollback(self, document_uuid: str, parent_document_id: str, payments: Payments, vat_amounts: dict[VatType, int], cashier: str, *, currency: str = "AZN", note: str = "") -> Document:
        total = payments.cash + payments.card + payments.credit + payments.deposit + payments.bonus
        data = {
            "documentUUID": document_uuid, "parentDocumentId": parent_document_id, "sum": amount(total), **payments.wire(),
            "vatAmounts": [{"vatType": int(t), "vatSum": amount(v)} for t, v in vat_amounts.items()], "note": note,
        }
        return self._document(self.call("rollBack", data, top={"cashierName": cashier, "currency": currency}, document=True))

    # -- exchange ----------------------------------------------------------------------------

    def call(self, operation: str, data: dict[str, Any] | None = None, *, top: dict[str, Any] | None = None, document: bool = False) -> Any:
        """One operation; logs in first, and once again on 401 (documents are safe to resend by documentUUID)."""
        body: dict[str, Any] = {"operation": operation, **self._credentials(), **(top or {})}
        if data is not None:
            body["data"] = data
        if not self._logged_in:
            self.login()
        try:
            return self._post(body, document=document)
        except CasposAuthFailed as exc:
            if exc.caspos_code != Code.INVALID_LOGIN_SESSION:
                raise
        self.login()
        return self._post(body, document=document)

    def _post(self, body: dict[str, Any], *, document: bool) -> Any:
        try:
            response = self._http.post("/", content=dumps(body))
        except httpx.ConnectError as exc:
            raise DeviceUnreachable(f"cannot reach the Caspos register: {exc}") from exc
        except httpx.HTTPError as exc:
            error = LinkLost if document else DeviceUnreachable
            raise error(f"Caspos register did not answer {body['operation']}: {type(exc).__name__}: {exc}") from exc
        try:
            payload = loads(response.content)
            code = int(payload["code"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            error = CasposGarbled if document else DeviceUnreachable
            raise error(f"Caspos answered {body['operation']} with HTTP {response.status_code} and no valid JSON") from exc
        if code in (Code.OK, Code.REPEATED_DOCUMENT_UUID):
            data = payload.get("data") or {}
            if code == Code.REPEATED_DOCUMENT_UUID and isinstance(data, dict):
                data = {**data, "_repeated": True}
            return data
        raise error_for(code, str(payload.get("message") or ""))

    def _credentials(self) -> dict[str, str]:
        return {"username": self._username, "password": self._password.get_secret_value()}

    @staticmethod
    def _dict(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise CasposGarbled("expected a JSON object in data")
        return data

    def _model(self, model: type[Any], data: Any) -> Any:
        try:
            return model.model_validate(self._dict(data))
        except ValueError as exc:
            raise DeviceUnreachable(f"unexpected Caspos answer: {exc}") from exc

    def _document(self, data: Any) -> Document:
        data = self._dict(data)
        try:
            return Document(
                document_id=str(data["document_id"]),
                document_number=int(data["document_number"]),
                shift_document_number=int(data["shift_document_number"]),
                short_document_id=str(data["short_document_id"]),
                number=data.get("number"),
                total=minor(data.get("totalSum", Decimal(0))),
                rrn=data.get("rrn"),
                approval_code=data.get("approval_code"),
                transaction_id=data.get("transaction_id"),
                transaction_number=data.get("transaction_number"),
                duplicate=bool(data.get("_repeated")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise CasposGarbled(f"unexpected Caspos document answer: {exc}") from exc
