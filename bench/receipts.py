"""eReceipt PUT on the local stack: throughput, p50/p99 and AWS requests per PUT, against a bare
moto PutItem loop of the same item size and concurrency in the same run.

Starts the real stack (moto server, chalice local, pump rendering PDFs meanwhile), PUTs N receipts
from C client threads (closed loop), then counts what moto's request recorder saw per PUT: the
synchronous requests of the PUT itself and the asynchronous ones (PDF render, queue polling).

    .venv/bin/python bench/receipts.py [--receipts 300] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    POLLING,
    percentile,
    recorded_operations,
    recording_env,
    reset_recording,
)
from devstack.harness import running_stack  # noqa: E402
from tests.receipt_samples import receipt_body  # noqa: E402

SYNCHRONOUS = {"PutItem", "SendMessage"}
BENCH_OWN = {"S3 GET"}  # this script listing the bucket while it waits for the PDFs


def timed_loop(count: int, clients: int, call) -> tuple[list[float], float]:
    """Run ``call(i)`` count times from ``clients`` threads; latencies in ms and wall seconds."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        start = time.perf_counter()
        call(i)
        with lock:
            latencies.append((time.perf_counter() - start) * 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    return latencies, time.perf_counter() - started


def put_receipts(api_base: str, auth: dict[str, str], count: int, clients: int) -> tuple[list[float], float]:
    local = threading.local()
    body = receipt_body()

    def put(_: int) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=api_base, headers=auth, timeout=30)
        local.http.put(f"/api/v1/receipts/{uuid.uuid4()}", json=body).raise_for_status()

    return timed_loop(count, clients, put)


def bare_put_items(endpoint: str, table: str, count: int, clients: int) -> tuple[list[float], float]:
    """The floor: the same-sized item written straight to moto, no API, no queue."""
    dynamodb = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                     region_name="eu-central-1").client("dynamodb", endpoint_url=endpoint)
    payload = json.dumps(receipt_body())

    def put_item(_: int) -> None:
        dynamodb.put_item(TableName=table, Item={"receipt_id": {"S": str(uuid.uuid4())}, "body": {"S": payload}},
                          ConditionExpression="attribute_not_exists(receipt_id)")

    return timed_loop(count, clients, put_item)


def wait_for_pdfs(endpoint: str, expected: int, timeout: float = 600) -> float:
    """Seconds until every PDF is in the bucket (the renders run while the PUTs do)."""
    s3 = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                               region_name="eu-central-1").client("s3", endpoint_url=endpoint)
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].endswith("receipt-pdfs"))
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        if sum(page.get("KeyCount", 0) for page in pages) >= expected:
            break
        time.sleep(0.5)
    return time.perf_counter() - started


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    return {"per_second": round(len(latencies) / wall, 1), "p50_ms": round(percentile(latencies, 50), 2),
            "p99_ms": round(percentile(latencies, 99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--receipts", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-receipts-") as tmp:
        recording = Path(tmp) / "moto-recording.jsonl"
        with running_stack(Path(tmp), extra_env=recording_env(recording)) as stack:
            demo = stack.demo
            token = httpx.post(f"{demo['api_base']}/api/v1/auth", json=demo["merchant"], timeout=30).json()["access_token"]
            auth = {"authorization": f"Bearer {token}"}
            put_receipts(demo["api_base"], auth, 10, 1)  # warm the API's clients and caches
            wait_for_pdfs(demo["aws_endpoint"], 10)  # warm-up PDFs rendered before counting starts
            reset_recording(demo["aws_endpoint"])
            api = summary(*put_receipts(demo["api_base"], auth, args.receipts, args.clients))
            pdf_seconds = wait_for_pdfs(demo["aws_endpoint"], 10 + args.receipts)
            ops = recorded_operations(demo["aws_endpoint"], recording)
            for own in BENCH_OWN:
                ops.pop(own, None)
            floor = summary(*bare_put_items(demo["aws_endpoint"], "receipt-bridge-local-receipts", args.receipts,
                                            args.clients))
    synchronous = sum(n for op, n in ops.items() if op in SYNCHRONOUS)
    polling = sum(n for op, n in ops.items() if op in POLLING)
    result = {
        "receipts": args.receipts,
        "clients": args.clients,
        "put": api,
        "bare_moto_put_item": floor,
        "throughput_ratio_to_bare_put_item": round(api["per_second"] / floor["per_second"], 3),
        "p99_ratio_to_bare_put_item": round(api["p99_ms"] / floor["p99_ms"], 2),
        "pdfs_done_seconds_after_last_put": round(pdf_seconds, 1),
        "sync_aws_requests_per_put": round(synchronous / args.receipts, 2),
        "async_aws_requests_per_put": round((sum(ops.values()) - synchronous - polling) / args.receipts, 2),
        "polling_requests_per_put": round(polling / args.receipts, 2),
        "operations": dict(sorted(ops.items())),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
