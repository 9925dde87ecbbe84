"""Till sales in a chaos run (issue 20 point 1): sales the cashier takes at the edge (``POST /manage/sales``) beside
the web orders, through the same SIGKILLs, crash points, device faults and offline windows.

The cashier sells each planned sale once when its turn comes and, like a cashier whose till did not answer, sends
the same sale again later until the till answers with its receipt (``confirm``). The checks count each sale from
the record its owner keeps: the fiscal device's own journal for the print (exactly one receipt), the cloud's
orders table for the order (exactly one ``terminated`` order with ``source: "till"`` naming that receipt, its
eReceipt, its ``validated`` and ``terminated`` webhooks).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from edge.config import JOURNAL_FILE
from edge.local_token import TOKEN_FILE, read_token
from edge.tillsales.model import job_id_of

if TYPE_CHECKING:
    from bench.chaoskit.fiscal import DeviceReceipt
    from bench.chaoskit.verify import Verdict
    from devstack.receiver import Delivery

# What the till sells: name, unit price (cents), VAT rate of the shop's programmed group.
TILL_ITEMS = (("Espresso", 240), ("Croissant", 310), ("Water", 150))


@dataclass(frozen=True)
class TillSaleSpec:
    order_id: str
    payment: Literal["cash", "card"]
    items: tuple[tuple[str, int, int], ...]  # (name, quantity, unit price in cents)

    @property
    def total(self) -> int:
        return sum(quantity * price for _, quantity, price in self.items)

    def body(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "payment_method_id": self.payment, "user_id": "demo-cashier",
                "items": [{"name": name, "quantity": str(quantity), "unit_price": f"{price // 100}.{price % 100:02d}",
                           "vat_rate": "20"} for name, quantity, price in self.items]}


def plan_till_sales(rng: random.Random, run_id: str, count: int, card_ratio: float) -> list[TillSaleSpec]:
    sales = []
    for i in range(count):
        picked = rng.sample(TILL_ITEMS, rng.randint(1, len(TILL_ITEMS)))
        sales.append(TillSaleSpec(f"{run_id}-T{i:05d}", "card" if rng.random() < card_ratio else "cash",
                                  tuple((name, rng.randint(1, 3), price) for name, price in picked)))
    return sales


@dataclass
class TillSeller:
    """The cashier at the till, through the running edge's management API (with the local token, as the CLI)."""

    manage_base: str
    state_dir: Path
    sales: list[TillSaleSpec]
    statuses: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    confirmed: dict[str, dict[str, Any]] = field(default_factory=dict)  # order_id -> the till's fiscal answer

    def sell_chunk(self, index: int, chunks: int) -> None:
        """Sell the ``index``-th of ``chunks`` equal shares of the planned sales (one share between two chaos actions)."""
        size = -(-len(self.sales) // chunks)
        for spec in self.sales[index * size:(index + 1) * size]:
            self._sell(spec)

    def confirm(self, timeout: float, say: Callable[[str], None]) -> bool:
        """Send every sale the till has not answered for again (the same body) until it has answered for all."""
        deadline = time.monotonic() + timeout
        while (open_sales := [s for s in self.sales if s.order_id not in self.confirmed]) and time.monotonic() < deadline:
            say(f"till: {len(open_sales)} sales without the till's answer yet, sending them again")
            for spec in open_sales:
                self._sell(spec)
            time.sleep(1)
        return all(s.order_id in self.confirmed for s in self.sales)

    def summary(self) -> dict[str, Any]:
        return {"sales": len(self.sales), "attempts": self.attempts, "statuses": dict(self.statuses)}

    def _sell(self, spec: TillSaleSpec) -> None:
        token = read_token(self.state_dir / TOKEN_FILE)
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self.attempts += 1
        try:
            response = httpx.post(f"{self.manage_base}/manage/sales", json=spec.body(), headers=headers, timeout=30)
        except httpx.HTTPError as exc:
            self.statuses[type(exc).__name__] += 1  # the edge is down (killed, restarting): the cashier tries later
            return
        self.statuses[str(response.status_code)] += 1
        if response.status_code == 200:
            self.confirmed[spec.order_id] = response.json()["fiscal"]


def pending_till_sales(state_dir: Path) -> int:
    """Sales the edge's journal holds that the cloud has not acknowledged (read beside the running edge, WAL)."""
    path = state_dir / JOURNAL_FILE
    if not path.exists():
        return 0
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM sales WHERE state IN ('received', 'printing', 'printed')").fetchone()[0])
    except sqlite3.OperationalError:  # an edge that has not created the table yet
        return 0
    finally:
        db.close()


def check_till_sales(v: Verdict, sales: list[TillSaleSpec], confirmed: dict[str, dict[str, Any]],
                     cloud_orders: dict[str, dict[str, Any]], by_key: dict[str, list[DeviceReceipt]],
                     order_key: Callable[[dict[str, Any]], str | None], ereceipts: dict[str, list[str]],
                     webhooks: dict[str, list[Delivery]], check_webhooks: Callable[..., None],
                     deliveries: dict[str, dict[str, Any]], dup: Counter[str], lost: Counter[str]) -> set[str]:
    """Every till sale: one receipt on the device, one terminated till order in the cloud naming it, its eReceipt and
    webhooks. Returns the device keys the sales claim (any other receipt is a stray, i.e. a duplicate)."""
    claimed: set[str] = set()
    for spec in sales:
        order = cloud_orders.get(spec.order_id)
        if spec.order_id not in confirmed:
            lost["till_sales_unanswered"] += 1
            v.fail(f"{spec.order_id}: the till never answered for this sale")
        if order is None:
            lost["till_orders_not_in_cloud"] += 1
            v.fail(f"{spec.order_id}: till sale not in the cloud")
            continue
        if order.get("source") != "till" or order["status"] != "terminated" or int(order["total"]) != spec.total:
            v.fail(f"{spec.order_id}: cloud order source={order.get('source')} status={order['status']} "
                   f"total={order['total']} (sold {spec.total})")
        if order.get("job_id") != job_id_of(spec.order_id):
            v.fail(f"{spec.order_id}: cloud order names job {order.get('job_id')}")
        key = order_key(order)
        printed = by_key.get(key, []) if key else []
        if key:
            claimed.add(key)
        if len(printed) != 1:
            (dup if printed else lost)["till_fiscal_receipts"] += abs(len(printed) - 1)
            v.fail(f"{spec.order_id}: {len(printed)} fiscal receipts on the device for the till sale (device key {key})")
        elif printed[0].total != spec.total:
            v.fail(f"{spec.order_id}: receipt total {printed[0].total} != sale total {spec.total}")
        elif printed[0].fiscal_number and (order.get("fiscal") or {}).get("fiscal_number") != printed[0].fiscal_number:
            v.fail(f"{spec.order_id}: cloud has fiscal {order.get('fiscal')}, the device {printed[0].fiscal_number}")
        answered = confirmed.get(spec.order_id)
        if answered and answered.get("fiscal_number") != (order.get("fiscal") or {}).get("fiscal_number"):
            v.fail(f"{spec.order_id}: the till answered {answered}, the cloud has {order.get('fiscal')}")
        records = ereceipts.get(spec.order_id, [])
        if records != [order.get("receipt_id")]:
            (dup if len(records) > 1 else lost)["till_ereceipts"] += max(1, len(records) - 1)
            v.fail(f"{spec.order_id}: eReceipt {order.get('receipt_id')}, records {records}")
        check_webhooks(v, spec.order_id, str(order["order_internal_id"]), webhooks.get(spec.order_id, []), deliveries,
                       dup, lost)
    v.counts.update({"till_sales": len(sales), "till_sales_answered": len(confirmed),
                     "till_orders_terminated": sum(1 for s in sales if (cloud_orders.get(s.order_id) or {}).get("status") == "terminated"),
                     "till_sales_total_cents": sum(s.total for s in sales)})
    return claimed
