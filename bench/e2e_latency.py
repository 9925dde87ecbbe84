"""End-to-end latency on the local stack: order POST → signed `terminated` webhook received.

Starts the real stack (moto server, chalice local, pump, edge with the simulated
register), posts N orders at a steady rate (open loop, so a slow order does not
slow the next post), and prints p50/p99 of POST → `terminated` webhook and the
throughput; ``--rate 0`` posts them all at once to measure capacity instead, plus the AWS requests the whole lifecycle made per
order, counted by moto's request recorder and split into work and idle polling.
The moto round trip alone is measured in the same run for reference.

    .venv/bin/python bench/e2e_latency.py [--orders 200] [--rate 4] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
from devstack.demo import configure_webhook, demo_order_body  # noqa: E402
from devstack.harness import running_stack  # noqa: E402
from devstack.receiver import WebhookReceiver  # noqa: E402


@contextmanager
def _keep_logs_on_error(var_dir: Path) -> Iterator[None]:
    """On failure, copy the stack's logs out of the temporary directory for a post-mortem."""
    try:
        yield
    except BaseException:
        kept = Path(tempfile.mkdtemp(prefix="bench-e2e-logs-"))
        shutil.copytree(var_dir / "logs", kept, dirs_exist_ok=True)
        print(f"stack logs kept in {kept}", file=sys.stderr)
        raise


def moto_round_trip_ms(endpoint: str, samples: int = 200) -> float:
    sqs = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-central-1") \
        .client("sqs", endpoint_url=endpoint)
    sqs.list_queues()
    start = time.perf_counter()
    for _ in range(samples):
        sqs.list_queues(MaxResults=1)
    return (time.perf_counter() - start) / samples * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--rate", type=float, default=4.0, help="orders per second; 0 posts all at once")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--latencies-out", type=Path, help="write every latency (ms) here as JSON, for the histogram")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        recording = Path(tmp) / "moto-recording.jsonl"
        env = recording_env(recording)
        with running_stack(Path(tmp), extra_env=env) as stack, _keep_logs_on_error(Path(tmp)):
            demo, receiver = stack.demo, WebhookReceiver()
            configure_webhook(demo["api_base"], demo, receiver)
            shop = demo["shop"]
            reset_recording(demo["aws_endpoint"])
            posted: dict[str, float] = {}
            run = f"B{int(time.time())}"

            # One client for every post, made before the clock starts: ``httpx.post`` builds a client per
            # call, and with it an SSL context (the whole CA bundle parsed, ~30 ms, more on a loaded machine)
            # that a plain-http post never uses but that the measured latency would include.
            shop_http = httpx.Client(base_url=demo["api_base"], headers={"x-shop-key": shop["shop_key"]}, timeout=30)
            started = time.monotonic()

            def post(i: int) -> None:
                if args.rate > 0:
                    time.sleep(max(0.0, started + i / args.rate - time.monotonic()))
                order_id = f"{run}-{i}"
                posted[order_id] = time.monotonic()
                shop_http.post(f"/api/v1/shops/{shop['shop_id']}/orders", json=demo_order_body(order_id)).raise_for_status()

            with shop_http, ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(post, range(args.orders)))
            latencies = []
            for order_id, at in posted.items():
                terminated = [d for d in receiver.wait_for(order_id, 2, timeout=120) if d.body["type"] == "terminated"]
                if terminated:
                    latencies.append((terminated[0].received_at - at) * 1000)
            wall = time.monotonic() - started
            ops = recorded_operations(demo["aws_endpoint"], recording)
            moto_ms = moto_round_trip_ms(demo["aws_endpoint"])
            receiver.stop()
    work = sum(n for op, n in ops.items() if op not in POLLING)
    polling = sum(n for op, n in ops.items() if op in POLLING)
    result = {
        "orders": args.orders,
        "rate_per_second": args.rate,
        "throughput_per_second": round(len(latencies) / wall, 2),
        "completed": len(latencies),
        "wall_seconds": round(wall, 2),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "moto_round_trip_ms": round(moto_ms, 2),
        "p50_in_moto_round_trips": round(percentile(latencies, 50) / moto_ms, 1),
        "aws_requests_per_order": round((work + polling) / args.orders, 2),
        "aws_work_requests_per_order": round(work / args.orders, 2),
        "aws_polling_requests_per_order": round(polling / args.orders, 2),
        "operations": dict(sorted(ops.items())),
    }
    if args.latencies_out:
        args.latencies_out.write_text(json.dumps([round(value, 2) for value in latencies]))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
