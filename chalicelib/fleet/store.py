"""The fleet's DynamoDB writes. An edge's state lives on its shop's profile item (tenants table,
``SHOP#<id>``/``PROFILE``): so the one UpdateItem of a heartbeat also checks the session's edge key stamp
(a rotated key or a deleted shop is refused without a read of its own) and returns what was stored before,
which the warning ledger is compared with.

Attributes: ``edge`` (the last heartbeat: last_seen, version, devices, backlog), ``edge_alerts`` (the warning
ledger, ``chalicelib.fleet.alerts``), and for the offline watch the sparse index ``EDGE_SILENCE_INDEX``:
``edge_watch_shard`` and ``edge_silent_at`` (when the edge counts as offline unless it beats again), plus
``edge_offline_for`` while an outage's notification is being queued.
"""

from __future__ import annotations

import zlib
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws.clients import client
from chalicelib.aws.storage import from_item, key, to_item
from chalicelib.core import resource_names as names
from chalicelib.core.errors import AuthenticationError
from chalicelib.core.settings import settings

SILENCE_SHARDS = 4
SILENCE_QUERY_LIMIT = 200


def _table() -> str:
    return settings().table(names.TENANTS_TABLE)


def _profile(shop_id: str) -> dict[str, Any]:
    return key(f"SHOP#{shop_id}", "PROFILE")


def mark(epoch: int) -> str:
    """An instant as the index sorts it (a fixed-width string, as ``webhooks.deliveries`` does)."""
    return f"{epoch:012d}"


def _shard(shop_id: str) -> str:
    return f"EDGE#{zlib.crc32(shop_id.encode()) % SILENCE_SHARDS}"


