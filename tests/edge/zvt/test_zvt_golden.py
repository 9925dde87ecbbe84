"""Golden APDUs: the driver's bytes on the wire against the public references, and the PT's bytes from them.

Sources: ZVT spec PA00P015 (rev. 13.06 chapters) as read by kaplanerkan/kotlin-zvt-library
(src/test/.../ZvtCommandBuilderTest.kt: the request layouts) and Portalum/Portalum.Zvt
(UnitTest/StatusInformationParserTest.cs and ZvtClientTest.cs: status information captured from real PTs,
the ECR's ``80 00 00`` acknowledgements, ``06 0F 00`` completion, ``06 1E 01 05``/``06 1E 01 64`` aborts;
UnitTest/ApduHelperTest.cs: the extended length ``FF lo hi``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs
from zvt_support import ScriptedPt, hexbytes

from edge.terminals.base import PaymentCancelled, PaymentDeclined, TerminalTimeout
from edge.terminals.zvt.terminal import ZvtTerminal

ACK = hexbytes("80 00 00")
COMPLETION = hexbytes("06 0F 00")
# Registration (spec §2.1: password, config byte; kotlin buildRegistration test: password bytes 00 00 00 then config)
REGISTRATION = hexbytes("06 00 04 00 00 00 3E")
REPEAT_RECEIPT = hexbytes("06 20 03 00 00 00")  # kotlin buildRepeatReceipt: password only
# Portalum StatusInformationParserTest: an approved 20.40 EUR girocard/Maestro payment, trace 463, receipt 0463 ...
CAPTURED_463 = hexbytes(
    "04 0f 77 27 00 04 00 00 00 00 20 40 0b 00 04 63 0c 21 04 43 0d 10 06 0e 25 12 17 00 01 19 70 22 f0 f8 ee ee ee ee ee ee 47 71 29 28 00 48 69"
    " 2a 31 30 30 34 36 31 37 36 33 20 20 20 20 20 20 3b 39 37 38 35 33 39 00 00 3c f0 f1 f4 47 45 4e 2e 4e 52 2e 3a 39 37 38 35 33 39 49 09 78"
    " 87 04 63 88 00 04 63 8a 2e 8b f1 f7 44 65 62 69 74 20 4d 61 73 74 65 72 63 61 72 64 00"
)
# ... and the next one, trace 470, receipt 0470, at 22:39:53 on 10-06.
CAPTURED_470 = hexbytes(
    "04 0f 77 27 00 04 00 00 00 00 20 40 0b 00 04 70 0c 22 39 53 0d 10 06 0e 25 12 17 00 01 19 70 22 f0 f8 ee ee ee ee ee ee 47 71 29 28 00 48 69"
    " 2a 31 30 30 34 36 31 37 36 33 20 20 20 20 20 20 3b 36 31 31 38 30 34 00 00 3c f0 f1 f4 47 45 4e 2e 4e 52 2e 3a 36 31 31 38 30 34 49 09 78"
    " 87 04 70 88 00 04 70 8a 2e 8b f1 f7 44 65 62 69 74 20 4d 61 73 74 65 72 63 61 72 64 00"
)
# Portalum ZvtClientTest PaymentAsync_CardRejected: the PT's status information "Abgelehnt" (result 05), then abort 05.
CAPTURED_DECLINED = hexbytes("04 0F 25 27 05 29 29 00 02 74 3C F0 F0 F9 41 62 67 65 6C 65 68 6E 74 8A 06 06 0D 24 0B 07 09 41 62 67 65 6C 65 68 6E 74")


def _registered(baseline: bytes) -> list[tuple[str, bytes]]:
    """Connect: registration, then (first use of the ledger) the PT's last receipt as the baseline."""
    return [
        ("expect", REGISTRATION), ("send", ACK), ("send", COMPLETION), ("expect", ACK),
        ("expect", REPEAT_RECEIPT), ("send", ACK), ("send", baseline), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
    ]  # fmt: skip


def _terminal(pt: ScriptedPt, tmp_path: Path) -> ZvtTerminal:
    return ZvtTerminal("127.0.0.1", pt.port, tmp_path / "ledger.sqlite", timeout_seconds=2.0)


