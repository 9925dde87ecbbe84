"""``BRIDGE_EDGE_TERMINAL=zvt``: the whole local stack charges a card order on the emulated ZVT PT (as a PAX
A920 on TCP) before the fiscal receipt is printed; the PT holds exactly one booking of the order's total."""

from __future__ import annotations

from pathlib import Path

import httpx

from devstack.demo import demo_order_body, wait_for_status
from devstack.harness import free_port, running_stack
from edge.emulators.zvt.memory import PtMemory


def test_a_card_order_is_charged_once_on_the_zvt_terminal(tmp_path: Path) -> None:
    env = {"BRIDGE_EDGE_TERMINAL": "zvt", "BRIDGE_ZVT_PORT": str(free_port())}
    with running_stack(tmp_path, extra_env=env) as stack:
        shop = stack.demo["shop"]
        headers = {"x-shop-key": shop["shop_key"]}
        with httpx.Client(base_url=stack.demo["api_base"], timeout=30) as http:
            http.post(f"/api/v1/shops/{shop['shop_id']}/orders", json=demo_order_body("ZVT-1"), headers=headers).raise_for_status()
            order = wait_for_status(http, f"/api/v1/shops/{shop['shop_id']}/orders/ZVT-1", headers, "terminated", timeout=90)
        memory = PtMemory(tmp_path / "zvt-pt.sqlite")
        try:
            assert [(b.kind, b.amount, b.currency) for b in memory.bookings()] == [("sale", 980, 978)]
        finally:
            memory.close()
    assert order["total"] == "9.80" and order["fiscal"]["fiscal_number"]
