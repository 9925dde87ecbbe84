"""The seeded plan of a chaos run: the orders, and the chaos actions between chunks of orders.

Everything random is drawn here (and in the edge's crash plan) from the seed, so a seed names one
run: the same orders, the same actions with the same parameters, in the same sequence. Wall-clock
timing still varies, which is the point of running many seeds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Literal

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


@dataclass(frozen=True)
class OrderSpec:
    order_id: str
    payment: Literal["cash", "card"]
    items: tuple[tuple[str, int], ...]
    replay: bool  # posted a second time, later, with the same body

    def body(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "payment_method_id": self.payment,
            "delivery_method_id": "pickup",
            "user_id": "demo-cashier",
            "items": [{"item_id": item, "quantity": str(quantity)} for item, quantity in self.items],
        }


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    params: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        details = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.kind} {details}".strip()


def plan_orders(rng: random.Random, run_id: str, count: int, card_ratio: float, replay_ratio: float) -> list[OrderSpec]:
    orders = []
    for i in range(count):
        items = [("coffee", rng.randint(1, 3))] if rng.random() < 0.8 else []
        if not items or rng.random() < 0.5:
            items.append(("tea", rng.randint(1, 2)))
        orders.append(OrderSpec(f"{run_id}-{i:05d}", "card" if rng.random() < card_ratio else "cash", tuple(items), rng.random() < replay_ratio))
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
