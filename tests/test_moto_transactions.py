"""The local stack's AWS emulator keeps DynamoDB transactions atomic under concurrency."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.harness import free_port


@pytest.fixture(scope="module")
def dynamodb():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}", region_name="eu-central-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    deadline = time.monotonic() + 30
    while True:
        try:
            client.list_tables()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    yield client
    server.terminate()
    server.wait()


def put_pair(client, n: int) -> str:
    """Two puts in one transaction; every third one collides with an existing item and must cancel."""
    first = f"a-{n}" if n % 3 else "a-0"
    try:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": first}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": f"b-{n}"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
        return "ok"
    except ClientError as exc:
        return exc.response["Error"]["Code"]


def test_concurrent_transactions_neither_fail_nor_lose_writes(dynamodb):
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda n: put_pair(dynamodb, n), range(300)))
    committed = {n for n, outcome in enumerate(outcomes) if outcome == "ok"}
    assert set(outcomes) == {"ok", "TransactionCanceledException"}
    stored = {item["pk"]["S"] for page in dynamodb.get_paginator("scan").paginate(TableName="t") for item in page["Items"]}
    assert {f"b-{n}" for n in committed} <= stored, "a cancelled transaction erased someone else's write"
    assert not {f"b-{n}" for n in range(300) if n not in committed} & stored, "a cancelled transaction left a write"


def test_cancellation_reasons_name_the_failed_item(dynamodb):
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "exists"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "fresh"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "exists"}}, "ConditionExpression": "attribute_not_exists(pk)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ])
    reasons = raised.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"pk": {"S": "exists"}}
    assert "Item" not in dynamodb.get_item(TableName="t", Key={"pk": {"S": "fresh"}})
