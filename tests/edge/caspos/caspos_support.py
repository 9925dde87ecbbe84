"""Shared by the Caspos tests: the seed 002 document's own examples, AZN jobs, and a driver on the emulator."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
)
from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.caspos.driver import CasposDriver

SEED = Path(__file__).resolve().parents[3].parent / "shared" / "seeds" / "002_06205e61675752b2.txt"  # ../shared beside the repo
# Section heading (a whole line of the seed) -> the operation its example request performs.
SECTIONS = {
    "[Login](#)": "toLogin", "[Logout](#)": "toLogout", "GetInfo": "getInfo", "Get Shift Status": "getShiftStatus",
    "Open Shift": "openShift", "Close Shift": "closeShift", "Deposit": "deposit", "Withdraw": "withDraw", "Sales": "sale",
    "Credit Sale": "sale", "Credit Pay": "credit", "Advance (Deposit) Sale": "prepayment", "Advance Sale Items": "prepaymentProducts",
    "Advance Pay": "sale", "Money Back (Refound)": "moneyBack", "Correction": "correction", "RollBack": "rollBack",
    "X-Report": "getXReport", "Print Last": "printLastCheque", "Periodic Report": "getPeriodicZReport",
    "Control Tape": "getControlTape", "Printer Connection": "isConnectedPrinter", "Open CashBox": "openCashbox",
}


def _blocks(section: str) -> list[str]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index(section)
    text = "\n".join(lines[start + 1:])
    return re.findall(r"```\n(.*?)```", text, flags=re.DOTALL)


def _parse(block: str) -> dict[str, Any]:
    """The example as JSON: the document writes ``//`` comments, trailing commas and ``00.0`` inside its JSON, and the
    Login example lacks its opening brace (l.93); anything after the first complete object (Withdraw l.460) is not read."""
    text = "\n".join(re.sub(r'\s//.*$|^\s*//.*$', "", line) for line in block.splitlines())
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    text = re.sub(r"(?<=[:\s])0+(\d\.)", r"\1", text)
    text = text.strip()
    if not text.startswith("{"):
        text = "{" + text
    value, _ = json.JSONDecoder(parse_float=Decimal).raw_decode(text)
    return value


def example_request(section: str) -> dict[str, Any]:
    """The section's first example (its request), parsed."""
    return _parse(_blocks(section)[0])


def example_response(section: str) -> dict[str, Any]:
    return _parse(_blocks(section)[1])


def azn_job(job_id: str, *, vat_rate: str = "18", payment: PaymentType = PaymentType.CASH, quantity: str = "3",
            currency: str = "AZN", coffee_amount: int | None = None) -> FiscalJob:
    """Three coffees at 3.50 and a tea at 2.80: 13.30 AZN (``coffee_amount``: the coffee line's total, e.g. discounted)."""
    coffee = int(Decimal(350) * Decimal(quantity)) if coffee_amount is None else coffee_amount
    lines = [
        JobLine(name="Qəhvə", quantity=Decimal(quantity), unit_price=350, vat_rate=Decimal(vat_rate), amount=coffee),
        JobLine(name="Çay", quantity=Decimal(1), unit_price=280, vat_rate=Decimal(18), amount=280),
    ]
    total = coffee + 280
    return FiscalJob(job_id=job_id, shop_id="shop-1", order_id=f"order-{job_id}", order_internal_id=f"int-{job_id}", created_at=1_700_000_000,
                     currency=currency, operator="demo-cashier", lines=lines,
                     payment=JobPayment(type=payment, method_id=payment.value, amount=total), total=total)


# The emulator's getInfo cashregister_factory_number, so the device name the driver reports for it.
DEVICE = "Caspos:VS4319W60010"


def split_job(job_id: str, *, cash: int, card: int, tendered: int | None = None, discount: int = 0,
              buyer_tax_id: str | None = None) -> FiscalJob:
    """Version 2: the lines of ``azn_job`` (the coffees ``discount`` cheaper) paid ``cash`` (handed over: ``tendered``)
    and ``card``; together they are the total."""
    plain = azn_job(job_id, coffee_amount=1050 - discount)
    lines = [plain.lines[0].model_copy(update={"discount": discount}), plain.lines[1]]
    payments = [JobPayment(type=PaymentType.CASH, method_id="cash", amount=cash, tendered=tendered),
                JobPayment(type=PaymentType.CARD, method_id="card", amount=card)]
    return FiscalJob(**plain.model_dump(exclude={"payment", "lines", "v"}) | {"v": 2, "lines": lines, "payments": payments,
                                                                            "buyer_tax_id": buyer_tax_id})


def refund_job(job_id: str, parent: FiscalRecord, parent_total: int, *, coffees: str = "3", cash: int | None = None,
               card: int = 0) -> FiscalJob:
    """Version 2: ``coffees`` coffees and the tea of ``azn_job`` back, naming ``parent`` (of ``parent_total``); paid out
    ``card`` by card and the rest (or ``cash``) in cash."""
    plain = azn_job(job_id, quantity=coffees)
    cash = plain.total - card if cash is None else cash
    payments = [JobPayment(type=t, method_id=t.value, amount=a) for t, a in ((PaymentType.CASH, cash), (PaymentType.CARD, card)) if a]
    original = OriginalReceipt(order_id=f"order-of-{parent.fiscal_number}", fiscal=parent, total=parent_total)
    return FiscalJob(**plain.model_dump(exclude={"payment", "v"}) | {"v": 2, "is_refund": True, "payments": payments, "original": original})


def config(url: str, *, password: str = "password", vat_codes: dict[str, int] | None = None, answer_seconds: float = 0.1,
           busy_seconds: float = 30.0) -> FiscalDeviceConfig:
    return FiscalDeviceConfig(
        manufacturer="Caspos", model="Caspos Mobile", timeouts={"answer_seconds": answer_seconds, "busy_seconds": busy_seconds},
        connection={"type": "http", "url": url, "username": "username", "password": password}, vat_codes=vat_codes or {},
    )


def open_driver(url: str, state_dir: Path, **options: Any) -> CasposDriver:
    driver = create_driver(config(url, **options), state_dir)
    assert isinstance(driver, CasposDriver)
    return driver
