"""Dispatch and first webhook attempts from the orders table's stream: nothing stranded, no job doubled, stops
between any two steps. A webhook is at-least-once: a stop between its send and its record sends it again, under the
same webhook-id, and its delivery record is written once.

The pump here is ``devstack.pump.StreamPump``, the local event source mapping: DescribeStream,
GetShardIterator, GetRecords on moto's stream, its checkpoint in a file. A new ``stream_pump()`` is a
restarted pump.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.aws import clients as aws
from chalicelib.contracts import FiscalJob
from chalicelib.orders import outbox
from chalicelib.webhooks import deliveries
from devstack import pump as pump_module
from devstack.receiver import WebhookReceiver
from tests.conftest import demo_order, demo_shop, stream_pump
from tests.test_webhooks import sweep_and_pump


@pytest.fixture
def receiver(shop_hooks: WebhookReceiver) -> WebhookReceiver:
    return shop_hooks


def post(api: Any, shop: dict[str, Any], order_id: str) -> None:
    r = api.call("POST", f"/api/v1/shops/{shop['shop_id']}/orders", demo_order(order_id), {"x-shop-key": shop["shop_key"]})
    assert r.status_code in (200, 201), r.body


def drain(url: str) -> list[dict[str, Any]]:
    """Every message on a queue, without running the dispatch first."""
    sqs, messages = aws.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                       WaitTimeSeconds=0).get("Messages", []):
        messages.extend(batch)
    return messages


def jobs(shop: dict[str, Any]) -> list[FiscalJob]:
    return [FiscalJob.model_validate_json(m["Body"]) for m in drain(shop["queue_url"])]


def validated(receiver: WebhookReceiver) -> list[str]:
    """The orders whose `validated` webhook arrived, once per webhook-id (a receiver drops a repeat by its id)."""
    seen: dict[str, str] = {}
    for delivery in receiver.deliveries:
        if delivery.body["type"] == "validated":
            seen.setdefault(delivery.webhook_id, delivery.body["orderID"])
    return list(seen.values())


def pump_all(pump: Any) -> None:
    while pump.pump_once():
        pass


def test_an_order_accepted_with_the_pump_stopped_is_dispatched_when_it_starts(api, shop, receiver):
    for order_id in ("DOWN-1", "DOWN-2"):
        post(api, shop, order_id)
    assert jobs(shop) == [] and validated(receiver) == [], "intake sends nothing itself"
    pump_all(stream_pump())
    assert [job.order_id for job in jobs(shop)] == ["DOWN-1", "DOWN-2"], "in the order they were accepted"
    assert sorted(validated(receiver)) == ["DOWN-1", "DOWN-2"], "orders' webhooks go out side by side"


def test_a_restarted_pump_resumes_after_its_checkpoint(api, shop, receiver):
    post(api, shop, "CP-1")
    pump_all(stream_pump())
    assert [job.order_id for job in jobs(shop)] == ["CP-1"]
    post(api, shop, "CP-2")
    post(api, shop, "CP-2")  # a replay writes nothing, so the stream has nothing new for it
    pump_all(stream_pump())
    assert [job.order_id for job in jobs(shop)] == ["CP-2"], "CP-1 is behind the checkpoint: not sent again"
    assert validated(receiver) == ["CP-1", "CP-2"]


def test_a_record_delivered_twice_makes_one_job(api, shop, receiver):
    from app import dispatch_orders

    post(api, shop, "TWICE-1")
    pump = stream_pump()
    shard = pump.streams.describe_stream(StreamArn=pump.arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = pump.streams.get_shard_iterator(StreamArn=pump.arn, ShardId=shard,
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = pump.streams.get_records(ShardIterator=iterator)["Records"]
    for _ in range(2):  # Lambda retries a batch; a stopped pump reads past its checkpoint again
        assert dispatch_orders(pump_module.stream_event(records, pump.arn, "eu-central-1"), None) == \
            {"batchItemFailures": []}
    assert {job.job_id for job in jobs(shop)} == {shop_job_id(api, shop, "TWICE-1")}, \
        "both copies carry the order's one job_id, which the edge journals once"
    assert validated(receiver) == ["TWICE-1"], "the webhook is deduplicated by its webhook-id"


def shop_job_id(api: Any, shop: dict[str, Any], order_id: str) -> str:
    from chalicelib.orders.service import get_order

    return get_order(shop["shop_id"], order_id)["job_id"]


class Stop(BaseException):
    """The dispatcher's process ends here (a timeout, a crash, the pump killed): nothing of it handles that."""


STOPS = {
    "before_the_job": (outbox, "send_message_batches"),
    "between_job_and_the_webhooks_record": (deliveries, "_create_leased"),
    "between_record_and_send": (deliveries.webhooks, "send"),
    "between_send_and_its_outcome": (deliveries, "_record_attempt"),
    "between_outcome_and_checkpoint": (pump_module.Checkpoints, "put"),
}


