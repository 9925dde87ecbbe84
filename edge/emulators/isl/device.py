"""An ISL fiscal printer (Datecs C, Datecs P or Daisy, chosen by model): state, faults, execution.

``FiscalPrinter`` keeps what the device keeps (document and receipt counters, the open
receipt, day totals, cash, operators, the electronic journal) and runs one command at a
time through its family's command table (``commands.py``). ``answer`` adds the framing
rule that a repeated sequence number gets the previous answer without running anything
(C doc p.5, P doc p.7; Daisy doc p.4 also requires the same command). ``endpoint.py``
speaks the bytes, ``server.py`` puts it on a pseudo-terminal or TCP port.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from edge.emulators.isl import wire_x
from edge.emulators.isl.amounts import decimal_text, stotinki_text
from edge.emulators.isl.commands import commands_for
from edge.emulators.isl.errors import (
    CannotPrint,
    CommandError,
    NotAllowed,
    SyntaxFault,
    UnknownCommand,
)
from edge.emulators.isl.families import DEFAULT_VAT_GROUPS, Family, family_for
from edge.emulators.isl.journal import (
    GROUPS,
    Closure,
    DocKind,
    Document,
    OpenReceipt,
    StornoOrigin,
)
from edge.emulators.isl.wire import HostFrame, encode_answer

FAULTS = (
    "paper_out", "paper_near_end", "cover_open", "printing_unit_fault", "clock_not_set",
    "fm_write_error", "fm_full", "fm_near_full", "ej_near_end", "ej_end", "tax_terminal_silent",
    "ej_very_near_end", "low_battery", "printhead_overheated", "cutter_error", "unsent_documents",
)


class UnsupportedFault(AttributeError):
    """The family's document has no status bit for this fault."""


class PrinterFaults:
    """Injectable device faults; each shows in the family's status bits (status.py).

    Setting a fault the family's document has no bit for raises ``UnsupportedFault``
    (the C document has no printing-unit-fault or low-paper bit).
    """

    def __init__(self, family: Family) -> None:
        object.__setattr__(self, "_family", family)
        for name in FAULTS:
            object.__setattr__(self, name, False)
        object.__setattr__(self, "error_code", 0)

    def __setattr__(self, name: str, value: Any) -> None:
        family: Family = object.__getattribute__(self, "_family")
        if name == "error_code" and family.layout.error_code_byte is None:
            raise UnsupportedFault(f"the {family.key} document has no error-code byte")
        if name in FAULTS and value and name not in family.layout.names:
            raise UnsupportedFault(f"the {family.key} document has no status bit for {name}")
        if name not in FAULTS and name != "error_code":
            raise AttributeError(name)
        object.__setattr__(self, name, value)

    def active(self) -> set[str]:
        return {name for name in FAULTS if getattr(self, name)}


