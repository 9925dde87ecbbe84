"""The seeded plan of a chaos run: the orders, and the chaos actions between chunks of orders.

Orders are every kind a shop makes: one payment (cash or card), split tender (cash with change plus card) and
refunds of an earlier order of the run (part of it, paid back in cash or to the card), so the exactly-once checks
cover the device's refund document and a card refund as well as the sale.

Everything random is drawn here (and in the edge's crash plan) from the seed, so a seed names one
run: the same orders, the same actions with the same parameters, in the same sequence. Wall-clock
timing still varies, which is the point of running many seeds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from devstack.stack import DEMO_CATALOG

ActionKind = Literal["sigkill", "printer_fault", "terminal_fault", "network_cut", "redeliver", "duplicate_message", "pump_restart"]
KINDS: tuple[ActionKind, ...] = ("sigkill", "printer_fault", "terminal_fault", "network_cut", "redeliver", "duplicate_message", "pump_restart")
WEIGHTS: dict[ActionKind, float] = {
    "sigkill": 2.0,
    "printer_fault": 3.0,
    "terminal_fault": 1.5,
    "network_cut": 1.5,
    "redeliver": 1.5,
    "duplicate_message": 1.0,
    "pump_restart": 1.0,
}
PRINTER_FAULTS = ("paper_out", "cover_open", "link_loss", "slow_replies", "lost_answer")  # the simulated register's


# The demo shop's prices (minor units), so a split tender's parts can add up to the order's total.
PRICES: dict[str, int] = {entry_id: int(Decimal(entry["price"]) * 100) for kind, entry_id, entry in DEMO_CATALOG if kind == "items"}
Payment = Literal["cash", "card", "split"]


@dataclass(frozen=True)
class OrderSpec:
    order_id: str
    payment: Payment
    items: tuple[tuple[str, int], ...]
    replay: bool  # posted a second time, later, with the same body
    cash_part: int = 0  # split tender: the cash share; the card pays the rest
    refund_of: str | None = None  # a refund of this earlier order of the run

    @property
    def total(self) -> int:
        return sum(PRICES[item] * quantity for item, quantity in self.items)

    @property
    def card_amount(self) -> int:
        """What the card terminal charges (or, on a refund, pays back)."""
        return {"cash": 0, "card": self.total, "split": self.total - self.cash_part}[self.payment]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_id": self.order_id,
            "delivery_method_id": "pickup",
            "user_id": "demo-cashier",
            "items": [{"item_id": item, "quantity": str(quantity)} for item, quantity in self.items],
        }
        if self.payment == "split":  # the customer hands over the next whole note for the cash share
            tendered = -(-self.cash_part // 1000) * 1000
            body["payments"] = [{"payment_method_id": "cash", "amount": _decimal(self.cash_part), "tendered": _decimal(tendered)},
                                {"payment_method_id": "card", "amount": _decimal(self.card_amount)}]
        else:
            body["payment_method_id"] = self.payment
        if self.refund_of is not None:
            body |= {"is_refund": True, "parent_order_id": self.refund_of}
        return body


def _decimal(minor: int) -> str:
    return f"{Decimal(minor) / 100:.2f}"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        details = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind} {details}".strip()


def plan_orders(rng: random.Random, run_id: str, count: int, card_ratio: float, replay_ratio: float,
                split_ratio: float = 0.0, refund_ratio: float = 0.0, card_refunds: bool = True) -> list[OrderSpec]:
    """``count`` orders; a ``refund_ratio`` share of them are refunds of an earlier sale of the run (each sale is
    refunded at most once, by one unit of its first item); ``card_refunds`` False pays every refund back in cash
    (a Daisy storno is paid back in cash only, Daisy doc p.18 note 3)."""
    orders: list[OrderSpec] = []
    refundable: list[OrderSpec] = []
    for i in range(count):
        order_id = f"{run_id}-{i:05d}"
        if refundable and rng.random() < refund_ratio:
            parent = refundable.pop(rng.randrange(len(refundable)))
            to_card = card_refunds and parent.payment != "cash"
            orders.append(OrderSpec(order_id, "card" if to_card else "cash", ((parent.items[0][0], 1),), rng.random() < replay_ratio,
                                    refund_of=parent.order_id))
            continue
        items = [("coffee", rng.randint(1, 3))] if rng.random() < 0.8 else []
        if not items or rng.random() < 0.5:
            items.append(("tea", rng.randint(1, 2)))
        draw = rng.random()
        payment: Payment = "split" if draw < split_ratio else "card" if draw < split_ratio + card_ratio else "cash"
        spec = OrderSpec(order_id, payment, tuple(items), rng.random() < replay_ratio)
        if payment == "split":
            spec = OrderSpec(order_id, payment, spec.items, spec.replay, cash_part=rng.randrange(1, spec.total // 10) * 10)
        orders.append(spec)
        refundable.append(spec)
    return orders


def plan_actions(rng: random.Random, count: int, window_scale: float,
                 printer_faults: tuple[str, ...] = PRINTER_FAULTS) -> list[Action]:
    """Every kind once first (shuffled), so even a short run covers them all; then weighted draws.
    ``printer_faults``: what the run's fiscal device can be given (``fiscal.py``)."""
    first = list(KINDS)
    rng.shuffle(first)
    kinds = first[:count] + rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=max(0, count - len(first)))
    return [_action(rng, kind, window_scale, printer_faults) for kind in kinds]


def _seconds(rng: random.Random, low: float, high: float, scale: float) -> float:
    return round(rng.uniform(low, high) * scale, 2)


def _action(rng: random.Random, kind: ActionKind, scale: float, printer_faults: tuple[str, ...]) -> Action:
    if kind == "sigkill":
        return Action(kind, {"after_s": _seconds(rng, 0.0, 1.5, scale)})
    if kind == "printer_fault":
        fault = rng.choice(printer_faults)
        params: dict[str, Any] = {"fault": fault, "window_s": _seconds(rng, 1.0, 4.0, scale)}
        if fault in ("slow_replies", "lost_answer"):
            params["latency_ms"] = rng.randint(300, 1500)
        return Action(kind, params)
    if kind == "terminal_fault":
        return Action(kind, {"outcomes": rng.choices(["timeout", "lost"], k=rng.randint(1, 2))})
    if kind == "network_cut":
        # Seconds here stand for minutes of a real outage (the edge's retry cap is 1 s, not 60 s).
        return Action(kind, {"links": rng.choice(["api", "aws", "both", "both"]), "window_s": _seconds(rng, 2.0, 10.0, scale)})
    if kind == "redeliver":
        return Action(kind, {"share": round(rng.uniform(0.3, 1.0), 2)})
    if kind == "duplicate_message":
        return Action(kind, {"count": rng.randint(1, 4)})
    return Action(kind, {})
