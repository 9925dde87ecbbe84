"""Daisy fiscal printers: the ISL framing and most commands of Datecs, with Daisy's own differences.

A receipt opens without a till number, a fiscal receipt is cancelled with command 82h,
and the payment codes differ (card is ``C``). The supported models connect by serial
port only (seed 000: Daisy has no network support).
"""

from __future__ import annotations

from pathlib import Path

from chalicelib.contracts import PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers.isl.commands import Command
from edge.drivers.isl.driver import Dialect, IslDriver, open_isl

DAISY = Dialect(
    manufacturer="Daisy",
    models=("eXpert SX", "Expert L", "Perfect M", "Compact S", "Compact M"),
    connections=("serial",),
    cancel_command=Command.DAISY_CANCEL_FISCAL_RECEIPT,
    payment_codes={PaymentType.CASH: "P", PaymentType.CARD: "C", PaymentType.OTHER: "D"},
    open_receipt=lambda operator, password, unp: f"{operator},{password},{unp}",
)


def open_daisy(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DAISY)
