"""Order intake on the local stack: requests/s and latency, AWS requests per order, cost per million orders.

Starts the real stack (moto server, chalice local, pump, edge with the simulated
register) on free ports, posts N orders from C concurrent clients (closed loop:
each client posts its next order when the previous one answered), and reports
intake throughput and p50/p99 of the POST. Then it waits until every order is
terminated and both signed webhooks arrived, and counts every AWS request the
whole lifecycle made (moto's request recorder): per order, by service and
operation, with DynamoDB capacity units estimated from the stored item sizes.
Finally it prices one million orders with published AWS unit prices.

    .venv/bin/python bench/orders.py [--orders 300] [--clients 16]

chalice local is a single Python process (threaded, GIL-bound) over an
emulator, so the intake numbers measure this code path on one machine, not
API Gateway + Lambda, which scale out per request.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    POLLING,
    body,
    operation,
    percentile,
    read_recording,
    recording_env,
    reset_recording,
)
from devstack.demo import configure_webhook, demo_order_body  # noqa: E402
from devstack.harness import running_stack  # noqa: E402
from devstack.receiver import WebhookReceiver  # noqa: E402

REGION = "eu-central-1"
# USD list prices for eu-central-1 (Frankfurt), on-demand, no free tier, as published by AWS (2025).
PRICES = {
    "api_gateway_rest_per_million": 3.70,      # REST API, first 333 million requests/month
    "lambda_requests_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,          # x86
    "dynamodb_wru_per_million": 0.7625,        # on-demand write request units
    "dynamodb_rru_per_million": 0.1525,        # on-demand read request units
    "sqs_standard_per_million": 0.40,          # per 64 KB request chunk
    "sqs_fifo_per_million": 0.50,
    "s3_put_per_thousand": 0.0054,             # receipt PDFs
}
LAMBDA_MEMORY_GB = 0.25
LAMBDA_MS_PER_INVOCATION = 120  # assumed average billed duration of a warm handler at 256 MB
API_CALLS_PER_ORDER = 2          # the intake POST and the edge's result POST (edge sessions are hourly, amortised away)


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values, approximated from the wire JSON."""
    return sum(len(name) + len(json.dumps(value)) for name, value in item.items())


def _key_id(table: str, key: dict[str, Any]) -> str:
    return table + "|" + json.dumps(key, sort_keys=True)


def stored_sizes(endpoint: str) -> dict[str, int]:
    """Size of every stored item by table and key, to price updates (billed on the whole item)."""
    dynamodb = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION) \
        .client("dynamodb", endpoint_url=endpoint)
    sizes: dict[str, int] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        names = [k["AttributeName"] for k in schema]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                sizes[_key_id(table, {n: item[n] for n in names})] = _item_size(item)
    return sizes


def capacity_units(entries: list[dict[str, Any]], sizes: dict[str, int]) -> tuple[Counter[str], Counter[str]]:
    """Write and read units the recorded DynamoDB requests would consume on demand, by table and operation."""
    wru: Counter[str] = Counter()
    rru: Counter[str] = Counter()

    def kb(size: int, unit: int) -> int:
        return max(1, math.ceil(size / unit))

    for entry in entries:
        op = operation(entry)
        if op not in {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "GetItem", "Query"}:
            continue
        request = json.loads(body(entry))
        label = f"{op} {request.get('TableName', '').removeprefix('receipt-bridge-local-')}".strip()
        if op == "PutItem":
            wru[label] += kb(_item_size(request["Item"]), 1024)
        elif op in ("UpdateItem", "DeleteItem"):
            wru[label] += kb(sizes.get(_key_id(request["TableName"], request["Key"]), 1024), 1024)
        elif op == "TransactWriteItems":
            for action in request["TransactItems"]:
                (kind, spec), = action.items()
                size = _item_size(spec["Item"]) if kind == "Put" else sizes.get(_key_id(spec["TableName"], spec["Key"]), 1024)
                wru[f"{op} {kind} {spec['TableName'].removeprefix('receipt-bridge-local-')}"] += 2 * kb(size, 1024)
        elif op == "GetItem":
            units = kb(sizes.get(_key_id(request["TableName"], request["Key"]), 1024), 4096)
            rru[label] += units if request.get("ConsistentRead") else units / 2
        else:
            rru[label] += 0.5
    return wru, rru


def sqs_requests(entries: list[dict[str, Any]]) -> tuple[int, int]:
    """(standard, fifo) SQS work requests, plus one receive and one delete per message sent, as Lambda's poller makes."""
    standard = fifo = 0
    for entry in entries:
        op = operation(entry)
        if op not in {"SendMessage", "SendMessageBatch"}:
            continue
        request = json.loads(body(entry))
        messages = len(request.get("Entries", [])) or 1
        is_fifo = request["QueueUrl"].endswith(".fifo")
        # the send itself, then (per message) the consumer's receive and delete, batched by 1 on the fifo queue
        count = 1 + 2 * messages
        fifo += count if is_fifo else 0
        standard += 0 if is_fifo else count
    return standard, fifo


