"""The journal's merged commits (issue 22 point 5): a write made ``later`` is on disk before the next journal
write, which precedes every device call, and a batch commits or rolls back whole.

A second, read-only connection to the same file shows what a restart after a crash would find."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_harness import make_job

from chalicelib.contracts import FiscalRecord, JobResult, ResultStatus
from edge.journal import InboundMessage, JobState, Journal


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


def test_reads_flush_and_close_flushes(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path)
    _accept(journal, "j1")
    journal.record_printed("j1", journal.begin_print("j1", "printer", 700), _printed("j1"), later=True)
    assert [r.job_id for r in journal.pending_results()] == ["j1"]
    assert _on_disk(path, "j1") is JobState.PRINTED

    journal.record_reported("j1", later=True)
    assert _on_disk(path, "j1") is JobState.PRINTED  # a crash now reports the result again
    journal.close()
    assert _on_disk(path, "j1") is JobState.REPORTED


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
