"""A job's way through a running edge: printed once, reported, deleted; redelivery, poison, refusals."""

from __future__ import annotations

import json

from edge_harness import EDGE_KEY, Stack, make_job, wait_for


def test_job_is_printed_once_reported_and_deleted(stack: Stack) -> None:
    edge = stack.start_edge()
    stack.send(make_job("job-1"))

    wait_for(lambda: stack.settled("job-1"), what="job-1 settled")

    assert stack.receipts_for("job-1") == 1
    [result] = stack.cloud.results
    assert result.status.value == "printed"
    assert result.fiscal is not None and result.fiscal.fiscal_number == "00000001"
    assert stack.cloud.acks == [{"job_id": "job-1", "order_status": "terminated", "duplicate": False}]
    assert edge.stop() == 0


def test_redelivered_job_is_reported_again_never_printed_again(stack: Stack) -> None:
    job = make_job("job-dup")
    stack.send(job)
    stack.send(job)  # two copies waiting before the edge starts: they arrive together
    stack.start_edge()
    wait_for(lambda: stack.settled("job-dup"), what="both copies settled")
    reports = len(stack.cloud.results)

    stack.send(job)  # a late redelivery, long after the job was reported
    wait_for(lambda: stack.settled("job-dup", results=reports + 1), what="late copy settled")

    assert stack.receipts_for("job-dup") == 1
    assert stack.cloud.acks[0]["duplicate"] is False
    assert stack.cloud.acks[-1]["duplicate"] is True
    fiscal_numbers = {r.fiscal.fiscal_number for r in stack.cloud.results if r.fiscal}
    assert fiscal_numbers == {"00000001"}


def test_poison_messages_are_journaled_deleted_and_the_loop_goes_on(stack: Stack) -> None:
    edge = stack.start_edge()
    stack.send_raw("this is not json")
    stack.send_raw('{"job_id": "half-a-job"}')
    stack.send(make_job("job-elsewhere", shop_id="other-shop"))
    stack.send(make_job("job-after-poison"))

    wait_for(lambda: stack.settled("job-after-poison"), what="good job settled after poison")

    rejected = [e for e in edge.events() if e["event"] == "message_rejected"]
    assert sorted(e["code"] for e in rejected) == ["E_POISON", "E_POISON", "E_WRONG_SHOP"]
    listing = stack.cli("journal", "--jobs", "--config", str(stack.config_dir / "edge.toml"))
    entries = [line for line in listing.stdout.splitlines() if '"rejected"' in line]
    assert len(entries) == 3
    assert stack.cloud.result_ids() == ["job-after-poison"]
    assert stack.receipts_for("job-elsewhere") == 0
    assert edge.proc.poll() is None


def test_a_job_for_a_newer_edge_is_left_on_the_queue_not_dropped_as_poison(stack: Stack) -> None:
    """What an edge does with a job a newer contract wrote: it never deletes it, so an upgraded edge prints it."""
    edge = stack.start_edge()
    future = json.loads(make_job("job-from-the-future").model_dump_json())
    stack.send_raw(json.dumps({**future, "v": 3, "something_new": True}))
    stack.send(make_job("job-today"))
    wait_for(lambda: stack.cloud.result_ids() == ["job-today"] and stack.journal_state("job-today") == "reported",
             what="the job this edge can print")
    wait_for(lambda: any(e["event"] == "job_needs_a_newer_edge" for e in edge.events()), what="the newer job noticed")
    assert not [e for e in edge.events() if e["event"] == "message_rejected"]
    assert stack.queue_depth() == 1, "the newer job is still on the queue"
    assert stack.receipts_for("job-from-the-future") == 0


def test_job_the_device_cannot_print_is_reported_failed(stack: Stack) -> None:
    stack.start_edge()
    stack.send(make_job("job-vat", vat_rate="33"))

    wait_for(lambda: stack.settled("job-vat"), what="invalid job settled")

    [result] = stack.cloud.results
    assert result.status.value == "failed"
    assert result.reason is not None and result.reason.value == "invalid_job"
    assert "33" in result.message
    assert stack.receipts_for("job-vat") == 0


def test_result_refused_for_good_is_rejected_and_deleted(stack: Stack) -> None:
    stack.cloud.reject["job-409"] = (409, "E_CONFLICT")
    edge = stack.start_edge()
    stack.send(make_job("job-409"))
    stack.send(make_job("job-next"))

    wait_for(lambda: stack.settled("job-next"), what="next job settled")
    wait_for(lambda: stack.journal_state("job-409") == "rejected" and stack.queue_depth() == 0, what="refused job rejected")

    assert stack.receipts_for("job-409") == 1
    [refusal] = [e for e in edge.events() if e["event"] == "result_rejected"]
    assert refusal["code"] == "E_CONFLICT" and refusal["status"] == 409


def test_401_renews_the_session_and_delivers_without_logging_secrets(stack: Stack) -> None:
    edge = stack.start_edge()
    wait_for(lambda: stack.cloud.heartbeats, what="the first heartbeat")  # the next one is 30 s away
    stack.cloud.revoke_tokens()
    stack.send(make_job("job-401"))

    wait_for(lambda: stack.settled("job-401"), what="job settled after 401")

    assert stack.cloud.unauthorized == 1
    assert stack.cloud.sessions == 2
    assert stack.receipts_for("job-401") == 1
    assert edge.stop() == 0
    events = edge.events()  # every stderr line is JSON
    assert {"edge_token_refused", "edge_session_opened", "job_printed", "result_reported"} <= {e["event"] for e in events}
    for secret in (EDGE_KEY, "edge-jwt-", "edge-secret", "edge-session-", "ASIAEDGETEST"):
        assert secret not in edge.stderr_text()
    assert edge.stdout == ["EDGE READY shop=shop-1"]


def test_session_is_renewed_before_it_expires(stack: Stack) -> None:
    stack.cloud.token_ttl = 2  # 1 to 2 s left when issued; renewed after a tenth of that
    stack.start_edge(session_refresh_ratio=0.1)

    wait_for(lambda: stack.cloud.sessions >= 3, timeout=8, what="two renewals")
    stack.send(make_job("job-renewed"))
    wait_for(lambda: stack.settled("job-renewed"), what="job settled on a renewed session")

    assert stack.cloud.unauthorized == 0