@pytest.mark.parametrize("stop_at", sorted(STOPS))
def test_a_stop_between_any_two_dispatch_steps_loses_nothing_and_doubles_nothing(api, shop, merchant, receiver, aws_env,
                                                                                  clock, monkeypatch,
                                                                                  stop_at):
    post(api, shop, "STOP-1")
    owner, name = STOPS[stop_at]

    def stop(*args: Any, **kwargs: Any) -> Any:
        raise Stop(stop_at)

    with monkeypatch.context() as patch, pytest.raises(Stop):
        patch.setattr(owner, name, stop)
        stream_pump().pump_once() if stop_at == "between_outcome_and_checkpoint" else _handler_dies(patch)
    pump_all(stream_pump())  # the pump restarts from its checkpoint
    pump_all(stream_pump())
    clock.now += 120  # past the stopped attempt's lease: the sweep hands its record to the retry queue
    sweep_and_pump(aws_env)
    sent = jobs(shop)
    assert sent and {job.job_id for job in sent} == {shop_job_id(api, shop, "STOP-1")}, \
        "sent at least once, every copy the order's one job_id, which the edge journals once"
    assert validated(receiver) == ["STOP-1"]
    log = api.call("GET", f"/api/v1/shops/{shop['shop_id']}/webhook/deliveries", headers=merchant["auth"]).json["data"]
    assert [(d["type"], d["status"]) for d in log] == [("validated", "delivered")], "one record, written once"


def _handler_dies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler's invocation ends with its process: the pump stops too, before any checkpoint."""
    pump = stream_pump()

    def dies(records: list[dict[str, Any]]) -> tuple[int, bool]:
        pump.handler(pump_module.stream_event(records, pump.arn, pump.region), None)
        return len(records), False

    monkeypatch.setattr(pump, "_invoke", dies)
    pump.pump_once()


def test_a_failed_order_resumes_the_shard_from_it_and_not_before(api, shop, merchant, aws_env, monkeypatch):
    other = demo_shop(api, merchant, "Second shop")
    post(api, shop, "FIRST-1")
    post(api, other, "SECOND-1")
    real, calls = outbox.send_message_batches, []

    def second_shop_down_once(url: str, entries: list[dict[str, Any]]) -> list[int]:
        calls.append(url)
        if url == other["queue_url"] and calls.count(url) == 1:
            return list(range(len(entries)))
        return real(url, entries)

    monkeypatch.setattr(outbox, "send_message_batches", second_shop_down_once)
    pump_all(stream_pump())
    assert calls.count(shop["queue_url"]) == 1, "the order before the failure is not sent again"
    assert [job.order_id for job in jobs(shop)] == ["FIRST-1"]
    assert [job.order_id for job in jobs(other)] == ["SECOND-1"]


def test_a_record_that_keeps_failing_goes_to_the_dlq_and_the_shard_moves_on(api, shop, aws_env, monkeypatch):
    post(api, shop, "POISON-1")
    post(api, shop, "AFTER-1")
    real = outbox.send_jobs

    def poisoned(orders: list[dict[str, Any]]) -> set[int]:
        if any(order["order_id"] == "POISON-1" for order in orders):
            raise ValueError("this order cannot be sent")
        return real(orders)

    monkeypatch.setattr(outbox, "send_jobs", poisoned)
    monkeypatch.setattr(pump_module.StreamPump, "_backoff", lambda self, attempts: False)
    pump = stream_pump()
    pump.max_retries = 2
    pump_all(pump)
    [failure] = [json.loads(m["Body"]) for m in drain(aws_env["dispatch-dlq"])]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert [job.order_id for job in jobs(shop)] == ["AFTER-1"], "the shard is not blocked behind the poison"
    pump_all(stream_pump())
    assert jobs(shop) == [], "the poison is behind the checkpoint, for an operator to replay from the DLQ"


def test_a_webhook_record_that_fails_resumes_the_shard_from_its_order_and_sends_no_other_twice(api, shop, receiver,
                                                                                                 monkeypatch):
    """The table refuses one order's delivery record once: the batch is reported from that order's record on, the
    pump hands those records over again, and the later order, whose webhook went out in the first try, is not
    sent again."""
    post(api, shop, "BAD-1")
    post(api, shop, "OK-1")
    real, refused = deliveries._create_leased, []

    def refuse_once(message: Any, now: int, token: str) -> Any:
        if message.payload["orderID"] == "BAD-1" and not refused:
            refused.append(message.webhook_id)
            raise ConnectionError("injected: the table did not answer")
        return real(message, now, token)

    monkeypatch.setattr(deliveries, "_create_leased", refuse_once)
    monkeypatch.setattr(pump_module.StreamPump, "_backoff", lambda self, attempts: False)
    pump_all(stream_pump())
    assert refused, "the failure was injected"
    assert sorted(validated(receiver)) == ["BAD-1", "OK-1"]
    assert len([d for d in receiver.deliveries if d.body["type"] == "validated"]) == 2, "OK-1's was not sent again"
    sent = jobs(shop)
    assert sorted(job.order_id for job in sent) == ["BAD-1", "BAD-1", "OK-1", "OK-1"], "from the failed record on"
    for order_id in ("BAD-1", "OK-1"):
        assert {job.job_id for job in sent if job.order_id == order_id} == {shop_job_id(api, shop, order_id)}, \
            "a job sent again carries its one job_id, which the edge journals once"
