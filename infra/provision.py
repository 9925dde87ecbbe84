"""Create the resources of ``infra.definitions`` through boto3 (idempotent).

Used by the local stack against the embedded moto server and by tests.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from infra.definitions import BUCKETS, EDGE_ROLE, QUEUES, TABLES, Queue, Table
from chalicelib import resource_names as names


def _table_request(prefix: str, table: Table) -> dict[str, Any]:
    key_schema = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
    if table.range_key:
        key_schema.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
    request: dict[str, Any] = {
        "TableName": f"{prefix}-{table.logical}",
        "KeySchema": key_schema,
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in table.attributes().items()],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    return request


def _queue_attributes(queue: Queue, arns: dict[str, str]) -> dict[str, str]:
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout),
        "MessageRetentionPeriod": str(queue.retention_seconds),
        **queue.attributes,
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    if queue.dead_letter:
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": arns[queue.dead_letter], "maxReceiveCount": queue.max_receive_count}
        )
    return attributes


def _create_buckets(session: Any, prefix: str) -> None:
    s3 = session.client("s3")
    account_id = session.client("sts").get_caller_identity()["Account"]
    for bucket in BUCKETS:
        name = names.bucket(prefix, account_id, bucket.logical)
        try:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": session.region_name})
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def provision(session: Any, prefix: str) -> dict[str, str]:
    """Create every table, queue, bucket and the edge role; return queue URLs by logical name."""
    dynamodb, sqs, iam = session.client("dynamodb"), session.client("sqs"), session.client("iam")
    _create_buckets(session, prefix)
    for table in TABLES:
        try:
            dynamodb.create_table(**_table_request(prefix, table))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for queue in QUEUES:
        url = sqs.create_queue(QueueName=f"{prefix}-{queue.logical}", Attributes=_queue_attributes(queue, arns))["QueueUrl"]
        urls[queue.logical] = url
        arns[queue.logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    try:
        iam.create_role(RoleName=f"{prefix}-{EDGE_ROLE}", AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    return urls
