"""AWS requests per order: synchronous ones to accept it, and over its whole lifecycle, against a
naive design that keeps a separate idempotency table and checks it around every step.

Ours is measured, not modelled: the real app runs in-process on moto (Chalice's test client for
the HTTP routes, its SQS handlers fed the messages their queues hold, its stream handler the orders
table's stream records (``devstack.pump.StreamPump``), a real webhook
receiver on loopback), and every request the app's clients make is counted, plus the edge's own
(its receives of up to 10 jobs each, as ``edge/jobqueue`` asks, and one delete per job; one session
per ``--orders`` batch, amortized). Orders are posted first and drained after, so every queue is
consumed in full batches, as under load; the trickle run drains after each order instead (batches of 1). The naive design is
executed against the same moto, request by request, as such a service is commonly written: an
idempotency-key read before and a write after each step, one item per write, no transactions.

    .venv/bin/python bench/aws_requests.py [--orders 50]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-central-1",
                   "BRIDGE_STAGE": "local", "BRIDGE_JWT_SECRET": "bench-signing-key-long-enough-for-hs256"})
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.aws import clients as aws  # noqa: E402
from chalicelib.contracts import FiscalJob, FiscalRecord, JobResult, ResultStatus  # noqa: E402
from chalicelib.core.settings import settings  # noqa: E402
from devstack.moto_server import install_dynamodb  # noqa: E402
from devstack.pump import StreamPump, sqs_event, stream_sources, succeeded  # noqa: E402
from devstack.receiver import WebhookReceiver  # noqa: E402
from devstack.stack import DEMO_CATALOG  # noqa: E402
from edge.jobqueue import MAX_MESSAGES as EDGE_MAX_MESSAGES  # noqa: E402
from infra.provision import provision  # noqa: E402

EDGE = "edge"  # the edge's own requests, attributed by hand: it runs no botocore client in this process


class Counting:
    """Counts every AWS request the app's clients make, by phase."""

    def __init__(self) -> None:
        self.phase = "setup"
        self.counts: dict[str, Counter[str]] = {}

    def __call__(self, model: Any, **_: Any) -> None:
        self.counts.setdefault(self.phase, Counter())[f"{model.service_model.service_name}.{model.name}"] += 1

    def add(self, operation: str, n: int = 1) -> None:
        self.counts.setdefault(self.phase, Counter())[operation] += n

    def total(self, *phases: str) -> int:
        return sum(sum(self.counts.get(p, Counter()).values()) for p in phases)


def drain(queue: str, handler: Any, counting: Counting, batch: int = 10) -> int:
    """Feed a queue to its handler as the event source mapping does: it receives a batch, invokes the
    handler and deletes what the handler consumed. Those are the Lambda service's requests, made here
    with a client of their own and counted per batch (the last, empty receive excluded, as the
    mapping's idle polls are a cost per queue, not per order)."""
    sqs = boto3.session.Session(region_name="eu-central-1").client("sqs")
    url = sqs.get_queue_url(QueueName=settings().queue(queue))["QueueUrl"]
    handled = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch, WaitTimeSeconds=0,
                                          AttributeNames=["All"]).get("Messages", []):
        counting.add("sqs.ReceiveMessage")
        response = handler(sqs_event(messages, f"arn:aws:sqs:eu-central-1:123456789012:{queue}", "eu-central-1"), None)
        if done := succeeded(messages, response):
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(done)])
            counting.add("sqs.DeleteMessageBatch")
        handled += len(done)
    return handled


