"""Fiscal devices changed or deleted through /manage of a running edge, while it prints and while it is idle:
the edge keeps running, says what is wrong, and every job prints exactly once."""

from __future__ import annotations

import time

from edge_harness import EdgeProcess, Stack, free_port, make_job, wait_for

from chalicelib.contracts import FiscalJob, PaymentType

POS = '[pos_terminal]\nmanufacturer = "Simulated"\nmodel = "Simulated"'
SIMULATED = {"name": "Till", "manufacturer": "Simulated", "model": "Simulated"}


def card_job(job_id: str) -> FiscalJob:
    job = make_job(job_id)
    return job.model_copy(update={"payment": job.payment.model_copy(update={"type": PaymentType.CARD, "method_id": "card"})})


def alive(stack: Stack, edge: EdgeProcess) -> bool:
    """The process runs and its management API answers."""
    return edge.proc.poll() is None and stack.manage("status").status_code == 200


def test_renaming_the_printer_while_a_card_job_reconciles_on_a_slow_register(stack: Stack) -> None:
    """The job's first print loses its answer; while the edge asks the slow register whether it printed, the
    device is saved again and again. The driver the job holds stays open until the job is done."""
    stack.extra_toml = POS
    edge = stack.start_edge()
    [seeded] = stack.manage("get_fiscal_devices").json()
    stack.manage("simulator/set_faults", {"latency_ms": 1000, "link_loss": True})
    stack.send(card_job("job-card"))
    wait_for(lambda: stack.journal_state("job-card") == "printing", what="a print whose answer was lost")
    stack.manage("simulator/set_faults", {"link_loss": False})
    deadline = time.monotonic() + 5
    renames = 0
    while time.monotonic() < deadline:
        saved = stack.manage("save_fiscal_device", {**SIMULATED, "id": seeded["id"], "name": f"Till {renames}"})
        assert saved.json() == {"success": True, "message": "Fiscal device saved successfully"}
        renames += 1
        time.sleep(0.2)
    stack.manage("simulator/set_faults", {"latency_ms": 0})
    wait_for(lambda: stack.settled("job-card"), timeout=15, what="the card job settled")
    assert alive(stack, edge), edge.stderr_text()[-2000:]
    assert stack.receipts_for("job-card") == 1
    assert [d["name"] for d in stack.manage("get_fiscal_devices").json()] == [f"Till {renames - 1}"]
    assert "edge_failed" not in edge.stderr_text()


def test_deleting_the_printer_mid_receipt_finishes_that_job_and_holds_the_next(stack: Stack) -> None:
    edge = stack.start_edge()
    [seeded] = stack.manage("get_fiscal_devices").json()
    stack.manage("simulator/set_faults", {"latency_ms": 1500})
    stack.send(make_job("job-1"))
    wait_for(lambda: stack.journal_state("job-1") == "printing", what="job-1 printing")
    deleted = stack.manage("delete_fiscal_device", {"id": seeded["id"]})
    assert deleted.json() == {"success": True, "message": "Fiscal device deleted successfully"}
    wait_for(lambda: stack.settled("job-1"), timeout=15, what="job-1 finished on the device it started on")
    assert stack.receipts_for("job-1") == 1

    stack.send(make_job("job-2"))
    wait_for(lambda: stack.journal_state("job-2") == "received", what="job-2 journaled")
    time.sleep(1.0)
    status = stack.manage("status").json()
    assert status["device"] is None and status["backlog"] == 1 and stack.receipts_for("job-2") == 0
    assert alive(stack, edge)

    assert stack.manage("simulator/set_faults", {"latency_ms": 0}).json()["code"] == "E_NOT_SIMULATED"
    assert stack.manage("save_fiscal_device", SIMULATED).json()["success"] is True
    stack.manage("simulator/set_faults", {"latency_ms": 0})
    wait_for(lambda: stack.settled("job-2"), timeout=15, what="job-2 printed on the new device")
    assert stack.receipts_for("job-2") == 1 and stack.receipts_for("job-1") == 1
    assert alive(stack, edge)


def test_deleting_the_only_printer_while_idle_keeps_the_edge_up_until_a_new_one_prints(stack: Stack) -> None:
    edge = stack.start_edge()
    [seeded] = stack.manage("get_fiscal_devices").json()
    assert stack.manage("delete_fiscal_device", {"id": seeded["id"]}).json()["success"] is True
    assert stack.manage("get_fiscal_devices").json() == []
    operation = stack.manage("device_operation", {"action_type": "XReport"})
    assert (operation.status_code, operation.json()["code"]) == (404, "E_DEVICE_NOT_FOUND")
    stack.send(make_job("job-idle"))
    wait_for(lambda: stack.journal_state("job-idle") == "received", what="job journaled")
    time.sleep(1.0)
    status = stack.manage("status").json()
    assert (status["device"], status["backlog"], stack.receipts_for("job-idle")) == (None, 1, 0)
    assert any(e["event"] == "no_fiscal_device" and e["job_id"] == "job-idle" for e in edge.events())
    assert stack.manage("save_fiscal_device", SIMULATED).json()["success"] is True
    wait_for(lambda: stack.settled("job-idle"), timeout=15, what="the job printed on the new device")
    assert stack.receipts_for("job-idle") == 1 and alive(stack, edge)


def test_an_unreachable_printer_is_reported_and_the_job_waits_for_a_good_one(stack: Stack) -> None:
    edge = stack.start_edge()
    [seeded] = stack.manage("get_fiscal_devices").json()
    nobody = free_port()
    unreachable = {"id": seeded["id"], "name": "Front DP25", "manufacturer": "DATECS", "model": "DP25",
                   "connection_details": {"type": "Network", "details": {"ip_address": "127.0.0.1", "port": nobody}}}
    assert stack.manage("save_fiscal_device", unreachable).json()["success"] is True
    device = stack.manage("status").json()["device"]
    assert (device["manufacturer"], device["online"]) == ("DATECS", False) and device["error"]

    stack.send(make_job("job-u"))
    wait_for(lambda: stack.journal_state("job-u") in {"received", "printing"}, what="job journaled")
    time.sleep(1.5)
    assert stack.journal_state("job-u") in {"received", "printing"} and stack.cloud.result_ids() == []
    assert alive(stack, edge)

    assert stack.manage("save_fiscal_device", {**SIMULATED, "id": seeded["id"]}).json()["success"] is True
    wait_for(lambda: stack.settled("job-u"), timeout=15, what="job printed once the printer is reachable")
    assert stack.receipts_for("job-u") == 1
    assert stack.manage("status").json()["device"]["online"] is True
