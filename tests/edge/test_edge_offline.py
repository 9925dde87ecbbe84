"""Cloud or device out of reach: receipts keep printing, results wait in the journal, nothing doubles."""

from __future__ import annotations

import time

from edge_harness import Stack, make_job, wait_for

from edge.journal import Journal

JOBS = ["job-o1", "job-o2", "job-o3"]


def _all_printed(stack: Stack, job_ids: list[str]) -> bool:
    return all(stack.journal_state(j) == "printed" and stack.receipts_for(j) == 1 for j in job_ids)


def test_cloud_503_buffers_results_and_delivers_them_in_order(stack: Stack) -> None:
    stack.start_edge()
    stack.cloud.mode = "503"
    for job_id in JOBS:
        stack.send(make_job(job_id))

    wait_for(lambda: _all_printed(stack, JOBS), what="receipts printed while the cloud is down")
    assert stack.cloud.results == []

    stack.cloud.mode = None
    wait_for(lambda: all(stack.settled(j) for j in JOBS), what="buffered results delivered")

    assert stack.cloud.result_ids() == JOBS
    assert [stack.receipts_for(j) for j in JOBS] == [1, 1, 1]


def test_results_buffered_across_a_restart_while_the_cloud_refuses_connections(stack: Stack) -> None:
    first = stack.start_edge()
    stack.cloud.mode = "drop"
    for job_id in JOBS[:2]:
        stack.send(make_job(job_id))
    wait_for(lambda: _all_printed(stack, JOBS[:2]), what="receipts printed while connections are refused")
    assert first.stop() == 0

    second = stack.start_edge(ready=False)  # no session while the cloud is down: it cannot poll yet
    wait_for(lambda: any(e.get("event") == "edge_session_failed" for e in second.events()), what="a failed session attempt")
    stack.cloud.mode = None
    second.wait_ready()
    wait_for(lambda: all(stack.settled(j) for j in JOBS[:2]), what="results delivered after the restart")

    assert stack.cloud.result_ids() == JOBS[:2]
    assert [stack.receipts_for(j) for j in JOBS[:2]] == [1, 1]


def test_paper_out_waits_for_paper_then_prints_once(stack: Stack) -> None:
    register = stack.register()
    register.set_faults(paper_out=True)
    stack.start_edge()
    stack.send(make_job("job-paper"))

    wait_for(
        lambda: (
            stack.journal_state("job-paper") == "received"
            and stack.receipts_for("job-paper") == 0
            and _error_code(stack, "job-paper") == "E_PAPER_OUT"
        ),
        what="paper-out fault journaled",
    )
    assert stack.cloud.results == []

    register.set_faults(paper_out=False)
    wait_for(lambda: stack.settled("job-paper"), what="job printed once paper is back")
    assert stack.receipts_for("job-paper") == 1
    register.close()


def test_link_lost_mid_call_is_reconciled_before_printing(stack: Stack) -> None:
    register = stack.register()
    register.set_faults(link_loss=True)
    edge = stack.start_edge()
    stack.send(make_job("job-link"))

    wait_for(
        lambda: stack.journal_state("job-link") == "printing" and _error_code(stack, "job-link") == "E_LINK_LOST",
        what="uncertain outcome journaled",
    )
    register.set_faults(link_loss=False)
    wait_for(lambda: stack.settled("job-link"), what="job settled once the link is back")

    assert stack.receipts_for("job-link") == 1
    assert "job_reconciled_unprinted" in [e["event"] for e in edge.events()]
    register.close()


def test_busy_device_gives_up_after_the_configured_attempts(stack: Stack) -> None:
    register = stack.register()
    register.set_faults(busy=True)
    stack.start_edge(device_max_attempts=3)
    stack.send(make_job("job-busy"))

    wait_for(lambda: stack.settled("job-busy"), what="failure reported")

    [result] = stack.cloud.results
    assert result.status.value == "failed" and result.reason is not None and result.reason.value == "device_error"
    assert stack.receipts_for("job-busy") == 0
    register.close()


def _error_code(stack: Stack, job_id: str) -> str | None:
    journal = Journal(stack.state_dir / "journal.sqlite", readonly=True)
    try:
        row = journal.job(job_id)
    finally:
        journal.close()
    return row.error_code if row else None


def test_long_device_call_keeps_its_message_hidden(stack: Stack) -> None:
    register = stack.register()
    register.set_faults(latency_ms=2000)  # the queue's visibility timeout is 1 s
    stack.start_edge(extend_visibility_after_seconds=0.3)
    # the first heartbeat reads the (2 s slow) device under its lock; the next is 30 s away
    wait_for(lambda: stack.cloud.heartbeats, timeout=15, what="the first heartbeat")
    stack.send(make_job("job-slow"))
    wait_for(lambda: stack.journal_state("job-slow") == "printing", what="device call under way")

    started = time.monotonic()
    seen = []
    while stack.journal_state("job-slow") == "printing" and time.monotonic() - started < 5:
        seen += stack.sqs.receive_message(QueueUrl=stack.queue_url, WaitTimeSeconds=0).get("Messages", [])
        time.sleep(0.1)
    assert time.monotonic() - started > 1.3, "the call should outlast the visibility timeout"
    assert seen == []

    register.set_faults(latency_ms=0)
    wait_for(lambda: stack.settled("job-slow"), what="slow job settled")
    assert stack.receipts_for("job-slow") == 1
    register.close()
