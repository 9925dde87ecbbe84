"""The journal's merged commits (issue 22 point 5): a write made ``later`` is on disk before the next journal
write, which precedes every device call, and a batch commits or rolls back whole; the poller calls the device,
the cloud and the queue only with what each depends on on disk.

A second, read-only connection to the same file shows what a restart after a crash would find."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from edge_harness import SHOP_ID, make_job
from pydantic import SecretStr

from chalicelib.contracts import (
    FiscalJob,
    FiscalRecord,
    JobResult,
    ResultAck,
    ResultStatus,
)
from edge.cloud import AwsCredentials, EdgeSession
from edge.config import EdgeConfig
from edge.drivers.simulated import SimulatedDriver
from edge.emulators.simulated.register import SimulatedRegister
from edge.journal import InboundMessage, JobState, Journal
from edge.poller import FixedDevice, Poller


def _accept(journal: Journal, *job_ids: str) -> None:
    with journal.batch():
        for job_id in job_ids:
            job = make_job(job_id)
            journal.accept(job, InboundMessage(message_id=f"m-{job_id}", receipt_handle=f"h-{job_id}", body=job.model_dump_json()))


def _printed(job_id: str) -> JobResult:
    return JobResult(job_id=job_id, shop_id="shop-1", status=ResultStatus.PRINTED,
                     fiscal=FiscalRecord(device="d", fiscal_number="1", printed_at=1))


def _on_disk(path: Path, job_id: str) -> JobState | None:
    reader = Journal(path, readonly=True)
    try:
        row = reader.job(job_id)
    finally:
        reader.close()
    return None if row is None else row.state


def test_a_later_write_is_on_disk_with_the_next_write_before_the_next_device_call(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    _accept(journal, "j1", "j2")
    assert _on_disk(path, "j1") is JobState.RECEIVED and _on_disk(path, "j2") is JobState.RECEIVED

    op = journal.begin_print("j1", "printer", 700)
    journal.record_printed("j1", op, _printed("j1"), later=True)
    assert journal.holds_writes()
    assert _on_disk(path, "j1") is JobState.PRINTING  # a crash now: the restart asks the device, which holds the receipt

    journal.begin_print("j2", "printer", 700)  # written before j2's device call: j1's outcome goes with it
    assert not journal.holds_writes()
    assert _on_disk(path, "j1") is JobState.PRINTED and _on_disk(path, "j2") is JobState.PRINTING
    journal.close()


def test_reads_see_held_writes_and_flush_or_close_commits_them(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    _accept(journal, "j1")
    journal.record_printed("j1", journal.begin_print("j1", "printer", 700), _printed("j1"), later=True)
    assert [r.job_id for r in journal.pending_results()] == ["j1"]  # this process sees its held write
    assert _on_disk(path, "j1") is JobState.PRINTING  # and a read does not commit it
    journal.flush()
    assert not journal.holds_writes() and _on_disk(path, "j1") is JobState.PRINTED

    journal.record_reported("j1", later=True)
    assert _on_disk(path, "j1") is JobState.PRINTED  # a crash now reports the result again
    journal.close()
    assert _on_disk(path, "j1") is JobState.REPORTED


def test_a_held_batch_is_on_disk_with_the_first_printing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    with journal.batch(later=True):
        _accept(journal, "j1", "j2")
    assert journal.holds_writes() and journal.job("j1") is not None
    assert _on_disk(path, "j1") is None  # a crash now: the messages are still on the queue and come back

    journal.begin_print("j1", "printer", 700)
    assert _on_disk(path, "j1") is JobState.PRINTING and _on_disk(path, "j2") is JobState.RECEIVED
    journal.close()


def test_a_write_that_raises_undoes_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    _accept(journal, "j1")
    journal.record_printed("j1", journal.begin_print("j1", "printer", 700), _printed("j1"), later=True)
    with pytest.raises(RuntimeError), journal.batch():
        _accept(journal, "j2")
        raise RuntimeError("cut short")
    assert journal.job("j2") is None
    j1 = journal.job("j1")
    assert journal.holds_writes() and j1 is not None and j1.state is JobState.PRINTED  # still held, not undone
    journal.close()
    assert _on_disk(path, "j1") is JobState.PRINTED and _on_disk(path, "j2") is None


def test_a_batch_that_raises_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    with pytest.raises(RuntimeError), journal.batch():
        _accept(journal, "j1")  # a batch inside a batch joins it
        _accept(journal, "j2")
        raise RuntimeError("cut short")
    assert journal.job("j1") is None and journal.job("j2") is None and _on_disk(path, "j1") is None
    _accept(journal, "j1")
    assert _on_disk(path, "j1") is JobState.RECEIVED
    journal.close()


# -- the poller's rounds, checked from the disk's side at every outside call ---------------------------------------


class _Disk:
    """What a restart after a crash would find: the journal read through a second, read-only connection."""

    def __init__(self, path: Path, journal: Journal) -> None:
        self.path, self.journal = path, journal
        self.job_ids: list[str] = []

    def state(self, job_id: str) -> JobState | None:
        return _on_disk(self.path, job_id)

    def assert_nothing_held(self) -> None:
        """Every job's state and open messages on disk are what the poller's journal shows."""
        reader = Journal(self.path, readonly=True)
        try:
            for job_id in self.job_ids:
                seen, stored = self.journal.job(job_id), reader.job(job_id)
                assert (stored and stored.state) == (seen and seen.state), job_id
                assert reader.open_messages(job_id) == self.journal.open_messages(job_id), job_id
        finally:
            reader.close()


class _CheckedDriver(SimulatedDriver):
    """The simulated register, called only once the journal holds nothing back and the job is ``printing`` on disk."""

    def __init__(self, disk: _Disk, register: SimulatedRegister) -> None:
        super().__init__(register, "printer")
        self.disk = disk

    def print_receipt(self, job: FiscalJob) -> FiscalRecord:
        self.disk.assert_nothing_held()
        assert self.disk.state(job.job_id) is JobState.PRINTING
        return super().print_receipt(job)


class _CheckedCloud:
    """Acknowledges a result only if the job's outcome is on disk."""

    def __init__(self, disk: _Disk) -> None:
        self.disk = disk
        self.posted: list[str] = []
        self.session_ = EdgeSession(
            token=SecretStr("t"), expires_at=2**40, shop_id=SHOP_ID, queue_url="q", region="eu-central-1",
            credentials=AwsCredentials(access_key_id="a", secret_access_key=SecretStr("s"), session_token=SecretStr("t"), expiration=2**40),
        )

    def session(self) -> EdgeSession:
        return self.session_

    def seconds_until_available(self) -> float:
        return 0.0

    def seconds_until_renewal(self) -> float:
        return 3600.0

    def post_result(self, result: JobResult) -> ResultAck:
        assert self.disk.state(result.job_id) in (JobState.PRINTED, JobState.FAILED), result.job_id
        self.posted.append(result.job_id)
        return ResultAck(job_id=result.job_id, order_status="terminated")


