"""Every kind of sale (issue 18) on the simulated register and through the edge: refunds that name their original,
split tender with cash tendered and change, line discounts, the buyer's tax id, the printer a job names; v1 and v2 jobs.

What the register printed is read from its own memory (receipts per sale id, electronic journal), what the terminal
charged from its own batch, never from the edge's word for it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from edge_harness import Stack, make_job, open_stack, wait_for

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
)
from edge.config import FiscalDeviceConfig, SerialConnection
from edge.devices import DeviceConfig, link_of
from edge.drivers import create_driver
from edge.drivers.base import InvalidJob
from edge.drivers.simulated import SimulatedDriver
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.server import PtyServer
from edge.emulators.simulated.models import (
    Payment,
    ReceiptHeader,
    RegisterError,
    RegisterErrorCode,
    SaleLine,
)
from edge.faults import CRASH_EXIT_CODE
from edge.store import SETTINGS_FILE, FiscalDeviceEntry, Settings, write_atomically
from edge.terminals.simulated import STATE_FILE as TERMINAL_FILE
from edge.terminals.simulated import SimulatedTerminal
from tests import contract_v1

POS = '[pos_terminal]\nmanufacturer = "Simulated"\nmodel = "Simulated"'


def line(name: str, quantity: str, unit_price: int, *, discount: int = 0, vat_rate: str = "20") -> JobLine:
    gross = int((Decimal(quantity) * unit_price).to_integral_value())
    return JobLine(name=name, quantity=Decimal(quantity), unit_price=unit_price, vat_rate=Decimal(vat_rate), discount=discount,
                   amount=gross - discount)


def cash(amount: int, tendered: int | None = None) -> JobPayment:
    return JobPayment(type=PaymentType.CASH, method_id="cash", amount=amount, tendered=tendered)


def card(amount: int) -> JobPayment:
    return JobPayment(type=PaymentType.CARD, method_id="card", amount=amount)


COFFEES = line("Coffee", "3", 350)  # 10.50
TEA = line("Tea", "1", 280)  # 2.80


def v2(job_id: str, lines: list[JobLine], payments: list[JobPayment], **extra: Any) -> FiscalJob:
    return FiscalJob(v=2, job_id=job_id, shop_id="shop-1", order_id=f"order-{job_id}", order_internal_id=f"int-{job_id}",
                     created_at=1_796_600_000, operator="demo-cashier", lines=lines, payments=payments,
                     total=sum(item.amount for item in lines), **extra)


def refund(job_id: str, of: FiscalRecord, original_total: int, lines: list[JobLine], payments: list[JobPayment]) -> FiscalJob:
    original = OriginalReceipt(order_id=f"order-of-{job_id}", fiscal=of, total=original_total)
    return v2(job_id, lines, payments, is_refund=True, original=original)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[SimulatedDriver]:
    opened = create_driver(FiscalDeviceConfig(manufacturer="Simulated", model="Simulated"), tmp_path)
    assert isinstance(opened, SimulatedDriver)
    yield opened
    opened.close()


# -- the register and its driver, in-process ---------------------------------------------------------------


def test_split_tender_prints_every_payment_and_the_change_of_the_cash_tendered(driver: SimulatedDriver) -> None:
    """The register gives change only on the payment that completes the receipt: the tendered cash goes last."""
    driver.print_receipt(v2("split", [COFFEES, TEA], [cash(500, tendered=1000), card(830)]))

    [receipt] = driver.register.receipts_for_sale("split")
    assert [(p.type, p.amount) for p in receipt.payments] == [("card", 830), ("cash", 1000)]
    assert (receipt.total, receipt.change, receipt.paid_by("cash"), receipt.paid_by("card")) == (1330, 500, 500, 830)
    text = receipt.text.splitlines()
    after_total = text.index(f"{'TOTAL':<31}EUR 13.30") + 1
    assert text[after_total:after_total + 3] == [f"{'CARD':<36}8.30", f"{'CASH':<35}10.00", f"{'CHANGE':<36}5.00"]


def test_line_discount_and_buyer_tax_id_are_printed(driver: SimulatedDriver) -> None:
    discounted = line("Coffee", "3", 350, discount=150)
    driver.print_receipt(v2("disc", [discounted, TEA], [cash(1180)], buyer_tax_id="BG123456789"))

    [receipt] = driver.register.receipts_for_sale("disc")
    assert [(item.amount, item.discount) for item in receipt.lines] == [(900, 150), (280, 0)]
    assert (receipt.total, receipt.buyer_tax_id) == (1180, "BG123456789")
    assert "BUYER TAX ID BG123456789" in receipt.text.splitlines()
    assert f"{'  3 x 3.50':<35}10.50" in receipt.text and f"{'  DISCOUNT':<33}-1.50 A" in receipt.text
    assert "TOTAL" in receipt.text and "EUR 11.80" in receipt.text


def test_a_refund_names_its_original_and_is_refused_above_what_is_left(driver: SimulatedDriver) -> None:
    sale = driver.print_receipt(v2("sale", [COFFEES, TEA], [cash(1330)]))
    tea_back = driver.print_receipt(refund("r-tea", sale, 1330, [TEA], [cash(280)]))

    [printed] = driver.register.receipts_for_sale("r-tea")
    serial = driver.register.serial
    assert printed.is_refund and printed.refund_of is not None
    assert (printed.refund_of.serial, printed.refund_of.fiscal_number, printed.refund_of.printed_at) == (serial, "00000001", sale.printed_at)
    assert printed.text.splitlines()[2:5] == ["REFUND", "OF RECEIPT No 00000001", f"  S/N {serial}"]
    assert tea_back.fiscal_number == "00000002"

    with pytest.raises(InvalidJob, match=r"refund 13\.30 is more than is left of receipt 00000001 \(10\.50\)"):
        driver.print_receipt(refund("r-too-much", sale, 1330, [COFFEES, TEA], [cash(1330)]))
    assert driver.register.receipts_for_sale("r-too-much") == [] and driver.register.current_receipt() is None

    driver.print_receipt(refund("r-rest", sale, 1330, [COFFEES], [card(1050)]))
    with pytest.raises(InvalidJob, match="refunded in full"):
        driver.print_receipt(refund("r-again", sale, 1330, [TEA], [cash(280)]))
    with pytest.raises(InvalidJob, match="itself a refund"):
        driver.print_receipt(refund("r-of-refund", tea_back, 280, [TEA], [cash(280)]))
    missing = sale.model_copy(update={"fiscal_number": "00000099"})
    with pytest.raises(InvalidJob, match="no receipt 00000099"):
        driver.print_receipt(refund("r-unknown", missing, 1330, [TEA], [cash(280)]))
    assert [r.sale_id for r in driver.register.receipts()] == ["sale", "r-tea", "r-rest"]


def test_a_refund_of_another_devices_receipt_is_capped_by_the_total_it_names(driver: SimulatedDriver) -> None:
    elsewhere = FiscalRecord(device="DATECS:DT000600", fiscal_number="0000042", printed_at=1_796_500_000,
                             fiscal_memory_number="02000600")
    driver.print_receipt(refund("r-1", elsewhere, 1330, [COFFEES], [cash(1050)]))
    with pytest.raises(InvalidJob, match=r"more than is left of receipt 0000042 \(2\.80\)"):
        driver.print_receipt(refund("r-2", elsewhere, 1330, [COFFEES], [cash(1050)]))
    [printed] = driver.register.receipts_for_sale("r-1")
    assert printed.refund_of is not None and printed.refund_of.serial == "DATECS:DT000600"


def test_a_job_whose_lines_disagree_with_the_register_is_refused_and_voided(driver: SimulatedDriver) -> None:
    """The register computes 3 × 3.50 itself: a job claiming 10.00 is short at the close, nothing is numbered."""
    wrong = JobLine(name="Coffee", quantity=Decimal(3), unit_price=350, vat_rate=Decimal(20), amount=1000)
    with pytest.raises(InvalidJob, match=r"payments 10\.00 do not cover the total 10\.50"):
        driver.print_receipt(v2("wrong", [wrong], [cash(1000)]))
    assert driver.register.receipts() == [] and driver.register.current_receipt() is None
    assert "\nVOID\nSALE ID wrong\n" in driver.register.electronic_journal()
    assert driver.print_receipt(make_job("next")).fiscal_number == "00000001"


def test_the_register_refuses_payments_a_real_register_refuses(driver: SimulatedDriver) -> None:
    register = driver.register
    register.open_receipt(ReceiptHeader(sale_id="s", operator="o", currency="EUR"))
    register.sell(SaleLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_group="A"))
    with pytest.raises(RegisterError) as refused:
        register.open_receipt(ReceiptHeader(sale_id="t", operator="o", currency="EUR"))
    assert refused.value.code is RegisterErrorCode.REFUSED
    for too_much in (Payment(type="card", amount=300), Payment(type="other", amount=281)):
        with pytest.raises(RegisterError, match="more than the 2.80 due"):
            register.pay(too_much)
    assert register.pay(Payment(type="card", amount=100)) == 180
    with pytest.raises(RegisterError, match="no more lines"):
        register.sell(SaleLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_group="A"))
    with pytest.raises(RegisterError, match="do not cover"):
        register.close_receipt()
    assert register.pay(Payment(type="cash", amount=500)) == 0
    assert register.close_receipt().change == 320
    register.open_receipt(ReceiptHeader(sale_id="u", operator="o", currency="EUR", is_refund=True))
    with pytest.raises(RegisterError, match="discount 3.00 is more than the line 2.80"):
        register.sell(SaleLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_group="A", discount=300))
    register.sell(SaleLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_group="A"))
    with pytest.raises(RegisterError, match="cash 5.00 is more than the 2.80 due"):
        register.pay(Payment(type="cash", amount=500))  # a refund pays back exactly: no change


def test_a_receipt_left_open_half_paid_is_voided_and_printed_once(driver: SimulatedDriver) -> None:
    """What a host that died between two payment commands leaves: an open receipt in no fiscal memory."""
    job = v2("half", [COFFEES, TEA], [cash(500, tendered=1000), card(830)])
    register = driver.register
    register.open_receipt(ReceiptHeader(sale_id="half", operator="demo-cashier", currency="EUR"))
    for item in (COFFEES, TEA):
        register.sell(SaleLine(name=item.name, quantity=item.quantity, unit_price=item.unit_price, vat_group="A"))
    register.pay(Payment(type="cash", amount=1000))

    assert driver.find_receipt("half") is None  # the device proves it was not printed
    record = driver.print_receipt(job)
    assert [r.fiscal_number for r in register.receipts_for_sale("half")] == [record.fiscal_number] == ["00000001"]
    assert register.electronic_journal().count("\nVOID\nSALE ID half\n") == 1


def test_the_z_report_nets_refunds_and_splits_payments_by_type(driver: SimulatedDriver) -> None:
    first = driver.print_receipt(make_job("v1-cash"))  # a version 1 job: one cash payment of 13.30
    driver.print_receipt(v2("split", [COFFEES, TEA], [cash(500, tendered=2000), card(830)]))
    driver.print_receipt(v2("disc", [line("Coffee", "3", 350, discount=50)], [JobPayment(type=PaymentType.OTHER, method_id="voucher", amount=1000)]))
    driver.print_receipt(refund("back", first, 1330, [TEA], [card(280)]))

    z = driver.register.z_report()
    assert (z.sales, z.refunds, z.net, z.discounts) == (3660, 280, 3380, 50)
    assert [(p.type, p.sales, p.refunds, p.net) for p in z.payments] == [("cash", 1830, 0, 1830), ("card", 830, 280, 550),
                                                                       ("other", 1000, 0, 1000)]
    assert z.cash.cash_sales == z.cash.in_drawer == 1830
    for row in ("SALES", "REFUNDS", "NET TOTAL", "DISCOUNTS", "CASH NET", "CARD NET", "OTHER NET"):
        assert any(text.startswith(row) for text in z.text.splitlines()), row
    assert f"{'CARD NET':<36}5.50" in z.text and f"{'NET TOTAL':<35}33.80" in z.text
    assert driver.z_report().amount_cents == 0


def test_a_v1_refund_in_flight_prints_without_an_original(driver: SimulatedDriver) -> None:
    v1_refund = FiscalJob.model_validate_json(contract_v1.FiscalJob(
        job_id="old-refund", shop_id="shop-1", order_id="o", order_internal_id="i", created_at=1_796_600_000, operator="demo-cashier",
        is_refund=True, lines=[contract_v1.JobLine(**TEA.model_dump(exclude={"discount"}))],
        payment=contract_v1.JobPayment(type="cash", method_id="cash", amount=280), total=280).model_dump_json())
    driver.print_receipt(v1_refund)
    [printed] = driver.register.receipts_for_sale("old-refund")
    assert printed.is_refund and printed.refund_of is None and "OF RECEIPT" not in printed.text


# -- through the edge process: real journal, queue, terminal and register ------------------------------------


def send(stack: Stack, job: FiscalJob) -> None:
    stack.send_raw(job.wire_json())  # as the cloud queues it: v1's shape when nothing of v2 is used


def transactions(stack: Stack, reference: str) -> list[tuple[str, int]]:
    terminal = SimulatedTerminal(stack.state_dir / TERMINAL_FILE)
    try:
        return [(t.kind, t.amount) for t in terminal.transactions(reference)]
    finally:
        terminal.close()


def v1_cash_sale(job_id: str) -> str:
    """A job as a cloud still on contract v1 queued it, before the edge was upgraded."""
    return contract_v1.FiscalJob(job_id=job_id, shop_id="shop-1", order_id=f"order-{job_id}", order_internal_id=f"int-{job_id}",
                                 created_at=1_796_600_000, operator="demo-cashier", lines=[contract_v1.JobLine(**TEA.model_dump(exclude={"discount"}))],
                                 payment=contract_v1.JobPayment(type="cash", method_id="cash", amount=280), total=280).model_dump_json()


def test_only_the_card_part_of_a_split_tender_is_charged_once_and_v1_and_v2_jobs_both_print(stack: Stack) -> None:
    stack.extra_toml = POS
    edge = stack.start_edge()
    stack.send_raw(v1_cash_sale("v1-in-flight"))
    send(stack, v2("split", [COFFEES, TEA], [cash(500, tendered=1000), card(830)]))
    send(stack, v2("cash-only", [TEA], [cash(280, tendered=500)]))
    send(stack, v2("card-only", [COFFEES, TEA], [card(1330)]))
    send(stack, make_job("v1-card").model_copy(update={"payment": card(1330)}))

    jobs = ("v1-in-flight", "split", "cash-only", "card-only", "v1-card")
    wait_for(lambda: all(stack.journal_state(job_id) == "reported" for job_id in jobs) and stack.queue_depth() == 0, timeout=30,
             what="every job settled")

    assert [stack.receipts_for(job_id) for job_id in jobs] == [1, 1, 1, 1, 1]
    assert {job_id: transactions(stack, job_id) for job_id in jobs} == {
        "v1-in-flight": [], "split": [("sale", 830)], "cash-only": [], "card-only": [("sale", 1330)], "v1-card": [("sale", 1330)]}
    assert {r.status.value for r in stack.cloud.results} == {"printed"}
    register = stack.register()
    try:
        [split] = register.receipts_for_sale("split")
        [cash_only] = register.receipts_for_sale("cash-only")
    finally:
        register.close()
    assert [(p.type, p.amount) for p in split.payments] == [("card", 830), ("cash", 1000)] and split.change == 500
    assert cash_only.change == 220 and "CHANGE" in cash_only.text
    assert edge.stop() == 0


# A sale (five steps: open, two lines, one payment, close), then its refund paid back 1.00 cash and 1.80 by card
# (open, one line, two payments, close: steps six to ten); the edge dies between two of them.
SALE_STEPS = 5
REFUND_CRASHES = {
    f"during_device_call:{SALE_STEPS + 1}": 1,  # refund receipt opened: the restarted edge voids it
    f"during_device_call:{SALE_STEPS + 3}": 1,  # between the two payment commands
    f"during_device_call:{SALE_STEPS + 4}": 1,  # paid, not closed
    f"during_device_call:{SALE_STEPS + 5}": 0,  # closed into fiscal memory, its answer lost
    "during_terminal_call": 0,  # the card refunded, the terminal's answer lost
    "after_terminal_call": 0,  # the card refunded, not yet journaled
}


def refund_of_the_sale(stack: Stack) -> FiscalJob:
    """The refund of the tea, naming the sale's receipt as the edge reported it to the cloud."""
    [printed] = [r for r in stack.cloud.results if r.job_id == "sale"]
    assert printed.fiscal is not None
    return refund("refund", printed.fiscal, 1330, [TEA], [cash(100), card(180)])