def stream_pump(app_module: Any, state_dir: str, counting: Counting) -> StreamPump:
    """The orders stream's event source mapping. Its reads are the Lambda service's, counted as one
    GetRecords per batch that carried records (the idle polls are a cost per shard, not per order;
    AWS does not charge GetRecords made by a Lambda trigger)."""
    config = next(c for c in stream_sources(app_module.app) if c.name == "dispatch_orders")
    pump = StreamPump(app_module, config, threading.Event(), Path(state_dir))

    def count(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("Records"):
            counting.add("dynamodbstreams.GetRecords")

    pump.streams.meta.events.register("after-call.dynamodbstreams.GetRecords", count)
    return pump


def drain_stream(pump: StreamPump) -> None:
    while pump.pump_once():
        pass


def edge_round(client: Client, edge_sqs: Any, queue: str, token: str, counting: Counting) -> list[FiscalJob]:
    """What the edge does with its queue: receive up to 10 jobs per request (as edge/jobqueue asks),
    report each result, delete each message once acknowledged. ``edge_sqs`` is a client of its own,
    not counted as the app's; the edge's requests are counted as it makes them, the last (empty)
    receive excluded, as the edge's idle long polls are."""
    jobs, receives = [], 0
    # No long poll: the last, empty receive is not counted, and would only hold the bench 20 s (the queue's default).
    while batch := edge_sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=EDGE_MAX_MESSAGES,
                                            WaitTimeSeconds=0).get("Messages", []):
        receives += 1
        for message in batch:
            job = FiscalJob.model_validate_json(message["Body"])
            result = JobResult(job_id=job.job_id, shop_id=job.shop_id, order_id=job.order_id, status=ResultStatus.PRINTED,
                               fiscal=FiscalRecord(device="SIM-1", fiscal_number=job.job_id[:8], printed_at=job.created_at))
            response = client.http.request("POST", "/api/v1/edge/results", body=result.model_dump_json().encode(),
                                           headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.body
            edge_sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            jobs.append(job)
    counting.add(f"{EDGE}.ReceiveMessage", receives)
    counting.add(f"{EDGE}.DeleteMessage", len(jobs))
    return jobs


def measure_ours(orders: int, wave: int) -> dict[str, Any]:
    """Orders posted ``wave`` at a time, each wave taken through its whole lifecycle before the next."""
    import app as app_module

    install_dynamodb()  # the webhook sender's threads write at once: transactions isolated as the local stack's moto
    counting = Counting()
    receiver = WebhookReceiver()
    with mock_aws(), tempfile.TemporaryDirectory(prefix="pump-") as state_dir:
        aws.reset_clients()
        provision(boto3.session.Session(region_name="eu-central-1"), settings().prefix)
        pump = stream_pump(app_module, state_dir, counting)
        with Client(app_module.app) as client:
            call = in_process_api(client)
            bearer, shop = bench_shop(call)
            for kind, entry_id, entry in DEMO_CATALOG:
                call("PUT", f"/api/v1/shops/{shop['shop_id']}/catalog/{kind}/{entry_id}", entry, bearer)
            configured = call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": receiver.start()}, bearer)
            receiver.secret = configured["secret"]
            for service in ("dynamodb", "sqs", "sts", "s3"):
                aws.client(service).meta.events.register("before-call.*.*", counting)
            shop_key = {"x-shop-key": shop["shop_key"]}
            body = {"payment_method_id": "cash", "delivery_method_id": "pickup", "user_id": "demo-cashier",
                    "items": [{"item_id": "coffee", "quantity": "2"}, {"item_id": "tea", "quantity": "1"}]}
            call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", {**body, "order_id": "WARM"}, shop_key)  # warm cache
            drain_stream(pump)
            aws.client("sqs").purge_queue(QueueUrl=shop["queue_url"])
            counting.counts.clear()
            counting.phase = "edge_session"
            session = call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]})
            jobs: list[FiscalJob] = []
            edge_sqs = boto3.session.Session(region_name="eu-central-1").client("sqs")
            for first in range(0, orders, wave):
                counting.phase = "intake"
                for n in range(first, min(orders, first + wave)):
                    call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", {**body, "order_id": f"B-{n}"}, shop_key)
                counting.phase = "dispatch"
                drain_stream(pump)
                counting.phase = "edge_results"
                jobs += edge_round(client, edge_sqs, shop["queue_url"], session["token"], counting)
                counting.phase = "webhooks"  # terminated, from the stream; retries (none expected) from the queues
                drain_stream(pump)
                drain("webhooks.fifo", app_module.send_webhooks, counting)
                drain("pdfs", app_module.render_pdfs, counting)
        delivered = sum(len(receiver.wait_for(f"B-{n}", 2, timeout=10)) for n in range(orders))
        receiver.stop()
        aws.reset_clients()
    assert len(jobs) == orders and delivered == 2 * orders, (len(jobs), delivered)
    lifecycle_phases = ("intake", "dispatch", "edge_results", "webhooks")
    lifecycle = (counting.total(*lifecycle_phases) + counting.total("edge_session")) / orders
    free = sum(c.get("dynamodbstreams.GetRecords", 0) for c in counting.counts.values()) / orders
    return {
        "intake_sync": counting.total("intake") / orders,
        "lifecycle": round(lifecycle, 2),
        "lifecycle_billed": round(lifecycle - free, 2),
        "per_phase": {p: round(counting.total(p) / orders, 2) for p in (*lifecycle_phases, "edge_session")},
        "operations": {p: dict(sorted(c.items())) for p, c in counting.counts.items()},
    }


