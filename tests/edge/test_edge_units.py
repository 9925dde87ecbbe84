"""Pure pieces of the edge: backoff, crash specs, instants, session timing, config, journal transitions."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from edge_harness import make_job
from pydantic import SecretStr

from chalicelib.contracts import FiscalRecord, JobResult, ResultStatus
from edge.backoff import RetryGate, backoff_delay
from edge.cloud import AwsCredentials, EdgeSession
from edge.config import ConfigError, load_config
from edge.faults import parse_crash_spec
from edge.jobqueue import VisibilityKeeper
from edge.journal import InboundMessage, JobState, Journal
from edge.session import refresh_time
from edge.timeparse import parse_instant


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    assert [backoff_delay(n, 1.0, 10.0, 1.0) for n in range(0, 6)] == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(3, 1.0, 10.0, 0.0) == 2.0
    assert backoff_delay(10_000, 1.0, 10.0, 1.0) == 10.0


def test_retry_gate_closes_after_failure_and_opens_after_success() -> None:
    gate = RetryGate(1.0, 8.0, random_unit=lambda: 1.0)
    assert gate.is_open(0.0)
    assert gate.fail(100.0) == 1.0 and not gate.is_open(100.5) and gate.is_open(101.0)
    assert gate.fail(101.0) == 2.0 and gate.seconds_until_open(101.5) == 1.5
    gate.succeed()
    assert gate.is_open(101.5) and gate.fail(102.0) == 1.0


def test_crash_spec_parsing() -> None:
    assert parse_crash_spec("after_receive") == ("after_receive", 1)
    assert parse_crash_spec("after_device_call:3") == ("after_device_call", 3)
    for bad in ("nowhere", "after_receive:0", "after_receive:x"):
        with pytest.raises(ValueError):
            parse_crash_spec(bad)


def test_instants_from_iso_or_epoch() -> None:
    assert parse_instant("1970-01-01T00:00:01Z") == 1000
    assert parse_instant("1970-01-01T01:00:01+01:00") == 1000
    assert parse_instant("2024-01-01") == 1_704_067_200_000
    assert parse_instant("1704067200") == 1_704_067_200_000
    assert parse_instant("1704067200123") == 1_704_067_200_123
    with pytest.raises(ValueError):
        parse_instant("soon")


def test_session_renews_at_the_given_share_of_its_shortest_lifetime() -> None:
    credentials = AwsCredentials(access_key_id="k", secret_access_key=SecretStr("s"), session_token=SecretStr("t"), expiration=1500)
    session = EdgeSession(token=SecretStr("jwt"), expires_at=2000, shop_id="s", queue_url="q", region="r", credentials=credentials)
    assert session.expires == 1500
    assert refresh_time(1000.0, session, 0.8) == 1400.0
    assert "jwt" not in repr(session) and "s'" not in repr(session.credentials)


def test_config_errors_are_one_line_and_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        'api_base = "http://127.0.0.1:1"\nedge_key = "ek_secret"\nstate_dir = "s"\nretry_initial_seconds = 5\nretry_max_seconds = 1\n'
        '[fiscal_device]\nmanufacturer = "Simulated"\nmodel = "Simulated"\n'
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message and "retry_max_seconds" in message and "ek_secret" not in message

    path.write_text(path.read_text().replace("retry_max_seconds = 1", "retry_max_seconds = 9"))
    config = load_config(path)
    assert config.journal_path == Path("s") / "journal.sqlite" and config.api_root == "http://127.0.0.1:1"


def test_journal_transitions(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    job = make_job("j1")
    first = InboundMessage(message_id="m1", receipt_handle="h1", body=job.model_dump_json())

    row, created = journal.accept(job, first)
    assert created and row.state is JobState.RECEIVED
    _, created_again = journal.accept(job, first.model_copy(update={"receipt_handle": "h2", "receive_count": 2}))
    assert not created_again
    assert [m.receipt_handle for m in journal.open_messages("j1")] == ["h2"]

    op = journal.begin_print("j1", "printer", job.total)
    assert _state(journal, "j1") is JobState.PRINTING
    after_fault = journal.record_device_error("j1", op, "E_LINK_LOST", "lost", uncertain=True, counts=True)
    assert (after_fault.state, after_fault.device_attempts) == (JobState.PRINTING, 1)
    lookup = journal.begin_lookup("j1", "printer")
    journal.record_not_printed("j1", lookup)
    assert _state(journal, "j1") is JobState.RECEIVED

    op = journal.begin_print("j1", "printer", job.total)
    result = JobResult(
        job_id="j1", shop_id="shop-1", status=ResultStatus.PRINTED, fiscal=FiscalRecord(device="d", fiscal_number="7", printed_at=1)
    )
    journal.record_printed("j1", op, result)
    assert [r.job_id for r in journal.pending_results()] == ["j1"]
    assert journal.deletable_messages() == []

    journal.record_reported("j1")
    assert [m.message_id for m in journal.deletable_messages()] == ["m1"]
    journal.record_deleted("m1")
    assert journal.deletable_messages() == []

    summary = journal.summary()
    assert summary.backlog == 0 and summary.counts["reported"] == 1
    assert summary.last_result is not None and summary.last_result.fiscal_number == "7"
    journal.close()


def _state(journal: Journal, job_id: str) -> JobState:
    row = journal.job(job_id)
    assert row is not None
    return row.state


class _HidingQueue:
    def __init__(self) -> None:
        self.hidden: list[tuple[float, list[str], int]] = []

    def hide_all(self, receipt_handles: list[str], seconds: int) -> None:
        self.hidden.append((time.monotonic(), list(receipt_handles), seconds))


def test_visibility_keeper_hides_only_calls_that_outlast_the_delay_and_never_after_they_return() -> None:
    queue = _HidingQueue()
    keeper = VisibilityKeeper()
    for n in range(200):  # fast device calls: nothing to hide
        with keeper.kept(queue, [f"h{n}"], 1, 0.2):  # type: ignore[arg-type]
            pass
    started = time.monotonic()
    with keeper.kept(queue, ["slow"], 1, 0.2):  # type: ignore[arg-type]  # hidden at 0.2 s, then every 0.5 s
        time.sleep(0.8)
    returned = time.monotonic()
    time.sleep(0.6)
    assert [(handles, seconds) for _, handles, seconds in queue.hidden] == [(["slow"], 1), (["slow"], 1)]
    assert 0.15 < queue.hidden[0][0] - started < 0.4 and 0.6 < queue.hidden[1][0] - started < returned - started
