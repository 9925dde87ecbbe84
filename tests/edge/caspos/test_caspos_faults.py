"""Faults between the Caspos driver and the register: silence, garbage, HTTP errors, and every error code that
seed 002 explains (§Common Errors and Solutions l.1912-2074), each ending typed and with at most one document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from caspos_support import azn_job, open_driver

from edge.drivers.base import DeviceError, DeviceUnreachable, InvalidJob, LinkLost
from edge.drivers.caspos.client import (
    CasposAuthFailed,
    CasposError,
    CasposGarbled,
    CasposRejected,
    ShiftClosed,
    ShiftTooLong,
)
from edge.drivers.caspos.driver import CasposDriver, document_uuid
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer


@pytest.fixture
def driver(server: CasposServer, tmp_path: Path) -> Iterator[CasposDriver]:
    opened = open_driver(server.url, tmp_path, answer_seconds=0.02)  # an answer within 0.4 s
    opened.print_receipt(azn_job("warm-up"))  # logged in, shift open and known
    yield opened
    opened.close()


def sales(register: CasposRegister, job_id: str) -> int:
    return len([d for d in register.documents("sale") if d.uuid == document_uuid(job_id)])


def test_silence_after_a_sale_is_uncertain_and_resending_prints_once(driver: CasposDriver, register: CasposRegister) -> None:
    register.delay_seconds = 0.6
    with pytest.raises(LinkLost) as lost:
        driver.print_receipt(azn_job("job-1"))
    assert lost.value.may_have_printed
    register.delay_seconds = 0
    driver.print_receipt(azn_job("job-1"))
    assert sales(register, "job-1") == 1


def test_silence_to_a_question_is_unreachable_and_prints_nothing(driver: CasposDriver, register: CasposRegister) -> None:
    register.delay_seconds = 0.6
    with pytest.raises(DeviceUnreachable) as silent:
        driver.client.get_info()
    assert not silent.value.may_have_printed
    register.delay_seconds = 0


def test_garbage_after_a_sale_is_uncertain_and_resending_prints_once(driver: CasposDriver, register: CasposRegister) -> None:
    register.garbage_next = 1
    with pytest.raises(CasposGarbled) as garbled:
        driver.print_receipt(azn_job("job-1"))
    assert garbled.value.may_have_printed and sales(register, "job-1") == 1
    assert driver.print_receipt(azn_job("job-1")).fiscal_number == register.by_uuid[document_uuid("job-1")].document_id[:12]
    assert sales(register, "job-1") == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_http_error_is_no_answer(driver: CasposDriver, register: CasposRegister, status: int) -> None:
    register.http_status_next = [status]
    with pytest.raises(CasposGarbled):
        driver.print_receipt(azn_job("job-1"))
    register.http_status_next = [status]
    with pytest.raises(DeviceUnreachable) as asked:
        driver.client.get_info()
    assert not asked.value.may_have_printed
    driver.print_receipt(azn_job("job-1"))
    assert sales(register, "job-1") == 1


def test_a_refused_connection_is_unreachable_and_prints_nothing(tmp_path: Path) -> None:
    gone = open_driver("http://127.0.0.1:9", tmp_path)
    with pytest.raises(DeviceUnreachable) as refused:
        gone.print_receipt(azn_job("job-1"))
    assert not refused.value.may_have_printed and gone.status().online is False
    gone.close()


# §Common Errors and Solutions, one by one: the code, the typed error the poller acts on, whether it may go away.
@pytest.mark.parametrize(
    ("code", "error", "transient"),
    [
        (405, CasposAuthFailed, True),   # l.1914 pin locked: support must unlock
        (403, CasposAuthFailed, True),   # l.1934 wrong role: log in as cashier
        (601, CasposError, True),        # l.1964 factory number: support
        (602, CasposError, True),        # l.1974 certificate expired: support
        (604, CasposError, True),        # l.1984 offline too long: connect to the internet
        (607, CasposRejected, False),    # l.1994 invalid total sum
        (611, CasposRejected, False),    # l.2004 invalid items sum
        (612, CasposRejected, False),    # l.2014 invalid item code type
        (613, CasposRejected, False),    # l.2024 invalid VAT total
        (616, CasposRejected, False),    # l.2034 invalid VAT type
        (622, CasposRejected, False),    # l.2044 marking code length
        (629, CasposRejected, False),    # l.2054 change sum
        (646, CasposRejected, False),    # l.2064 RRN length
        (999, CasposError, True),        # §Errors l.1910 "Error message:"
    ],
)
def test_each_documented_error_code_is_typed_and_prints_nothing(driver: CasposDriver, register: CasposRegister, code: int,
                                                                error: type[DeviceError], transient: bool) -> None:
    register.fail_next = [code]
    with pytest.raises(error) as raised:
        driver.print_receipt(azn_job("job-1"))
    assert type(raised.value) is error and raised.value.transient is transient and not raised.value.may_have_printed
    assert isinstance(raised.value, InvalidJob) is (not transient)
    assert raised.value.caspos_code == code and sales(register, "job-1") == 0  # type: ignore[attr-defined]


def test_401_logs_in_again_once_then_gives_up_typed(driver: CasposDriver, register: CasposRegister) -> None:
    register.fail_next = [401]
    driver.print_receipt(azn_job("job-1"))  # l.1924: a new session, the same request
    register.fail_next = [401, 401]
    with pytest.raises(CasposAuthFailed):
        driver.print_receipt(azn_job("job-2"))
    assert (sales(register, "job-1"), sales(register, "job-2")) == (1, 0)


def test_503_opens_the_shift_and_504_closes_and_reopens_it(driver: CasposDriver, register: CasposRegister) -> None:
    register.fail_next = [503]  # l.1944: open a new shift
    driver.print_receipt(azn_job("job-1"))
    register.fail_next = [504]  # l.1954: more than 24 h: close, then open a new shift
    driver.print_receipt(azn_job("job-2"))
    assert (sales(register, "job-1"), sales(register, "job-2")) == (1, 1) and len(register.shifts) == 1
    assert isinstance(ShiftClosed(503, "m"), DeviceError) and ShiftTooLong(504, "m").counts_toward_limit is False


def test_a_disconnected_printer_shows_in_the_status(driver: CasposDriver, register: CasposRegister) -> None:
    register.printer_connected = False
    status = driver.status()
    assert status.online is True and status.paper_out is True


def test_the_register_refuses_what_the_document_does_not_define(register: CasposRegister) -> None:
    assert register.handle({"operation": "toLogin", "username": "username", "password": "wrong"})["code"] == 404  # §Error Messages 404
    assert register.handle({"operation": "getInfo"})["code"] == 401  # §Common Errors 401 l.1924: no session
    register.handle({"operation": "toLogin", "username": "username", "password": "password"})
    for operation in ("_items", "print", "getZReport"):
        assert register.handle({"operation": operation})["code"] == 305  # §Error Messages 305 "handler: unknown command"
    assert register.handle({"operation": "getXReport", "data": {}})["code"] == 503  # no open shift


def test_a_sale_answered_without_its_id_is_uncertain_and_resending_records_it_once(driver: CasposDriver,
                                                                                     register: CasposRegister) -> None:
    """A recorded sale whose answer has a blank document id cannot be reported (a refund and the eReceipt name that id):
    the driver says it may have printed, and the resend under the same documentUUID gets the register's real answer."""
    register.blank_ids_next = 1
    with pytest.raises(CasposGarbled) as blank:
        driver.print_receipt(azn_job("job-blank"))
    assert blank.value.may_have_printed and sales(register, "job-blank") == 1
    record = driver.print_receipt(azn_job("job-blank"))
    assert record.fiscal_number.strip() and sales(register, "job-blank") == 1
