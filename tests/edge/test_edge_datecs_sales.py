"""The Datecs/Daisy driver's sale book: each plan is committed when ``plan`` returns, a new plan for a job replaces the old one."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from edge.drivers.isl.sales import FILE, Payment, open_book


def rows(state_dir: Path) -> list[tuple[object, ...]]:
    """What another connection (another process after a crash) reads from the book."""
    with closing(sqlite3.connect(state_dir / FILE)) as other:
        return other.execute("SELECT job_id, device, seq, unp, doc_before, cancelling FROM sales ORDER BY seq").fetchall()


def test_a_plan_is_committed_when_plan_returns(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    plan = book.plan("job-1", "DT000600", 7, "DT000600-0001-0000007", 41)
    assert rows(tmp_path) == [("job-1", "DT000600", 7, "DT000600-0001-0000007", 41, 0)]
    assert plan.document_number == 42 and book.for_job("job-1") == plan
    book.close()


def test_a_new_plan_for_the_same_job_replaces_a_cancelled_one(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    book.plan("job-1", "DT000600", 7, "DT000600-0001-0000007", 41)
    book.mark_cancelling("DT000600", 7)
    assert rows(tmp_path)[0][-1] == 1 and book.highest_seq("DT000600") == 7
    book.plan("job-1", "DT000600", 8, "DT000600-0001-0000008", 42)
    assert rows(tmp_path) == [("job-1", "DT000600", 8, "DT000600-0001-0000008", 42, 0)]
    assert book.for_seq("DT000600", 7) is None and book.highest_seq("DT000600") == 8
    book.close()


def test_two_jobs_can_never_share_a_sale_number(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    book.plan("job-1", "DT000600", 7, "DT000600-0001-0000007", 41)
    with pytest.raises(sqlite3.IntegrityError):
        book.plan("job-2", "DT000600", 7, "DT000600-0001-0000007", 41)
    assert [row[0] for row in rows(tmp_path)] == ["job-1"]
    book.close()


def test_the_write_ahead_log_stays_small(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    for seq in range(1, 301):
        book.plan(f"job-{seq}", "DT000600", seq, f"DT000600-0001-{seq:07d}", seq)
    assert (tmp_path / f"{FILE}-wal").stat().st_size < 200 * 4096
    assert len(rows(tmp_path)) == 300
    book.close()


def test_a_plan_keeps_whether_it_is_a_storno_and_its_payments_for_another_process(tmp_path: Path) -> None:
    book = open_book(tmp_path)
    book.plan("job-1", "DT000600", 7, "DT000600-0001-0000001", 41, 2, 980, storno=True, payments=(Payment("C", 480), Payment("P", 1000)))
    book.close()
    reopened = open_book(tmp_path)
    plan = reopened.for_job("job-1")
    assert plan is not None and plan.storno and plan.payments == [Payment("C", 480), Payment("P", 1000)]
    reopened.close()


def test_a_book_written_before_payments_were_kept_gains_them_on_open(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / FILE)) as old:
        old.execute("CREATE TABLE sales (job_id TEXT PRIMARY KEY, device TEXT NOT NULL, seq INTEGER NOT NULL, unp TEXT NOT NULL,"
                    " doc_before INTEGER NOT NULL, cancelling INTEGER NOT NULL DEFAULT 0, planned_ms INTEGER NOT NULL)")
        old.execute("INSERT INTO sales VALUES ('job-0', 'DT000600', 3, 'DT000600-0001-0000003', 9, 0, 0)")
        old.commit()
    book = open_book(tmp_path)
    plan = book.for_job("job-0")
    assert plan is not None and not plan.storno and plan.payments == []
    book.close()
