"""Printing a till sale exactly once, with or without internet.

The sale is journaled before the device is called and after it answered (``edge/journal/sales.py``), all under
the device lock the poller's jobs take too, so a sale and a cloud job never share the printer and the background
reconciliation never looks at a sale that a request is printing. The same driver calls and reconcile rules as a
cloud job (``edge/poller.py``): a sale left ``printing`` by a crash or a lost answer is looked up on the device by
its job id before anything else; found, it is printed; proved absent, it may print again (the cashier retries)
or is ``failed`` (the background found it, and no customer waits for it any more).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from edge.drivers.base import DeviceError, FiscalDriver
from edge.faults import crashpoint
from edge.hub import UnknownPrinter
from edge.journal import Journal, SaleRow, SaleState
from edge.poller import PrintingDevice
from edge.tillsales.model import SaleIn, SaleRefused, SaleReply, receipt_for

log = structlog.get_logger("edge.tillsales")

UNPAIRED_SHOP = "unpaired"  # the shop id of a receipt sold before the edge ever had a session; set at upload
_DONE = (SaleState.PRINTED, SaleState.UPLOADED, SaleState.REJECTED)


class TillSales:
    def __init__(self, journal: Journal, devices: PrintingDevice, shop_id: Callable[[], str | None],
                 on_printed: Callable[[], None], wall: Callable[[], float] = time.time) -> None:
        self._journal = journal
        self._devices = devices
        self._shop_id = shop_id
        self._on_printed = on_printed
        self._wall = wall

    def sell(self, sale: SaleIn) -> SaleReply:
        """Print the sale now (or answer with the receipt it already has); SaleRefused when nothing was printed,
        or when the receipt's fate is unknown until the device answers again (503: send the same sale again)."""
        fingerprint = sale.fingerprint()
        row = self._journal.sale(sale.order_id)
        if row is not None and _settled(row, fingerprint):
            return _reply(row, "Sale already printed")
        now = int(self._wall())
        receipt = receipt_for(sale, self._shop_id() or UNPAIRED_SHOP, now) if row is None else row.job()
        with self._devices.printing(receipt.printer) as device:
            if device is None:
                raise SaleRefused(503, "E_DEVICE_UNAVAILABLE", "the fiscal printer cannot be used now; nothing was printed")
            device_id, driver = device
            row = self._journal.sale(sale.order_id)  # again, now that this request holds the device
            if row is None:
                row = self._journal.begin_sale(sale.order_id, receipt, fingerprint, sale.extras(now))
                crashpoint("till_after_journal_begin")
                log.info("till_sale_received", order_id=sale.order_id, total=receipt.total)
            elif _settled(row, fingerprint):
                return _reply(row, "Sale already printed")
            if row.state is SaleState.FAILED:
                row = self._journal.retry_sale(row.order_id)
            if row.state is SaleState.PRINTING:
                row = self._reconcile(row, device_id, driver, then=SaleState.RECEIVED)
                if row.state is SaleState.PRINTED:
                    return _reply(row, "Sale printed")
            return self._print(row, device_id, driver)

    def settle_unfinished(self) -> bool:
        """Give every sale a crash or a lost answer left unsettled its known outcome (background, after a
        restart or a 503); False while the device cannot be asked."""
        for listed in self._journal.unsettled_sales():
            try:
                with self._devices.printing(listed.printer) as device:
                    if device is None:
                        return False
                    row = self._journal.sale(listed.order_id)
                    if row is None or row.state not in (SaleState.RECEIVED, SaleState.PRINTING):
                        continue
                    if row.state is SaleState.RECEIVED:
                        self._journal.record_sale_device_error(row, None, "E_NOT_PRINTED", "cut short before the "
                                                               "device was called", uncertain=False)
                        log.info("till_sale_abandoned", order_id=row.order_id)
                        continue
                    self._reconcile(row, *device, then=SaleState.FAILED)
            except UnknownPrinter as exc:
                log.warning("till_sale_printer_gone", order_id=listed.order_id, printer=listed.printer, error=str(exc))
            except SaleRefused:
                return False
        return True

    def _print(self, row: SaleRow, device_id: str, driver: FiscalDriver) -> SaleReply:
        job = row.job()
        op = self._journal.begin_sale_print(row, driver.name, device_id)
        crashpoint("till_before_device_call")
        try:
            record = driver.print_receipt(job)
        except DeviceError as exc:
            uncertain = exc.may_have_printed
            self._journal.record_sale_device_error(row, op, exc.code, str(exc), uncertain=uncertain)
            log.warning("till_sale_not_printed", order_id=row.order_id, code=exc.code, uncertain=uncertain, error=str(exc))
            if uncertain:
                raise SaleRefused(503, exc.code, f"{exc}; the receipt may have printed: send the same sale again, "
                                                 "the edge asks the printer before printing") from exc
            raise SaleRefused(503 if exc.transient else 409, exc.code, f"{exc}; nothing was printed") from exc
        crashpoint("till_after_device_call")
        row = self._journal.record_sale_printed(row, op, record, driver.receipt_text(record))
        crashpoint("till_after_journal_printed")
        log.info("till_sale_printed", order_id=row.order_id, fiscal_number=record.fiscal_number, device=record.device)
        self._on_printed()
        return _reply(row, "Sale printed")

    def _reconcile(self, row: SaleRow, device_id: str, driver: FiscalDriver, *, then: SaleState) -> SaleRow:
        """Ask the device whether the sale's receipt exists; SaleRefused (503) while it cannot answer."""
        op = self._journal.begin_sale_lookup(row, driver.name, device_id)
        try:
            record = driver.find_receipt(row.job_id)
        except DeviceError as exc:
            self._journal.record_sale_device_error(row, op, exc.code, str(exc), uncertain=True)
            raise SaleRefused(503, exc.code, f"{exc}; the printer cannot say yet whether the receipt exists") from exc
        if record is not None:
            log.info("till_sale_reconciled_printed", order_id=row.order_id, fiscal_number=record.fiscal_number)
            printed = self._journal.record_sale_printed(row, op, record, driver.receipt_text(record))
            self._on_printed()
            return printed
        log.info("till_sale_reconciled_unprinted", order_id=row.order_id, then=then.value)
        return self._journal.record_sale_not_printed(row, op, then, "E_NOT_PRINTED", "the printer proved no receipt "
                                                     "was printed")


def _settled(row: SaleRow, fingerprint: str) -> bool:
    """True for a sale that already has its receipt; a different sale under its order_id is a conflict."""
    if row.fingerprint != fingerprint:
        raise SaleRefused(409, "E_CONFLICT", f"sale {row.order_id} exists with a different body")
    return row.state in _DONE


def _reply(row: SaleRow, message: str) -> SaleReply:
    record = row.record()
    assert record is not None
    return SaleReply.of(row.order_id, record, message)
