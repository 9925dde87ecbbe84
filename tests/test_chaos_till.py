"""Till sales in a chaos run (issue 20 point 1): web orders and sales taken at the till side by side, across edge
SIGKILLs, crash points (the till's too), device faults and offline windows; each comes out exactly once, counted
from its owner's record (the device's journal for the print, the cloud's table for the order)."""

from __future__ import annotations

from bench.chaos import ChaosOptions, run
from bench.chaoskit.plan import KINDS


def test_web_orders_and_till_sales_through_chaos_come_out_exactly_once() -> None:
    report = run(ChaosOptions(orders=20, till_sales=20, actions=len(KINDS) + 1, seed=4321, crash_max_hits=4,
                              window_scale=0.5, settle_timeout=120, verbose=False))

    summary = report.as_dict()
    assert report.ok, summary["violations"]
    assert (summary["duplicates"], summary["losses"]) == (0, 0)
    counts = summary["counts"]
    assert counts["till_sales"] == counts["till_sales_answered"] == counts["till_orders_terminated"] == 20
    assert counts["fiscal_receipts"] == counts["ereceipts"] == counts["orders_terminated"] == 40
    assert counts["z_report_receipts"] == 40
    assert counts["z_report_net_cents"] == counts["orders_total_cents"] + counts["till_sales_total_cents"]
    assert summary["faults"]["offline_windows"] >= 1 and summary["crashes_injected"] >= 1