NAIVE_STEPS: dict[str, list[str]] = {
    # An idempotency-key GetItem before and PutItem after every step; one write per item.
    "intake": ["GetItem idem", "GetItem shop", "Query catalogue", "PutItem order", "PutItem job", "PutItem day",
               "SendMessage job", "SendMessage webhook", "PutItem idem"],
    "edge": ["ReceiveMessage job", "DeleteMessage job"],
    "result": ["GetItem idem", "GetItem job", "UpdateItem job", "UpdateItem order", "SendMessage receipt", "PutItem idem"],
    "receipt": ["ReceiveMessage", "GetItem idem", "GetItem order", "PutItem receipt", "UpdateItem order",
                "SendMessage pdf", "SendMessage webhook", "PutItem idem", "DeleteMessage"],
    "pdf": ["ReceiveMessage", "GetItem idem", "GetItem receipt", "PutObject pdf", "UpdateItem receipt", "PutItem idem",
            "DeleteMessage"],
    "webhook validated": ["ReceiveMessage", "GetItem idem", "GetItem shop", "PutItem delivery", "PutItem idem", "DeleteMessage"],
    "webhook terminated": ["ReceiveMessage", "GetItem idem", "GetItem shop", "PutItem delivery", "PutItem idem", "DeleteMessage"],
}


def measure_naive(orders: int) -> dict[str, Any]:
    """Run the naive design's requests against moto and count what was sent (no shortcuts, no caching)."""
    counter: Counter[str] = Counter()
    with mock_aws():
        session = boto3.session.Session(region_name="eu-central-1")
        dynamodb, sqs, s3 = session.client("dynamodb"), session.client("sqs"), session.client("s3")
        for client in (dynamodb, sqs, s3):
            client.meta.events.register("before-call.*.*", lambda model, **_: counter.update([model.name]))
        dynamodb.create_table(TableName="naive", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
        url = sqs.create_queue(QueueName="naive")["QueueUrl"]
        s3.create_bucket(Bucket="naive", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        counter.clear()
        sync_intake, handle = 0, ""
        for n in range(orders):
            for step, requests in NAIVE_STEPS.items():
                for request in requests:
                    operation, _, what = request.partition(" ")
                    key = {"k": {"S": f"{what}-{n}"}}
                    if operation == "GetItem":
                        dynamodb.get_item(TableName="naive", Key=key)
                    elif operation == "Query":
                        dynamodb.query(TableName="naive", KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": key["k"]})
                    elif operation in ("PutItem", "UpdateItem"):
                        dynamodb.put_item(TableName="naive", Item={**key, "v": {"S": uuid.uuid4().hex}})
                    elif operation == "SendMessage":
                        sqs.send_message(QueueUrl=url, MessageBody=what)
                    elif operation == "ReceiveMessage":
                        handle = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]["ReceiptHandle"]
                    elif operation == "DeleteMessage":
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
                    elif operation == "PutObject":
                        s3.put_object(Bucket="naive", Key=f"{n}.pdf", Body=b"%PDF-")
                if step == "intake":
                    sync_intake = len(requests)
    return {"intake_sync": sync_intake, "lifecycle": round(sum(counter.values()) / orders, 2)}


def in_process_api(client: Client) -> Callable[..., Any]:
    """A JSON call into the app under test that must succeed: the bench's own setup, not what it measures."""

    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        response = client.http.request(method, path, body=json.dumps(body).encode() if body is not None else b"",
                                       headers={"content-type": "application/json", **(headers or {})})
        assert response.status_code < 300, response.body
        return json.loads(response.body) if response.body else None

    return call


def bench_shop(call: Callable[..., Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """A new merchant's bearer header and a new shop of theirs."""
    from chalicelib.auth.merchants import (
        create_merchant,  # after the bench environment is set
    )

    creds = create_merchant("Bench merchant")
    token = call("POST", "/api/v1/auth", {"api_key": creds["api_key"], "api_secret": creds["api_secret"]})
    bearer = {"authorization": f"Bearer {token['access_token']}"}
    return bearer, call("POST", "/api/v1/shops", {"name": "Bench shop"}, bearer)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()
    burst, naive = measure_ours(args.orders, wave=args.orders), measure_naive(args.orders)
    trickle = measure_ours(min(args.orders, 20), wave=1)
    print(json.dumps({
        "orders": args.orders,
        "intake_sync": burst["intake_sync"],
        "naive_intake_sync": naive["intake_sync"],
        "lifecycle": burst["lifecycle"],
        "naive_lifecycle": naive["lifecycle"],
        "lifecycle_ratio_to_naive": round(burst["lifecycle"] / naive["lifecycle"], 3),
        "lifecycle_trickle": trickle["lifecycle"],
        "lifecycle_trickle_billed": trickle["lifecycle_billed"],
        "trickle_ratio_to_naive": round(trickle["lifecycle"] / naive["lifecycle"], 3),
        "per_phase": burst["per_phase"],
        "per_phase_trickle": trickle["per_phase"],
        "operations": burst["operations"],
    }, indent=2))


if __name__ == "__main__":
    main()
