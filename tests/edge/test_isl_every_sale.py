"""Every kind of sale on the ISL families, byte for byte against the documents on a scripted printer (``isl_fake``):
a refund as the family's own storno naming the original (P doc p.16, C doc p.10, Daisy doc p.13), split tender as one
35h per payment with the change on the last (C doc p.13, P doc pp.19-20, Daisy doc pp.17-18), a discounted line as the
family's absolute discount (P doc p.17, C doc p.11, Daisy doc p.15), the buyer's tax id as a fiscal text line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from isl_fake import FM, SERIAL, FakePrinter, Family
from test_isl_golden import driver_on

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobLine,
    JobPayment,
    OriginalReceipt,
    PaymentType,
)
from edge.drivers.base import InvalidJob

FAMILIES: tuple[Family, ...] = ("P", "C", "Daisy")
COFFEE = JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700)
TEA = JobLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_rate=Decimal(20), amount=280)
GROUP_A = {"P": b"A", "C": b"\xc0", "Daisy": b"\xc0"}  # the 20 % group: P doc p.16 Latin, C doc p.1 / Daisy doc p.15 Cyrillic А
CARD = {"P": b"D", "C": b"C", "Daisy": b"C"}  # P doc p.19, C doc p.13, Daisy doc p.17


def cash(amount: int, tendered: int | None = None) -> JobPayment:
    return JobPayment(type=PaymentType.CASH, method_id="cash", amount=amount, tendered=tendered)


def card(amount: int) -> JobPayment:
    return JobPayment(type=PaymentType.CARD, method_id="card", amount=amount)


def sale(job_id: str, lines: list[JobLine], payments: list[JobPayment], **extra: object) -> FiscalJob:
    return FiscalJob(
        v=2, job_id=job_id, shop_id="shop-1", order_id=f"o-{job_id}", order_internal_id=f"i-{job_id}", created_at=1_700_000_000,
        operator="cashier", lines=lines, payments=payments, total=sum(line.amount for line in lines), **extra,
    )


def refund(job_id: str, record: FiscalRecord, lines: list[JobLine], payments: list[JobPayment] | None = None, original_total: int = 980) -> FiscalJob:
    total = sum(line.amount for line in lines)
    return sale(job_id, lines, payments or [cash(total)], is_refund=True,
                original=OriginalReceipt(order_id="o-job-1", fiscal=record, total=original_total))


def sent_after(printer: FakePrinter, mark: int) -> list[tuple[int, bytes]]:
    return [(cmd, data) for _seq, cmd, data in printer.requests[mark:]]


# What each family is sent for the refund of one line of job-1 (printed first as 0000001 at the printer's 07-12-26 17:45:00),
# after the sale's commands: the open of the storno naming the original, then the sale, text, subtotal, payment, close.
REFUND: dict[Family, list[tuple[int, bytes]]] = {
    # P doc p.16: OpNum,Password,TillNum,UNP (its own: 30h proves it after a crash),R<DocNo>,StUNP,StDT DDMMYYhhmmss,StFMIN.
    "P": [(0x71, b""), (0x30, b""), (0x2E, b"1,0000,1,DT000600-0001-0000002,R1,DT000600-0001-0000001,071226174500,02000600")],
    # C doc p.10: OpCode,OpPwd,NSale (the original's UNP),TillNmb,DocType 1 (return),DocNumber,DocDateTime,FMNumber.
    "C": [(0x71, b""), (0x2E, b"1,1,DT000700-0001-0000001,1,1,1,071226174500,02000700")],
    # Daisy doc p.13: ClerkNum,Password,UnicSaleNum (the original's) TAB R0 (return),DocLink,DocLinkDT TAB FiskMem.
    "Daisy": [(0x71, b""), (0x30, b"1,1,DY000600-0001-0000001\tR0,1,07-12-26 17:45:00\t36000600")],
}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_refund_is_the_familys_storno_naming_the_original_byte_for_byte(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    driver = driver_on(printer, tmp_path)
    original = driver.print_receipt(sale("job-1", [COFFEE, TEA], [cash(980)]))
    mark = len(printer.requests)

    record = driver.print_receipt(refund("job-2", original, [COFFEE]))

    assert sent_after(printer, mark) == [
        *REFUND[family],
        (0x31, b"Coffee\t" + GROUP_A[family] + b"3.50*2"), (0x36, b"SALE ID job-2"), (0x33, b"00"),
        (0x35, b"\tP7.00"), (0x38, b""), (0x3E, b""),
    ]
    assert [(d.kind, d.total) for d in printer.documents] == [("fiscal", 980), ("storno", 700)]
    assert record.fiscal_number == "0000002" and record.fiscal_memory_number == FM[family]
    own = f"{SERIAL[family]}-0001-000000{2 if family == 'P' else 1}"  # P's storno has its own UNP; C and Daisy carry the original's
    assert record.unique_sale_number == own


def test_a_c_refund_of_a_receipt_without_a_unp_leaves_nsale_empty(tmp_path: Path) -> None:
    """C doc p.10: NSale is empty when the original receipt had no UNP."""
    printer = FakePrinter("C")
    record = FiscalRecord(device="DATECS:DT000700", fiscal_number="0000042", printed_at=1796665500, fiscal_memory_number="02000700")
    driver_on(printer, tmp_path).print_receipt(refund("job-2", record, [COFFEE]))
    assert printer.sent(0x2E) == [b"1,1,,1,1,42,071226174500,02000700"]
    assert [d.kind for d in printer.documents] == ["storno"]


ORIGINAL = FiscalRecord(device="DATECS:DT000600", fiscal_number="0000001", printed_at=1796665500, fiscal_memory_number="02000600",
                        unique_sale_number="DT000600-0001-0000001")


@pytest.mark.parametrize(
    ("family", "job", "why"),
    [
        ("C", refund("r", ORIGINAL, [COFFEE, TEA], original_total=900), "exceeds the original"),
        ("P", refund("r", ORIGINAL.model_copy(update={"fiscal_memory_number": None}), [COFFEE]), "fiscal memory"),
        ("C", refund("r", ORIGINAL.model_copy(update={"fiscal_memory_number": "2000600"}), [COFFEE]), "fiscal memory"),
        ("Daisy", refund("r", ORIGINAL.model_copy(update={"fiscal_number": "T-17"}), [COFFEE]), "document number"),
        ("P", refund("r", ORIGINAL.model_copy(update={"unique_sale_number": None}), [COFFEE]), "unique sale number"),
        ("Daisy", refund("r", ORIGINAL.model_copy(update={"unique_sale_number": None}), [COFFEE]), "unique sale number"),
        ("Daisy", refund("r", ORIGINAL, [COFFEE], [card(700)]), "cash only"),  # Daisy doc p.18, note 3
    ],
)
def test_a_refund_the_family_cannot_print_is_invalid_before_anything_is_sent(family: Family, job: FiscalJob, why: str, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    with pytest.raises(InvalidJob, match=why):
        driver_on(printer, tmp_path).print_receipt(job)
    assert printer.requests == [] and printer.documents == []


@pytest.mark.parametrize("family", FAMILIES)
def test_a_v1_refund_without_its_original_stays_invalid(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    v1 = FiscalJob(job_id="r", shop_id="s", order_id="o", order_internal_id="i", created_at=1, operator="c", lines=[COFFEE],
                   payment=cash(700), total=700, is_refund=True)
    with pytest.raises(InvalidJob, match="original"):
        driver_on(printer, tmp_path).print_receipt(v1)
    assert printer.requests == []


@pytest.mark.parametrize("family", FAMILIES)
def test_split_tender_is_one_payment_command_per_payment_in_order(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    driver_on(printer, tmp_path).print_receipt(sale("job-1", [COFFEE, TEA], [cash(500), card(480)]))
    assert printer.sent(0x35) == [b"\tP5.00", b"\t" + CARD[family] + b"4.80"]
    assert [(d.kind, d.total) for d in printer.documents] == [("fiscal", 980)]


@pytest.mark.parametrize("family", FAMILIES)
def test_cash_handed_over_above_its_amount_is_paid_last_so_the_printer_prints_the_change(family: Family, tmp_path: Path) -> None:
    """35h answers R with the change only when a payment exceeds what is due (C doc p.13, P doc p.20, Daisy doc p.18):
    5.00 cash out of a 10.00 note and 4.80 by card is sent card 4.80 (D 5.00 due), then cash 10.00 (R 5.00 change)."""
    printer = FakePrinter(family)
    driver_on(printer, tmp_path).print_receipt(sale("job-1", [COFFEE, TEA], [cash(500, tendered=1000), card(480)]))
    assert printer.sent(0x35) == [b"\t" + CARD[family] + b"4.80", b"\tP10.00"]
    assert [(d.kind, d.total) for d in printer.documents] == [("fiscal", 980)]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_discounted_line_is_the_familys_absolute_discount(family: Family, tmp_path: Path) -> None:
    """amount = quantity × unit price − discount: 2 × 3.50 − 0.50 as ;-0.50 (P doc p.17, C doc p.11) or $-0.50 (Daisy doc p.15)."""
    printer = FakePrinter(family)
    line = COFFEE.model_copy(update={"discount": 50, "amount": 650})
    driver_on(printer, tmp_path).print_receipt(sale("job-1", [line], [card(650)]))
    separator = b"$" if family == "Daisy" else b";"
    assert printer.sent(0x31) == [b"Coffee\t" + GROUP_A[family] + b"3.50*2" + separator + b"-0.50"]
    assert [(d.kind, d.total) for d in printer.documents] == [("fiscal", 650)]


def test_a_line_whose_amount_does_not_match_its_discount_is_invalid(tmp_path: Path) -> None:
    printer = FakePrinter("C")
    line = COFFEE.model_copy(update={"discount": 50, "amount": 600})
    with pytest.raises(InvalidJob, match="discount"):
        driver_on(printer, tmp_path).print_receipt(sale("job-1", [line], [cash(600)]))
    assert printer.sent(0x30) == []


@pytest.mark.parametrize("family", FAMILIES)
def test_the_buyers_tax_id_is_a_fiscal_text_line(family: Family, tmp_path: Path) -> None:
    """39h prints buyer data on invoices only (P doc p.21, Daisy doc p.19, C doc pp.10/15): a 36h line instead."""
    printer = FakePrinter(family)
    driver_on(printer, tmp_path).print_receipt(sale("job-1", [COFFEE], [cash(700)], buyer_tax_id="BG123456789"))
    assert printer.sent(0x36) == [b"SALE ID job-1", b"BUYER TAX ID BG123456789"]
    assert printer.sent(0x39) == []
