"""An order's trace as the console shows it: accepted → dispatched → printed → eReceipt → each webhook
attempt, read from the order record, its outbox state and its delivery records. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DONE, WAITING, FAILED = "done", "waiting", "failed"


@dataclass(frozen=True)
class Step:
    title: str
    state: str
    at: int | None = None
    detail: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None


def utc(epoch: int | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def steps(order: dict[str, Any], dispatched: bool) -> list[Step]:
    """The fiscal path of the order; webhook deliveries are listed beside it (``attempt_rows``)."""
    till = order.get("source") == "till"
    trace = [Step("Accepted", DONE, order["created_at"],
                  [("Source", "till (printed offline, uploaded later)" if till else "web"),
                   ("Status", order["status"])])]
    if not till:
        trace.append(Step("Dispatched to the till's queue", DONE if dispatched else WAITING, None,
                          [] if dispatched else [("Waiting", "for the dispatcher, which reads the orders' change stream within a second")]))
    fiscal, failure = order.get("fiscal"), order.get("failure")
    if fiscal:
        detail = [("Device", str(fiscal["device"])), ("Fiscal number", str(fiscal["fiscal_number"]))]
        detail += [(label, str(fiscal[key])) for key, label in (("fiscal_memory_number", "Fiscal memory"),
                                                                ("unique_sale_number", "Unique sale number"))
                   if fiscal.get(key)]
        trace.append(Step("Printed", DONE, fiscal.get("printed_at"), detail))
    elif failure:
        trace.append(Step("Print failed", FAILED, order.get("updated_at"),
                          [("Reason", str(failure.get("reason"))), ("Message", str(failure.get("message")))]))
    else:
        trace.append(Step("Printed", WAITING, None, [("Waiting", "for the till to print and report")]))
    link = order.get("public_link")
    if order.get("receipt_id") and link:
        trace.append(Step("eReceipt", DONE, order.get("updated_at"),
                          [("Receipt", str(order["receipt_id"])), ("Link works until", utc(link["expires_at"]))],
                          link["url"]))
    elif not failure:
        trace.append(Step("eReceipt", WAITING, None, [("Waiting", "created when the receipt is printed")]))
    return trace


def attempt_rows(delivery: dict[str, Any]) -> list[dict[str, str]]:
    """Each attempt of a delivery, oldest first, as table cells."""
    return [{"at": utc(a["at"]), "round": "original" if a["round"] == 0 else f"replay {a['round']}",
             "outcome": f"HTTP {a['status_code']}" if a["status_code"] is not None else "no answer",
             "error": a["error"] or "", "duration": f"{a['duration_ms']} ms"}
            for a in delivery["attempts"]]


def replayable(delivery: dict[str, Any]) -> bool:
    """The replay service takes finished deliveries only (a pending one is still being retried)."""
    return delivery["status"] in ("delivered", "dead_lettered")


def failed(delivery: dict[str, Any]) -> bool:
    """Dead-lettered, or its last attempt did not succeed."""
    if delivery["status"] == "dead_lettered":
        return True
    last = delivery["attempts"][-1] if delivery["attempts"] else None
    return delivery["status"] == "pending" and last is not None and bool(last["error"] or (last["status_code"] or 0) >= 300)
