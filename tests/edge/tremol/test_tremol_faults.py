"""Line faults on every frame of a receipt: NAK and RETRY (Tremol doc p.8) are sent again and print once; garbage,
a bad checksum, half a frame or a lost answer to a command that only reads is asked again; to one that prints, the
driver stops, asks the device what became of the job, and the job ends with exactly one receipt."""

from __future__ import annotations

from pathlib import Path

import pytest
from tremol_support import EmulatedPort, card, cash, driver_on, sale

from edge.drivers.base import DeviceError
from edge.drivers.tremol.driver import DeviceSilent
from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.wire import HostFrame, checksum

FRAMES = 11  # a cash receipt on a fresh driver: 60h 62h 71h 30h 31h 31h 37h 33h 35h 38h 72h
SPLIT_FRAMES = 12
QUERY_FRAMES = {1, 2, 3, 8, 12}  # 60h 62h 71h, 33h "0;0" (prints nothing, p.50), 72h B


class FaultyPort(EmulatedPort):
    """Spoils the answer to one frame (by number) with one fault; ``lost``: the device runs it and its answer is lost."""

    def __init__(self, device: TremolDevice, at: int, kind: str) -> None:
        super().__init__(device)
        self.at, self.kind = at, kind

    def write(self, data: bytes) -> None:
        if data[:1] == b"\x02" and self.frames + 1 == self.at and self.kind != "spent":
            kind, self.kind = self.kind, "spent"
            if kind == "lost":
                self.frames += 1
                self.endpoint.receive(data, lambda _answer: None)
                return
            setattr(self.faults, kind, 1)
        super().write(data)


def _settle(port: EmulatedPort, tmp_path: Path, job_id: str, make=sale) -> str:  # type: ignore[no-untyped-def]
    """What the poller does after a failed print: a fresh driver finds the job's receipt, or prints it again."""
    driver = driver_on(port, tmp_path, first_nbl=0x60)
    try:
        found = driver.find_receipt(job_id)
        return found.unique_sale_number if found is not None else driver.print_receipt(make(job_id)).unique_sale_number  # type: ignore[return-value]
    finally:
        driver.close()


@pytest.mark.parametrize("kind", ["nak", "busy"])
@pytest.mark.parametrize("at", range(1, FRAMES + 1))
def test_nak_and_retry_are_sent_again_and_print_once(kind: str, at: int, device: TremolDevice, tmp_path: Path) -> None:
    port = FaultyPort(device, at, kind)
    driver = driver_on(port, tmp_path)
    record = driver.print_receipt(sale("job-1"))
    driver.close()
    assert [(d.kind, d.unp) for d in device.journal] == [("fiscal", record.unique_sale_number)]
    assert port.written.count(port.written[at - 1]) == 2  # the very same frame, same number, once more


@pytest.mark.parametrize("kind", ["garbage", "corrupt_checksum", "truncate", "lost"])
@pytest.mark.parametrize("at", range(1, SPLIT_FRAMES + 1))
def test_an_unreadable_or_lost_answer_ends_with_one_receipt(kind: str, at: int, device: TremolDevice, tmp_path: Path) -> None:
    def split(job_id: str):  # type: ignore[no-untyped-def]
        return sale(job_id, payments=[cash(500, tendered=1000), card(480)])

    port = FaultyPort(device, at, kind)
    driver = driver_on(port, tmp_path)
    try:
        unp = driver.print_receipt(split("job-1")).unique_sale_number
    except DeviceError as exc:
        assert at not in QUERY_FRAMES  # a query is asked again: only a command that acts can leave the job unknown
        assert exc.transient
        driver.close()
        unp = _settle(port, tmp_path, "job-1", split)
    else:
        driver.close()
    fiscal = [d for d in device.journal if d.kind == "fiscal"]
    assert [(d.unp, d.total, d.change) for d in fiscal] == [(unp, 980, 500)]
    assert device.receipt is None


def test_a_silent_device_is_offline_and_nothing_prints(device: TremolDevice, tmp_path: Path) -> None:
    port = EmulatedPort(device)
    port.faults.silent = True
    driver = driver_on(port, tmp_path)
    assert driver.status().online is False
    with pytest.raises(DeviceSilent):
        driver.print_receipt(sale("job-1"))
    assert driver.find_receipt("job-1") is None and device.journal == []
    driver.close()


def test_garbage_to_a_query_is_asked_again_under_a_new_number(device: TremolDevice, tmp_path: Path) -> None:
    port = EmulatedPort(device)
    port.faults.garbage = 1
    driver = driver_on(port, tmp_path, first_nbl=0x30)
    assert driver.status().online
    driver.close()
    assert port.written[0][2] == 0x30 and port.written[1][2] == 0x31 and port.written[1][3] == port.written[0][3] == 0x60


class LyingPort(EmulatedPort):
    """Answers one command with well-framed data the document does not allow."""

    def __init__(self, device: TremolDevice, cmd: int, data: bytes) -> None:
        super().__init__(device)
        self.cmd, self.data = cmd, data

    def write(self, data: bytes) -> None:
        if data[:1] == b"\x02" and data[3] == self.cmd:
            self.written.append(data)
            self.endpoint.device.answer(HostFrame(data[2], data[3], data[4:-3]))  # the device runs it; the answer lies
            body = bytes((0x20 + 3 + len(self.data), data[2], self.cmd)) + self.data
            self._inbox.append(b"\x02" + body + checksum(body) + b"\x0a")
            return
        super().write(data)


@pytest.mark.parametrize(("cmd", "data"), [
    (0x60, b"ZK000601"),  # p.25: two fields
    (0x60, b"ZK0006;500006"),  # 8 symbols each
    (0x62, b"NaN%;20.00%;20.00%;09.00%;00.00%;00.00%;00.00%;00.00%"),  # p.25: ##.##%
    (0x62, b"20.00%"),  # eight rates
    (0x71, b"00012a"),  # p.72: six digits
    (0x33, b"9,80"),  # p.50: a decimal amount
    (0x72, b"50000601*000001*2026-13-45*25:61:00*9.80"),  # p.74: a date that is none
    (0x72, b"garbage"),
])
def test_answers_out_of_the_documents_format_are_typed_errors(cmd: int, data: bytes, device: TremolDevice, tmp_path: Path) -> None:
    driver = driver_on(LyingPort(device, cmd, data), tmp_path)
    with pytest.raises(DeviceError) as raised:
        driver.print_receipt(sale("job-1"))
    driver.close()
    assert raised.value.transient  # never a crash; the poller retries or reconciles
    assert _settle(EmulatedPort(device), tmp_path, "job-1")  # and the job still ends with one receipt
    assert [d.kind for d in device.journal if d.kind == "fiscal"] == ["fiscal"]


def test_a_status_of_other_than_seven_bytes_is_a_typed_error(device: TremolDevice, tmp_path: Path) -> None:
    driver = driver_on(LyingPort(device, 0x20, b"\x80\x80"), tmp_path)
    status = driver.status()
    driver.close()
    assert status.online is False and "seven bytes" in (status.error or "")


def test_a_lost_answer_to_cash_in_says_it_may_have_happened(device: TremolDevice, tmp_path: Path) -> None:
    port = EmulatedPort(device)
    port.faults.drop_after = 0x3B  # p.55: the deposit is recorded, its answer lost
    driver = driver_on(port, tmp_path)
    with pytest.raises(DeviceError) as raised:
        driver.cash_in(1000)
    driver.close()
    assert raised.value.may_have_printed and device.cash_on_hand == 1000  # so no one is told to simply deposit again
