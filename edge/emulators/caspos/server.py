"""An emulated Caspos Mobile register: the seed 002 integration API over HTTP, with its checks and codes.

It logs in with a configured username/password (401 until then), keeps one shift (503 when
closed, 504 after 24 h), numbers documents, answers a repeated documentUUID with code 1 and
the earlier result, checks currencies (606), items (610, 612, 616), sums (607, 611, 614),
VAT totals (613), parents of returns and rollbacks (627, 628, 633, 638, 639) and an RRN
without a card payment (648). ``python -m edge.emulators.caspos.server --port 5544`` prints
``CASPOS READY port=<port>``. ``CasposRegister.fail_next`` injects any answer code.
"""

from __future__ import annotations

import argparse
import secrets
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from edge.drivers.caspos.api import (
    CONTENT_TYPE,
    DATE_FORMAT,
    MESSAGES,
    OPERATIONS,
    VAT_PERCENT,
    Code,
    CodeType,
    MoneyBackType,
    QuantityType,
    VatType,
    amount,
    dumps,
    loads,
    minor,
)

_PAYMENTS = ("cashPayment", "cardPayment", "creditPayment", "depositPayment", "bonusPayment")
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class Refusal(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(detail or MESSAGES.get(code, "error"))
        self.code = code


@dataclass
class Doc:
    uuid: str
    kind: str  # sale, money_back, deposit, withdraw, correction, rollback, credit, prepayment
    number: int
    shift_number: int
    document_id: str
    total: int
    payments: dict[str, int]
    vat: dict[int, int]
    items: int
    at: datetime
    answer: dict[str, Any]
    rolled_back: bool = False


@dataclass
class Shift:
    number: int
    opened: datetime
    docs: list[Doc] = field(default_factory=list)
    closed: datetime | None = None


class CasposRegister:
    """The register's state and operations; thread-safe."""

    def __init__(self, username: str = "username", password: str = "password", currencies: tuple[str, ...] = ("AZN",),
                 vat_percent: dict[VatType, Decimal] | None = None) -> None:
        self.username, self.password = username, password
        self.currencies = currencies
        self.vat_percent = {**VAT_PERCENT, **(vat_percent or {})}
        self.token: str | None = None
        self.shift: Shift | None = None
        self.shifts: list[Shift] = []
        self.by_uuid: dict[str, Doc] = {}
        self.last_doc_number = 10000
        self.report_number = 1800
        self.printer_connected = True
        self.clock_offset = timedelta()
        self.fail_next: list[int] = []
        self.drop_next = 0
        self.requests: list[str] = []
        self.raw_bodies: list[bytes] = []
        self.lock = threading.RLock()

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0) + self.clock_offset

    def documents(self, kind: str | None = None) -> list[Doc]:
        with self.lock:
            return [d for d in self.by_uuid.values() if kind is None or d.kind == kind]

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            operation = body.get("operation")
            self.requests.append(str(operation))
            try:
                if operation not in OPERATIONS:
                    raise Refusal(Code.GENERIC, f"unknown operation {operation!r}")
                if self.fail_next:
                    raise Refusal(self.fail_next.pop(0))
                if operation == "toLogin":
                    return self._login(body)
                if self.token is None:
                    raise Refusal(Code.INVALID_LOGIN_SESSION)
                data = body.get("data") or {}
                if not isinstance(data, dict):
                    raise Refusal(1002, "json: input is not recognized")
                uuid = data.get("documentUUID")
                if uuid is not None and uuid in self.by_uuid:
                    return {"code": Code.REPEATED_DOCUMENT_UUID, "message": MESSAGES[1], "data": self.by_uuid[uuid].answer}
                result = getattr(self, "_" + str(operation))(data, body)
                return {"code": "0", "message": "Success operation", **({"data": result} if result is not None else {})}
            except Refusal as exc:
                return {"code": exc.code, "message": str(exc)}
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                return {"code": 1008, "message": f"json: type: deserialize error: {exc}"}

    # -- session and information -----------------------------------------------------------

    def _login(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("username") != self.username or body.get("password") != self.password:
            raise Refusal(Code.INCORRECT_PIN)
        self.token = secrets.token_urlsafe(16)
        return {"code": "0", "message": "Success operation", "data": {"access_token": self.token}}

    def _toLogout(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        self.token = None

    def _getInfo(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return {
            "application_version": "Versiya: 1.0.7.0", "cashregister_model": "SUNMI V1S", "cashbox_tax_number": "test_00086",
            "cashbox_factory_number": "00320029594B500B20373357", "cashregister_factory_number": "VS4319W60010",
            "company_name": "EMULATED CASPOS", "company_tax_number": "554534053", "last_doc_number": self.last_doc_number,
            "last_online_time": self.now().strftime(DATE_FORMAT), "object_address": "AZ1007 BAKI", "object_name": "OFIS",
            "object_tax_number": "554534053-11001", "qr_code_url": "https://monitoring.e-kassa.gov.az/#/index?doc=",
            "state": "ACTIVE", "token_version": "2.35.0",
        }

    def _getShiftStatus(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        opened = self.shift.opened.strftime(DATE_FORMAT) if self.shift else None
        return {"shift_open": self.shift is not None, "shift_open_time": opened}

    def _isConnectedPrinter(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        if not self.printer_connected:
            raise Refusal(Code.GENERIC, "printer is not connected")

    def _printLastCheque(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        if not self.by_uuid:
            raise Refusal(231)

    def _openCashbox(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        return None

    # -- shift -------------------------------------------------------------------------------

    def _openShift(self, data: dict[str, Any], body: dict[str, Any]) -> None:
        if self.shift is not None:
            raise Refusal(Code.SHIFT_CLOSED, "shift is already open")
        self.report_number += 1
        self.shift = Shift(number=self.report_number, opened=self.now())
        deposit = minor(data.get("sum", 0))
        if deposit:
            self._document("deposit", f"open-{self.report_number}", deposit, {"cashPayment": deposit}, {}, 0, {"totalSum": amount(0)})

    def _open_shift(self) -> Shift:
        if self.shift is None:
            raise Refusal(Code.SHIFT_CLOSED)
        if self.now() - self.shift.opened > timedelta(hours=24):
            raise Refusal(Code.SHIFT_TOO_LONG)
        return self.shift

    def _closeShift(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        shift = self._open_shift()
        report = self._report(shift) | {"document_id": _document_id()}
        shift.closed = self.now()
        self.shifts.append(shift)
        self.shift = None
        self.by_uuid[str(data["documentUUID"])] = Doc(str(data["documentUUID"]), "z_report", 0, 0, report["document_id"], 0, {}, {}, 0, self.now(), report)
        return report

    def _getXReport(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._report(self._open_shift())

    def _report(self, shift: Shift) -> dict[str, Any]:
        kinds = {"sale": "sale", "money_back": "moneyBack", "rollback": "rollback", "correction": "correction", "credit": "creditpay", "prepayment": "prepay"}
        currency: dict[str, Any] = {"currency": "AZN"}
        for kind, prefix in kinds.items():
            docs = [d for d in shift.docs if d.kind == kind]
            currency[f"{prefix}Count"] = len(docs)
            currency[f"{prefix}Sum"] = amount(sum(d.total for d in docs))
            for wire, name in (("cashPayment", "CashSum"), ("cardPayment", "CashlessSum"), ("bonusPayment", "BonusSum"), ("creditPayment", "CreditSum"), ("depositPayment", "PrepaymentSum")):
                currency[f"{prefix}{name}"] = amount(sum(d.payments.get(wire, 0) for d in docs))
            currency[f"{prefix}VatAmounts"] = _vat_amounts(docs, self.vat_percent)
        for kind in ("deposit", "withdraw"):
            docs = [d for d in shift.docs if d.kind == kind]
            currency[f"{kind}Count"], currency[f"{kind}Sum"] = len(docs), amount(sum(d.total for d in docs))
        numbers = [d.number for d in shift.docs] or [self.last_doc_number]
        return {
            "currencies": [currency], "docCountToSend": 0, "firstDocNumber": min(numbers), "lastDocNumber": max(numbers),
            "createdAtUtc": self.now().strftime(DATE_FORMAT), "reportNumber": str(shift.number), "shiftOpenAtUtc": shift.opened.strftime(DATE_FORMAT),
        }

    def _getPeriodicZReport(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        start = datetime.strptime(data["startDate"], DATE_FORMAT).replace(tzinfo=UTC)
        end = datetime.strptime(data["endDate"], DATE_FORMAT).replace(tzinfo=UTC)
        docs = [d for s in self.shifts if s.closed and start <= s.closed <= end for d in s.docs]
        out: dict[str, Any] = {"date": self.now().strftime(DATE_FORMAT), "startDate": data["startDate"], "endDate": data["endDate"]}
        for kind, prefix in (("sale", "sale"), ("money_back", "saleReturn"), ("rollback", "cancellation"), ("correction", "correction"), ("credit", "credit"), ("prepayment", "prepayment")):
            chosen = [d for d in docs if d.kind == kind]
            out[f"{prefix}Count"] = len(chosen)
            out[f"{prefix}CashTotal"] = amount(sum(d.payments.get("cashPayment", 0) for d in chosen))
            out[f"{prefix}CashlessTotal"] = amount(sum(d.payments.get("cardPayment", 0) for d in chosen))
            out[f"{prefix}BonusTotal"] = amount(sum(d.payments.get("bonusPayment", 0) for d in chosen))
        for kind, prefix in (("deposit", "cashIn"), ("withdraw", "cashOut")):
            chosen = [d for d in docs if d.kind == kind]
            out[f"{prefix}Count"], out[f"{prefix}Total"] = len(chosen), amount(sum(d.total for d in chosen))
        sales = sum(d.total for d in docs if d.kind in ("sale", "credit", "prepayment", "correction"))
        returns = sum(d.total for d in docs if d.kind in ("money_back", "rollback"))
        out["periodSum"] = amount(sales - returns)
        return out

    def _getControlTape(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        shift = self._open_shift()
        tape = [
            {"createdAtUtc": d.at.strftime(DATE_FORMAT), "document_id": d.document_id, "item_count": d.items, "total_sum": amount(d.total),
             "total_vat": amount(sum(_vat_of(v, self.vat_percent[VatType(t)]) for t, v in d.vat.items())), "delivered": True,
             "number": d.number, "short_document_id": d.document_id[:12], "type": d.kind}
            for d in shift.docs
        ]
        return {"createdAtUtc": self.now().strftime(DATE_FORMAT), "documents_quantity": len(tape), "shift_number": shift.number,
                "shiftOpenAtUtc": shift.opened.strftime(DATE_FORMAT), "tape": tape}

    # -- documents ------------------------------------------------------------------------------

    def _deposit(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._cash_document("deposit", data)

    def _withDraw(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return self._cash_document("withdraw", data)

    def _cash_document(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        value = minor(data["sum"])
        if value <= 0:
            raise Refusal(Code.INVALID_TOTAL_SUM)
        return self._document(kind, str(data["documentUUID"]), value, {}, {}, 0, {"totalSum": amount(0)})

    def _sale(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        total, vat = self._items(data.get("items"))
        payments = self._payments(data, total)
        if payments.get("creditPayment") and not data.get("creditContract"):
            raise Refusal(630)
        if payments.get("depositPayment") and not data.get("prepaymentDocumentId"):
            raise Refusal(632)
        kind = "sale"
        return self._document(kind, str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _credit(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        parent = self._parent(data.get("parentDocumentId"))
        if parent.payments.get("creditPayment", 0) <= 0:
            raise Refusal(Code.WRONG_PARENT)
        total = sum(minor(i["salePrice"]) for i in data.get("items") or [])
        if not data.get("items"):
            raise Refusal(Code.ITEMS_EMPTY)
        vat = {int(i["vatType"]): minor(i["salePrice"]) for i in data["items"]}
        payments = self._payments(data, total)
        return self._document("credit", str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _prepayment(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        total = minor(data["sum"])
        vat_type = self._vat_type(data["vatType"])
        payments = self._payments(data, total)
        return self._document("prepayment", str(data["documentUUID"]), total, payments, {vat_type: total}, 0, self._bank(data, total))

    def _prepaymentProducts(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        total, vat = self._items(data.get("items"))
        if total != minor(data["sum"]) or len(vat) != 1:
            raise Refusal(Code.INVALID_ITEMS_SUM)
        return self._prepayment(data, body)

    def _moneyBack(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        if int(data.get("moneyBackType", 0)) not in MoneyBackType._value2member_map_:
            raise Refusal(Code.INVALID_MONEYBACK_TYPE)
        total, vat = self._items(data.get("items"))
        if not data.get("isManual"):
            parent = self._parent(data.get("parentDocumentId"))
            if total > parent.total:
                raise Refusal(Code.PARENT_TOTAL_MISMATCH)
        payments = self._payments(data, total, exact=True)
        return self._document("money_back", str(data["documentUUID"]), total, payments, vat, len(data["items"]), self._bank(data, total))

    def _correction(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self._open_shift()
        self._currency(data)
        first = datetime.strptime(data["firstOperationAtUtc"], "%Y-%m-%dT%H:%M:%SZ")
        last = datetime.strptime(data["lastOperationAtUtc"], "%Y-%m-%dT%H:%M:%SZ")
        if last < first:
            raise Refusal(642)
        payments = {k: minor(data.get(k, 0)) for k in ("cashPayment", "cardPayment")}
        total = sum(payments.values())
        if total <= 0:
            raise Refusal(Code.INVALID_TOTAL_SUM)
        vat_type = self._vat_type(data["vatType"])
        return self._document("correction", str(data["documentUUID"]), total, payments, {vat_type: total}, 0, {"number": "", "totalSum": amount(total)})

    def _rollBack(self, data: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        shift = self._open_shift()
        parent = next((d for d in shift.docs if d.document_id == data.get("parentDocumentId") and d.kind in ("sale", "correction")), None)
        if parent is None:
            raise Refusal(Code.ROLLBACK_PARENT_NOT_FOUND)
        if parent.rolled_back:
            raise Refusal(Code.ALREADY_ROLLED_BACK)
        total = minor(data["sum"])
        if total != parent.total:
            raise Refusal(Code.PARENT_TOTAL_MISMATCH)
        vat = {self._vat_type(v["vatType"]): minor(v["vatSum"]) for v in data.get("vatAmounts") or []}
        if sum(vat.values()) != total:
            raise Refusal(Code.INVALID_VAT_TOTAL)
        payments = self._payments(data, total, exact=True)
        parent.rolled_back = True
        return self._document("rollback", str(data["documentUUID"]), total, payments, vat, 0, self._bank(data, total))

    # -- checks ----------------------------------------------------------------------------------

    def _currency(self, data: dict[str, Any]) -> None:
        if data.get("currency", "AZN") not in self.currencies:
            raise Refusal(Code.INVALID_CURRENCY)

    def _vat_type(self, value: Any) -> int:
        if int(value) not in VatType._value2member_map_:
            raise Refusal(Code.INVALID_PERCENTAGES)
        return int(value)

    def _items(self, items: Any) -> tuple[int, dict[int, int]]:
        if not isinstance(items, list) or not items:
            raise Refusal(Code.ITEMS_EMPTY)
        total, vat = 0, {}
        for item in items:
            if int(item.get("codeType", -1)) not in CodeType._value2member_map_:
                raise Refusal(Code.INVALID_ITEM_CODE_TYPE)
            if int(item.get("quantityType", -1)) not in QuantityType._value2member_map_:
                raise Refusal(Code.GENERIC, "invalid quantity type")
            vat_type = self._vat_type(item.get("vatType", -1))
            if not 1 <= len(str(item.get("name", ""))) <= 255:
                raise Refusal(635)
            quantity, price = Decimal(item["quantity"]), Decimal(item["salePrice"])
            if quantity <= 0 or price < 0:
                raise Refusal(Code.INVALID_ITEM_TOTAL)
            computed = int((quantity * price * 100).to_integral_value(rounding=ROUND_HALF_UP))
            line = minor(item["sum"]) if "sum" in item else computed
            if abs(line - computed) > max(1, computed // 100):
                raise Refusal(Code.INVALID_ITEM_TOTAL)
            line -= minor(item.get("discountAmount", 0))
            if line < 0:
                raise Refusal(Code.INVALID_ITEMS_SUM)
            total += line
            vat[vat_type] = vat.get(vat_type, 0) + line
        return total, vat

    @staticmethod
    def _payments(data: dict[str, Any], total: int, *, exact: bool = False) -> dict[str, int]:
        payments = {k: minor(data.get(k, 0)) for k in _PAYMENTS}
        if any(v < 0 for v in payments.values()):
            raise Refusal(Code.INVALID_TOTAL_SUM)
        cashless = sum(v for k, v in payments.items() if k != "cashPayment")
        paid = sum(payments.values())
        if cashless > total or paid < total or (exact and paid != total):
            raise Refusal(Code.INVALID_TOTAL_SUM)
        if data.get("rrn") and not payments["cardPayment"]:
            raise Refusal(Code.RRN_WITHOUT_CASHLESS)
        payments["cashPayment"] = total - cashless  # change given back is not takings
        return payments

    def _parent(self, document_id: Any) -> Doc:
        parent = next((d for d in self.by_uuid.values() if d.document_id == document_id), None)
        if parent is None:
            raise Refusal(Code.WRONG_PARENT)
        return parent

    @staticmethod
    def _bank(data: dict[str, Any], total: int) -> dict[str, Any]:
        card = minor(data.get("cardPayment", 0))
        return {
            "approval_code": f"{secrets.randbelow(10**6):06d}" if card else "", "number": "", "rrn": str(data.get("rrn") or ""),
            "totalSum": amount(total), "transaction_id": "null", "transaction_number": "null",
        }

    def _document(self, kind: str, uuid: str, total: int, payments: dict[str, int], vat: dict[int, int], items: int, extra: dict[str, Any]) -> dict[str, Any]:
        shift = self._open_shift()
        self.last_doc_number += 1
        document_id = _document_id()
        answer = {"document_id": document_id, "document_number": self.last_doc_number, "shift_document_number": len(shift.docs) + 1,
                  "short_document_id": document_id[:12], **extra}
        if "number" in answer and not answer["number"]:
            answer["number"] = f"{self.now():%d%m%y}A1A1{self.last_doc_number:07d}"
        doc = Doc(uuid, kind, self.last_doc_number, len(shift.docs) + 1, document_id, total, payments, vat, items, self.now(), answer)
        shift.docs.append(doc)
        self.by_uuid[uuid] = doc
        return answer


def _document_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(44))


def _vat_of(gross: int, percent: Decimal) -> int:
    return int((Decimal(gross) * percent / (100 + percent)).to_integral_value(rounding=ROUND_HALF_UP))


def _vat_amounts(docs: list[Doc], percents: dict[VatType, Decimal]) -> list[dict[str, Decimal]]:
    sums: dict[int, int] = {}
    for doc in docs:
        for vat_type, gross in doc.vat.items():
            sums[vat_type] = sums.get(vat_type, 0) + gross
    out = []
    for vat_type, gross in sorted(sums.items()):
        entry = {"vatSum": amount(gross)}
        if vat_type != VatType.VAT_FREE:
            entry = {"vatPercent": percents[VatType(vat_type)].quantize(Decimal("0.0")), **entry}
        out.append(entry)
    return out


class CasposServer:
    """The register behind ``ThreadingHTTPServer`` on 127.0.0.1."""

    def __init__(self, register: CasposRegister, port: int = 0) -> None:
        self.register = register
        served = register

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with served.lock:
                    served.raw_bodies.append(body)
                try:
                    request = loads(body)
                    answer = served.handle(request) if isinstance(request, dict) else {"code": 1002, "message": "json: input is not recognized"}
                except (ValueError, UnicodeDecodeError):
                    answer = {"code": 1002, "message": "json: input is not recognized"}
                with served.lock:
                    if served.drop_next:
                        served.drop_next -= 1
                        self.close_connection = True
                        return
                data = dumps(answer)
                self.send_response(200)
                self.send_header("content-type", CONTENT_TYPE)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CasposServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated Caspos Mobile register (HTTP JSON integration API).")
    parser.add_argument("--port", type=int, default=5544)
    parser.add_argument("--username", default="username")
    parser.add_argument("--password", default="password")
    parser.add_argument("--currency", action="append", default=[], help="accepted currency (repeatable; default AZN)")
    parser.add_argument("--vat", action="append", default=[], metavar="TYPE=PERCENT", help="override a vatType's percent")
    parser.add_argument("--open-shift", action="store_true", help="start with an open shift")
    args = parser.parse_args(argv)
    percents = {VatType(int(t)): Decimal(p) for t, p in (v.split("=", 1) for v in args.vat)}
    register = CasposRegister(args.username, args.password, tuple(args.currency or ["AZN"]), percents)
    if args.open_shift:
        register.report_number += 1
        register.shift = Shift(number=register.report_number, opened=register.now())
    server = CasposServer(register, args.port).start()
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"CASPOS READY port={server.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
