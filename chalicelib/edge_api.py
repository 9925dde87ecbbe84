"""Edge sessions (JWT + credentials scoped to one queue), job results and the sales the till printed itself.

An edge JWT carries a stamp of the edge key it was opened with (``KEY_STAMP``); every result is
written in a transaction that also checks that stamp against the shop's profile, so rotating the
edge key or deleting the shop ends the sessions at once, without a read of its own.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib.auth import tokens
from chalicelib.auth.tokens import TokenKind
from chalicelib.aws.clients import client
from chalicelib.aws.storage import cancellation_codes, from_item, to_item
from chalicelib.contracts import (
    JobResult,
    ResultAck,
    ResultStatus,
    TillSale,
    TillSaleAck,
)
from chalicelib.core import clock
from chalicelib.core import resource_names as names
from chalicelib.core.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    JobNotFound,
    OrderNotFound,
    ServiceUnavailable,
    ShopNotFound,
)
from chalicelib.core.settings import settings
from chalicelib.orders.service import day_entry, get_order, job_key, order_key
from chalicelib.orders.till import till_order
from chalicelib.receipts import public as receipt_public
from chalicelib.receipts import service as receipts
from chalicelib.reports.sales import local_day
from chalicelib.shops import service as shops

KEY_STAMP = "ekh"


class EdgeSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edge_key: Annotated[str, StringConstraints(min_length=1, max_length=256)]


def queue_arn(jobs_queue_url: str) -> str:
    cfg = settings()
    return f"arn:aws:sqs:{cfg.region}:{cfg.account_id}:{jobs_queue_url.rstrip('/').rsplit('/', 1)[-1]}"


def session_policy(jobs_queue_url: str) -> dict[str, Any]:
    """The STS session policy: the edge may only consume its own shop's queue."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(names.EDGE_QUEUE_ACTIONS), "Resource": queue_arn(jobs_queue_url)}],
    }


def bound_to_key(policy: dict[str, Any], stamp: str) -> dict[str, Any]:
    """The session policy, valid only while the queue's edge-key tag is this key's stamp: rotating the
    key retags the queue, which ends the old sessions' queue access before their credentials expire.
    ``IfExists`` keeps queues created before the tag existed working until their first rotation."""
    condition = {"StringEqualsIfExists": {f"aws:ResourceTag/{shops.EDGE_KEY_TAG}": stamp}}
    return {**policy, "Statement": [{**statement, "Condition": condition} for statement in policy["Statement"]]}


def open_session(request: EdgeSessionIn) -> dict[str, Any]:
    snapshot = shops.shop_for_edge_key(request.edge_key)
    cfg = settings()
    shop_id, jobs_queue_url = snapshot.shop_id, snapshot.profile["queue_url"]
    stamp = shops.edge_key_stamp(request.edge_key)
    issued = tokens.issue(TokenKind.EDGE, shop_id, cfg.edge_token_ttl, {KEY_STAMP: stamp})
    assumed = client("sts").assume_role(
        RoleArn=cfg.edge_role_arn,
        RoleSessionName=f"edge-{shop_id}"[:64],
        Policy=json.dumps(bound_to_key(session_policy(jobs_queue_url), stamp)),
        DurationSeconds=max(900, cfg.edge_token_ttl),
        Tags=[{"Key": "shop_id", "Value": shop_id}],
    )["Credentials"]
    return {
        "token": issued.token,
        "expires_at": issued.expires_at,
        "shop_id": shop_id,
        "queue_url": jobs_queue_url,
        "region": cfg.region,
        "credentials": {
            "access_key_id": assumed["AccessKeyId"],
            "secret_access_key": assumed["SecretAccessKey"],
            "session_token": assumed["SessionToken"],
            "expiration": int(assumed["Expiration"].timestamp()),
        },
    }


def _job(job_id: str) -> dict[str, Any]:
    response = client("dynamodb").get_item(TableName=settings().table(names.ORDERS_TABLE), Key=job_key(job_id),
                                           ConsistentRead=True)
    if "Item" not in response:
        raise JobNotFound(f"job {job_id} not found")
    return from_item(response["Item"])