def test_sale_of_20_40_sends_the_reference_authorisation_and_reads_the_captured_answer(tmp_path: Path) -> None:
    # kotlin buildAuthorization test: 04 <6-byte BCD amount> 49 09 78 (EUR); here 20.40.
    pt = ScriptedPt([
        *_registered(CAPTURED_463),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 20 40 49 09 78")), ("send", ACK),
        ("send", hexbytes("04 FF 01 0A")), ("expect", ACK),  # intermediate status 0A "insert card" (spec §2.2.4)
        ("send", CAPTURED_470), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
    ])  # fmt: skip
    terminal = _terminal(pt, tmp_path)
    sale = terminal.sale("job-1", 2040, "EUR")
    pt.finish()
    assert (sale.amount, sale.currency, sale.approval_code, sale.rrn, sale.kind) == (2040, "EUR", "0470", "000470", "sale")
    assert terminal.find("job-1") == sale
    terminal.close()


def test_extended_length_status_information_is_read(tmp_path: Path) -> None:
    """``FF lo hi`` (Portalum ApduHelperTest ExtendedLengthField1: FF 01 00 = 1 byte) for the same capture."""
    body = CAPTURED_470[3:]
    extended = hexbytes("04 0F FF") + len(body).to_bytes(2, "little") + body
    pt = ScriptedPt([
        *_registered(extended),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 20 40 49 09 78")), ("send", ACK),
        ("send", CAPTURED_463.replace(bytes.fromhex("87 04 63"), bytes.fromhex("87 04 71"))), ("expect", ACK),
        ("send", COMPLETION), ("expect", ACK),
    ])  # fmt: skip
    terminal = _terminal(pt, tmp_path)
    assert terminal.sale("job-2", 2040, "EUR").approval_code == "0471"
    pt.finish()
    terminal.close()


def test_refund_reversal_end_of_day_and_status_enquiry_requests(tmp_path: Path) -> None:
    approved_refund = CAPTURED_463.replace(bytes.fromhex("87 04 63"), bytes.fromhex("87 04 64")).replace(
        bytes.fromhex("04 00 00 00 00 20 40"), bytes.fromhex("04 00 00 00 00 05 00")
    )
    pt = ScriptedPt([
        *_registered(CAPTURED_463),
        # kotlin buildRefund_500cents: 06 31, password 00 00 00, 04 <5.00>, 49 09 78
        ("expect", hexbytes("06 31 0D 00 00 00 04 00 00 00 00 05 00 49 09 78")), ("send", ACK),
        ("send", approved_refund), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
        # Status-Enquiry 05 01 without data (kotlin buildStatusEnquiry); completion: LLL software version, status 00
        ("expect", hexbytes("05 01 00")), ("send", ACK), ("send", hexbytes("06 0F 06 F0 F0 F2 56 31 00")), ("expect", ACK),
    ])  # fmt: skip
    terminal = _terminal(pt, tmp_path)
    refund = terminal.refund("job-r", 500, "EUR")
    status = terminal.status()
    pt.finish()
    assert (refund.kind, refund.amount, refund.approval_code) == ("refund", 500, "0464")
    assert (status.online, status.open_batch_count) == (True, 1)
    terminal.close()


