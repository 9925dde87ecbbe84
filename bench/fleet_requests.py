"""AWS requests of the fleet view for one shop over a simulated day, counted as bench/aws_requests.py counts.

The real app runs in-process on moto with its clock moved instead of slept: the edge beats every
``edge.heartbeat.HEARTBEAT_SECONDS`` all day except during one outage (``--outage-minutes``), one warning
appears and later clears, the 1-minute ``watch_edges`` schedule runs every minute and the webhook queue is
drained after it, as its event source mapping would. Every request the app's clients make is counted by
phase; the edge's session (shared with its job poller) is left out. Per-day figures scale the run to 24 h
(``--hours 4`` takes about a minute and a half; the steady state is the same every hour).

    .venv/bin/python bench/fleet_requests.py [--hours 24] [--outage-minutes 10]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench.aws_requests import Counting, bench_shop, drain, in_process_api  # noqa: E402  (sets the bench environment first)
from chalicelib.aws import clients as aws  # noqa: E402
from chalicelib.core import clock  # noqa: E402
from chalicelib.core.settings import settings  # noqa: E402
from devstack.pump import scheduled_event  # noqa: E402
from devstack.receiver import WebhookReceiver  # noqa: E402
from edge.heartbeat import HEARTBEAT_SECONDS  # noqa: E402
from infra.provision import provision  # noqa: E402

START = 1_800_000_000
DEVICE = {"id": "dev-1", "name": "Till printer", "manufacturer": "Datecs", "model": "FP-2000", "status": "online"}


def heartbeat(warnings: list[str]) -> dict[str, Any]:
    return {"version": "1.0.0", "devices": [{**DEVICE, "warnings": warnings}],
            "backlog": {"jobs": 0, "results": 0, "sales": 0}}


def measure(hours: int, outage_minutes: int) -> dict[str, Any]:
    import app as app_module

    now = [START]
    clock.now = lambda: now[0]  # the app reads the clock through this module on every call
    counting, receiver = Counting(), WebhookReceiver()
    with mock_aws():
        aws.reset_clients()
        provision(boto3.session.Session(region_name="eu-central-1"), settings().prefix)
        with Client(app_module.app) as client:
            call = in_process_api(client)
            bearer, shop = bench_shop(call)
            events = ["validated", "terminated", "failed", "device.warning", "device.warning_cleared", "edge.offline"]
            configured = call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook",
                              {"url": receiver.start(), "events": events}, bearer)
            receiver.secret = configured["secret"]
            edge = {"authorization": f"Bearer {call('POST', '/api/v1/edge/session', {'edge_key': shop['edge_key']})['token']}"}
            for service in ("dynamodb", "sqs", "sts"):
                aws.client(service).meta.events.register("before-call.*.*", counting)
            day, step = hours * 3600, int(HEARTBEAT_SECONDS)
            outage = range(day // 2, day // 2 + outage_minutes * 60)
            warning = range(day // 3, day // 3 + 3600)
            beats = 0
            for t in range(0, day, step):
                now[0] = START + t
                if t not in outage:
                    counting.phase = "heartbeat"
                    call("POST", "/api/v1/edge/heartbeat", heartbeat(["W_PAPER_NEAR_END"] if t in warning else []), edge)
                    beats += 1
                if t % 60 == 0:
                    counting.phase = "watch_edges"
                    app_module.watch_edges(scheduled_event("eu-central-1"), None)
                    counting.phase = "webhooks"
                    drain("webhooks.fifo", app_module.send_webhooks, counting)
            counting.phase = "owner_view"
            call("GET", f"/api/v1/shops/{shop['shop_id']}/edge", headers=bearer)
        delivered = [d.body["type"] for d in receiver.deliveries]
        receiver.stop()
        aws.reset_clients()
    assert sorted(delivered) == ["device.warning", "device.warning_cleared", "edge.offline"], delivered
    heartbeat_requests = counting.total("heartbeat")
    return {
        "hours": hours, "heartbeats": beats, "heartbeat_interval_seconds": step,
        "requests_per_heartbeat": round(heartbeat_requests / beats, 4),
        "heartbeat_requests_per_shop_per_day": round(heartbeat_requests * 24 / hours),
        "watch_edges_requests_per_day_whole_deployment": round(counting.total("watch_edges") * 24 / hours),
        "webhook_requests_for_3_events": counting.total("webhooks"),
        "owner_view_requests": counting.total("owner_view"),
        "delivered": delivered,
        "operations": {p: dict(sorted(c.items())) for p, c in counting.counts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--outage-minutes", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(measure(args.hours, args.outage_minutes), indent=2))


if __name__ == "__main__":
    main()