def _conditional(request: dict[str, Any]) -> bool:
    """An UpdateItem that may find its condition false (another writer was first); whether it was written."""
    try:
        client("dynamodb").update_item(TableName=_table(), **request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def record_heartbeat(shop_id: str, key_stamp: str, state: dict[str, Any], silent_at: int) -> dict[str, Any]:
    """Store the heartbeat while the edge key is current; the profile as it was before (401 otherwise)."""
    try:
        response = client("dynamodb").update_item(
            TableName=_table(), Key=_profile(shop_id), ReturnValues="ALL_OLD",
            UpdateExpression="SET #edge = :edge, edge_alerts = if_not_exists(edge_alerts, :none), "
                             "edge_watch_shard = :shard, edge_silent_at = :silent REMOVE edge_offline_for",
            ConditionExpression="begins_with(edge_key_digest, :stamp) AND attribute_not_exists(deleted_at)",
            ExpressionAttributeNames={"#edge": "edge"},
            ExpressionAttributeValues=to_item({":edge": state, ":none": {}, ":shard": _shard(shop_id),
                                               ":silent": mark(silent_at), ":stamp": key_stamp}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise AuthenticationError("edge session ended: the edge key was rotated or the shop deleted") from exc
    return from_item(response.get("Attributes", {}))


def write_alerts(shop_id: str, raised: dict[str, dict[str, Any]], cleared: dict[str, int], now: int) -> bool:
    """Add the raised entries and mark the cleared ones, only if no other heartbeat did either first."""
    sets, conditions, names_, values = [], [], {}, {":now": now} if cleared else {}
    for n, (alert, entry) in enumerate(raised.items()):
        names_[f"#r{n}"], values[f":r{n}"] = alert, entry
        sets.append(f"edge_alerts.#r{n} = :r{n}")
        conditions.append(f"attribute_not_exists(edge_alerts.#r{n})")
    for n, (alert, since) in enumerate(cleared.items()):
        names_[f"#c{n}"], values[f":c{n}"] = alert, since
        sets.append(f"edge_alerts.#c{n}.cleared_at = :now")
        conditions.append(f"edge_alerts.#c{n}.since = :c{n} AND attribute_not_exists(edge_alerts.#c{n}.cleared_at)")
    return _conditional({"Key": _profile(shop_id), "UpdateExpression": "SET " + ", ".join(sets),
                         "ConditionExpression": " AND ".join(conditions), "ExpressionAttributeNames": names_,
                         "ExpressionAttributeValues": to_item(values)})


def settle_alerts(shop_id: str, raised: dict[str, int], finished: dict[str, int]) -> None:
    """Note the raises now queued and drop the entries whose clear is queued (each by its ``since``). A
    condition that fails means another heartbeat settled them first; whatever stays owed is queued again,
    under the same webhook-id."""
    sets, removes, conditions, names_, values = [], [], [], {}, {":sent": True}
    for n, (alert, since) in enumerate(raised.items()):
        names_[f"#r{n}"], values[f":r{n}"] = alert, since
        sets.append(f"edge_alerts.#r{n}.raised_sent = :sent")
        conditions.append(f"edge_alerts.#r{n}.since = :r{n}")
    for n, (alert, since) in enumerate(finished.items()):
        names_[f"#f{n}"], values[f":f{n}"] = alert, since
        removes.append(f"edge_alerts.#f{n}")
        conditions.append(f"edge_alerts.#f{n}.since = :f{n}")
    if not sets:
        values.pop(":sent")
    expression = " ".join(part for part in ("SET " + ", ".join(sets) if sets else "",
                                            "REMOVE " + ", ".join(removes) if removes else "") if part)
    _conditional({"Key": _profile(shop_id), "UpdateExpression": expression,
                  "ConditionExpression": " AND ".join(conditions), "ExpressionAttributeNames": names_,
                  "ExpressionAttributeValues": to_item(values)})


def read_edge(shop_id: str) -> dict[str, Any] | None:
    """Owner, tombstone and edge state of a shop, strongly consistent; None for no shop."""
    response = client("dynamodb").get_item(TableName=_table(), Key=_profile(shop_id), ConsistentRead=True,
                                           ProjectionExpression="merchant_id, deleted_at, #edge",
                                           ExpressionAttributeNames={"#edge": "edge"})
    return from_item(response["Item"]) if "Item" in response else None


def silent_edges(now: int) -> list[dict[str, Any]]:
    """Shops whose edge has been silent past its ``edge_silent_at`` (index entries, eventually consistent)."""
    found: list[dict[str, Any]] = []
    for shard in range(SILENCE_SHARDS):
        response = client("dynamodb").query(
            TableName=_table(), IndexName=names.EDGE_SILENCE_INDEX, Limit=SILENCE_QUERY_LIMIT,
            KeyConditionExpression="edge_watch_shard = :s AND edge_silent_at <= :now",
            ExpressionAttributeValues={":s": {"S": f"EDGE#{shard}"}, ":now": {"S": mark(now)}})
        found.extend(from_item(item) for item in response["Items"])
    return found


def claim_outage(shop_id: str, silent_mark: str, lease_until: int, outage: int) -> bool:
    """Take an outage's notification while no heartbeat came since the index entry: the entry comes due
    again at ``lease_until``, in case this sweep stops before it queued the event."""
    return _conditional({"Key": _profile(shop_id),
                         "UpdateExpression": "SET edge_silent_at = :lease, edge_offline_for = :outage",
                         "ConditionExpression": "edge_silent_at = :seen AND attribute_not_exists(deleted_at)",
                         "ExpressionAttributeValues": to_item({":lease": mark(lease_until), ":outage": outage,
                                                               ":seen": silent_mark})})


def finish_outage(shop_id: str, silent_mark: str) -> None:
    """Leave the offline watch until the next heartbeat (unless one came meanwhile)."""
    _conditional({"Key": _profile(shop_id),
                  "UpdateExpression": "REMOVE edge_watch_shard, edge_silent_at, edge_offline_for",
                  "ConditionExpression": "edge_silent_at = :seen",
                  "ExpressionAttributeValues": {":seen": {"S": silent_mark}}})