@pytest.fixture(scope="module")
def refund_crashes(tmp_path_factory: pytest.TempPathFactory, sqs: Any, aws_url: str) -> Iterator[dict[str, Stack]]:
    stacks = {point: open_stack(sqs, aws_url, tmp_path_factory.mktemp(point.replace(":", "-"))) for point in REFUND_CRASHES}
    try:
        crashing = {}
        for point, stack in stacks.items():
            stack.extra_toml = POS
            crashing[point] = stack.start_edge(crash_at=point, ready=False)
        for edge in crashing.values():
            edge.wait_ready(timeout=30)
        for stack in stacks.values():
            send(stack, v2("sale", [COFFEES, TEA], [cash(1330)]))
        for point, stack in stacks.items():
            wait_for(lambda stack=stack: stack.settled("sale"), timeout=30, what=f"the sale settled before a crash at {point}")
            send(stack, refund_of_the_sale(stack))
        for point, edge in crashing.items():
            assert edge.wait_exit() == CRASH_EXIT_CODE, point
        for stack in stacks.values():
            stack.start_edge(ready=False)
        yield stacks
    finally:
        for stack in stacks.values():
            stack.close()


@pytest.mark.parametrize("point", REFUND_CRASHES)
def test_a_crash_between_refund_steps_refunds_once_and_never_leaves_a_receipt_open(refund_crashes: dict[str, Stack], point: str) -> None:
    stack = refund_crashes[point]
    restarted = stack.edges[-1]
    restarted.wait_ready(timeout=30)
    wait_for(lambda: stack.settled("refund"), timeout=30, what=f"the refund settled after a crash at {point}")

    assert (stack.receipts_for("sale"), stack.receipts_for("refund")) == (1, 1)
    assert transactions(stack, "refund") == [("refund", 180)] and transactions(stack, "sale") == []
    register = stack.register()
    try:
        [printed] = register.receipts_for_sale("refund")
        assert register.current_receipt() is None
        voided = register.electronic_journal().count("\nVOID\nSALE ID refund\n")
    finally:
        register.close()
    assert printed.refund_of is not None and (printed.refund_of.fiscal_number, printed.total) == ("00000001", 280)
    assert [(p.type, p.amount) for p in printed.payments] == [("cash", 100), ("card", 180)]
    assert voided == REFUND_CRASHES[point]
    assert [(r.job_id, r.status.value) for r in stack.cloud.results] == [("sale", "printed"), ("refund", "printed")]
    assert restarted.stop() == 0


