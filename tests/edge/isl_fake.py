"""A scripted ISL printer for driver tests: one family's rules as this test suite reads the documents.

It stands in for the serial port (the driver's ``Transport``), so a test sees every byte the
driver writes and decides every byte it reads. It is not the emulator (``edge.emulators.isl``)
and shares no code with the driver: frames are built here from the framing pages (C doc p.5,
P doc p.9, Daisy doc p.4). It keeps just enough state (open receipt, documents, sale numbers)
to answer as a printer would, and can refuse, fall silent, NAK, garble, or let the host "crash".
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Family = Literal["P", "C", "Daisy"]
SERIAL = {"P": "DT000600", "C": "DT000700", "Daisy": "DY000600"}
FM = {"P": "02000600", "C": "02000700", "Daisy": "36000600"}
CLOCK = "07-12-26 17:45:00"
GROUPS = {"P": "ABCDEFGH", "C": "АБВГДЕЖЗ", "Daisy": "АБВГДЕЖЗ"}
PAYMENTS = {"P": "PNCDIJKLijklmnopqrs", "C": "PNCDIJ", "Daisy": "PNCDUBE"}  # P doc p.19, C doc p.13, Daisy doc p.17
RATES = "20.00,9.00,0.00,DT,DT,DT,DT,DT"
# (byte, bit) per condition, per document: C doc p.3, P doc p.4, Daisy doc pp.4-5.
BITS: dict[str, tuple[int, int]] = {
    "syntax": (0, 0), "invalid": (0, 1), "clock": (0, 2), "general": (0, 5), "not_allowed": (1, 1), "overflow": (1, 0),
    "paper_out": (2, 0), "fiscal_open": (2, 3), "service_open": (2, 5), "fm_near_full": (4, 3), "fm_full": (4, 4),
    "fm_error": (4, 0), "ej_full": (2, 2), "ej_near_full": (2, 4),
}
FAMILY_BITS: dict[Family, dict[str, tuple[int, int]]] = {
    "P": {"cover": (0, 6), "printer": (0, 4), "paper_low": (2, 1), "terminal": (1, 6)},
    "C": {"terminal": (1, 6)},
    "Daisy": {"printer": (0, 4), "password": (1, 6), "paper_low": (2, 1), "terminal": (4, 1)},
}
DEFAULT_PASSWORD = {"P": lambda op: "0000", "C": str, "Daisy": str}  # P doc p.31, C doc p.23, ErpNet.FP for Daisy
QUERIES = {0x4A, 0x4C, 0x71, 0x40, 0x3E, 0x5A, 0x61, 0x7D}


class HostCrash(Exception):
    """The host process died here: whatever it sent may have been carried out, nothing more is read."""


def bcc(body: bytes) -> bytes:
    """C doc p.5: the sum of the bytes after 01 up to 05, four nibbles each plus 30h."""
    total = sum(body) & 0xFFFF
    return bytes(0x30 + ((total >> shift) & 0xF) for shift in (12, 8, 4, 0))


def request_frame(seq: int, cmd: int, data: bytes) -> bytes:
    body = bytes([0x20 + 4 + len(data), seq, cmd]) + data + b"\x05"
    return b"\x01" + body + bcc(body) + b"\x03"


def answer_frame(seq: int, cmd: int, data: bytes, status: bytes) -> bytes:
    body = bytes([0x20 + 4 + len(data) + 7, seq, cmd]) + data + b"\x04" + status + b"\x05"
    return b"\x01" + body + bcc(body) + b"\x03"


def cents(text: str) -> int:
    return int((Decimal(text) * 100).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass
class Document:
    number: int
    kind: str  # fiscal, cancelled, service, z, x, cash
    unp: str = ""
    items: int = 0
    total: int = 0
    paid: int = 0  # everything handed over, change included


@dataclass
class Receipt:
    unp: str
    items: int = 0
    total: int = 0
    paid: int = 0
    last_payment: int = 0
    storno: bool = False


@dataclass
class FakePrinter:
    family: Family
    amounts_in_cents: bool = False  # answer amounts as whole stotinki without a decimal point (ErpNet.FP's reading)
    paper_out: bool = False
    flags: set[str] = field(default_factory=set)  # persistent status conditions (cover, clock, fm_full…)
    refuse_with: dict[int, set[str]] = field(default_factory=dict)  # command -> conditions it is refused with
    link_faults: list[str] = field(default_factory=list)  # per answer, in order: nak, garbage, silence, half, syn
    garble_answers_to: set[int] = field(default_factory=set)  # commands carried out whose every answer arrives garbled
    crash_at: int | None = None  # the host dies once this many commands have been carried out
    crash_before_run: bool = False  # … or with that command sent but not yet carried out
    daily_report_answer: str | None = None
    tax_rates: str = RATES  # the 61h answer
    last_seq: int | None = None
    last_cmd: int | None = None
    last_answer: bytes = b""
    requests: list[tuple[int, int, bytes]] = field(default_factory=list)
    executed: list[tuple[int, bytes]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    receipt: Receipt | None = None
    service_open: bool = False
    last_unp_seq: int = 0
    closure: int = 0
    closed: int = 0
    _out: bytearray = field(default_factory=bytearray)

    # -- Transport -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert data[0] == 0x01 and data[-1] == 0x03 and len(data) == 1 + data[1] - 0x20 + 5, data
        assert data[-5:-1] == bcc(data[1:-5]), "the driver's checksum"
        seq, cmd, payload = data[2], data[3], data[4:-6]
        self.requests.append((seq, cmd, payload))
        repeat = seq == self.last_seq and (self.family != "Daisy" or cmd == self.last_cmd)  # C doc p.5, Daisy doc p.4
        if repeat:
            answer = self.last_answer
        else:
            if self.crash_at is not None and self.crash_before_run and len(self.executed) + 1 >= self.crash_at:
                raise HostCrash(f"before command {cmd:02X}h")
            answer = self._run(seq, cmd, payload)
            self.last_seq, self.last_cmd, self.last_answer = seq, cmd, answer
            if self.crash_at is not None and len(self.executed) >= self.crash_at:
                raise HostCrash(f"after command {cmd:02X}h")
        fault = self.link_faults.pop(0) if self.link_faults else None
        if cmd in self.garble_answers_to:
            fault = "garbage"
        if fault == "nak":
            self._out += b"\x15"
        elif fault == "garbage":
            self._out += b"\xfe\x7f\x00garbage"
        elif fault == "half":
            self._out += answer[: len(answer) // 2]
        elif fault == "syn":
            self._out += b"\x16\x16" + answer
        elif fault != "silence":
            self._out += answer

    def read(self, timeout: float) -> bytes:
        if not self._out:
            time.sleep(min(timeout, 0.005))
        chunk, self._out[:] = bytes(self._out), b""
        return chunk

    def transmit_seconds(self, size: int) -> float:
        return 0.0

    def discard_input(self) -> None:
        self._out.clear()

    def close(self) -> None:
        self.closed += 1

    # -- the printer -----------------------------------------------------------------------------

    def status(self, extra: set[str]) -> bytes:
        status = bytearray([0x80] * 6)
        bits = BITS | FAMILY_BITS[self.family]
        conditions = set(self.flags) | extra
        if self.paper_out:
            conditions.add("paper_out")
        if self.receipt is not None:
            conditions.add("fiscal_open")
        if self.service_open:
            conditions.add("service_open")
        for name in conditions:
            if name.startswith("code"):
                status[3] |= int(name[4:])  # Daisy doc p.5: byte 3 carries the device's error number
            elif name in bits:
                byte, bit = bits[name]
                status[byte] |= 1 << bit
        if conditions & {"syntax", "invalid", "not_allowed", "paper_out", "printer"}:
            status[0] |= 1 << 5
        return bytes(status)

    def money(self, minor: int) -> str:
        return str(minor) if self.amounts_in_cents else f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"

    def _run(self, seq: int, cmd: int, data: bytes) -> bytes:
        refused = self.refuse_with.get(cmd)
        if refused and (cmd != 0x30 or data):  # P's 30h without data only reads
            return answer_frame(seq, cmd, b"", self.status(refused))
        if self.paper_out and cmd not in QUERIES and not (cmd == 0x30 and not data):
            return answer_frame(seq, cmd, b"", self.status(set()))  # C doc p.3 2.0: refused, nothing changed
        try:
            text = self._execute(cmd, data.decode("cp1251"))
        except _Refused as refusal:
            return answer_frame(seq, cmd, b"", self.status({refusal.condition}))
        self.executed.append((cmd, data))
        return answer_frame(seq, cmd, text.encode("cp1251"), self.status(set()))

    def _execute(self, cmd: int, data: str) -> str:
        family = self.family
        if cmd == 0x4A:
            return ""
        if cmd == 0x5A:
            return f"FAKE,1.00 07Dec26 1200,FFFF,00000000,{SERIAL[family]},{FM[family]}"
        if cmd == 0x61:
            return self.tax_rates
        if cmd == 0x3E:
            return CLOCK
        if cmd == 0x71:
            return f"{len(self.documents):07d}"
        if cmd == 0x40:
            return f"P,{self.closure:04d},0,0,0,0,0,0,0,0,071226" if family == "C" else f"{self.closure:04d},0,0,0,0,0,0,0,0"
        if cmd == 0x4C:
            receipt = self.receipt or self._last_receipt()
            fields = [("1" if self.receipt or self.service_open else "0"), str(receipt.items), self.money(receipt.total)]
            if family == "Daisy":  # Daisy doc p.26: Tender is the last payment, then the remainder
                return ",".join([*fields, self.money(receipt.last_payment), self.money(max(receipt.total - receipt.paid, 0))])
            return ",".join([*fields, self.money(receipt.paid)])  # C doc p.20, P doc p.25: Tender, the sum paid
        if cmd == 0x30 and family == "Daisy" and "\t" in data:
            return self._open_daisy_storno(data)
        if cmd == 0x30:
            return self._open(data)
        if cmd == 0x2E and family != "Daisy":
            return self._open_storno(data)
        if cmd == 0x31:
            return self._sale(data)
        if cmd == 0x33:
            receipt = self._open_receipt()
            return ",".join([self.money(receipt.total)] + [self.money(receipt.total), *["0"] * 7])
        if cmd == 0x36:
            self._open_receipt()
            return ""
        if cmd == 0x35:
            return self._pay(data)
        if cmd == 0x38:
            receipt = self._open_receipt()
            if receipt.paid < receipt.total or receipt.total == 0:
                raise _Refused("not_allowed")  # C doc p.15
            kind = "storno" if receipt.storno else "fiscal"
            self.documents.append(Document(len(self.documents) + 1, kind, receipt.unp, receipt.items, receipt.total, receipt.paid))
            self.receipt = None
            return f"{len(self.documents)},{len(self.documents)}"
        if cmd == (0x82 if family == "Daisy" else 0x3C):  # Daisy doc p.41, C doc p.16, P doc p.22
            receipt = self._open_receipt()
            if receipt.paid:
                raise _Refused("not_allowed")
            self.documents.append(Document(len(self.documents) + 1, "cancelled", receipt.unp))
            self.receipt = None
            return ""
        if cmd == 0x7D and family == "C":  # C doc p.30
            option, number, kind = data.split(",")
            docs = [d for d in self.documents if d.number == int(number)]
            if option != "0" or kind != "1" or not docs or docs[0].kind not in ("fiscal", "cancelled", "storno"):
                return "F"
            return f"P,{number},{CLOCK},{'8' if docs[0].kind == 'storno' else '1'},{self.closure + 1}"  # 8: storno receipt
        if cmd == 0x45:
            return self._daily_report(data)
        if cmd == 0x46:
            if data:
                self.documents.append(Document(len(self.documents) + 1, "cash"))
            return f"P,{self.money(1000)},{self.money(cents(data) if data and cents(data) > 0 else 0)},0"
        if cmd == 0x26:
            if self.receipt or self.service_open:
                raise _Refused("not_allowed")
            self.service_open = True
            return "1"
        if cmd == 0x2A:
            if len(data.encode("cp1251")) > {"C": 40, "P": 42, "Daisy": 42}[family]:
                raise _Refused("syntax")
            return ""
        if cmd == 0x27:
            if not self.service_open:
                raise _Refused("not_allowed")
            self.service_open = False
            self.documents.append(Document(len(self.documents) + 1, "service"))
            return "1"
        raise _Refused("invalid")

    def _last_receipt(self) -> Receipt:
        fiscal = [d for d in self.documents if d.kind in ("fiscal", "storno")]
        last = fiscal[-1] if fiscal else Document(0, "fiscal")
        return Receipt(last.unp, last.items, last.total, last.total)

    def _open_receipt(self) -> Receipt:
        if self.receipt is None:
            raise _Refused("not_allowed")
        return self.receipt

    def _open(self, data: str) -> str:
        family = self.family
        if not data:
            if family != "P":  # P doc p.17 only
                raise _Refused("syntax")
            return str(self.last_unp_seq)
        fields = data.split(",")
        layout = {"P": ("op", "pwd", "till", "unp"), "C": ("op", "pwd", "unp", "till"), "Daisy": ("op", "pwd", "unp")}[family]
        if len(fields) != len(layout):
            raise _Refused("syntax")
        values = dict(zip(layout, fields, strict=True))
        if not re.fullmatch(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}", values["unp"]) or not values["op"].isdigit():
            raise _Refused("syntax")
        if values["pwd"] != DEFAULT_PASSWORD[family](int(values["op"])):
            raise _Refused("password" if family == "Daisy" else "not_allowed")
        if self.receipt or self.service_open or "clock" in self.flags:
            raise _Refused("not_allowed")
        self.receipt = Receipt(values["unp"])
        self.last_unp_seq = int(values["unp"][-7:])
        return f"{len(self.documents)},{len(self.documents)}"

    def _start(self, unp: str, *, storno: bool) -> str:
        if self.receipt or self.service_open or "clock" in self.flags:
            raise _Refused("not_allowed")
        self.receipt = Receipt(unp, storno=storno)
        return f"{len(self.documents)},{len(self.documents)}"

    def _open_storno(self, data: str) -> str:
        """2Eh. P doc p.16: <OpNum>,<Password>,<TillNum>[,<UNP>],<StType><DocNo>,<StUNP>,<StDT>,<StFMIN>;
        C doc p.10: <OpCode>,<OpPwd>,<NSale>,<TillNmb>,<DocType>,<DocNumber>,<DocDateTime>,<FMNumber>."""
        fields = data.split(",")
        unp_format = r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9]{7}"
        if self.family == "P":
            if len(fields) != 8 or not re.fullmatch(unp_format, fields[3]) or not re.fullmatch(r"[ERT]\d{1,7}", fields[4]):
                raise _Refused("syntax")
            op, pwd, _till, own, _doc, original, at, memory = fields
            if not re.fullmatch(unp_format, original) or not re.fullmatch(r"\d{12}", at) or not re.fullmatch(r"\d{8}", memory):
                raise _Refused("syntax")
            self._operator(op, pwd)
            answer = self._start(own, storno=True)
            self.last_unp_seq = int(own[-7:])  # P doc p.17: 30h without data reads the last fiscal or storno UNP
            return answer
        if len(fields) != 8:
            raise _Refused("syntax")
        op, pwd, original, _till, reason, doc, at, memory = fields
        if (original and not re.fullmatch(unp_format, original)) or reason not in "012" or not doc.isdigit() \
                or not re.fullmatch(r"\d{10}|\d{12}", at) or not re.fullmatch(r"\d{8}", memory):
            raise _Refused("syntax")
        self._operator(op, pwd)
        return self._start(original, storno=True)

    def _open_daisy_storno(self, data: str) -> str:
        """Daisy doc p.13: {ClerkNum},{Password},{UnicSaleNum}{Tab}R{Reason},{DocLink},{DocLinkDT}{Tab}{FiskMem}."""
        head, storno, memory = (data.split("\t") + ["", ""])[:3]
        op, pwd, unp = (head.split(",") + ["", ""])[:3]
        if not re.fullmatch(r"R[0-2],\d{1,7},\d\d-\d\d-\d\d \d\d:\d\d(:\d\d)?", storno) or not memory \
                or not re.fullmatch(r"[A-Z]{2}\d{6}-[0-9A-Z]{4}-\d{7,}", unp):
            raise _Refused("syntax")
        self._operator(op, pwd)
        return self._start(unp, storno=True)

    def _operator(self, op: str, pwd: str) -> None:
        if not op.isdigit() or pwd != DEFAULT_PASSWORD[self.family](int(op)):
            raise _Refused("password" if self.family == "Daisy" else "not_allowed")

    def _sale(self, data: str) -> str:
        receipt = self._open_receipt()
        match = re.fullmatch(r"([^\t]*)\t(.)(\d+\.\d\d)\*(\d+(?:\.\d{1,3})?)(?:([;$,])(-?\d+\.\d\d))?", data, re.DOTALL)
        absolute = {"P": ";", "C": ";", "Daisy": "$"}[self.family]  # P doc p.17, C doc p.11, Daisy doc p.15
        if match is None or match[2] not in GROUPS[self.family] or (match[5] not in (None, absolute)):
            raise _Refused("syntax")
        if self.family == "C" and len(match[1].encode("cp1251")) > 22:  # C doc p.11
            raise _Refused("syntax")
        if self.family == "C" and receipt.items >= 120:  # C doc p.11
            raise _Refused("not_allowed")
        amount = cents(str(Decimal(match[3]) * Decimal(match[4]))) + (cents(match[6]) if match[6] else 0)
        receipt.items += 1
        receipt.total += amount
        return ""

    def _pay(self, data: str) -> str:
        receipt = self._open_receipt()
        match = re.fullmatch(r"\t(.)(\d+\.\d\d)", data)
        if match is None or match[1] not in PAYMENTS[self.family]:
            raise _Refused("syntax")
        if receipt.paid >= receipt.total > 0 or (receipt.storno and self.family == "Daisy" and match[1] != "P"):
            raise _Refused("not_allowed")  # paid already; a Daisy storno is paid in cash only (Daisy doc p.18)
        receipt.paid += cents(match[2])
        receipt.last_payment = cents(match[2])
        due = receipt.total - receipt.paid
        if due > 0:
            return f"D{self.money(due)}"
        if due == 0 and self.family == "Daisy":
            return f"D{self.money(0)}"  # Daisy doc p.18: D when paid <= total
        return f"R{self.money(-due)}"

    def _daily_report(self, data: str) -> str:
        if data not in ("0", "2") or self.receipt:
            raise _Refused("syntax" if data not in ("0", "2") else "not_allowed")
        if data == "0":
            self.closure += 1
        self.documents.append(Document(len(self.documents) + 1, "z" if data == "0" else "x"))
        if self.daily_report_answer is not None:
            return self.daily_report_answer
        sales = sum(d.total for d in self.documents if d.kind == "fiscal")
        groups = [self.money(sales), *["0"] * 7]
        if self.family == "Daisy":
            return ",".join([f"{self.closure:04d}", *groups, *["0"] * 8])  # Daisy doc p.23: 17 fields
        return ",".join([f"{self.closure:04d}", self.money(sales), *groups])  # C doc p.18: 10 fields

    # -- what tests ask ---------------------------------------------------------------------------

    def receipts_for(self, unp_or_prefix: str) -> int:
        return sum(1 for d in self.documents if d.kind == "fiscal" and d.unp.startswith(unp_or_prefix))

    def sent(self, cmd: int) -> list[bytes]:
        return [data for _seq, c, data in self.requests if c == cmd]


class _Refused(Exception):
    def __init__(self, condition: str) -> None:
        super().__init__(condition)
        self.condition = condition
