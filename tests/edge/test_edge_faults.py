"""Faults injected into the simulated register through the management API, some mid-receipt:
the journal and the register stay consistent, and each job is retried or failed with a typed
reason, never printed twice."""

from __future__ import annotations

import time
from typing import Any

from edge_harness import Stack, make_job, wait_for


def _faults(stack: Stack, **changes: Any) -> dict[str, Any]:
    reply = stack.manage("simulator/set_faults", changes)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _prints(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    entries = stack.manage("get_journal_entries", {"start_time": 0, "end_time": time.time_ns() // 1_000_000}).json()
    return [e for e in entries if e["action_type"] == "PrintReceipt" and e["job_id"] == job_id]


def _failed_with(stack: Stack, job_id: str, code: str) -> bool:
    return any(e["error_code"] == code for e in _prints(stack, job_id))


def test_link_lost_while_the_register_answers_is_reconciled_not_reprinted(stack: Stack) -> None:
    stack.start_edge()
    assert _faults(stack, latency_ms=1500)["latency_ms"] == 1500
    stack.send(make_job("job-lost"))
    wait_for(lambda: stack.receipts_for("job-lost") == 1, what="the receipt in the register's memory")
    _faults(stack, link_loss=True)  # the answer is still on its way: it is lost

    wait_for(lambda: _failed_with(stack, "job-lost", "E_LINK_LOST"), what="the lost answer journaled")
    assert stack.journal_state("job-lost") == "printing" and stack.cloud.results == []
    time.sleep(0.5)  # reconciliation attempts fail while the link is down; nothing is printed again
    assert stack.receipts_for("job-lost") == 1

    _faults(stack, link_loss=False, latency_ms=0)
    wait_for(lambda: stack.settled("job-lost"), what="job reconciled and reported")
    assert stack.receipts_for("job-lost") == 1
    [result] = stack.cloud.results
    assert result.status.value == "printed" and result.fiscal is not None and result.fiscal.fiscal_number == "00000001"
    [entry] = _prints(stack, "job-lost")
    assert entry["success"] is True and entry["fiscal_number"] == "00000001" and "E_LINK_LOST" in entry["description"]
    assert "SALE ID job-lost" in entry["full_text"]
    x = stack.manage("device_operation", {"action_type": "XReport"}).json()["entry"]
    assert x["amount_cents"] == entry["amount_cents"] == 1330


def test_printer_faults_are_retried_and_a_full_fiscal_memory_fails_the_job(stack: Stack) -> None:
    stack.start_edge()
    _faults(stack, paper_out=True)
    stack.send(make_job("job-faults"))
    for fault, code in (("paper_out", "E_PAPER_OUT"), ("cover_open", "E_COVER_OPEN"), ("busy", "E_DEVICE_BUSY")):
        wait_for(lambda code=code: _failed_with(stack, "job-faults", code), what=f"{code} journaled")
        # A refused print is certain: the job goes back to received between retries. (A retry in
        # flight shows it printing for a moment, so the state is awaited, not read once.)
        wait_for(lambda: stack.journal_state("job-faults") == "received", what="job back to received")
        assert stack.receipts_for("job-faults") == 0
        follows = {"paper_out": "cover_open", "cover_open": "busy", "busy": None}[fault]
        _faults(stack, **{fault: False, **({follows: True} if follows else {})})
    wait_for(lambda: stack.settled("job-faults"), what="job printed once the faults cleared")
    assert stack.receipts_for("job-faults") == 1
    assert [e["success"] for e in _prints(stack, "job-faults")][-1] is True

    _faults(stack, fiscal_memory_full=True)
    stack.send(make_job("job-full"))
    wait_for(lambda: stack.settled("job-full"), what="job reported failed")
    failed = next(r for r in stack.cloud.results if r.job_id == "job-full")
    assert failed.status.value == "failed" and failed.reason is not None and failed.reason.value == "device_error"
    assert "fiscal memory is full" in failed.message and stack.receipts_for("job-full") == 0
    [entry] = _prints(stack, "job-full")
    assert (entry["success"], entry["error_code"]) == (False, "E_FISCAL_MEMORY_FULL")
    z = stack.manage("device_operation", {"action_type": "ZReport"})
    assert (z.status_code, z.json()["code"]) == (409, "E_FISCAL_MEMORY_FULL")

    for bad in ({"latency_ms": -1}, {"smoke": True}, {"paper_out": "very"}, [True]):
        assert stack.manage("simulator/set_faults", bad).status_code == 400, bad
    assert stack.manage("simulator/faults").json()["fiscal_memory_full"] is True