class _CheckedQueue:
    """Hands out 10 messages a receive; deletes one only if its job is settled on disk."""

    def __init__(self, disk: _Disk, messages: list[InboundMessage], job_of: dict[str, str]) -> None:
        self.disk, self.waiting, self.job_of = disk, list(messages), job_of
        self.deleted: list[str] = []

    def receive(self, wait_seconds: int) -> list[InboundMessage]:
        taken, self.waiting = self.waiting[:10], self.waiting[10:]
        return taken

    def delete(self, receipt_handle: str) -> None:
        job_id = self.job_of[receipt_handle]
        assert self.disk.state(job_id) in (JobState.REPORTED, JobState.REJECTED), job_id
        self.deleted.append(receipt_handle)

    def hide_all(self, receipt_handles: list[str], seconds: int) -> None:
        pass


def test_every_outside_call_finds_what_it_depends_on_on_disk(tmp_path: Path) -> None:
    """Device calls find nothing held back (the job ``printing``), posted results are on disk, and a message is deleted
    only once its job is settled on disk: 23 jobs and a poison message, in rounds of 10 as SQS hands them out."""
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    disk = _Disk(path, journal)
    jobs = [make_job(f"j{n:02d}") for n in range(23)]
    messages = [InboundMessage(message_id=f"m-{j.job_id}", receipt_handle=f"h-{j.job_id}", body=j.model_dump_json()) for j in jobs]
    messages.insert(14, InboundMessage(message_id="m-poison", receipt_handle="h-poison", body="not a job"))
    disk.job_ids = [j.job_id for j in jobs] + ["poison:m-poison"]
    job_of = {m.receipt_handle: ("poison:m-poison" if m.message_id == "m-poison" else m.message_id[2:]) for m in messages}
    queue = _CheckedQueue(disk, messages, job_of)
    cloud = _CheckedCloud(disk)
    register = SimulatedRegister(tmp_path / "register.sqlite", durable=False)
    config = EdgeConfig.model_validate({"api_base": "http://127.0.0.1:1", "edge_key": "k", "state_dir": str(tmp_path),
                                        "fiscal_device": {"manufacturer": "Simulated", "model": "Simulated"}})
    poller = Poller(config, journal, FixedDevice("d", _CheckedDriver(disk, register)), cloud, lambda s: queue,  # type: ignore[arg-type]
                    threading.Event(), lambda s: None)
    for _ in range(10):
        poller.cycle()
        if len(queue.deleted) == len(messages):
            break
    assert sorted(queue.deleted) == sorted(m.receipt_handle for m in messages)
    assert cloud.posted == [j.job_id for j in jobs] and len(register.receipts()) == len(jobs)
    journal.close()
    register.close()
    assert all(disk.state(j.job_id) is JobState.REPORTED for j in jobs) and disk.state("poison:m-poison") is JobState.REJECTED
