"""Create the resources of ``infra.definitions`` through boto3 (idempotent).

Used by the local stack against the embedded moto server and by tests.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core import resource_names as names
from infra import iam as policies
from infra.definitions import BUCKETS, QUEUES, TABLES, Bucket, Queue, Table


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
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + ([{"AttributeName": index.range_key, "KeyType": "RANGE"}] if index.range_key else []),
                "Projection": index.projection(),
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


def _configure_bucket(s3: Any, name: str, bucket: Bucket) -> None:
    """Private and encrypted, as in the deployment template."""
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    if bucket.expire_days:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": bucket.expire_days}}]})


def _create_buckets(session: Any, prefix: str, account_id: str) -> None:
    s3 = session.client("s3")
    for bucket in BUCKETS:
        name = names.bucket(prefix, account_id, bucket.logical)
        try:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": session.region_name})
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        _configure_bucket(s3, name, bucket)


def _create_tables(dynamodb: Any, prefix: str) -> None:
    for table in TABLES:
        try:
            dynamodb.create_table(**_table_request(prefix, table))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        if table.ttl_attribute:
            _enable_ttl(dynamodb, f"{prefix}-{table.logical}", table.ttl_attribute)


def _enable_ttl(dynamodb: Any, name: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
        return
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True})


def _create_edge_role(session: Any, prefix: str, account_id: str) -> None:
    """The edge role with its policy from ``infra.iam``; locally anyone in the account may assume it."""
    iam = session.client("iam")
    name = policies.edge_role_name(prefix)
    trust = policies.document([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                                "Action": ["sts:AssumeRole", "sts:TagSession"]}])
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
    statements = policies.resolve(policies.edge_statements(policies.Scope(prefix)), partition="aws",
                                  region=session.region_name, account_id=account_id)
    iam.put_role_policy(RoleName=name, PolicyName="own-shop-queue",
                        PolicyDocument=json.dumps(policies.document(statements)))


def provision(session: Any, prefix: str) -> dict[str, str]:
    """Create every table, queue, bucket and the edge role; return queue URLs by logical name."""
    account_id = session.client("sts").get_caller_identity()["Account"]
    sqs = session.client("sqs")
    _create_buckets(session, prefix, account_id)
    _create_tables(session.client("dynamodb"), prefix)
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for queue in QUEUES:
        url = sqs.create_queue(QueueName=f"{prefix}-{queue.logical}", Attributes=_queue_attributes(queue, arns))["QueueUrl"]
        urls[queue.logical] = url
        arns[queue.logical] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _create_edge_role(session, prefix, account_id)
    return urls