def _order_of(shop_id: str, result: JobResult) -> dict[str, Any]:
    """The result's order. The edge names it (``order_id``), so one read finds it; when it does not,
    or names an order that is not this job's, the job item decides (another shop's job is 403)."""
    if result.order_id is not None:
        try:
            order = get_order(shop_id, result.order_id)
        except OrderNotFound:
            order = None
        if order is not None and order["job_id"] == result.job_id:
            return order
    job = _job(result.job_id)
    if job["shop_id"] != shop_id:
        raise ForbiddenError("job belongs to another shop")
    return get_order(shop_id, job["order_id"])


def _with_pdf(receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt with its PDF already stored: rendered before the transaction that writes the receipt, so a
    receipt never exists without its PDF and the ``terminated`` webhook's link works when it arrives. One S3 request,
    no queue and no second write of the receipt."""
    return {**receipt, "pdf_key": receipt_public.store_pdf(receipt)}


def _write_with_pdf(items: list[dict[str, Any]], receipt: dict[str, Any] | None) -> bool:
    """``_written_by_edge``, deleting the receipt's stored PDF when the transaction was refused (a repeat, or a
    session whose key was rotated): that receipt's fresh id is never used again. Any other error leaves it: the
    transaction may have committed."""
    try:
        written = _written_by_edge(items)
    except AuthenticationError:
        if receipt is not None:
            receipt_public.discard_pdf(receipt)
        raise
    if not written and receipt is not None:
        receipt_public.discard_pdf(receipt)
    return written


def session_claims(headers: Any) -> dict[str, Any]:
    """The edge JWT's claims (401 unless it is one, with its key stamp)."""
    return tokens.bearer(headers, TokenKind.EDGE, require=("jti", KEY_STAMP))


def _shop_name(shop_id: str) -> str:
    try:
        return str(shops.load_snapshot(shop_id).profile["name"])
    except ShopNotFound as exc:
        raise AuthenticationError("edge session ended: the shop was deleted") from exc


def accept_result(claims: dict[str, Any], result: JobResult) -> ResultAck:
    """Record a job's outcome once; a repeat of the same result is acknowledged as a duplicate.

    One transaction moves the job to ``reported`` and the order to ``terminated`` (or ``failed``) and,
    for a printed order, creates its eReceipt (its PDF stored just before), so the receipt exists exactly when the
    order is terminated. The order's ``terminated`` or ``failed`` webhook follows from that change, through the
    orders stream (``chalicelib.orders.outbox``). Reads: the order (one GetItem; two for an edge that does not name
    it). The same transaction checks the session's edge key stamp: a session of a rotated key or a deleted shop is
    401."""
    edge_shop_id = str(claims["sub"])
    if result.shop_id != edge_shop_id:
        raise ForbiddenError("this edge may only report results for its own shop")
    order = _order_of(edge_shop_id, result)
    outcome = result.model_dump(mode="json", exclude={"v", "order_id"})
    printed = result.status is ResultStatus.PRINTED
    now = int(time.time())
    table = settings().table(names.ORDERS_TABLE)
    if printed:
        order = {**order, "status": "terminated", "fiscal": outcome["fiscal"]}
        receipt = _with_pdf(receipts.record_for_order(order, _shop_name(edge_shop_id)))
        order.update(receipt_id=receipt["receipt_id"], public_link=receipts.public_link(receipt))
        order_update = "SET #s = :new, updated_at = :now, fiscal = :fiscal, receipt_id = :r, public_link = :l"
        order_values = {":fiscal": outcome["fiscal"], ":r": order["receipt_id"], ":l": order["public_link"]}
    else:
        failure = {"reason": outcome["reason"], "message": outcome["message"]}
        order, receipt = {**order, "status": "failed", "failure": failure}, None
        order_update = "SET #s = :new, updated_at = :now, failure = :failure"
        order_values = {":failure": failure}
    items: list[dict[str, Any]] = [
        shops.edge_key_is_current(edge_shop_id, str(claims[KEY_STAMP])),
        {"Update": {"TableName": table, "Key": job_key(result.job_id),
                    "UpdateExpression": "SET #s = :reported, outcome = :outcome, reported_at = :now",
                    "ConditionExpression": "#s = :queued",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_item({":reported": "reported", ":outcome": outcome,
                                                          ":now": now, ":queued": "queued"})}},
        {"Update": {"TableName": table, "Key": order_key(edge_shop_id, order["order_id"]),
                    "UpdateExpression": order_update,
                    "ConditionExpression": "#s = :validated",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_item({":new": order["status"], ":now": now,
                                                          ":validated": "validated", **order_values})}},
    ]
    if receipt is not None:
        items.append({"Put": {"TableName": settings().table(names.RECEIPTS_TABLE), "Item": to_item(receipt),
                              "ConditionExpression": "attribute_not_exists(receipt_id)"}})
    if not _write_with_pdf(items, receipt):
        return _repeat(edge_shop_id, result, outcome)
    return ResultAck(job_id=result.job_id, order_status=order["status"])


