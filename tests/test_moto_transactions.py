"""The local stack's AWS emulator keeps DynamoDB transactions atomic under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.conftest import emulator


@pytest.fixture(scope="module")
def dynamodb():
    with emulator("dynamodb", "list_tables") as (_server, client):
        client.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        yield client


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