class FiscalPrinter:
    """One emulated device; thread-safe."""

    def __init__(self, model: str = "DP-25", serial: str | None = None, rates: tuple[Decimal | None, ...] | None = None) -> None:
        self.family, self.model = family_for(model)
        self.serial = serial or f"{self.family.serial_prefix}000600"
        self.fiscal_memory = "02" + self.serial[2:]
        self.rates: list[Decimal | None] = list(rates or DEFAULT_VAT_GROUPS)
        self.faults = PrinterFaults(self.family)
        self.passwords = {op: self.family.factory_password(op) for op in self.family.operators}
        self.wrong_passwords = 0
        self.doc_number = 0
        self.z_number = 0
        self.last_closure: Closure | None = None  # the fiscal memory's last record (40h)
        self.last_unp: str | None = None  # the last unique sale number set (P doc p.16 counts on from it)
        self.receipts_today = 0
        self.documents_today = 0
        self.stornos_today = 0
        self.day_sales = dict.fromkeys(GROUPS, 0)
        self.day_storno = dict.fromkeys(GROUPS, 0)
        self.cash = 0
        self.served_in = 0
        self.served_out = 0
        self.open: OpenReceipt | None = None
        self.last_closed: OpenReceipt | None = None
        self.journal: list[Document] = []
        self.last_z: tuple[int, dict[str, int], datetime] | None = None  # the last Z: number, sales per group, when (X 40h)
        self.ej_cursor: list[str] = []  # EJ text lines still to hand out to "next line" reads
        self.ej_records: list[str] = []  # EJ structured records still to hand out
        self.clock_offset = timedelta()
        self.commands: list[int] = []
        self.lock = threading.RLock()
        self._handlers = commands_for(self.family)
        self._last: tuple[int, int, bytes] | None = None  # (seq, cmd, answer frame)

    # -- inspection ----------------------------------------------------------------------

    def now(self) -> datetime:
        return (datetime.now(UTC) + self.clock_offset).replace(microsecond=0)

    def receipts_with_text(self, text: str) -> list[Document]:
        """Closed fiscal receipts carrying a free-text line that contains ``text``."""
        with self.lock:
            return [d for d in self.journal if d.kind == "fiscal" and any(text in t for t in d.texts)]

    def fiscal_receipts(self) -> list[Document]:
        with self.lock:
            return [d for d in self.journal if d.kind == "fiscal"]

    def receipts_by_unp(self) -> dict[str, list[Document]]:
        """Closed fiscal receipts per unique sale number: a sale printed twice shows as two."""
        with self.lock:
            found: dict[str, list[Document]] = {}
            for document in self.journal:
                if document.kind == "fiscal" and document.unp:
                    found.setdefault(document.unp, []).append(document)
            return found

    # -- execution -----------------------------------------------------------------------

    def answer(self, frame: HostFrame) -> tuple[bytes, bool]:
        """The answer frame for a request, and whether the command ran (False for a repeat)."""
        with self.lock:
            last = self._last
            if last is not None and last[0] == frame.seq and (last[1] == frame.cmd or not self.family.repeat_needs_same_cmd):
                return last[2], False
            data, status = self.execute(frame.cmd, frame.data)
            encode = wire_x.encode_answer if self.family.x_protocol else encode_answer
            reply = encode(frame.seq, frame.cmd, data, status)
            self._last = (frame.seq, frame.cmd, reply)
            return reply, True

    def execute(self, cmd: int, data: bytes) -> tuple[bytes, bytes]:
        """Run one command; returns the answer's data and its status bytes."""
        with self.lock:
            self.commands.append(cmd)
            extra: frozenset[str] = frozenset()
            try:
                handler = self._handlers.get(cmd)
                if handler is None:
                    raise UnknownCommand(f"no command {cmd:02X}h")
                try:
                    text = data.decode("cp1251")
                except UnicodeDecodeError as exc:
                    raise SyntaxFault("not cp1251 text") from exc
                answer = handler(self, text)
            except CommandError as exc:
                extra, answer = exc.conditions, ""
                if self.family.x_protocol and not isinstance(exc, SyntaxFault | UnknownCommand):
                    answer = f"{exc.x_code}\t"  # X doc p.5: a failed command answers {ErrorCode}<SEP>
            return answer if isinstance(answer, bytes) else answer.encode("cp1251"), self.status(extra)

    def status(self, extra: frozenset[str] = frozenset()) -> bytes:
        return self.family.layout.encode(self.conditions() | extra, self.faults.error_code)

    def conditions(self) -> set[str]:
        """The standing status conditions (faults, open receipts, fiscal-memory state)."""
        found = self.faults.active()
        if self.open is not None:
            found.add("service_open" if self.open.kind == "service" else "fiscal_open")
            if self.open.kind == "storno" and "storno_open" in self.family.layout.names:
                found.add("storno_open")  # P doc p.4: 1.4 a storno receipt is open
        found |= {"fiscal_mode", "tax_rates_set", "ids_set"}
        optional = {"uic_set", "fm_formatted", "fm_ready"}
        if "printing_allowed" in self.family.layout.names and not found & {"paper_out", "cover_open", "printing_unit_fault"}:
            optional.add("printing_allowed")  # Daisy doc p.5: 2.6 printing allowed
        return found | (optional & self.family.layout.names)

    # -- rules shared by several commands --------------------------------------------------

    def require_printable(self) -> None:
        """Paper out, cover open or a printing-unit fault refuse every print command (C doc p.3, P doc p.4)."""
        if self.faults.active() & {"paper_out", "cover_open", "printing_unit_fault"}:
            raise CannotPrint("the printer cannot print")

    def require_ej(self) -> None:
        """End of the EJ refuses the commands that write to it (C doc p.4, P doc p.6, Daisy doc p.10/p.14/p.15)."""
        if self.faults.ej_end:
            raise NotAllowed("the EJ is full")

    def require_fiscal_memory(self) -> None:
        """A full or failing fiscal memory refuses receipts and Z reports (C doc p.2, p.10; P doc p.17; Daisy doc p.14)."""
        if self.faults.fm_full or self.faults.fm_write_error:
            raise NotAllowed("the fiscal memory cannot be written")

    def require_clock(self) -> None:
        """P doc p.13/p.17 and Daisy doc p.10/p.14 refuse receipts while the clock is not set (the C and X documents
        do not: X doc p.46 names bit 0.2 only)."""
        if self.faults.clock_not_set and self.family.key not in ("C", "X"):
            raise NotAllowed("the clock is not set")

    def check_operator(self, operator_text: str, password: str) -> int:
        """Operator number and password per the family's rules; a wrong password is refused with its bits."""
        low, high = self.family.password_digits
        if not operator_text.isdigit() or not password.isdigit() or not low <= len(password) <= high:
            raise SyntaxFault("operator or password out of format")
        operator = int(operator_text)
        if operator not in self.family.operators:
            raise SyntaxFault("no such operator")
        if self.family.key == "P" and self.wrong_passwords >= 3:
            raise NotAllowed("locked after three wrong passwords (P doc p.17)")
        if self.passwords[operator] != password:
            self.wrong_passwords += 1
            raise NotAllowed("wrong password", *self.family.wrong_password)
        self.wrong_passwords = 0
        return operator

    def power_cycle(self) -> None:
        """Off and on: the P family's wrong-password lock is lifted (P doc p.17)."""
        with self.lock:
            self.wrong_passwords = 0

    def amount_text(self, stotinki: int, *, signed: bool = False) -> str:
        """An amount in an answer: whole stotinki on the C family, a decimal on the others.

        The documents do not fix it; ErpNet.FP (BgIslFiscalPrinter.cs, Cash and GetReceiptAmount)
        reads an amount without a decimal point as stotinki, as real devices send them.
        """
        if self.family.amounts_in_stotinki:
            return stotinki_text(stotinki, signed=signed)
        return decimal_text(stotinki, signed=signed)

    def close_document(
        self,
        kind: DocKind,
        receipt: OpenReceipt | None = None,
        total: int = 0,
        texts: tuple[str, ...] = (),
    ) -> Document:
        """Number a finished document and put it in the electronic journal."""
        self.doc_number += 1
        document = Document(
            number=self.doc_number,
            kind=kind,
            at=self.now(),
            z_number=self.z_number + 1,
            unp=receipt.unp if receipt else None,
            total=receipt.total if receipt else total,
            lines=tuple(receipt.lines) if receipt else (),
            texts=tuple(receipt.texts) if receipt else texts,
            paid=tuple(sorted(receipt.paid.items())) if receipt else (),
            operator=receipt.operator if receipt else 0,
            storno=receipt.storno if receipt else None,
        )
        self.journal.append(document)
        return document

    def storno_origin(self, reason: str, number: str, at: str, fiscal_memory: str, unp: str | None) -> StornoOrigin:
        if not number.isdigit() or not 1 <= int(number) <= 9_999_999:
            raise SyntaxFault("bad document number")
        return StornoOrigin(reason, int(number), at, fiscal_memory, unp)
