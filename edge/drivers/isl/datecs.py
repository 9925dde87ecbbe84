"""Datecs fiscal printers on ISL: the P family (FP-800, FP-2000, FP-650, SK1, FMP-10, FP-550) and the
C family (DP-05, DP-25, DP-35, WP-50, DP-150), one dialect and one driver each.

The X models (DP-25X, FP-700X, DP25 MX…) speak another protocol (X doc: other framing, tab-separated
fields, 8 status bytes): ``datecs_x``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from chalicelib.contracts import PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers.isl.commands import Command, FieldError, parse_clock
from edge.drivers.isl.dialect import CYRILLIC_GROUPS, LATIN_GROUPS, Dialect, StornoOf
from edge.drivers.isl.driver import GarbledAnswer, IslDriver, open_isl
from edge.drivers.isl.sales import SalePlan
from edge.drivers.isl.status import DATECS_C_STATUS, DATECS_P_STATUS


def _p_storno(operator: int, password: str, unp: str, original: StornoOf) -> tuple[int, str]:
    """P doc p.16, 2Eh: <OpNum>,<Password>,<TillNum>[,<UNP>],<StType><DocNo>,<StUNP>,<StDT>,<StFMIN>; StType R is a
    return. The storno's own UNP is given (P doc p.16: omitted, the printer would take the next one itself), so the
    30h sequence proves after a crash whether it was printed; StUNP is the original's whole UNP, StDT DDMMYYhhmmss.
    ErpNet.FP (BgDatecsPIslFiscalPrinter.Commands.cs OpenReversalReceipt) sends the same fields without the own UNP."""
    return Command.OPEN_STORNO_RECEIPT, (
        f"{operator},{password},1,{unp},R{original.number},{original.unp},{original.printed_at:%d%m%y%H%M%S},{original.fiscal_memory}"
    )


def _c_storno(operator: int, password: str, unp: str, original: StornoOf) -> tuple[int, str]:
    """C doc p.10, 2Eh: <OpCode>,<OpPwd>,<NSale>,<TillNmb>,<DocType>,<DocNumber>,<DocDateTime>,<FMNumber>; NSale is the
    original's UNP (empty when it had none), DocType 1 a return, DocDateTime DDMMYYhhmmss, FMNumber 8 digits.
    ErpNet.FP (BgDatecsCIslFiscalPrinter.Commands.cs OpenReversalReceipt) sends the same."""
    return Command.OPEN_STORNO_RECEIPT, (
        f"{operator},{password},{original.unp or ''},1,1,{original.number},{original.printed_at:%d%m%y%H%M%S},{original.fiscal_memory}"
    )


DATECS_P = Dialect(
    family="Datecs P",
    manufacturer="DATECS",
    models=("FP800", "FP2000", "FP650", "SK1-21F", "SK1-31F", "FMP10", "FP550"),  # P doc p.1
    connections=("serial", "tcp"),
    default_port=3999,
    tax_groups=LATIN_GROUPS,  # P doc p.16: 'A', 'B', 'C'…
    # P doc p.19: P cash, D debit card, I programmable payment 1; ErpNet.FP BgDatecsPIslFiscalPrinter.Commands.cs maps the same.
    payment_codes={PaymentType.CASH: "P", PaymentType.CARD: "D", PaymentType.OTHER: "I"},
    cancel_command=Command.CANCEL_FISCAL_RECEIPT,  # P doc p.22
    open_receipt=lambda operator, password, unp: f"{operator},{password},1,{unp}",  # P doc p.16: OpNum,Password,TillNum[,UNP]
    open_storno=_p_storno,
    storno_unp_is_own=True,
    storno_needs_original_unp=True,  # P doc p.16: StUNP, "the whole Unique Sale ID must be set"
    storno_cash_only=False,  # P doc p.19-20: 35h names no payment a storno refuses
    remainder_in_transaction_status=False,  # P doc p.25: Open,Items,Amount[,Tender], Tender the sum paid
    absolute_adjustment=";",  # P doc p.17
    operators=range(1, 17),  # P doc p.16: 1..16
    password_digits=(4, 8),  # P doc p.16
    default_password=lambda operator: "0000",  # P doc p.31: after initialisation all passwords are "0000"
    item_text_bytes=42,  # P doc p.17: L1 up to 42 bytes
    fiscal_text_bytes=42,  # P doc p.20: any length, cut to the line; ErpNet.FP keeps 46 (BgDatecsPIslFiscalPrinterDriver.cs)
    service_text_bytes=42,  # P doc p.13: cut to the line
    max_sales=512,  # P doc p.18
    report_totals=9,  # P doc p.23: Closure,FM_Total,TotA..TotH
    status=DATECS_P_STATUS,
)

DATECS_C = Dialect(
    family="Datecs C",
    manufacturer="DATECS",
    models=("DP05", "DP25", "DP35", "WP50", "DP150"),  # C doc p.1
    connections=("serial", "tcp"),
    default_port=3999,
    tax_groups=CYRILLIC_GROUPS,  # C doc p.1: А..З only, in cp1251 or DOS code page
    # C doc p.13: P cash, C debit card, D НЗОК (the health fund), I voucher, J coupon, N credit. "Other" goes as a
    # voucher, as ErpNet.FP sends its ExtCoupons (BgDatecsCIslFiscalPrinter.Commands.cs); never D.
    payment_codes={PaymentType.CASH: "P", PaymentType.CARD: "C", PaymentType.OTHER: "I"},
    cancel_command=Command.CANCEL_FISCAL_RECEIPT,  # C doc p.16
    open_receipt=lambda operator, password, unp: f"{operator},{password},{unp},1",  # C doc p.10: OpCode,OpPwd,NSale,TillNmb
    open_storno=_c_storno,
    storno_unp_is_own=False,
    storno_needs_original_unp=False,  # C doc p.10: NSale empty when the original had no UNP
    storno_cash_only=False,  # C doc p.13: 35h names no payment a storno refuses
    remainder_in_transaction_status=False,  # C doc p.20: Open,Items,Amount[,Tender], Tender the sum paid
    absolute_adjustment=";",  # C doc p.11
    operators=range(1, 31),  # C doc p.10: 1..30
    password_digits=(1, 8),  # C doc p.10
    default_password=str,  # C doc p.23: after initialisation operator N's password is N
    item_text_bytes=22,  # C doc p.11
    fiscal_text_bytes=36,  # C doc p.15
    service_text_bytes=40,  # C doc p.8
    max_sales=120,  # C doc p.11
    report_totals=9,  # C doc p.18: Closure,FM_Total,TotA..TotH
    status=DATECS_C_STATUS,
)


class DatecsPDriver(IslDriver):
    """P documents 30h without data: the sequence of the last UNP the printer opened (P doc p.17)."""

    def _last_sale(self) -> int:
        return self._int(self._ask(Command.OPEN_FISCAL_RECEIPT), "last sale number")

    def _next_seq(self, serial: str) -> int:
        return max(self._last_sale(), self.book.highest_seq(serial)) + 1

    def _completed(self, plan: SalePlan) -> datetime | bool:
        bounded = self._closed_before_next_plan(plan)
        return bounded if bounded is not None else self._last_sale() >= plan.seq


class DatecsCDriver(IslDriver):
    """C has no 30h without data; its EJ names each document's kind and date-time (7Dh, C doc p.30)."""

    def _completed(self, plan: SalePlan) -> datetime | bool:
        number = plan.doc_before + 1
        parts = self._ask(Command.READ_DOCUMENT, f"0,{number},1").split(",")  # option 0, that number, fiscal receipts only
        if parts[0] != "P":
            return False
        if len(parts) < 4 or not parts[1].strip().isdigit():
            raise GarbledAnswer(f"unexpected journal answer {','.join(parts)!r}")
        if int(parts[1]) != number or parts[3].strip() != ("8" if plan.storno else "1"):  # C doc p.30: 1 sale, 8 storno receipt
            return False
        try:
            return parse_clock(parts[2].replace(".", "-"))
        except FieldError:
            return True  # the document does not fix the date's format: the clock is read instead


def open_datecs_p(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DATECS_P, DatecsPDriver)


def open_datecs_c(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DATECS_C, DatecsCDriver)