def cost_table(orders: int, wru: float, rru: float, sqs_standard: int, sqs_fifo: int, invocations: float,
               s3_puts: int) -> list[tuple[str, float, str]]:
    per_order = {"wru": wru / orders, "rru": rru / orders, "sqs": sqs_standard / orders, "fifo": sqs_fifo / orders,
                 "s3": s3_puts / orders}
    gb_seconds = invocations * LAMBDA_MEMORY_GB * LAMBDA_MS_PER_INVOCATION / 1000
    rows = [
        ("API Gateway (REST)", API_CALLS_PER_ORDER * PRICES["api_gateway_rest_per_million"],
         f"{API_CALLS_PER_ORDER} requests/order"),
        ("Lambda requests", invocations * PRICES["lambda_requests_per_million"], f"{invocations:.2f} invocations/order"),
        ("Lambda duration", gb_seconds * 1_000_000 * PRICES["lambda_gb_second"],
         f"{LAMBDA_MS_PER_INVOCATION} ms at {int(LAMBDA_MEMORY_GB * 1024)} MB each (assumed)"),
        ("DynamoDB writes", per_order["wru"] * PRICES["dynamodb_wru_per_million"], f"{per_order['wru']:.1f} WRU/order"),
        ("DynamoDB reads", per_order["rru"] * PRICES["dynamodb_rru_per_million"], f"{per_order['rru']:.1f} RRU/order"),
        ("SQS standard", per_order["sqs"] * PRICES["sqs_standard_per_million"], f"{per_order['sqs']:.1f} requests/order"),
        ("SQS FIFO", per_order["fifo"] * PRICES["sqs_fifo_per_million"], f"{per_order['fifo']:.1f} requests/order"),
        ("S3 PUT", per_order["s3"] * PRICES["s3_put_per_thousand"] * 1000, f"{per_order['s3']:.2f} PUTs/order"),
    ]
    return rows + [("total", sum(r[1] for r in rows), "USD per million orders")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-orders-") as tmp:
        recording = Path(tmp) / "moto-recording.jsonl"
        with running_stack(Path(tmp), extra_env=recording_env(recording)) as stack:
            demo, receiver = stack.demo, WebhookReceiver()
            configure_webhook(demo["api_base"], demo, receiver)
            shop, run = demo["shop"], f"O{int(time.time())}"
            url = f"{demo['api_base']}/api/v1/shops/{shop['shop_id']}/orders"
            with httpx.Client(timeout=30) as warm:
                warm.post(url, json=demo_order_body(f"{run}-warm"), headers={"x-shop-key": shop["shop_key"]})
            receiver.wait_for(f"{run}-warm", 2, timeout=60)
            reset_recording(demo["aws_endpoint"])
            latencies: list[float] = []

            def post(i: int) -> None:
                with httpx.Client(timeout=30) as http:
                    started = time.perf_counter()
                    http.post(url, json=demo_order_body(f"{run}-{i}"),
                              headers={"x-shop-key": shop["shop_key"]}).raise_for_status()
                    latencies.append((time.perf_counter() - started) * 1000)

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(post, range(args.orders)))
            intake_seconds = time.perf_counter() - started
            complete = sum(1 for i in range(args.orders) if len(receiver.wait_for(f"{run}-{i}", 2, timeout=180)) == 2)
            lifecycle_seconds = time.perf_counter() - started
            httpx.post(f"{demo['aws_endpoint']}/moto-api/recorder/stop-recording")
            sizes = stored_sizes(demo["aws_endpoint"])
            receiver.stop()
        entries, garbled = read_recording(recording)
    ops = Counter(operation(e) for e in entries)
    work = {op: n for op, n in ops.items() if op not in POLLING}
    wru, rru = capacity_units(entries, sizes)
    sqs_standard, sqs_fifo = sqs_requests(entries)
    sends = sum(n for op, n in ops.items() if op in ("SendMessage",)) + sum(
        len(json.loads(body(e)).get("Entries", [])) for e in entries if operation(e) == "SendMessageBatch")
    # one invocation per API call; SQS consumers: one per message on batch-1 queues (upper bound for the others)
    invocations = API_CALLS_PER_ORDER + sends / args.orders
    result = {
        "orders": args.orders,
        "clients": args.clients,
        "intake_requests_per_second": round(args.orders / intake_seconds, 1),
        "intake_p50_ms": round(percentile(latencies, 50), 1),
        "intake_p99_ms": round(percentile(latencies, 99), 1),
        "completed_lifecycles": complete,
        "lifecycle_seconds": round(lifecycle_seconds, 1),
        "recording_garbled_chars": garbled,
        "aws_requests_per_order": round(sum(ops.values()) / args.orders, 2),
        "aws_work_requests_per_order": round(sum(work.values()) / args.orders, 2),
        "aws_polling_requests_per_order": round(sum(n for op, n in ops.items() if op in POLLING) / args.orders, 2),
        "work_operations_per_order": {op: round(n / args.orders, 2) for op, n in sorted(work.items())},
        "dynamodb_wru_per_order": round(sum(wru.values()) / args.orders, 2),
        "dynamodb_wru_per_order_by_request": {k: round(v / args.orders, 2) for k, v in sorted(wru.items())},
        "dynamodb_rru_per_order": round(sum(rru.values()) / args.orders, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"\nCost per million orders, {REGION}, USD list prices {json.dumps(PRICES)}")
    print(f"{'component':<22}{'USD':>10}  basis")
    for name, usd, basis in cost_table(args.orders, sum(wru.values()), sum(rru.values()), sqs_standard, sqs_fifo,
                                       invocations, ops.get("S3 PUT", 0)):
        print(f"{name:<22}{usd:>10.2f}  {basis}")


if __name__ == "__main__":
    main()
