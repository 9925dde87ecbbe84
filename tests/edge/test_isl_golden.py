"""Every command the ISL driver sends, per family, byte for byte against the documents (and ErpNet.FP where
they are silent), written to a scripted port; and the driver's answer to each fault a printer can give."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from isl_fake import FM, SERIAL, FakePrinter, Family, request_frame

from chalicelib.contracts import FiscalJob, JobLine, JobPayment, PaymentType
from edge.drivers.base import (
    ClockNotSet,
    CoverOpen,
    FiscalMemoryError,
    FiscalMemoryFull,
    InvalidJob,
    JournalFull,
    PaperOut,
    PrinterFault,
    UnsupportedDevice,
    WrongPassword,
)
from edge.drivers.isl.daisy import DAISY, DaisyDriver
from edge.drivers.isl.datecs import DATECS_C, DATECS_P, DatecsCDriver, DatecsPDriver
from edge.drivers.isl.driver import (
    DeviceRefused,
    DeviceSilent,
    GarbledAnswer,
    IslDriver,
    ReceiptInterrupted,
)
from edge.drivers.isl.link import IslLink
from edge.drivers.isl.sales import open_book

FAMILIES: tuple[Family, ...] = ("P", "C", "Daisy")
DRIVERS = {"P": (DATECS_P, DatecsPDriver, "FP800"), "C": (DATECS_C, DatecsCDriver, "DP25"), "Daisy": (DAISY, DaisyDriver, "Compact M")}


def driver_on(printer: FakePrinter, state: Path, operator: int | None = None, password: str | None = None, first_seq: int = 0x20) -> IslDriver:
    dialect, kind, model = DRIVERS[printer.family]
    link = IslLink(printer, answer_timeout=0.05, busy_timeout=0.3, retries=2, first_seq=first_seq)
    return kind(link, open_book(state), dialect, model, "Front", operator, password)


def job(job_id: str = "job-1", *, payment: PaymentType = PaymentType.CASH, lines: list[JobLine] | None = None) -> FiscalJob:
    lines = lines or [
        JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700),
        JobLine(name="Tea", quantity=Decimal(1), unit_price=280, vat_rate=Decimal(20), amount=280),
    ]
    total = sum(line.amount for line in lines)
    return FiscalJob(
        job_id=job_id, shop_id="shop-1", order_id=f"o-{job_id}", order_internal_id=f"i-{job_id}", created_at=1_700_000_000,
        operator="cashier", lines=lines, payment=JobPayment(type=payment, method_id=payment.value, amount=total), total=total,
    )


# What the driver writes for one cash receipt of two lines, per family, command by command after the
# priming status request. Sources: P doc pp.16-22 and ErpNet.FP BgDatecsPIslFiscalPrinter.Commands.cs
# (OpenReceipt: op,pwd,"1",UNP); C doc pp.10-16 and BgDatecsCIslFiscalPrinter.Commands.cs (op,pwd,UNP,"1",
# Cyrillic tax group "А" from BgIslFiscalPrinter.cs GetTaxGroupText); Daisy doc pp.13-18.
RECEIPT: dict[Family, list[tuple[int, bytes]]] = {
    "P": [
        (0x4A, b""), (0x5A, b"1"), (0x61, b""), (0x71, b""), (0x30, b""),
        (0x30, b"1,0000,1,DT000600-0001-0000001"),
        (0x31, b"Coffee\tA3.50*2"), (0x31, b"Tea\tA2.80*1"), (0x36, b"SALE ID job-1"), (0x33, b"00"),
        (0x35, b"\tP9.80"), (0x38, b""), (0x3E, b""),
    ],
    "C": [
        (0x4A, b""), (0x5A, b"1"), (0x61, b""), (0x71, b""),
        (0x30, b"1,1,DT000700-0001-0000001,1"),
        (0x31, b"Coffee\t\xc03.50*2"), (0x31, b"Tea\t\xc02.80*1"), (0x36, b"SALE ID job-1"), (0x33, b"00"),
        (0x35, b"\tP9.80"), (0x38, b""), (0x3E, b""),
    ],
    "Daisy": [
        (0x4A, b""), (0x5A, b"1"), (0x61, b""), (0x71, b""),
        (0x30, b"1,1,DY000600-0001-0000001"),
        (0x31, b"Coffee\t\xc03.50*2"), (0x31, b"Tea\t\xc02.80*1"), (0x36, b"SALE ID job-1"), (0x33, b"00"),
        (0x35, b"\tP9.80"), (0x38, b""), (0x3E, b""),
    ],
}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_receipt_is_the_documented_command_sequence_byte_for_byte(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family)
    record = driver_on(printer, tmp_path).print_receipt(job())

    assert [(cmd, data) for _seq, cmd, data in printer.requests] == RECEIPT[family]
    wire = [request_frame(seq, cmd, data) for seq, cmd, data in printer.requests]
    assert wire[0] == bytes.fromhex("01 24 20 4a 05 30 30 39 33 03")  # 4Ah, SEQ 20h: sum 0093h (C doc p.5)
    assert [seq for seq, _cmd, _data in printer.requests] == list(range(0x20, 0x20 + len(wire)))
    assert printer.receipts_for(f"{SERIAL[family]}-0001-0000001") == 1
    assert record.device == f"{DRIVERS[family][0].manufacturer}:{SERIAL[family]}" and record.fiscal_number == "0000001"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_sale_book_keeps_what_a_storno_must_name(family: Family, tmp_path: Path) -> None:
    driver = driver_on(FakePrinter(family), tmp_path)
    record = driver.print_receipt(job())
    plan = driver.book.for_job("job-1")
    assert plan is not None
    assert (plan.unp, plan.fiscal_memory, plan.printed_at) == (f"{SERIAL[family]}-0001-0000001", FM[family], record.printed_at)
    assert record.printed_at == 1796665500  # CLOCK, 07-12-26 17:45:00 UTC: the printer's own clock (3Eh)
    assert (record.unique_sale_number, record.fiscal_memory_number) == (plan.unp, plan.fiscal_memory), "reported too"


@pytest.mark.parametrize(
    ("family", "payment", "code"),
    [("P", PaymentType.CARD, "D"), ("P", PaymentType.OTHER, "I"), ("C", PaymentType.CARD, "C"), ("C", PaymentType.OTHER, "I"),
     ("Daisy", PaymentType.CARD, "C"), ("Daisy", PaymentType.OTHER, "D")],
)
def test_payment_codes_per_family(family: Family, payment: PaymentType, code: str, tmp_path: Path) -> None:
    """P doc p.19 (D debit card), C doc p.13 (C debit card; D is НЗОК, never card), Daisy doc p.17 and ErpNet.FP."""
    printer = FakePrinter(family)
    driver_on(printer, tmp_path).print_receipt(job(payment=payment))
    assert printer.sent(0x35) == [f"\t{code}9.80".encode()]


@pytest.mark.parametrize(("family", "separator"), [("P", b";"), ("C", b";"), ("Daisy", b"$")])
def test_a_line_amount_off_price_times_quantity_is_the_familys_absolute_discount(family: Family, separator: bytes, tmp_path: Path) -> None:
    """P doc p.17 and C doc p.11: ;Abs. Daisy doc p.15: $Netto (ErpNet.FP BgIslFiscalPrinter.Commands.cs AddItem: '$')."""
    printer = FakePrinter(family)
    line = JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=650)
    driver_on(printer, tmp_path).print_receipt(job(lines=[line]))
    group = b"A" if family == "P" else b"\xc0"
    assert printer.sent(0x31) == [b"Coffee\t" + group + b"3.50*2" + separator + b"-0.50"]
    assert printer.receipts_for(SERIAL[family]) == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_amounts_answered_as_whole_stotinki_are_read_as_stotinki(family: Family, tmp_path: Path) -> None:
    """A '980' subtotal is 9.80, not 980.00 (ErpNet.FP GetReceiptAmount): the receipt completes, reports add up."""
    printer = FakePrinter(family, amounts_in_cents=True)
    driver = driver_on(printer, tmp_path)
    driver.print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 1
    assert driver.cash_in_out(0).cash_in_drawer == 1000
    report = driver.x_report()
    assert report.amount_cents == 980 and printer.sent(0x45) == [b"2"]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_z_whose_answer_cannot_be_read_is_done_not_retried(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family, daily_report_answer="0001,garbled")
    report = driver_on(printer, tmp_path).z_report()
    assert printer.sent(0x45) == [b"0"] and report.kind == "Z" and report.number == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_a_z_whose_answers_are_all_lost_but_which_the_printer_made_is_done_not_retried(family: Family, tmp_path: Path) -> None:
    """The link resends the 45h frame under the same SEQ (the printer repeats, never runs it twice: C doc p.5);
    when no answer ever arrives whole, 40h shows the new closure: the Z is reported done, never retried."""
    printer = FakePrinter(family, link_faults=["ok", "ok", "garbage", "garbage", "garbage"])  # 4Ah, 40h, then 45h x3
    report = driver_on(printer, tmp_path).z_report()
    assert printer.sent(0x45) == [b"0"] * 3 and printer.closure == 1 and report.number == 1


def test_a_z_the_printer_refused_is_a_failure(tmp_path: Path) -> None:
    printer = FakePrinter("C", refuse_with={0x45: {"not_allowed"}})
    with pytest.raises(DeviceRefused):
        driver_on(printer, tmp_path).z_report()
    assert printer.closure == 0


def test_daisy_reads_its_17_field_daily_report(tmp_path: Path) -> None:
    printer = FakePrinter("Daisy")
    driver = driver_on(printer, tmp_path)
    driver.print_receipt(job())
    report = driver.z_report()
    assert (report.number, report.amount_cents) == (1, 980)


def test_c_texts_are_cut_to_the_documents_widths_in_cp1251_bytes(tmp_path: Path) -> None:
    """C doc p.11: item text 22 bytes; p.15: fiscal text 36; p.8: service text 40."""
    printer = FakePrinter("C")
    driver = driver_on(printer, tmp_path)
    name = "Кафе с мляко и канела, голямо"
    line = JobLine(name=name, quantity=Decimal(1), unit_price=350, vat_rate=Decimal(20), amount=350)
    driver.print_receipt(job("j" * 40, lines=[line]))
    assert printer.sent(0x31) == [name.encode("cp1251")[:22] + b"\t\xc03.50*1"]
    assert [len(text) for text in printer.sent(0x36)] == [36, 12]
    driver.non_fiscal_receipt(["x" * 50])
    assert printer.sent(0x2A) == [b"x" * 40]


def test_c_refuses_more_than_120_sales_before_opening(tmp_path: Path) -> None:
    printer = FakePrinter("C")
    lines = [JobLine(name=f"L{i}", quantity=Decimal(1), unit_price=10, vat_rate=Decimal(20), amount=10) for i in range(121)]
    with pytest.raises(InvalidJob, match="120"):
        driver_on(printer, tmp_path).print_receipt(job(lines=lines))
    assert printer.sent(0x30) == [] and printer.sent(0x31) == []


@pytest.mark.parametrize(
    ("family", "operator", "password", "sent"),
    [("P", None, None, b"1,0000,1,"), ("C", None, None, b"1,1,"), ("C", 3, None, b"3,3,"), ("Daisy", None, None, b"1,1,"),
     ("C", 1, "1", b"1,1,")],
)
def test_operator_and_password_default_to_the_familys_factory_values(family: Family, operator: int | None, password: str | None, sent: bytes, tmp_path: Path) -> None:
    """P doc p.31 ("0000"), C doc p.23 (operator N's password is N), Daisy: ErpNet.FP's operator 1 / password 1."""
    printer = FakePrinter(family)
    driver_on(printer, tmp_path, operator, password).print_receipt(job())
    assert printer.sent(0x30)[-1].startswith(sent) and printer.receipts_for(SERIAL[family]) == 1


@pytest.mark.parametrize(
    ("family", "operator", "password"),
    [("Daisy", 1, "1234567"), ("P", 1, "12"), ("P", 17, None), ("C", 31, None), ("C", 1, "12a4")],
)
def test_a_password_or_operator_the_family_cannot_take_is_refused_clearly(family: Family, operator: int, password: str | None, tmp_path: Path) -> None:
    """Daisy doc p.13: at most 6 digits; P doc p.16: 4-8 digits, operators 1-16; C doc p.10: 1-8 digits, operators 1-30."""
    with pytest.raises(UnsupportedDevice, match=DRIVERS[family][0].family):
        driver_on(FakePrinter(family), tmp_path, operator, password)


def test_daisy_wrong_password_bit_is_a_typed_failure(tmp_path: Path) -> None:
    """Daisy doc p.5: 1.6 wrong password."""
    printer = FakePrinter("Daisy")
    with pytest.raises(WrongPassword):
        driver_on(printer, tmp_path, 2, "9").print_receipt(job())
    assert printer.receipts_for(SERIAL["Daisy"]) == 0


def test_p_alone_is_asked_30h_without_data(tmp_path: Path) -> None:
    """P doc p.17 documents it; the C and Daisy documents do not (a syntax error there)."""
    for family in FAMILIES:
        printer = FakePrinter(family)
        driver_on(printer, tmp_path / family).print_receipt(job())
        assert (b"" in printer.sent(0x30)) == (family == "P")


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_paper_out_on_close_is_a_failure_and_the_paid_receipt_is_closed_once_paper_is_back(family: Family, tmp_path: Path) -> None:
    """C doc p.3 2.0: a printing command refused for paper changed nothing, and close (38h) has no data:
    the receipt is still open, so it is not reported printed; reconciliation closes it later."""
    printer = FakePrinter(family, refuse_with={0x38: {"paper_out"}})
    driver = driver_on(printer, tmp_path)
    with pytest.raises(ReceiptInterrupted, match="paper"):
        driver.print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 0 and printer.receipt is not None
    assert printer.sent(0x3C) == printer.sent(0x82) == []  # paid: never cancelled

    printer.refuse_with.clear()
    record = driver.find_receipt("job-1")
    assert record is not None and printer.receipts_for(SERIAL[family]) == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_paper_out_before_the_receipt_prints_nothing_and_says_paper(family: Family, tmp_path: Path) -> None:
    printer = FakePrinter(family, paper_out=True)
    with pytest.raises(PaperOut):
        driver_on(printer, tmp_path).print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 0 and printer.receipt is None


REFUSALS = [
    ({"cover"}, CoverOpen, ("P",)),
    ({"printer"}, PrinterFault, ("P", "Daisy")),
    ({"fm_full"}, FiscalMemoryFull, FAMILIES),
    ({"fm_error"}, FiscalMemoryError, FAMILIES),
    ({"ej_full"}, JournalFull, FAMILIES),
    ({"clock"}, ClockNotSet, FAMILIES),
    ({"syntax"}, InvalidJob, FAMILIES),
    ({"invalid"}, DeviceRefused, FAMILIES),
    ({"overflow"}, DeviceRefused, FAMILIES),
    ({"code17"}, DeviceRefused, ("Daisy",)),
]


@pytest.mark.parametrize(("family", "conditions", "error"), [(f, c, e) for c, e, fams in REFUSALS for f in fams])
def test_each_error_bit_refusing_the_open_is_its_typed_failure(family: Family, conditions: set[str], error: type[Exception], tmp_path: Path) -> None:
    refusal = conditions | ({"not_allowed"} if conditions & {"cover", "fm_full", "fm_error", "ej_full", "clock"} else set())
    printer = FakePrinter(family, refuse_with={0x30: refusal})
    with pytest.raises(error):
        driver_on(printer, tmp_path).print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 0


@pytest.mark.parametrize(
    ("family", "flags", "warnings"),
    [
        ("P", {"paper_low", "cover", "fm_near_full"}, {"W_PAPER_NEAR_END", "W_COVER_OPEN", "W_FISCAL_MEMORY_NEAR_FULL"}),
        ("C", {"clock", "ej_near_full", "terminal"}, {"W_CLOCK_NOT_SET", "W_JOURNAL_NEAR_FULL", "W_TAX_TERMINAL_FAULT"}),
        ("C", {"cover", "paper_low"}, set()),  # C doc p.3: 0.6 and 2.1 are reserved, never read as cover or paper
        ("Daisy", {"paper_low", "fm_near_full", "terminal"}, {"W_PAPER_NEAR_END", "W_FISCAL_MEMORY_NEAR_FULL", "W_TAX_TERMINAL_FAULT"}),
    ],
)
def test_status_bits_become_device_warnings_per_family(family: Family, flags: set[str], warnings: set[str], tmp_path: Path) -> None:
    printer = FakePrinter(family, flags=flags)
    status = driver_on(printer, tmp_path).status()
    assert status.online and set(status.warnings) == warnings


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("fault", ["nak", "garbage", "half", "syn"])
def test_one_bad_answer_is_resent_under_the_same_seq_and_the_receipt_completes(family: Family, fault: str, tmp_path: Path) -> None:
    printer = FakePrinter(family, link_faults=["ok"] * 7 + [fault])
    driver_on(printer, tmp_path).print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 1
    seqs = [seq for seq, _cmd, _data in printer.requests]
    if fault != "syn":
        assert len(seqs) == len(set(seqs)) + 1  # exactly one frame went twice, with its own SEQ


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("fault", "error"), [("silence", DeviceSilent), ("garbage", GarbledAnswer), ("half", GarbledAnswer), ("nak", GarbledAnswer)])
def test_a_printer_that_never_answers_well_is_a_typed_error(family: Family, fault: str, error: type[Exception], tmp_path: Path) -> None:
    printer = FakePrinter(family, link_faults=[fault] * 10)
    with pytest.raises(error):
        driver_on(printer, tmp_path).print_receipt(job())
    assert printer.receipts_for(SERIAL[family]) == 0


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("rates", ["NaN,9.00,0.00,DT,DT,DT,DT,DT", "20.00,sNaN,DT,DT,DT,DT,DT,DT", "20.00,x,DT,DT,DT,DT,DT,DT"])
def test_a_tax_rate_answer_that_is_no_number_is_garbled_and_nothing_is_opened(family: Family, rates: str, tmp_path: Path) -> None:
    printer = FakePrinter(family, tax_rates=rates)
    with pytest.raises(GarbledAnswer, match="unexpected tax rate"):
        driver_on(printer, tmp_path).print_receipt(job())
    assert 0x30 not in [cmd for _seq, cmd, _data in printer.requests]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("fault", ["refused", "garbage"])
def test_a_clock_read_that_fails_after_the_close_is_an_uncertain_print_found_by_reconcile_never_a_reprint(
        family: Family, fault: str, tmp_path: Path) -> None:
    printer = FakePrinter(family, refuse_with={0x3E: {"syntax"}} if fault == "refused" else {})
    driver = driver_on(printer, tmp_path)
    if fault == "garbage":  # the clock is read, its every answer garbled on the line
        printer.garble_answers_to = {0x3E}
    with pytest.raises(ReceiptInterrupted) as raised:
        driver.print_receipt(job())
    assert raised.value.may_have_printed  # the poller reconciles instead of printing again

    printer.refuse_with, printer.garble_answers_to = {}, set()
    record = driver.find_receipt("job-1")
    assert record is not None and record.fiscal_number == "0000001"
    assert printer.receipts_for(f"{SERIAL[family]}-0001-0000001") == 1
