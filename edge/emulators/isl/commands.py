"""Each family's command table: code -> handler(printer, data) -> answer data.

The codes are the documents' (C doc p.34 appendix 2, P doc p.45-46, Daisy doc p.6-8, X doc pp.1-2); a code a
family does not list answers with the invalid-command bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from edge.emulators.isl import ej, info, receipt, service, x_info, x_receipt, x_service
from edge.emulators.isl.families import Family

if TYPE_CHECKING:
    from edge.emulators.isl.device import FiscalPrinter

Handler = Callable[["FiscalPrinter", str], "str | bytes"]

_SHARED: dict[int, Handler] = {
    0x26: service.open_service,
    0x27: service.close_service,
    0x2A: service.service_text,
    0x31: receipt.sale,
    0x33: receipt.subtotal,
    0x35: receipt.total,
    0x36: receipt.fiscal_text,
    0x38: receipt.close_fiscal,
    0x39: receipt.customer_info,
    0x3D: info.set_clock,
    0x3E: info.read_clock,
    0x40: info.last_fiscal_record,
    0x45: service.daily_report,
    0x46: service.cash_in_out,
    0x4A: info.status_bytes,
    0x4C: info.transaction_status,
    0x5A: info.diagnostic,
    0x61: info.tax_rates,
    0x65: info.set_password,
    0x67: info.current_receipt,
    0x71: info.last_document,
}

_BY_FAMILY: dict[str, dict[int, Handler]] = {
    "C": {0x2E: receipt.open_storno_c, 0x30: receipt.open_fiscal_c, 0x3C: receipt.cancel, 0x7D: ej.read_document_c},
    "P": {0x2E: receipt.open_storno_p, 0x30: receipt.open_fiscal_p, 0x3C: receipt.cancel, 0x77: ej.ej_p},
    "DAISY": {0x30: receipt.open_fiscal_daisy, 0x80: info.daisy_constants, 0x82: receipt.cancel_daisy},
}



# Datecs X (X doc pp.6-39): its own fields for every command, the codes its document lists.
_X: dict[int, Handler] = {
    0x26: x_service.open_service,
    0x27: x_service.close_service,
    0x2A: x_service.service_text,
    0x2B: x_receipt.open_storno,
    0x30: x_receipt.open_fiscal,
    0x31: x_receipt.sale,
    0x32: x_info.vat_rates,
    0x33: x_receipt.subtotal,
    0x35: x_receipt.total,
    0x36: x_receipt.fiscal_text,
    0x38: x_receipt.close_fiscal,
    0x3C: x_receipt.cancel,
    0x3D: x_info.set_clock,
    0x3E: x_info.read_clock,
    0x40: x_info.last_fiscal_record,
    0x45: x_service.daily_report,
    0x46: x_service.cash_in_out,
    0x4A: x_info.status_bytes,
    0x4C: x_info.transaction_status,
    0x5A: x_info.diagnostic,
    0x64: x_info.read_error,
    0x7D: x_info.read_ej,
    0xFF: x_info.programming,
}


def commands_for(family: Family) -> dict[int, Handler]:
    if family.x_protocol:
        return _X
    return {**_SHARED, **_BY_FAMILY[family.key]}
