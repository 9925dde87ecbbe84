"""Datecs fiscal printers on the ISL protocol: the vendor's dialect and models."""

from __future__ import annotations

from pathlib import Path

from chalicelib.contracts import PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers.isl.commands import Command
from edge.drivers.isl.driver import Dialect, IslDriver, open_isl

DATECS = Dialect(
    manufacturer="DATECS",
    models=("DP25", "DP25 MX", "DP05", "DP150", "FP650", "FP700", "FP800", "WP50"),
    connections=("serial", "tcp"),
    cancel_command=Command.CANCEL_FISCAL_RECEIPT,
    payment_codes={PaymentType.CASH: "P", PaymentType.CARD: "D", PaymentType.OTHER: "I"},
    open_receipt=lambda operator, password, unp: f"{operator},{password},1,{unp}",
)


def open_datecs(device: FiscalDeviceConfig, state_dir: Path) -> IslDriver:
    return open_isl(device, state_dir, DATECS)
