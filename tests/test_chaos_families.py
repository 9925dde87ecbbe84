"""Exactly once on every fiscal device family (issue 26, Build 4): the chaos bench's plan on the real local
stack against an emulated Datecs C (DP25), Datecs P (FP800), Datecs X (DP25X), Daisy (eXpert SX), Tremol ZFP (M23) and Caspos Mobile, with receipts
counted in the emulator's own journal; and the checks that read that journal, on journals made by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench.chaos import ChaosOptions, run
from bench.chaoskit.fiscal import CasposFiscal, IslFiscal
from bench.chaoskit.plan import OrderSpec
from bench.chaoskit.verify import Evidence, verify
from edge.emulators.caspos.ledger import Doc
from edge.emulators.isl.journal import Document

# A fixed seed per family whose plan (10 actions) has a lost answer and a dead link among its printer faults;
# every edge life is armed with a crash point (on ISL printers the device carries out during_device_call).
SEEDS = {"datecs": 9, "datecs-p": 17, "datecs-x": 17, "daisy": 124, "tremol": 19, "caspos": 271}


@pytest.mark.parametrize("device", list(SEEDS))
def test_twenty_orders_through_chaos_make_one_receipt_each_on_the_device(device: str) -> None:
    report = run(ChaosOptions(device=device, orders=20, actions=10, seed=SEEDS[device], crash_armed_ratio=1.0,
                              crash_max_hits=3, window_scale=0.5, settle_timeout=90, verbose=False))

    summary = report.as_dict()
    assert report.ok, summary["violations"]
    assert (summary["duplicates"], summary["losses"]) == (0, 0)
    counts = summary["counts"]
    assert counts["fiscal_receipts"] == counts["ereceipts"] == counts["orders_terminated"] == 20  # fiscal: the device's journal
    assert counts["z_report_receipts"] == 20 and counts["z_report_net_cents"] == counts["orders_total_cents"]
    assert counts["card_charges"] == counts["card_orders"] > 0
    assert counts["webhook_events"] == 40
    assert sum(summary["crashes"]["at_crash_points"].values()) >= 2  # every edge life carries a crash point
    faults = summary["faults"]["by_kind"]
    assert {"printer_lost_answer", "printer_link_loss"} <= set(faults)
    assert {kind.split("_")[0] for kind in faults} >= {"printer", "terminal", "network", "sqs", "pump"}


# -- the checks, from the device's own journal ---------------------------------------------------------------

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _order(spec: OrderSpec, job_id: str, total: int, fiscal: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": spec.order_id, "job_id": job_id, "total": total, "status": "terminated", "fiscal": fiscal,
            "order_internal_id": f"int-{job_id}", "receipt_id": f"r-{job_id}"}


def _evidence(device: IslFiscal | CasposFiscal, orders: dict[OrderSpec, dict[str, Any]]) -> Evidence:
    return Evidence(orders=list(orders), cloud_orders={s.order_id: o for s, o in orders.items()}, receipts=device.receipts(),
                    order_key=device.order_key, z_report=None, card_transactions=[],
                    ereceipts=[(o["receipt_id"], s.order_id) for s, o in orders.items()], deliveries={}, webhooks=[],
                    results=[], offline_windows=[])


def _isl_receipt(number: int, unp: str, total: int) -> Document:
    return Document(number=number, kind="fiscal", at=NOW, z_number=1, unp=unp, total=total, paid=(("cash", total),))


def test_a_sale_printed_twice_under_one_unp_is_a_duplicate_in_the_printers_journal() -> None:
    device = IslFiscal("datecs")
    try:
        first, second = OrderSpec("o-1", "cash", (("coffee", 1),), False), OrderSpec("o-2", "cash", (("tea", 1),), False)
        device.printer.journal += [_isl_receipt(1, "DT000600-0001-0000001", 350), _isl_receipt(2, "DT000600-0001-0000001", 350)]
        verdict = verify(_evidence(device, {
            first: _order(first, "job-1", 350, {"fiscal_number": "0000001", "unique_sale_number": "DT000600-0001-0000001"}),
            second: _order(second, "job-2", 280, {"fiscal_number": "0000003", "unique_sale_number": "DT000600-0001-0000002"}),
        }))
    finally:
        device.close()

    assert verdict.duplicates.get("fiscal_receipts") == 1  # o-1: two receipts under its UNP
    assert verdict.losses.get("fiscal_receipts") == 1  # o-2: none under its UNP
    assert any("o-2: 0 fiscal receipts on the device" in line for line in verdict.violations)


def test_a_receipt_no_order_names_is_a_stray_duplicate_and_a_wrong_number_is_caught() -> None:
    device = IslFiscal("daisy")
    try:
        spec = OrderSpec("o-1", "cash", (("coffee", 1),), False)
        device.printer.journal += [_isl_receipt(4, "DY000600-0001-0000001", 350), _isl_receipt(5, "DY000600-0001-0000002", 350)]
        verdict = verify(_evidence(device, {
            spec: _order(spec, "job-1", 350, {"fiscal_number": "0000009", "unique_sale_number": "DY000600-0001-0000001"})}))
    finally:
        device.close()

    assert verdict.duplicates.get("stray_fiscal_receipts") == 1  # the job re-planned under a second UNP and printed again
    assert any("the device 0000004" in line for line in verdict.violations)


def test_caspos_sales_are_matched_by_the_registers_document_id() -> None:
    device = CasposFiscal()
    try:
        spec = OrderSpec("o-1", "card", (("coffee", 1),), False)
        for uuid, short in (("u-1", "AAAAAAAAAAAA"), ("u-2", "BBBBBBBBBBBB")):  # the same sale under two documentUUIDs
            device.register.by_uuid[uuid] = Doc(uuid, "sale", 1, short * 3, 350, {"cardPayment": 350}, {1: 350}, 1, NOW,
                                                {"short_document_id": short})
        verdict = verify(_evidence(device, {spec: _order(spec, "job-1", 350, {"fiscal_number": "AAAAAAAAAAAA"})}))
    finally:
        device.close()

    assert "fiscal_receipts" not in verdict.duplicates and "fiscal_receipts" not in verdict.losses
    assert verdict.duplicates.get("stray_fiscal_receipts") == 1
