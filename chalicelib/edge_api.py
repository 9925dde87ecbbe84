"""Edge sessions (JWT + credentials scoped to one queue) and job results."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, StringConstraints

from chalicelib import resource_names as names
from chalicelib import shops, tokens
from chalicelib.aws import client, queue_url
from chalicelib.contracts import JobResult, ResultAck, ResultStatus
from chalicelib.errors import ConflictError, ForbiddenError, JobNotFound
from chalicelib.orders import get_order, job_key, order_key
from chalicelib.receipts import ReceiptWork
from chalicelib.settings import settings
from chalicelib.storage import from_item, to_item
from chalicelib.tokens import TokenKind



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


def open_session(request: EdgeSessionIn) -> dict[str, Any]:
    snapshot = shops.shop_for_edge_key(request.edge_key)
    cfg = settings()
    shop_id, jobs_queue_url = snapshot.shop_id, snapshot.profile["queue_url"]
    issued = tokens.issue(TokenKind.EDGE, shop_id, cfg.edge_token_ttl)
    assumed = client("sts").assume_role(
        RoleArn=cfg.edge_role_arn,
        RoleSessionName=f"edge-{shop_id}"[:64],
        Policy=json.dumps(session_policy(jobs_queue_url)),
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


def _request_receipt(shop_id: str, order_id: str) -> None:
    client("sqs").send_message(
        QueueUrl=queue_url(settings().queue(names.RECEIPTS_QUEUE)),
        MessageBody=ReceiptWork(shop_id=shop_id, order_id=order_id).model_dump_json(),
    )


def accept_result(edge_shop_id: str, result: JobResult) -> ResultAck:
    """Record a job's outcome once; a repeat of the same result is acknowledged as a duplicate."""
    if result.shop_id != edge_shop_id:
        raise ForbiddenError("this edge may only report results for its own shop")
    job = _job(result.job_id)
    if job["shop_id"] != edge_shop_id:
        raise ForbiddenError("job belongs to another shop")
    outcome = result.model_dump(mode="json", exclude={"v"})
    printed = result.status is ResultStatus.PRINTED
    new_status = "terminated" if printed else "failed"
    now = int(time.time())
    order_update = "SET #s = :new, updated_at = :now, " + ("fiscal = :fiscal" if printed else "failure = :failure")
    order_values = {":new": new_status, ":now": now, ":validated": "validated"}
    order_values.update({":fiscal": outcome["fiscal"]} if printed else {":failure": {"reason": outcome["reason"], "message": outcome["message"]}})
    table = settings().table(names.ORDERS_TABLE)
    try:
        client("dynamodb").transact_write_items(
            TransactItems=[
                {"Update": {"TableName": table, "Key": job_key(result.job_id),
                            "UpdateExpression": "SET #s = :reported, outcome = :outcome, reported_at = :now",
                            "ConditionExpression": "#s = :queued",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": to_item({":reported": "reported", ":outcome": outcome,
                                                                  ":now": now, ":queued": "queued"})}},
                {"Update": {"TableName": table, "Key": order_key(edge_shop_id, job["order_id"]),
                            "UpdateExpression": order_update,
                            "ConditionExpression": "#s = :validated",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": to_item(order_values)}},
            ]
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        return _repeat(edge_shop_id, result, outcome)
    if printed:
        _request_receipt(edge_shop_id, job["order_id"])
    return ResultAck(job_id=result.job_id, order_status=new_status)


def _repeat(shop_id: str, result: JobResult, outcome: dict[str, Any]) -> ResultAck:
    """A result for a job that already has one: same outcome is a duplicate, another is a conflict."""
    job = _job(result.job_id)
    if job.get("outcome") != outcome:
        raise ConflictError(f"job {result.job_id} already has a different result")
    order = get_order(shop_id, job["order_id"])
    if order["status"] == "terminated" and not order.get("receipt_id"):
        _request_receipt(shop_id, job["order_id"])
    return ResultAck(job_id=result.job_id, order_status=order["status"], duplicate=True)