# -- the printer a job names -------------------------------------------------------------------------------


def two_printers(stack: Stack, port: str) -> None:
    """The edge's settings before its first start: the simulated register "Till" (the default) and a Datecs "Front"."""
    till = FiscalDeviceConfig(manufacturer="Simulated", model="Simulated", name="Till")
    front = FiscalDeviceConfig(manufacturer="DATECS", model="DP25", name="Front",
                               connection=SerialConnection(type="serial", port=port, baud_rate=115200))
    entries = [FiscalDeviceEntry(device=DeviceConfig(id=f"dev-{n}", name=c.name, manufacturer=c.manufacturer, model=c.model,
                                                     connection_details=link_of(c)), settings=c) for n, c in enumerate((till, front))]
    write_atomically(stack.state_dir / SETTINGS_FILE, Settings(fiscal_devices=entries).model_dump_json().encode())


def test_a_job_prints_on_the_printer_it_names_and_an_unknown_name_fails_unprinted_and_uncharged(stack: Stack) -> None:
    printer = FiscalPrinter("DP25")
    pty = PtyServer(printer).start()
    try:
        two_printers(stack, pty.path)
        stack.extra_toml = POS
        edge = stack.start_edge()
        front = make_job("at-front").model_copy(update={"v": 2, "printer": "Front"})
        send(stack, front)
        send(stack, v2("nowhere", [TEA], [card(280)], printer="Back"))
        send(stack, v2("default", [TEA], [cash(280)]))
        wait_for(lambda: all(stack.journal_state(j) == "reported" for j in ("at-front", "nowhere", "default")), timeout=30,
                 what="the three jobs settled")

        results = {r.job_id: r for r in stack.cloud.results}
        assert results["at-front"].fiscal is not None and results["at-front"].fiscal.device == "DATECS:DT000600"
        assert len(printer.receipts_with_text("at-front")) == 1 and stack.receipts_for("at-front") == 0
        assert results["default"].fiscal is not None and results["default"].fiscal.device.startswith("Simulated:")
        assert stack.receipts_for("default") == 1 and printer.receipts_with_text("default") == []
        nowhere = results["nowhere"]
        assert (nowhere.status.value, nowhere.reason.value if nowhere.reason else None) == ("failed", "invalid_job")
        assert "'Back'" in nowhere.message and "'Till', 'Front'" in nowhere.message
        assert stack.receipts_for("nowhere") == 0 and printer.receipts_with_text("nowhere") == [] and transactions(stack, "nowhere") == []
        assert edge.stop() == 0
    finally:
        pty.stop()