def test_reversal_of_receipt_0042_and_end_of_day(tmp_path: Path) -> None:
    sale_42 = CAPTURED_463.replace(bytes.fromhex("87 04 63"), bytes.fromhex("87 00 42"))
    reversal_43 = CAPTURED_463.replace(bytes.fromhex("87 04 63"), bytes.fromhex("87 00 43"))
    # End-of-day status information (spec §2.15.4): result, total 0.00, BMP 60 receipts 0042..0043, 7 empty groups
    totals = bytes.fromhex("00 42 00 43") + bytes(7) * 7
    day_end = hexbytes("04 0F") + bytes([2 + 7 + 1 + 3 + len(totals)]) + hexbytes("27 00 04 00 00 00 00 00 00 60 F0 F5 F3") + totals
    pt = ScriptedPt([
        *_registered(CAPTURED_470),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 20 40 49 09 78")), ("send", ACK),
        ("send", sale_42), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
        # kotlin buildReversal_withReceipt42 / Portalum ReversalAsync: password, 87 00 42
        ("expect", hexbytes("06 30 06 00 00 00 87 00 42")), ("send", ACK),
        ("send", reversal_43), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
        # kotlin buildEndOfDay: 06 50 03 <password>
        ("expect", hexbytes("06 50 03 00 00 00")), ("send", ACK), ("send", day_end), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
    ])  # fmt: skip
    terminal = _terminal(pt, tmp_path)
    terminal.sale("job-42", 2040, "EUR")
    reversal = terminal.reverse("job-42")
    settled = terminal.settlement()
    pt.finish()
    assert (reversal.kind, reversal.approval_code, reversal.amount) == ("reversal", "0043", 2040)
    assert (settled.batch, settled.sales, settled.sales_amount, settled.refunds) == (1, 0, 0, 0)  # the sale was reversed
    terminal.close()


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ([("send", CAPTURED_DECLINED), ("expect", ACK), ("send", hexbytes("06 1E 01 05")), ("expect", ACK)], PaymentDeclined),
        ([("send", hexbytes("06 1E 01 64")), ("expect", ACK)], PaymentDeclined),  # card not readable (ZvtClientTest)
        ([("send", hexbytes("06 1E 01 6C")), ("expect", ACK)], PaymentCancelled),  # abort key (StatusInformationParserTest)
    ],
    ids=["declined-05", "card-not-readable-64", "abort-key-6C"],
)
def test_abort_from_the_pt_is_a_decline_and_charges_nothing(tmp_path: Path, answer: list[tuple[str, bytes]], error: type[Exception]) -> None:
    pt = ScriptedPt([*_registered(CAPTURED_463), ("expect", hexbytes("06 01 0A 04 00 00 00 00 10 00 49 09 78")), ("send", ACK), *answer])
    terminal = _terminal(pt, tmp_path)
    with pytest.raises(error):
        terminal.sale("job-x", 1000, "EUR")
    pt.finish()
    assert terminal.find("job-x") is None
    terminal.close()


def test_an_approval_of_another_amount_than_asked_is_kept_and_flagged(tmp_path: Path) -> None:
    """The PT booked what its status information says (20.40, receipt 0470); the driver records the approval
    (the money moved) and warns, instead of pretending the 1.00 it asked for was booked."""
    pt = ScriptedPt([
        *_registered(CAPTURED_463),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 01 00 49 09 78")), ("send", ACK),
        ("send", CAPTURED_470), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
    ])  # fmt: skip
    terminal = _terminal(pt, tmp_path)
    with capture_logs() as logs:
        assert terminal.sale("job-3", 100, "EUR").approval_code == "0470"
    pt.finish()
    [warning] = [e for e in logs if e["event"] == "zvt_amount_differs"]
    assert (warning["asked"], warning["booked"]) == (100, 2040)
    terminal.close()


def test_a_declined_booking_with_a_receipt_number_becomes_the_baseline_of_the_next(tmp_path: Path) -> None:
    """A PT may number a declined receipt (here 0464, result 05) and repeat it as its last; a later booking whose
    answer is lost is then proven absent by that number, not left unresolved."""
    declined_464 = CAPTURED_DECLINED + hexbytes("87 04 64")
    declined_464 = declined_464[:2] + bytes([len(declined_464) - 3]) + declined_464[3:]
    pt = ScriptedPt([
        *_registered(CAPTURED_463),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 20 40 49 09 78")), ("send", ACK),
        ("send", declined_464), ("expect", ACK), ("send", hexbytes("06 1E 01 05")), ("expect", ACK),
        ("expect", hexbytes("06 01 0A 04 00 00 00 00 20 40 49 09 78")), ("send", ACK),  # then silence: outcome unknown
        ("reconnect", b""),
        ("expect", REGISTRATION), ("send", ACK), ("send", COMPLETION), ("expect", ACK),
        ("expect", REPEAT_RECEIPT), ("send", ACK), ("send", declined_464), ("expect", ACK), ("send", COMPLETION), ("expect", ACK),
    ])  # fmt: skip
    terminal = ZvtTerminal("127.0.0.1", pt.port, tmp_path / "ledger.sqlite", timeout_seconds=0.5)
    with pytest.raises(PaymentDeclined):
        terminal.sale("job-d", 2040, "EUR")
    with pytest.raises(TerminalTimeout):
        terminal.sale("job-e", 2040, "EUR")
    assert terminal.find("job-e") is None
    pt.finish()
    terminal.close()
