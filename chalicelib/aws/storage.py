"""Thin helpers over the low-level DynamoDB client: item (de)serialization, batched writes."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.aws.clients import client
from chalicelib.core.errors import ServiceUnavailable

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; ours are all integers."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def cancellation_codes(error: Any) -> list[str]:
    """Reason codes of a TransactionCanceledException, one per transaction item."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def batch_write(table: str, requests: list[dict[str, Any]], attempts: int = 5) -> None:
    """BatchWriteItem (PutRequest/DeleteRequest entries), 25 per request, retrying what DynamoDB
    leaves unprocessed with backoff; raises ServiceUnavailable if some are still left."""
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start:start + 25]}
        for attempt in range(attempts):
            pending = client("dynamodb").batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(0.05 * 2 ** attempt)  # unprocessed means throttled: back off before asking again
        else:
            raise ServiceUnavailable(f"{len(pending[table])} writes to {table} were not processed; the work is retried")


def batch_get(table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strongly consistent BatchGetItem of ``keys`` (100 per request, unprocessed keys asked again); the
    items found, deserialized, in no particular order."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 100):
        wanted = keys[start:start + 100]
        while wanted:
            response = client("dynamodb").batch_get_item(RequestItems={table: {"Keys": wanted, "ConsistentRead": True}})
            found += [from_item(item) for item in response["Responses"].get(table, [])]
            wanted = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return found