def test_a_job_whose_printer_is_renamed_while_its_print_is_in_doubt_waits_for_it_and_prints_once(stack: Stack) -> None:
    """It may have printed on that device: failing it, or printing it on another, could print it twice."""
    stack.device_toml = '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\nname = "Till"'
    edge = stack.start_edge()
    [till] = stack.manage("get_fiscal_devices").json()
    stack.manage("simulator/set_faults", {"link_loss": True})
    send(stack, v2("in-doubt", [TEA], [cash(280)], printer="Till"))
    wait_for(lambda: stack.journal_state("in-doubt") == "printing", what="a print whose outcome is unknown")

    stack.manage("save_fiscal_device", {**till, "name": "Counter"})
    stack.manage("simulator/set_faults", {"link_loss": False})
    wait_for(lambda: any(e["event"] == "printer_gone" for e in edge.events()), what="the job waiting for its printer")
    assert stack.journal_state("in-doubt") == "printing" and stack.cloud.results == []

    stack.manage("save_fiscal_device", {**till, "name": "Till"})
    wait_for(lambda: stack.settled("in-doubt"), timeout=20, what="the job settled on its printer")
    assert stack.receipts_for("in-doubt") == 1
    assert [r.status.value for r in stack.cloud.results] == ["printed"]
    assert edge.stop() == 0
