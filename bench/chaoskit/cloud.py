"""The cloud side as the chaos bench sees it: moto reached directly with the local stack's keys.

Reads the records the checks need (orders, eReceipts, webhook deliveries), shortens the
queues' visibility timeouts (simulated time: a redelivery SQS would make after minutes
happens after seconds), and forces redeliveries and duplicate job messages.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from chalicelib.core import resource_names as names

PREFIX = "receipt-bridge-local"
_deserialize = TypeDeserializer().deserialize


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserialize(v) for k, v in item.items()}


class CloudAdmin:
    def __init__(self, endpoint: str, shop_id: str) -> None:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="eu-central-1")
        self.sqs = session.client("sqs", endpoint_url=endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.shop_id = shop_id
        self.jobs_queue_url = self.queue_url(names.shop_jobs_queue(PREFIX, shop_id))

    def queue_url(self, physical_name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=physical_name)["QueueUrl"])

    def cloud_queue_url(self, logical: str) -> str:
        return self.queue_url(names.physical(PREFIX, logical))

    def set_visibility_timeouts(self, seconds: dict[str, int]) -> None:
        """``{queue url: seconds}``: the queue's default visibility timeout."""
        for url, value in seconds.items():
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(value)})

    # -- redelivery and duplicates --------------------------------------------------------------

    def expire_visibility(self, receipt_handles: list[str]) -> int:
        """Make in-flight messages visible now, as an expired visibility timeout would; returns how many."""
        done = 0
        for handle in receipt_handles:
            try:
                self.sqs.change_message_visibility(QueueUrl=self.jobs_queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
                done += 1
            except ClientError:
                continue  # deleted meanwhile, or moved to the dead-letter queue
        return done

    def send_job_again(self, job_body: str) -> None:
        """The same job as a second message (SQS delivers at least once; the outbox may send twice)."""
        self.sqs.send_message(QueueUrl=self.jobs_queue_url, MessageBody=job_body)

    def queue_depth(self, url: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    # -- records ---------------------------------------------------------------------------------

    def orders(self) -> dict[str, dict[str, Any]]:
        items = self._query(names.physical(PREFIX, names.ORDERS_TABLE), f"SHOP#{self.shop_id}", "ORDER#")
        return {item["order_id"]: item for item in items}

    def deliveries(self) -> dict[str, dict[str, Any]]:
        items = self._query(names.physical(PREFIX, names.WEBHOOK_DELIVERIES_TABLE), f"SHOP#{self.shop_id}", "DLV#")
        return {item["delivery_id"]: item for item in items}

    def ereceipts(self) -> list[tuple[str, str]]:
        """Every eReceipt record as (receipt_id, the order_id in its metadata); the stack holds only this run's."""
        table, ids, start = names.physical(PREFIX, names.RECEIPTS_TABLE), [], None
        while True:
            page = self.dynamodb.scan(TableName=table, ProjectionExpression="receipt_id, metadata",
                                      **({"ExclusiveStartKey": start} if start else {}))
            ids += [(item["receipt_id"]["S"], item["metadata"]["M"]["order_id"]["S"]) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return ids

    def _query(self, table: str, pk: str, prefix: str) -> list[dict[str, Any]]:
        items, start = [], None
        while True:
            page = self.dynamodb.query(
                TableName=table, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)", ConsistentRead=True,
                ExpressionAttributeValues={":pk": {"S": pk}, ":p": {"S": prefix}}, **({"ExclusiveStartKey": start} if start else {}),
            )
            items += [_plain(item) for item in page["Items"]]
            start = page.get("LastEvaluatedKey")
            if not start:
                return items


def job_body(order: dict[str, Any]) -> str:
    return json.dumps(order["job"], default=int)
