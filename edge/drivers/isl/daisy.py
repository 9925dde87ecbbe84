"""Daisy fiscal printers (eXpert, Perfect, Compact) on ISL: the Daisy dialect and driver.

The supported models connect by serial port only (seed 000: Daisy has no network support);
a serial device server on the LAN is reached through a pyserial URL as the port.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from chalicelib.contracts import PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers.isl.commands import Command
from edge.drivers.isl.dialect import CYRILLIC_GROUPS, Dialect, StornoOf
from edge.drivers.isl.driver import GarbledAnswer, IslDriver, open_isl
from edge.drivers.isl.sales import SalePlan
from edge.drivers.isl.status import DAISY_STATUS


def _daisy_storno(operator: int, password: str, unp: str, original: StornoOf) -> tuple[int, str]:
    """Daisy doc p.13, 30h: {ClerkNum},{Password},{UnicSaleNum}{Tab}R{Reason},{DocLink},{DocLinkDT}{Tab}{FiskMem}: reason 0
    a return, DocLinkDT "DD-MM-YY HH:mm:SS". UnicSaleNum is the original's UNP: ErpNet.FP (PROTOCOL.md, reversal
    receipt: "the same number, which was on the original receipt"; BgIslFiscalPrinter.Commands.cs) sends it so."""
    return Command.OPEN_FISCAL_RECEIPT, (
        f"{operator},{password},{original.unp}\tR0,{original.number},{original.printed_at:%d-%m-%y %H:%M:%S}\t{original.fiscal_memory}"
    )


DAISY = Dialect(
    family="Daisy",
    manufacturer="Daisy",
    models=("eXpert SX", "Expert L", "Perfect M", "Compact S", "Compact M"),
    connections=("serial",),
    default_port=None,
    tax_groups=CYRILLIC_GROUPS,  # Daisy doc p.15: Cyrillic capitals А..З
    # Daisy doc p.17: P cash, N payment 1, C payment 2, D/U payment 3, B/E payment 4; ErpNet.FP
    # (BgDaisyIslFiscalPrinter.Commands.cs) sends card as C and its Reserved1 as D.
    payment_codes={PaymentType.CASH: "P", PaymentType.CARD: "C", PaymentType.OTHER: "D"},
    cancel_command=Command.DAISY_CANCEL_FISCAL_RECEIPT,  # Daisy doc p.41: 82h
    open_receipt=lambda operator, password, unp: f"{operator},{password},{unp}",  # Daisy doc p.13: ClerkNum,Password,UnicSaleNum
    open_storno=_daisy_storno,
    storno_unp_is_own=False,
    storno_needs_original_unp=True,  # Daisy doc p.13: UnicSaleNum is mandatory
    storno_cash_only=True,  # Daisy doc p.18, note 3: a storno receipt is paid "В БРОЙ" only
    remainder_in_transaction_status=True,  # Daisy doc p.26: Open,Items,Amount[,Tender,Remainder], Tender the last payment
    absolute_adjustment="$",  # Daisy doc p.15: [,Percent][$Netto]
    # Daisy doc p.13 numbers operators up to the device constant OPER_MAX_CNT; 30 is the most any ISL family takes.
    operators=range(1, 31),
    password_digits=(1, 6),  # Daisy doc p.13: up to 6 digits
    # Daisy doc p.31 leaves the factory passwords to the user manual; ErpNet.FP uses operator 1 with password "1"
    # (BgDaisyIslFiscalPrinter.cs GetDefaultOptions), the operator's own number as on Datecs C.
    default_password=str,
    # Daisy doc p.15 and p.18: longer texts are cut by the printer itself to its COMMENT_LEN; 42 fits a line.
    item_text_bytes=42,
    fiscal_text_bytes=42,
    service_text_bytes=42,
    max_sales=None,  # Daisy doc p.15: a device constant, not given
    report_totals=16,  # Daisy doc p.23: Closure,Tax1..Tax8,StTax1..StTax8
    status=DAISY_STATUS,
)


class DaisyDriver(IslDriver):
    """Daisy documents neither 30h without data nor a journal read by document: after a crash, 4Ch's count of
    sales and amount of the last fiscal receipt (Daisy doc p.26) must match the job the plan was made for."""

    def _completed(self, plan: SalePlan) -> datetime | bool:
        bounded = self._closed_before_next_plan(plan)
        if bounded is not None:
            return bounded
        parts = self._ask(Command.TRANSACTION_STATUS, "T").split(",")
        if len(parts) < 3 or not parts[1].strip().isdigit():
            raise GarbledAnswer(f"unexpected transaction status {','.join(parts)!r}")
        return int(parts[1]) == plan.items and self._amount(parts[2], "transaction status") == plan.total


def open_daisy(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DAISY, DaisyDriver)
