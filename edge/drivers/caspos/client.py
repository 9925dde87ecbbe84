"""The Caspos Mobile JSON API client (seed 002): every operation with its exact field names, and typed errors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from edge.drivers.base import (
    DeviceError,
    DeviceUnreachable,
    InvalidJob,
    LinkLost,
)
from edge.drivers.caspos.api import (
    CONTENT_TYPE,
    CURRENCY,
    DATE_FORMAT,
    DOCUMENT_REJECTIONS,
    Code,
    MoneyBackType,
    VatType,
    amount,
    dumps,
    loads,
    minor,
)
from edge.drivers.caspos.models import Client, Document, Info, Item, Payments, ShiftStatus
from edge.faults import crashpoint


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


class RepeatedWithoutDocument(CasposError):
    """Code 1 without data: the register has this documentUUID already (§Errors l.1909) but did not give back the
    earlier document that §Close Shift l.250 promises. The operation exists on the register; it is not retried."""

    code = "E_CASPOS_REPEATED"
    transient = False

    def __init__(self, document_uuid: str) -> None:
        super().__init__(Code.REPEATED_DOCUMENT_UUID, f"documentUUID {document_uuid} was used before; the register gave no document back")
        self.document_uuid = document_uuid


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


class CasposClient:
    """Every operation of the integration API; each call is one HTTP POST with a bounded timeout.

    The login token: §Login l.88 and l.102 say the register keeps it, so requests need not carry it, while
    §Common Errors 401 l.1928-1932 blames a 401 on "the token is not being sent at all". Both readings hold
    at once: the bodies stay exactly as the document's examples (no token in the JSON), and once logged in
    every request carries the token as ``Authorization: Bearer``, which a register of the first reading ignores.
    """

    def __init__(self, url: str, username: str, password: SecretStr, timeout: float, card_timeout: float,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout, transport=transport, headers={"content-type": CONTENT_TYPE})
        self._username = username
        self._password = password
        self._token: str | None = None
        self._logged_in = False
        self.card_timeout = card_timeout

    def close(self) -> None:
        self._http.close()

    # -- session -----------------------------------------------------------------------

    def login(self) -> str:
        """§Login l.86-100: ``toLogin`` answers ``data.access_token``."""
        data = self._post({"operation": "toLogin", **self._credentials()}, document=False)
        self._logged_in = True
        token = data.get("access_token") if isinstance(data, dict) else None
        self._token = str(token) if token else None
        return self._token or ""

    def logout(self) -> None:
        self._post({"operation": "toLogout", **self._credentials()}, document=False)
        self._logged_in, self._token = False, None

    # -- information ----------------------------------------------------------------------

    def get_info(self) -> Info:
        try:
            return Info.model_validate(self._dict(self.call("getInfo")))
        except ValidationError as exc:
            raise CasposGarbled(f"unexpected getInfo answer: {exc.error_count()} error(s)") from exc

    def shift_status(self) -> ShiftStatus:
        return ShiftStatus.read(self._dict(self.call("getShiftStatus")))

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
        """§Open Shift l.216-227: ``data.sum`` and a top-level ``cashierName``."""
        self.call("openShift", {"sum": amount(deposit)}, top={"cashierName": cashier})

    def close_shift(self, document_uuid: str, cashier: str) -> dict[str, Any]:
        """§Close Shift l.254-264; the answer's body is the shift report."""
        data = self._dict(self.call("closeShift", {"documentUUID": document_uuid, "cashierName": cashier}, document=True))
        if data.get("_repeated") and len(data) == 1:
            raise RepeatedWithoutDocument(document_uuid)
        return data

    # -- documents ----------------------------------------------------------------------------

    def deposit(self, document_uuid: str, value: int, cashier: str) -> Document:
        """§Deposit l.397-409."""
        data = {"documentUUID": document_uuid, "sum": amount(value), "cashierName": cashier, "currency": CURRENCY}
        return self._document(document_uuid, self.call("deposit", data, document=True))

    def withdraw(self, document_uuid: str, value: int, cashier: str) -> Document:
        """§Withdraw l.448-460 (operation ``withDraw``)."""
        data = {"documentUUID": document_uuid, "sum": amount(value), "cashierName": cashier, "currency": CURRENCY}
        return self._document(document_uuid, self.call("withDraw", data, document=True))

    def sale(
        self,
        document_uuid: str,
        items: list[Item],
        payments: Payments,
        cashier: str,
        *,
        client: Client | None = None,
        note: str = "",
        rrn: str = "",
        approval_code: str | None = None,
        credit_contract: str | None = None,
        credit_payer: str | None = None,
        prepayment_document_id: str | None = None,
    ) -> Document:
        """§Sales l.498-541; with ``payments.credit`` and a contract a credit sale (§Credit Sale l.613-660), with
        ``prepayment_document_id`` an advance pay (§Advance Pay l.993-1036). A card payment waits ``card_timeout``:
        the register runs the card payment itself and answers with its RRN and approval code (l.576-595)."""
        data: dict[str, Any] = {"documentUUID": document_uuid, **payments.wire(), "items": [i.wire() for i in items]}
        data |= (client or Client()).wire() | {"cashierName": cashier, "note": note, "rrn": rrn}
        if approval_code is not None:
            data["approval_code"] = approval_code  # §Sales request table l.559
        data["currency"] = CURRENCY
        if credit_contract is not None:
            data |= {"creditContract": credit_contract, "creditPayer": credit_payer or ""}
        if prepayment_document_id is not None:
            data["prepaymentDocumentId"] = prepayment_document_id
        timeout = self.card_timeout if payments.card else None
        return self._document(document_uuid, self.call("sale", data, document=True, timeout=timeout))

    def credit_pay(
        self, document_uuid: str, parent_document_id: str, items: list[Item], payments: Payments, cashier: str, *,
        payment_number: str, residue: int, credit_contract: str, credit_payer: str, rrn: str = "",
    ) -> Document:
        """§Credit Pay l.719-760 (operation ``credit``)."""
        data = {
            "documentUUID": document_uuid, "parentDocumentId": parent_document_id,
            "cashPayment": amount(payments.cash), "cardPayment": amount(payments.card), "items": [i.paid_wire() for i in items],
            "paymentNumber": payment_number, "residue": amount(residue), "creditContract": credit_contract,
            "creditPayer": credit_payer, **Client().wire(), "cashierName": cashier, "note": "", "rrn": rrn, "currency": CURRENCY,
        }
        return self._document(document_uuid, self.call("credit", data, document=True))

    def prepayment(self, document_uuid: str, value: int, vat_type: VatType, payments: Payments, cashier: str, *,
                   items: list[Item] | None = None) -> Document:
        """§Advance (Deposit) Sale l.824-846; with ``items`` §Advance Sale Items l.899-933 (``prepaymentProducts``)."""
        data: dict[str, Any] = {"documentUUID": document_uuid, "sum": amount(value), "vatType": int(vat_type)}
        data |= {"cashPayment": amount(payments.cash), "cardPayment": amount(payments.card), "bonusPayment": amount(payments.bonus)}
        if items:
            data["items"] = [i.paid_wire() for i in items]
        data |= Client().wire() | {"cashierName": cashier, "currency": CURRENCY}
        return self._document(document_uuid, self.call("prepaymentProducts" if items else "prepayment", data, document=True))

    def money_back(
        self, document_uuid: str, parent_document_id: str, items: list[Item], payments: Payments, cashier: str, *,
        parent_sum: int | None = None, money_back_type: MoneyBackType = MoneyBackType.SALE, manual: bool = False, rrn: str = "",
        note: str = "", client: Client | None = None,
    ) -> Document:
        """§Money Back l.1089-1140; ``manual`` is §Money Back Manual l.1208. ``parent_sum`` is ``parentDocumentSum``,
        "Total amount of the receipt for the return" (§Parameter Descriptions l.79): no example shows it, so it is
        sent right after ``parentDocumentId`` and only when given. A card refund waits ``card_timeout`` like a card sale."""
        data: dict[str, Any] = {"parentDocumentId": parent_document_id}
        if parent_sum is not None:
            data["parentDocumentSum"] = amount(parent_sum)
        data |= {"documentUUID": document_uuid, **payments.wire()}
        data |= {"items": [i.wire() for i in items], "isManual": manual, "moneyBackType": int(money_back_type)}
        data |= (client or Client()).wire() | {"cashierName": cashier, "currency": CURRENCY, "rrn": rrn, "transactionId": "",
                                               "transactionNumber": "", "approvalCode": "", "note": note}
        timeout = self.card_timeout if payments.card else None
        return self._document(document_uuid, self.call("moneyBack", data, document=True, timeout=timeout))

    def correction(self, document_uuid: str, first: datetime, last: datetime, cash: int, card: int, vat_type: VatType, cashier: str, *,
                   note: str = "") -> Document:
        """§Correction l.1350-1368: cashierName beside ``operation``."""
        data = {
            "documentUUID": document_uuid, "firstOperationAtUtc": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lastOperationAtUtc": last.strftime("%Y-%m-%dT%H:%M:%SZ"), "currency": CURRENCY,
            "cashPayment": amount(cash), "cardPayment": amount(card), "vatType": int(vat_type), "note": note,
        }
        return self._document(document_uuid, self.call("correction", data, top={"cashierName": cashier}, document=True))

    def rollback(self, document_uuid: str, parent_document_id: str, payments: Payments, vat_amounts: dict[VatType, int], cashier: str, *,
                 note: str = "") -> Document:
        """§RollBack l.1404-1432: cashierName and currency beside ``operation``."""
        total = payments.cash + payments.card + payments.credit + payments.deposit + payments.bonus
        data = {
            "documentUUID": document_uuid, "parentDocumentId": parent_document_id, "sum": amount(total), **payments.wire(),
            "vatAmounts": [{"vatType": int(t), "vatSum": amount(v)} for t, v in vat_amounts.items()], "note": note,
        }
        timeout = self.card_timeout if payments.card else None
        return self._document(document_uuid, self.call("rollBack", data, top={"cashierName": cashier, "currency": CURRENCY}, document=True,
                                                       timeout=timeout))

    # -- exchange ----------------------------------------------------------------------------

    def call(self, operation: str, data: dict[str, Any] | None = None, *, top: dict[str, Any] | None = None, document: bool = False,
             timeout: float | None = None) -> Any:
        """One operation; logs in first, and once again on 401 (a 401 executed nothing, and documents are safe to
        resend by documentUUID anyway)."""
        body: dict[str, Any] = {"operation": operation, **self._credentials(), **(top or {})}
        if data is not None:
            body = {"data": data, **body}  # the examples put "data" first (§Open Shift l.218, §Sales l.500)
        if not self._logged_in:
            self.login()
        try:
            return self._post(body, document=document, timeout=timeout)
        except CasposAuthFailed as exc:
            if exc.caspos_code != Code.INVALID_LOGIN_SESSION:
                raise
        self.login()
        return self._post(body, document=document, timeout=timeout)

    def _post(self, body: dict[str, Any], *, document: bool, timeout: float | None = None) -> Any:
        headers = {"authorization": f"Bearer {self._token}"} if self._token else {}
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        try:
            response = self._http.post("/", content=dumps(body), headers=headers, **extra)
        except httpx.ConnectError as exc:
            raise DeviceUnreachable(f"cannot reach the Caspos register: {exc}") from exc
        except httpx.HTTPError as exc:
            error = LinkLost if document else DeviceUnreachable
            raise error(f"Caspos register did not answer {body['operation']}: {type(exc).__name__}: {exc}") from exc
        if document:
            crashpoint("during_device_call")
        try:
            if not response.is_success:
                raise ValueError(f"HTTP {response.status_code}")
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

    def _document(self, document_uuid: str, data: Any) -> Document:
        data = self._dict(data)
        try:
            return Document(
                document_id=str(data["document_id"]),
                document_number=int(data["document_number"]),
                shift_document_number=int(data["shift_document_number"]),
                short_document_id=str(data["short_document_id"]),
                number=data.get("number"),
                total=minor(data.get("totalSum", Decimal(0))),
                rrn=data.get("rrn") or None,
                approval_code=data.get("approval_code") or None,
                transaction_id=data.get("transaction_id"),
                transaction_number=data.get("transaction_number"),
                duplicate=bool(data.get("_repeated")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            if data.get("_repeated"):
                raise RepeatedWithoutDocument(document_uuid) from exc  # never resent in a loop (issue 26, Caspos 7)
            raise CasposGarbled(f"unexpected Caspos document answer: {exc}") from exc
