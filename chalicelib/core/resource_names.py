"""Logical names of every AWS resource and how they become physical names.

Shared by the Lambda code (to address resources) and by ``infra/`` (to define
them). Kept dependency-free so it can be imported at Lambda import time.
"""

from __future__ import annotations

import json
import os

TENANTS_TABLE = "tenants"
ORDERS_TABLE = "orders"
RECEIPTS_TABLE = "receipts"
WEBHOOK_DELIVERIES_TABLE = "webhook-deliveries"

WEBHOOKS_QUEUE = "webhooks.fifo"
JOBS_DLQ = "jobs-dlq"
PDFS_QUEUE = "pdfs"
DISPATCH_DLQ = "dispatch-dlq"

PDF_BUCKET = "receipt-pdfs"
REPORTS_BUCKET = "sales-reports"  # large sales exports, fetched through presigned links

RECEIPTS_BY_MERCHANT_INDEX = "by_merchant"
WEBHOOK_DUE_INDEX = "by_due"
EDGE_SILENCE_INDEX = "by_edge_silence"


DEFAULT_APP_NAME = "receipt-bridge"
DEFAULT_STAGE = "local"


def prefix(app_name: str, stage: str) -> str:
    """Every physical name of a deployment starts with this: ``receipt-bridge-<stage>``."""
    return f"{app_name}-{stage}"


def env_prefix() -> str:
    """The prefix from the environment, as ``settings`` reads it, without loading pydantic (app.py's
    decorators need queue names at import time, and a cold start should not pay for pydantic)."""
    return prefix(os.environ.get("BRIDGE_APP_NAME", DEFAULT_APP_NAME), os.environ.get("BRIDGE_STAGE", DEFAULT_STAGE))


def physical(prefix: str, logical: str) -> str:
    return f"{prefix}-{logical}"


def table_stream_arn(prefix: str, logical: str) -> str:
    """What app.py names as a table's stream: ``infra.template`` points it at the table's ``StreamArn``
    and the local pump at the table's latest stream (a stream ARN ends in a label known only once the
    table exists)."""
    return f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{physical(prefix, logical)}/stream/*"


def table_of_stream(stream_arn: str) -> str:
    """The table name in a stream ARN (``...:table/<name>/stream/<label>``)."""
    return stream_arn.split(":table/", 1)[1].split("/", 1)[0]


def bucket(prefix: str, account_id: str, logical: str) -> str:
    """S3 bucket names are global, so the account id keeps them unique across accounts."""
    return f"{prefix}-{account_id}-{logical}"


def shop_jobs_queue(prefix: str, shop_id: str) -> str:
    return f"{prefix}-jobs-{shop_id}"


# What an edge may do on its own shop's jobs queue (its STS session policy and the edge role).
EDGE_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")

JOBS_MAX_RECEIVE_COUNT = 10
JOBS_VISIBILITY_TIMEOUT = 120
JOBS_RETENTION_SECONDS = 14 * 86400


def shop_jobs_queue_attributes(dlq_arn: str) -> dict[str, str]:
    """SQS attributes of a shop's jobs queue: long retention so offline shops lose nothing."""
    return {
        "VisibilityTimeout": str(JOBS_VISIBILITY_TIMEOUT),
        "MessageRetentionPeriod": str(JOBS_RETENTION_SECONDS),
        "ReceiveMessageWaitTimeSeconds": "20",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": JOBS_MAX_RECEIVE_COUNT}),
    }