def _repeat(shop_id: str, result: JobResult, outcome: dict[str, Any]) -> ResultAck:
    """A result for a job that already has one: same outcome is a duplicate, another is a conflict."""
    job = _job(result.job_id)
    if job.get("outcome") != outcome:
        raise ConflictError(f"job {result.job_id} already has a different result")
    order = get_order(shop_id, job["order_id"])
    return ResultAck(job_id=result.job_id, order_status=order["status"], duplicate=True)


def accept_sale(claims: dict[str, Any], sale: TillSale) -> TillSaleAck:
    """Record a sale the till printed while it sold on its own (DESIGN §5): once, by its ``order_id``.

    One transaction writes the ``terminated`` order (``source: "till"``), its entry in the day index (so the daily
    report counts it) and its eReceipt (its PDF stored just before), conditioned on the order not existing and on
    the session's edge key. Its insert brings, through the orders stream, its webhooks: ``validated`` and
    ``terminated``, in that order, as for every other order, so a merchant's integration sees the till's sales the
    way it sees the web's. A repeat of the same upload (the edge's ack lost) is a duplicate; another body under the
    same ``order_id``, a web order's or another sale's, is 409 ``E_CONFLICT``."""
    shop_id = str(claims["sub"])
    if sale.receipt.shop_id != shop_id:
        raise ForbiddenError("this edge may only upload sales of its own shop")
    try:
        snapshot = shops.load_snapshot(shop_id)
    except ShopNotFound as exc:
        raise AuthenticationError("edge session ended: the shop was deleted") from exc
    order = till_order(snapshot, sale, clock.now())
    receipt = _with_pdf(receipts.record_for_order(order, str(snapshot.profile["name"])))
    order.update(receipt_id=receipt["receipt_id"], public_link=receipts.public_link(receipt))
    table = settings().table(names.ORDERS_TABLE)
    day = local_day(snapshot.profile.get("timezone"), order["date"])
    items: list[dict[str, Any]] = [
        shops.edge_key_is_current(shop_id, str(claims[KEY_STAMP])),
        {"Put": {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)",
                 "Item": to_item({"pk": f"SHOP#{shop_id}", "sk": f"ORDER#{order['order_id']}", **order})}},
        {"Put": {"TableName": table, "Item": to_item(day_entry(shop_id, day, order))}},
        {"Put": {"TableName": settings().table(names.RECEIPTS_TABLE), "Item": to_item(receipt),
                 "ConditionExpression": "attribute_not_exists(receipt_id)"}},
    ]
    if not _write_with_pdf(items, receipt):
        return _repeat_sale(shop_id, order)
    return TillSaleAck(order_id=order["order_id"], order_status=order["status"], receipt_id=order["receipt_id"])


def _repeat_sale(shop_id: str, order: dict[str, Any]) -> TillSaleAck:
    """The order exists: the same sale uploaded again is a duplicate, anything else under its id a conflict."""
    try:
        existing = get_order(shop_id, order["order_id"])
    except OrderNotFound as exc:
        raise ServiceUnavailable("a concurrent request touched this order; retry with the same sale") from exc
    if existing.get("source") != order["source"] or existing["fingerprint"] != order["fingerprint"]:
        raise ConflictError(f"order {order['order_id']} exists with a different body")
    return TillSaleAck(order_id=existing["order_id"], order_status=existing["status"],
                       receipt_id=existing["receipt_id"], duplicate=True)


def _written_by_edge(items: list[dict[str, Any]]) -> bool:
    """Write ``items``, whose first checks the edge session's key, in one transaction. False: another condition
    refused it (a repeat for the caller to answer); the session's own check refused is 401."""
    try:
        client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
            raise AuthenticationError("edge session ended: the edge key was rotated or the shop deleted") from exc
        return False
    return True
