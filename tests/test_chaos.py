"""A small chaos run on the real local stack: 40 orders (cash, card, split tender, refunds) through edge crashes, device faults,
network cuts, SQS redeliveries and duplicates, replayed POSTs and a pump restart, then the
exactly-once checks of ``bench/chaos.py`` (receipts, charges, eReceipts, webhooks, Z report)."""

from __future__ import annotations

from bench.chaos import ChaosOptions, run
from bench.chaoskit.plan import KINDS


def test_forty_orders_through_chaos_come_out_exactly_once() -> None:
    report = run(ChaosOptions(orders=40, actions=len(KINDS) + 1, seed=1234, crash_max_hits=6, window_scale=0.5,
                              settle_timeout=90, verbose=False, split_ratio=0.2, refund_ratio=0.15))

    summary = report.as_dict()
    assert report.ok, summary["violations"]
    assert (summary["duplicates"], summary["losses"]) == (0, 0)
    counts = summary["counts"]
    assert counts["fiscal_receipts"] == counts["ereceipts"] == counts["orders_terminated"] == 40
    assert counts["card_charges"] == counts["card_orders"] > 0
    assert counts["refund_receipts"] == counts["refund_orders"] > 0 and counts["split_orders"] > 0
    assert counts["webhook_events"] == 80
    assert counts["z_report_receipts"] == 40 and counts["z_report_net_cents"] == counts["orders_net_cents"]
    assert summary["crashes_injected"] >= 1
    kinds = {kind.split("_")[0] for kind in summary["faults"]["by_kind"]}
    assert {"printer", "terminal", "network", "sqs", "pump"} <= kinds
    assert summary["posts"]["replays"] > 0
