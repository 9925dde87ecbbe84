"""IAM from ``infra/iam.py``: every handler has grants, the code's calls are granted, edge sessions see one queue."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.aws import clients as aws
from chalicelib.core.settings import settings
from infra import iam

ROOT = Path(__file__).resolve().parent.parent
_CALL = re.compile(r'client\("(?P<service>[a-z0-9]+)"\)\s*\.(?P<method>\w+)\(\s*(?:"(?P<inner>\w+)")?')
_INDIRECT = ("get_paginator", "generate_presigned_url")  # the operation is their first argument
_PER_ITEM = {"transact_write_items"}  # authorised as PutItem/UpdateItem/DeleteItem/ConditionCheckItem per item
_BATCH_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                  "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


def app_functions() -> set[str]:
    """Chalice's Lambda functions for app.py: the API handler plus one per event handler."""
    from app import app

    found = {source.name for source in app.event_sources} | {f.name for f in app.pure_lambda_functions}
    return found | ({iam.API_HANDLER} if app.routes else set())


def iam_action(service: str, method: str) -> str:
    operation = boto3.client(service, region_name="eu-central-1").meta.method_to_api_mapping[method]
    return f"{service}:{_BATCH_ACTIONS.get(operation, operation)}"


def code_actions(paths: list[Path]) -> set[str]:
    """Every IAM action behind a ``client("<service>").<method>(...)`` call in these files."""
    actions = set()
    for path in paths:
        for call in _CALL.finditer(path.read_text()):
            method = call["inner"] if call["method"] in _INDIRECT else call["method"]
            if method not in _PER_ITEM:
                actions.add(iam_action(call["service"], method))
    return actions


def allows(policy: dict[str, Any], action: str, resource: str) -> bool:
    """IAM evaluation of one identity or session policy: an Allow matches and no Deny does."""
    def listed(value: str | list[str]) -> list[str]:
        return [value] if isinstance(value, str) else value

    def matches(statement: dict[str, Any]) -> bool:
        return (any(fnmatchcase(action.lower(), a.lower()) for a in listed(statement["Action"]))
                and any(fnmatchcase(resource, r) for r in listed(statement["Resource"])))

    hits = [s["Effect"] for s in policy["Statement"] if matches(s)]
    return "Allow" in hits and "Deny" not in hits


def test_every_handler_in_app_has_grants_and_no_grants_are_stale() -> None:
    assert app_functions() == set(iam.FUNCTION_GRANTS), \
        "each Lambda function of app.py needs exactly one entry in infra/iam.py FUNCTION_GRANTS"


def test_every_aws_call_in_chalicelib_is_granted_to_some_function() -> None:
    granted = {a for grants in iam.FUNCTION_GRANTS.values() for g in grants for a in g.actions}
    missing = code_actions(sorted((ROOT / "chalicelib").glob("*.py"))) - granted
    assert not missing, f"chalicelib calls AWS actions no function is granted: {sorted(missing)}"


def test_edge_role_allows_exactly_what_the_edge_calls() -> None:
    calls = re.findall(r"self\._sqs\.(\w+)\(", (ROOT / "edge" / "jobqueue.py").read_text())
    assert {iam_action("sqs", method) for method in calls} == set(iam.EDGE_QUEUE_ACTIONS)


def test_grants_may_only_name_defined_resources() -> None:
    with pytest.raises(iam.IamDefinitionError, match="not defined"):
        iam.table("no-such-table")
    with pytest.raises(iam.IamDefinitionError, match="FUNCTION_GRANTS"):
        iam.function_statements("new_handler", iam.Scope("receipt-bridge-dev", "/p"))


def test_per_shop_pattern_matches_shop_queues_but_not_the_jobs_dlq() -> None:
    (statement,) = iam.resolve(iam.edge_statements(iam.Scope("p-dev")), partition="aws", region="r", account_id="1")
    (pattern,) = statement["Resource"]
    assert fnmatchcase("arn:aws:sqs:r:1:p-dev-jobs-4f9c3a52-1f0e-4c55-9a55-0a6cbd2c7e11", pattern)
    assert not fnmatchcase("arn:aws:sqs:r:1:p-dev-jobs-dlq", pattern)
    assert not fnmatchcase("arn:aws:sqs:r:1:p-dev-receipts", pattern)


def test_edge_session_credentials_are_scoped_to_its_own_queue(api, merchant) -> None:
    shop, other = (api.call("POST", "/api/v1/shops", {"name": name}, merchant["auth"]).json for name in ("A", "B"))
    assumed: list[dict[str, Any]] = []
    aws.client("sts").meta.events.register("before-parameter-build.sts.AssumeRole",
                                           lambda params, **_: assumed.append(dict(params)))

    r = api.call("POST", "/api/v1/edge/session", {"edge_key": shop["edge_key"]})
    assert r.status_code == 200, r.body
    assert r.json["queue_url"] == shop["queue_url"] and r.json["credentials"]["session_token"]

    (request,) = assumed
    role_name = iam.edge_role_name(settings().prefix)
    role = aws.client("iam").get_role(RoleName=role_name)["Role"]
    assert request["RoleArn"] == role["Arn"]
    assert request["DurationSeconds"] <= 3600  # role chaining from the API's role caps sessions at one hour
    session_policy = json.loads(request["Policy"])
    role_policy = aws.client("iam").get_role_policy(RoleName=role_name, PolicyName="own-shop-queue")["PolicyDocument"]
    role_policy = json.loads(role_policy) if isinstance(role_policy, str) else role_policy

    def arn(queue_url: str) -> str:
        return aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    own, foreign = arn(shop["queue_url"]), arn(other["queue_url"])
    dlq = arn(aws.client("sqs").get_queue_url(QueueName=settings().queue("jobs-dlq"))["QueueUrl"])

    def effective(action: str, resource: str) -> bool:
        return allows(session_policy, action, resource) and allows(role_policy, action, resource)

    for action in iam.EDGE_QUEUE_ACTIONS:
        assert effective(action, own), action
        assert allows(role_policy, action, foreign)  # the role covers every shop ...
        assert not effective(action, foreign), action  # ... the session only its own
        assert not effective(action, dlq), action
    for action in ("sqs:SendMessage", "sqs:DeleteQueue", "sqs:PurgeQueue", "sqs:SetQueueAttributes",
                   "sqs:GetQueueAttributes", "dynamodb:GetItem"):
        assert not effective(action, own), action
