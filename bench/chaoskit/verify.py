"""The end-of-run checks, each from the record its owner keeps: the fiscal device's own journal
(fiscal memory, EJ or ledger, ``fiscal.py``), the terminal's transactions, the cloud's tables, the
webhook receiver, and the edge's journal."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.chaoskit.fiscal import DeviceReceipt, DeviceZ
from bench.chaoskit.journal_view import Reported
from bench.chaoskit.plan import OrderSpec
from bench.chaoskit.till import TillSaleSpec, check_till_sales
from devstack.receiver import Delivery
from edge.terminals.base import CardTransaction


@dataclass
class Evidence:
    orders: list[OrderSpec]
    cloud_orders: dict[str, dict[str, Any]]
    receipts: list[DeviceReceipt]
    order_key: Callable[[dict[str, Any]], str | None]  # the device key the order's fiscal record names
    z_report: DeviceZ | None
    card_transactions: list[CardTransaction]
    ereceipts: list[tuple[str, str]]  # (receipt_id, order_id)
    deliveries: dict[str, dict[str, Any]]
    webhooks: list[Delivery]
    results: list[Reported]
    offline_windows: list[tuple[int, int]]
    till_sales: list[TillSaleSpec] = field(default_factory=list)  # sold at the edge (bench/chaoskit/till.py)
    till_answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # order_id -> the till's fiscal answer


@dataclass
class Verdict:
    counts: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def fail(self, what: str) -> None:
        if len(self.violations) < 200:
            self.violations.append(what)


def verify(e: Evidence) -> Verdict:
    v = Verdict()
    by_key: dict[str, list[DeviceReceipt]] = defaultdict(list)
    for receipt in e.receipts:
        by_key[receipt.key].append(receipt)
    charges: dict[str, list[CardTransaction]] = defaultdict(list)
    for charge in e.card_transactions:
        charges[charge.reference].append(charge)
    webhooks: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in e.webhooks:
        webhooks[str(delivery.body.get("orderID"))].append(delivery)
    ereceipts: dict[str, list[str]] = defaultdict(list)
    for receipt_id, order_id in e.ereceipts:
        ereceipts[order_id].append(receipt_id)
    dup: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    expected_total = 0
    job_ids: set[str] = set()
    claimed: set[str] = set()

    for spec in e.orders:
        order = e.cloud_orders.get(spec.order_id)
        if order is None:
            lost["orders_not_in_cloud"] += 1
            v.fail(f"{spec.order_id}: no order in the cloud")
            continue
        job_id, total = str(order["job_id"]), int(order["total"])
        job_ids.add(job_id)
        expected_total += total
        if order["status"] != "terminated":
            lost["orders_not_terminated"] += 1
            v.fail(f"{spec.order_id}: status {order['status']} ({order.get('failure')})")
        key = e.order_key(order)
        printed = by_key.get(key, []) if key else []
        if key in claimed:  # two orders naming one receipt: one of them has none of its own
            lost["fiscal_receipts"] += 1
            v.fail(f"{spec.order_id}: names device receipt {key}, which another order names too")
        if key:
            claimed.add(key)
        if len(printed) != 1:
            (dup if printed else lost)["fiscal_receipts"] += abs(len(printed) - 1)
            v.fail(f"{spec.order_id}: {len(printed)} fiscal receipts on the device for job {job_id} (device key {key})")
        elif printed[0].total != total:
            v.fail(f"{spec.order_id}: receipt total {printed[0].total} != order total {total}")
        elif printed[0].fiscal_number and (order.get("fiscal") or {}).get("fiscal_number") != printed[0].fiscal_number:
            v.fail(f"{spec.order_id}: cloud has fiscal {order.get('fiscal')}, the device {printed[0].fiscal_number}")
        charged = charges.get(job_id, [])
        want = 1 if spec.payment == "card" else 0
        if len(charged) != want:
            (dup if len(charged) > want else lost)["card_charges"] += abs(len(charged) - want)
            v.fail(f"{spec.order_id}: {len(charged)} card charges, expected {want}")
        elif charged and charged[0].amount != total:
            v.fail(f"{spec.order_id}: charged {charged[0].amount}, order total {total}")
        records = ereceipts.get(spec.order_id, [])
        if records != [order.get("receipt_id")]:
            (dup if len(records) > 1 else lost)["ereceipts"] += max(1, len(records) - 1)
            v.fail(f"{spec.order_id}: eReceipt {order.get('receipt_id')}, records {records}")
        _check_webhooks(v, spec.order_id, str(order["order_internal_id"]), webhooks.get(spec.order_id, []), e.deliveries, dup, lost)

    if e.till_sales:
        claimed |= check_till_sales(v, e.till_sales, e.till_answers, e.cloud_orders, by_key, e.order_key, ereceipts,
                                    webhooks, _check_webhooks, e.deliveries, dup, lost)
    stray_receipts = [r for r in e.receipts if r.key not in claimed]  # printed, but no order names it: a duplicate
    stray_charges = [c for c in e.card_transactions if c.reference not in job_ids]
    stray_ereceipts = sum(len(ids) for order_id, ids in ereceipts.items() if order_id not in e.cloud_orders)
    for name, stray in (("stray fiscal receipts", len(stray_receipts)), ("stray card charges", len(stray_charges)), ("stray eReceipts", stray_ereceipts)):
        if stray:
            dup[name.replace(" ", "_")] += stray
            v.fail(f"{stray} {name}")
    _check_z(v, e, expected_total + sum(sale.total for sale in e.till_sales))
    _check_offline(v, e)
    v.duplicates, v.losses = dict(dup), dict(lost)
    v.counts.update({
        "orders": len(e.orders),
        "orders_terminated": sum(1 for o in e.cloud_orders.values() if o["status"] == "terminated"),
        "fiscal_receipts": len(e.receipts),
        "card_orders": sum(1 for s in e.orders if s.payment == "card"),
        "card_charges": len(e.card_transactions),
        "ereceipts": len(e.ereceipts),
        "webhook_events": len({d.webhook_id for d in e.webhooks}),
        "webhook_deliveries": len(e.webhooks),
        "webhook_redeliveries_same_id": len(e.webhooks) - len({d.webhook_id for d in e.webhooks}),
        "orders_total_cents": expected_total,
    })
    return v


def _check_webhooks(v: Verdict, order_id: str, internal_id: str, received: list[Delivery], records: dict[str, dict[str, Any]],
                    dup: Counter[str], lost: Counter[str]) -> None:
    """One ``validated`` then one ``terminated`` event; a receiver drops repeats of a webhook-id (Standard Webhooks)."""
    first: dict[str, float] = {}
    ids: dict[str, set[str]] = defaultdict(set)
    for delivery in received:
        kind = str(delivery.body.get("type"))
        ids[kind].add(delivery.webhook_id)
        first.setdefault(kind, delivery.received_at)
    for kind in ("validated", "terminated"):
        expected_id = f"msg_{internal_id}_{kind}"
        if ids.get(kind) != {expected_id}:
            (dup if len(ids.get(kind, ())) > 1 else lost)[f"webhook_{kind}"] += 1
            v.fail(f"{order_id}: {kind} webhook ids {sorted(ids.get(kind, ()))}")
        record = records.get(expected_id)
        if record is None or record.get("status") != "delivered":
            v.fail(f"{order_id}: delivery record {expected_id} is {record and record.get('status')}")
    if {"validated", "terminated"} <= set(first) and first["terminated"] < first["validated"]:
        v.fail(f"{order_id}: terminated arrived before validated")
    unexpected = set(ids) - {"validated", "terminated"}
    if unexpected:
        v.fail(f"{order_id}: unexpected webhook types {sorted(unexpected)}")


def _check_z(v: Verdict, e: Evidence, expected_total: int) -> None:
    if e.z_report is None:
        v.fail("no Z report")
        return
    v.counts["z_report_net_cents"] = e.z_report.net
    v.counts["z_report_receipts"] = e.z_report.receipts
    sold = len(e.orders) + len(e.till_sales)
    if e.z_report.net != expected_total or e.z_report.receipts != sold:
        v.fail(f"Z report: {e.z_report.receipts} receipts, net {e.z_report.net}; orders and till sales: {sold}, total {expected_total}")
    cash = sum(r.cash for r in e.receipts)
    if e.z_report.cash is not None and e.z_report.cash != cash:
        v.fail(f"Z report cash sales {e.z_report.cash} != cash receipts {cash}")


def _check_offline(v: Verdict, e: Evidence) -> None:
    """Results produced while the edge was cut off were buffered and delivered later, in production order."""
    produced_offline = [r for r in e.results if any(start <= r.result_ms <= end for start, end in e.offline_windows)]
    v.counts["results_buffered_offline"] = len(produced_offline)
    v.counts["results_delivered_after_outage"] = sum(
        1 for r in produced_offline if r.reported_ms is not None and not any(s <= r.reported_ms <= t for s, t in e.offline_windows))
    reported = [r for r in e.results if r.reported_ms is not None]
    out_of_order = sum(1 for a, b in zip(reported, reported[1:]) if b.reported_ms is not None and a.reported_ms is not None and b.reported_ms < a.reported_ms)
    v.counts["results_reported_out_of_order"] = out_of_order
    if out_of_order:
        v.fail(f"{out_of_order} results acknowledged out of the order they were produced in")
    unreported = [r.job_id for r in e.results if r.reported_ms is None]
    if unreported:
        v.fail(f"{len(unreported)} results never acknowledged by the cloud: {unreported[:5]}")
