"""An emulated Caspos Mobile register: the operations of seed 002 with the checks and answer codes it documents.

Every rule cites seed 002 by section and line (the text has no page numbers). Where the document is silent
the comment says what the emulator assumes. Test knobs (``fail_next``, ``drop_answer_to``, ``garbage_next``, ``blank_ids_next``,
``http_status_next``, ``delay_seconds``, ``repeat_without_data``, ``info_nulls``, ``require_token``) make it
behave as the faults a real register or its network produce.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.emulators.caspos import checks, wire
from edge.emulators.caspos.checks import Refusal
from edge.emulators.caspos.ledger import (
    PAYMENT_FIELDS,
    Doc,
    Shift,
    control_tape,
    periodic_report,
    shift_report,
)

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # base58, as the example document ids


class CasposRegister:
    """The register's state and operations; thread-safe."""

    def __init__(self, username: str = "username", password: str = "password") -> None:
        self.username, self.password = username, password
        self.token: str | None = None
        self.shift: Shift | None = None
        self.shifts: list[Shift] = []
        self.by_uuid: dict[str, Doc] = {}
        self.refunded: dict[str, int] = {}  # parent document_id -> total paid back against it
        self.last_doc_number = 10000
        self.report_number = 1800
        self.printer_connected = True
        self.token_state = "ACTIVE"  # §GetInfo l.147: the token's state
        self.clock_offset = timedelta()
        self.require_token = False
        self.repeat_without_data = False
        self.info_nulls: set[str] = set()
        self.fail_next: list[int] = []
        self.drop_answer_to: list[str] = []  # operations whose next answer is lost after they were carried out
        self.garbage_next = 0
        self.blank_ids_next = 0  # documents answered with an empty short_document_id: a malfunction, not the document
        self.http_status_next: list[int] = []
        self.delay_seconds = 0.0
        self.requests: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.lock = threading.RLock()

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0) + self.clock_offset

    def documents(self, kind: str | None = None) -> list[Doc]:
        with self.lock:
            return [d for d in self.by_uuid.values() if kind is None or d.kind == kind]

    def take_drop(self, body: Any) -> bool:
        """Whether the answer to this request is to be lost (``drop_answer_to``)."""
        with self.lock:
            operation = body.get("operation") if isinstance(body, dict) else None
            if operation in self.drop_answer_to:
                self.drop_answer_to.remove(operation)
                return True
            return False

    def open_shift_now(self) -> None:
        with self.lock:
            self._openShift({}, {})

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, body: dict[str, Any], bearer: str | None = None) -> dict[str, Any]:
        """One request (§Basics l.26-40: ``{"operation", "data"}`` in, ``{"code", "message", "data"}`` out)."""
        with self.lock:
            operation = str(body.get("operation"))
            self.requests.append(operation)
            self.bodies.append(body)
            try:
                if operation not in wire.OPERATIONS:
                    raise Refusal(wire.HANDLER_UNKNOWN_COMMAND, f"handler: unknown command {operation!r}")
                if self.fail_next:
                    raise Refusal(self.fail_next.pop(0))
                if operation != "toLogin":
                    self._check_session(body, bearer)
                data = body.get("data") or {}
                if not isinstance(data, dict):
                    raise Refusal(wire.JSON_NOT_RECOGNIZED)
                uuid = data.get("documentUUID")
                if uuid is not None and str(uuid) in self.by_uuid:
                    # §Close Shift l.250: a used documentUUID returns the result of the previous operation.
                    earlier = {} if self.repeat_without_data else {"data": self.by_uuid[str(uuid)].answer}
                    return {"code": wire.REPEATED_UUID, "message": wire.MESSAGES[wire.REPEATED_UUID], **earlier}
                result = getattr(self, "_" + operation)(data, body)
                return {"code": "0", "message": wire.MESSAGES[wire.OK], **({"data": result} if result is not None else {})}
            except Refusal as exc:
                return {"code": exc.code, "message": str(exc)}
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                return {"code": wire.JSON_TYPE_ERROR, "message": f"{wire.MESSAGES[wire.JSON_TYPE_ERROR]}: {exc}"}

    def _check_session(self, body: dict[str, Any], bearer: str | None) -> None:
        """§Login l.88/102: after toLogin the device keeps the token, so requests need not carry it. §Common Errors 401
        l.1924-1932 reads the other way ("the token is not being sent at all"): with ``require_token`` the token must
        come with the request, as ``access_token`` beside ``operation`` or as an ``Authorization: Bearer`` header."""
        if self.token is None:
            raise Refusal(wire.INVALID_LOGIN_SESSION)
        if self.require_token and self.token not in (body.get("access_token"), bearer):
            raise Refusal(wire.INVALID_LOGIN_SESSION)

    # -- session and information ---------------------------------------------------------------------

    def _toLogin(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Login l.86-100: username and password beside "operation"; answers data.access_token.
        if body.get("username") != self.username or body.get("password") != self.password:
            raise Refusal(wire.INCORRECT_PIN)
        self.token = secrets.token_urlsafe(16)
        return {"access_token": self.token}

    def _toLogout(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        self.token = None  # §Logout l.106: removes the stored token

    def _getInfo(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §GetInfo l.122-173; last_doc_number is a Float in the table (l.166).
        info: dict[str, Any] = {
            "application_version": "Versiya: 1.0.7.0", "cashregister_model": "SUNMI V1S", "cashbox_tax_number": "test_00086",
            "cashbox_factory_number": "00320029594B500B20373357", "cashregister_factory_number": "VS4319W60010",
            "company_name": "\"CASPOS\" MƏHDUD MƏSULİYYƏTLİ CƏMIYYƏTİ", "company_tax_number": "554534053",
            "last_doc_number": self.last_doc_number, "last_online_time": self.now().strftime(wire.DATE_FORMAT),
            "object_address": "AZ1007 BAKI ŞƏHƏRİ", "object_name": "OFİS", "object_tax_number": "554534053-11001",
            "qr_code_url": "https://monitoring.e-kassa.gov.az/#/index?doc=", "state": self.token_state, "token_version": "2.35.0",
        }
        return {k: None if k in self.info_nulls else v for k, v in info.items()}

    def _getShiftStatus(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Get Shift Status l.175-209: the example answers snake_case shift_open / shift_open_time.
        opened = self.shift.opened.strftime(wire.DATE_FORMAT) if self.shift else None
        return {"shift_open": self.shift is not None, "shift_open_time": opened}

    def _isConnectedPrinter(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        if not self.printer_connected:  # §Printer Connection l.1809; the failure code is not given: 999
            raise Refusal(wire.GENERIC, "Error message: printer is not connected")

    def _printLastCheque(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        if not any(s.docs for s in [*self.shifts, *([self.shift] if self.shift else [])]):
            raise Refusal(wire.LAST_DOC_NONE)  # §Error Messages 231

    def _openCashbox(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        return None  # §Open CashBox l.1835

    # -- shift -----------------------------------------------------------------------------------------

    def _openShift(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        # §Open Shift l.211-243: an open shift answers an error (its code is not given: 999); "sum" is an opening deposit.
        if self.shift is not None:
            raise Refusal(wire.GENERIC, "Error message: shift is already open")
        self.report_number += 1
        self.shift = Shift(number=self.report_number, opened=self.now())
        deposit = wire.to_minor(data.get("sum", 0))
        if deposit:
            self._document("deposit", f"open-shift-{self.report_number}", deposit, {}, {}, 0, {"totalSum": wire.money(0)})

    def _current(self) -> Shift:
        """The shift a document goes into: 503 when closed, 504 after 24 h (§Common Errors l.1944-1960)."""
        if self.shift is None:
            raise Refusal(wire.SHIFT_STATUS)
        if self.now() - self.shift.opened > timedelta(hours=wire.SHIFT_HOURS):
            raise Refusal(wire.SHIFT_DURATION)
        return self.shift

    def _closeShift(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Close Shift l.245-390: closes whatever the shift's age (it is the way out of 504); documentUUID makes it once-only.
        if self.shift is None:
            raise Refusal(wire.SHIFT_STATUS)
        shift, uuid = self.shift, str(data["documentUUID"])
        report = shift_report(shift, self.now(), self.last_doc_number) | {"document_id": _document_id()}
        shift.closed = self.now()
        self.shifts.append(shift)
        self.shift = None
        self.by_uuid[uuid] = Doc(uuid, "z_report", 0, report["document_id"], 0, {}, {}, 0, self.now(), report)
        return report

    def _getXReport(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return shift_report(self._current(), self.now(), self.last_doc_number)  # §X-Report l.1456

    def _getPeriodicZReport(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        start = datetime.strptime(data["startDate"], wire.DATE_FORMAT).replace(tzinfo=UTC)  # §Periodic Report l.1642-1643
        end = datetime.strptime(data["endDate"], wire.DATE_FORMAT).replace(tzinfo=UTC)
        return periodic_report(self.shifts, start, end, self.now())

    def _getControlTape(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return control_tape(self._current(), self.now())  # §Control Tape l.1728: the current shift only

    # -- documents ---------------------------------------------------------------------------------------

    def _deposit(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._cash_move("deposit", data)

    def _withDraw(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._cash_move("withdraw", data)

    def _cash_move(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        # §Deposit l.391-440, §Withdraw l.442-492: the answer's totalSum is 0.0 in both examples.
        self._current()
        checks.currency(data)
        value = wire.to_minor(data["sum"])
        if value <= 0:
            raise Refusal(wire.INVALID_TOTAL_SUM)
        return self._document(kind, str(data["documentUUID"]), value, {}, {}, 0, {"totalSum": wire.money(0)})

    def _sale(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Sales l.494, §Credit Sale l.609 (creditPayment + creditContract), §Advance Pay l.989 (prepaymentDocumentId).
        self._current()
        checks.currency(data)
        total, vat = checks.items(data.get("items"))
        payments = checks.payments(data, total)
        if payments["creditPayment"]:
            checks.credit_parties(data)
        if payments["depositPayment"]:
            parent = self._parent(data.get("prepaymentDocumentId"))
            if parent.kind != "prepayment" or payments["depositPayment"] > parent.total:
                raise Refusal(wire.WRONG_PARENT)
        return self._document("sale", str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _credit(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Credit Pay l.715-818: salePrice is the amount paid off, realPrice the item's price; the parent is a credit sale.
        self._current()
        checks.currency(data)
        parent = self._parent(data.get("parentDocumentId"))
        if parent.payments.get("creditPayment", 0) <= 0:
            raise Refusal(wire.WRONG_PARENT)
        total, vat = checks.items(data.get("items"))
        payments = checks.payments(data, total)
        if payments["creditPayment"] or payments["depositPayment"]:
            raise Refusal(wire.CREDIT_PREPAY_FORBIDDEN)
        checks.credit_parties(data)
        return self._document("credit", str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _prepayment(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Advance (Deposit) Sale l.820-893: an amount under one vatType.
        self._current()
        checks.currency(data)
        total = wire.to_minor(data["sum"])
        if total <= 0:
            raise Refusal(wire.INVALID_TOTAL_SUM)
        vat_type = checks.vat_type(data["vatType"])
        payments = checks.payments(data, total)
        if payments["creditPayment"] or payments["depositPayment"]:
            raise Refusal(wire.CREDIT_PREPAY_FORBIDDEN)
        return self._document("prepayment", str(data["documentUUID"]), total, payments, {vat_type: total}, 0, self._bank(data, total))

    def _prepaymentProducts(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Advance Sale Items l.895-897: "All items in the request must be subject to the same type of VAT".
        total, vat = checks.items(data.get("items"))
        if len(vat) != 1 or set(vat) != {checks.vat_type(data["vatType"])}:
            raise Refusal(wire.INVALID_PERCENTAGES)
        if total != wire.to_minor(data["sum"]):
            raise Refusal(wire.INVALID_ITEMS_SUM)
        return self._prepayment(data, body)

    def _moneyBack(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Money Back l.1085-1206, §Money Back Manual l.1208: isManual skips the checks against the parent document.
        self._current()
        checks.currency(data)
        if int(data.get("moneyBackType", 0)) not in wire.MONEY_BACK_TYPES:
            raise Refusal(wire.INVALID_MONEY_BACK_TYPE)
        total, vat = checks.items(data.get("items"))
        parent_id = str(data.get("parentDocumentId"))
        if data.get("isManual") is not True:
            parent = self._parent(parent_id)  # 628 for a document this register never made
            if parent.rolled_back:
                raise Refusal(wire.ALREADY_ROLLED_BACK)  # §Error Messages 639: a cancelled receipt has nothing left to pay back
            # parentDocumentSum, "Total amount of the receipt for the return" (§Parameter Descriptions l.79), is in no
            # example: when given it must be the parent's total; what is paid back may never exceed what is left of it.
            if "parentDocumentSum" in data and wire.to_minor(data["parentDocumentSum"]) != parent.total:
                raise Refusal(wire.PARENT_TOTAL_MISMATCH)  # §Error Messages 638
            if total + self.refunded.get(parent_id, 0) > parent.total:
                raise Refusal(wire.PARENT_TOTAL_MISMATCH)
        # The Money Back example (l.1100-1107) pays 1.00 back by card for an item of 2.00: the money paid back may be
        # less than the lines, never more, and no change is given.
        payments = {k: wire.to_minor(data.get(k, 0)) for k in PAYMENT_FIELDS}
        if any(v < 0 for v in payments.values()) or not 0 < sum(payments.values()) <= total:
            raise Refusal(wire.INVALID_TOTAL_SUM)
        checks.rrn(data, payments)
        self.refunded[parent_id] = self.refunded.get(parent_id, 0) + total
        return self._document("money_back", str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _correction(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §Correction l.1346-1398: takings made while the register was down, under one vatType.
        self._current()
        checks.currency(data)
        try:
            first = datetime.strptime(data["firstOperationAtUtc"], wire.ISO_FORMAT)
            last = datetime.strptime(data["lastOperationAtUtc"], wire.ISO_FORMAT)
        except ValueError as exc:
            raise Refusal(wire.INVALID_DATETIME) from exc
        if last < first:
            raise Refusal(wire.INVALID_DATETIME)
        payments = {k: wire.to_minor(data.get(k, 0)) for k in ("cashPayment", "cardPayment")}
        total = sum(payments.values())
        if total <= 0 or min(payments.values()) < 0:
            raise Refusal(wire.INVALID_TOTAL_SUM)
        vat_type = checks.vat_type(data["vatType"])
        return self._document("correction", str(data["documentUUID"]), total, payments, {vat_type: total}, 0,
                              {"number": "", "totalSum": wire.money(total)})

    def _rollBack(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        # §RollBack l.1400-1454: cancels a sale or correction of the current shift only, for its whole sum.
        shift = self._current()
        parent = next((d for d in shift.docs if d.document_id == data.get("parentDocumentId") and d.kind in ("sale", "correction")), None)
        if parent is None:
            raise Refusal(wire.ROLLBACK_PARENT_MISSING)
        if parent.rolled_back:
            raise Refusal(wire.ALREADY_ROLLED_BACK)
        total = wire.to_minor(data["sum"])
        # A rollBack annuls the whole receipt: its sum is the parent's, and a receipt already partly paid back has less
        # left than that (638; the document is silent on a rollBack after a moneyBack, this is the emulator's reading).
        if total != parent.total or self.refunded.get(parent.document_id, 0):
            raise Refusal(wire.PARENT_TOTAL_MISMATCH)
        vat = {checks.vat_type(v["vatType"]): wire.to_minor(v["vatSum"]) for v in data.get("vatAmounts") or []}
        if sum(vat.values()) != total:
            raise Refusal(wire.INVALID_VAT_TOTAL)
        # The document does not say the payments must repeat the parent's: only that they make up the sum (607).
        payments = {k: wire.to_minor(data.get(k, 0)) for k in PAYMENT_FIELDS}
        if sum(payments.values()) != total:
            raise Refusal(wire.INVALID_TOTAL_SUM)
        parent.rolled_back = True
        return self._document("rollback", str(data["documentUUID"]), total, payments, vat, 0, self._bank(data, total))

    def _parent(self, document_id: Any) -> Doc:
        parent = next((d for d in self.by_uuid.values() if d.document_id == document_id), None)
        if parent is None:
            raise Refusal(wire.WRONG_PARENT)  # §Error Messages 628
        return parent

    def _bank(self, data: dict[str, Any], total: int) -> dict[str, Any]:
        """The bank fields of the answer (§Sales response l.576-595): the register runs the card payment itself."""
        card = wire.to_minor(data.get("cardPayment", 0))
        rrn = str(data.get("rrn") or "") or (f"{secrets.randbelow(10**12):012d}" if card else "")
        return {"approval_code": f"{secrets.randbelow(10**6):06d}" if card else "", "number": "", "rrn": rrn,
                "totalSum": wire.money(total), "transaction_id": "null", "transaction_number": "null"}

    def _document(self, kind: str, uuid: str, total: int, payments: dict[str, int], vat: dict[int, int], items: int,
                  extra: dict[str, Any]) -> dict[str, Any]:
        shift = self._current()
        self.last_doc_number += 1
        document_id = _document_id()
        answer = {"document_id": document_id, "document_number": self.last_doc_number, "shift_document_number": len(shift.docs) + 1,
                  "short_document_id": document_id[:12], **extra}
        if "number" in answer:
            answer["number"] = f"{self.now():%d%m%y}A1A1{self.last_doc_number:07d}"  # like "180724A1A1197045" (l.584)
        shift.docs.append(Doc(uuid, kind, self.last_doc_number, document_id, total, payments, vat, items, self.now(), answer))
        self.by_uuid[uuid] = shift.docs[-1]
        return answer


def _document_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(44))
