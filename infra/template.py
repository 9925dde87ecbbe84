"""The deployment template: Chalice's SAM template plus every resource of ``infra.definitions``.

``assemble`` takes what ``chalice package`` generated for a stage and adds the
tables, queues, bucket, DLQ alarms, log groups, one IAM role per function (from
``infra.iam``) and the edge role; it points each SQS event source at the queue
defined here, so a handler cannot consume a queue the template does not create.
"""

from __future__ import annotations

import copy
import json
import re
from http import HTTPStatus
from typing import Any

from chalicelib.core import resource_names as names
from infra import iam
from infra.definitions import (
    BUCKETS,
    QUEUES,
    STREAM_CONSUMERS,
    TABLES,
    Bucket,
    Queue,
    Table,
)

LOG_RETENTION_DAYS = 30
DLQ_ALARM_PERIOD_SECONDS = 300
_SQS_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:(?P<name>.+)$")
_RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}  # receipts and orders outlive a stack
_DELETE = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}  # transient: messages, logs


STAGE_THROTTLE = (100.0, 200)
"""Steady requests per second and burst for the whole API stage: far above one region's shops, far below
what would run up the account's Lambda concurrency and DynamoDB bill if someone floods the API."""
AUTH_THROTTLE = (25.0, 50)
"""``POST /api/v1/auth`` for all callers together (API Gateway has no per-client limit without usage plans):
a login an hour per client fits many thousand merchants, a flood cannot take the whole stage's budget. Per
key and per source IP the app counts (auth.rate_limits)."""


class TemplateError(ValueError):
    """The app and ``infra/`` disagree (an unknown queue, a handler without grants, a name clash)."""


def logical_id(name: str, kind: str) -> str:
    """A CloudFormation logical id from a resource's logical name: ``webhooks.fifo`` → ``WebhooksFifoQueue``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part) + kind


def table_id(table: Table) -> str:
    return logical_id(table.logical, "Table")


def queue_id(logical: str) -> str:
    return logical_id(logical, "Queue")


def bucket_id(bucket: Bucket) -> str:
    return logical_id(bucket.logical, "Bucket")


def dead_letter_queues() -> list[str]:
    """Queues that collect failures: every redrive target, and the DLQ of the shops' jobs queues."""
    targets = {q.dead_letter for q in QUEUES if q.dead_letter} | {c.on_failure for c in STREAM_CONSUMERS} | {names.JOBS_DLQ}
    return [q.logical for q in QUEUES if q.logical in targets]


def _table(prefix: str, table: Table) -> dict[str, Any]:
    def key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
        keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        return keys + ([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else [])

    properties: dict[str, Any] = {
        "TableName": names.physical(prefix, table.logical),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in table.attributes().items()],
        "KeySchema": key_schema(table.hash_key, table.range_key),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    }
    if table.indexes:
        properties["GlobalSecondaryIndexes"] = [
            {"IndexName": index.name, "KeySchema": key_schema(index.hash_key, index.range_key),
             "Projection": index.projection()}
            for index in table.indexes
        ]
    if table.stream:
        properties["StreamSpecification"] = {"StreamViewType": table.stream}
    if table.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", **_RETAIN, "Properties": properties}


def _attribute_value(value: str) -> Any:
    """SQS API attribute strings as CloudFormation property values."""
    if value in ("true", "false"):
        return value == "true"
    return int(value) if value.isdigit() else value


def _queue(prefix: str, queue: Queue) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "QueueName": names.physical(prefix, queue.logical),
        "VisibilityTimeout": queue.visibility_timeout,
        "MessageRetentionPeriod": queue.retention_seconds,
        **{key: _attribute_value(value) for key, value in queue.attributes.items()},
    }
    if queue.fifo:
        properties["FifoQueue"] = True
    if queue.dead_letter:
        properties["RedrivePolicy"] = {"deadLetterTargetArn": {"Fn::GetAtt": [queue_id(queue.dead_letter), "Arn"]},
                                       "maxReceiveCount": queue.max_receive_count}
    return {"Type": "AWS::SQS::Queue", **_DELETE, "Properties": properties}


def _bucket(prefix: str, bucket: Bucket) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "BucketName": {"Fn::Sub": names.bucket(prefix, "${AWS::AccountId}", bucket.logical)},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                           "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }
    if bucket.expire_days:
        properties["LifecycleConfiguration"] = {"Rules": [
            {"Id": "expire", "Status": "Enabled", "ExpirationInDays": bucket.expire_days}]}
    return {"Type": "AWS::S3::Bucket", **_RETAIN, "Properties": properties}


def _tls_only(bucket: Bucket) -> dict[str, Any]:
    ref = bucket_id(bucket)
    return {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": ref}, "PolicyDocument": iam.document([
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": [{"Fn::GetAtt": [ref, "Arn"]}, {"Fn::Sub": f"${{{ref}.Arn}}/*"}],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])}}


def _dlq_alarm(prefix: str, logical: str) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": f"{names.physical(prefix, logical)}-not-empty",
        "AlarmDescription": f"Messages are waiting in the dead-letter queue {logical}.",
        "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(logical), "QueueName"]}}],
        "Statistic": "Maximum", "Period": DLQ_ALARM_PERIOD_SECONDS, "EvaluationPeriods": 1,
        "Threshold": 0, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [{"Ref": "AlarmTopic"}], "OKActions": [{"Ref": "AlarmTopic"}],
    }}


def _method_setting(path: str, method: str, throttle: tuple[float, int]) -> dict[str, Any]:
    """A stage method setting; API Gateway writes a resource path's slashes as ``~1``."""
    return {"ResourcePath": "/*" if path == "/*" else "/" + path.replace("/", "~1"), "HttpMethod": method,
            "ThrottlingRateLimit": throttle[0], "ThrottlingBurstLimit": throttle[1]}


def throttle_api(api: dict[str, Any]) -> None:
    """API Gateway throttling on Chalice's ``AWS::Serverless::Api``: the stage, then the token exchange."""
    api["Properties"]["MethodSettings"] = [_method_setting("/*", "*", STAGE_THROTTLE),
                                           _method_setting("/api/v1/auth", "POST", AUTH_THROTTLE)]


# What API Gateway answers itself, before any route, in the DESIGN §4 body with a request-id. A path no route serves
# reaches the app's catch-all routes (/ and /{proxy+}), so MISSING_AUTHENTICATION_TOKEN is left with one cause: a
# method that path does not take (locally Chalice's 405).
GATEWAY_ERRORS: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (405, "E_METHOD_NOT_ALLOWED", "this path does not take that method"),
    "THROTTLED": (429, "E_RATE_LIMITED", "too many requests; retry later"),
    "REQUEST_TOO_LARGE": (413, "E_REQUEST_TOO_LARGE", "the request is larger than the API accepts"),
    "INTEGRATION_TIMEOUT": (504, "E_TIMEOUT", "the request took too long; retry later with the same request"),
    "INTEGRATION_FAILURE": (502, "E_SERVICE_UNAVAILABLE", "the API is unavailable; retry later"),
}


def gateway_responses() -> dict[str, dict[str, Any]]:
    """``AWS::ApiGateway::GatewayResponse`` for each of ``GATEWAY_ERRORS`` on Chalice's RestAPI."""
    responses = {}
    for response_type, (status, code, message) in GATEWAY_ERRORS.items():
        body = {"status_code": status, "error": HTTPStatus(status).phrase, "code": code, "message": message}
        responses[logical_id(response_type.lower(), "GatewayResponse")] = {
            "Type": "AWS::ApiGateway::GatewayResponse", "Properties": {
                "RestApiId": {"Ref": "RestAPI"}, "ResponseType": response_type, "StatusCode": str(status),
                "ResponseParameters": {"gatewayresponse.header.request-id": "context.requestId",
                                       "gatewayresponse.header.Content-Type": "'application/json'"},
                "ResponseTemplates": {"application/json": json.dumps(body, separators=(",", ":"))}}}
    return responses


def infra_resources(prefix: str) -> dict[str, dict[str, Any]]:
    """Every table, queue, bucket and DLQ alarm of ``infra.definitions`` as CloudFormation resources."""
    resources: dict[str, dict[str, Any]] = {}

    def add(resource_id: str, resource: dict[str, Any]) -> None:
        if resource_id in resources:
            raise TemplateError(f"two resources map to the logical id {resource_id}")
        resources[resource_id] = resource

    for table in TABLES:
        add(table_id(table), _table(prefix, table))
    for queue in QUEUES:
        add(queue_id(queue.logical), _queue(prefix, queue))
    for bucket in BUCKETS:
        add(bucket_id(bucket), _bucket(prefix, bucket))
        add(bucket_id(bucket) + "Policy", _tls_only(bucket))
    add("AlarmTopic", {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": names.physical(prefix, "alarms")}})
    for logical in dead_letter_queues():
        add(queue_id(logical) + "DepthAlarm", _dlq_alarm(prefix, logical))
    return resources


def function_of(handler: str) -> str:
    """Chalice's function name from a SAM ``Handler``: ``app.app`` is the API, ``app.<name>`` a handler."""
    attribute = handler.partition(".")[2]
    return iam.API_HANDLER if attribute == "app" else attribute


def _event_queues(prefix: str, function_id: str, properties: dict[str, Any]) -> list[str]:
    """Point each SQS event source at the queue resource defined here; return the queues' logical names."""
    defined = {q.logical: q for q in QUEUES}
    consumed: list[str] = []
    for event in properties.get("Events", {}).values():
        if event["Type"] != "SQS":
            continue
        source = event["Properties"]["Queue"]
        match = _SQS_ARN.match(source.get("Fn::Sub", "") if isinstance(source, dict) else "")
        logical = match["name"].removeprefix(f"{prefix}-") if match else None
        if logical is None or logical not in defined:
            raise TemplateError(f"{function_id} consumes {source}, "
                                "which is not a queue of infra/definitions.py")
        event["Properties"]["Queue"] = {"Fn::GetAtt": [queue_id(logical), "Arn"]}
        event["Properties"]["FunctionResponseTypes"] = ["ReportBatchItemFailures"]  # handlers may consume part of a batch
        if defined[logical].fifo:
            event["Properties"].pop("MaximumBatchingWindowInSeconds", None)  # FIFO sources have no batch window
        consumed.append(logical)
    return consumed


def _event_streams(prefix: str, function_id: str, properties: dict[str, Any]) -> list[str]:
    """Point each DynamoDB stream event source at its table's stream, with the retry, bisection and
    on-failure destination of ``infra.definitions.STREAM_CONSUMERS``; return the tables' logical names."""
    tables = {t.logical: t for t in TABLES}
    consumers = {c.table: c for c in STREAM_CONSUMERS}
    consumed: list[str] = []
    for event in properties.get("Events", {}).values():
        if event["Type"] != "DynamoDB":
            continue
        source = event["Properties"]["Stream"]
        logical = names.table_of_stream(source).removeprefix(f"{prefix}-") if ":table/" in str(source) else None
        if logical not in consumers or not tables[logical].stream:
            raise TemplateError(f"{function_id} consumes the stream {source}, "
                                "which is not a table stream of infra/definitions.py")
        consumer = consumers[logical]
        event["Properties"].update({
            "Stream": {"Fn::GetAtt": [table_id(tables[logical]), "StreamArn"]},
            "StartingPosition": consumer.starting_position,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": consumer.bisect,
            "MaximumRetryAttempts": consumer.max_retries,
            "ParallelizationFactor": consumer.parallelization,
            "DestinationConfig": {"OnFailure": {"Type": "SQS",
                                                "Destination": {"Fn::GetAtt": [queue_id(consumer.on_failure), "Arn"]}}},
        })
        consumed.append(logical)
    return consumed


def _function_role(prefix: str, function: str, scope: iam.Scope, event_queues: list[str],
                   event_streams: list[str]) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": iam.function_name(prefix, function),
        "AssumeRolePolicyDocument": iam.document([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                   "Action": "sts:AssumeRole"}]),
        "Policies": [{"PolicyName": "least-privilege", "PolicyDocument": iam.document(
            iam.as_cloudformation(iam.function_statements(function, scope, event_queues, event_streams)))}],
    }}


def _edge_role(scope: iam.Scope, api_role_id: str) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": iam.edge_role_name(scope.prefix),
        "Description": "Assumed by the API for edge sessions; each session policy narrows it to one shop's queue.",
        "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": iam.document([{
            "Effect": "Allow", "Principal": {"AWS": {"Fn::GetAtt": [api_role_id, "Arn"]}},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]),
        "Policies": [{"PolicyName": "own-shop-queue",
                      "PolicyDocument": iam.document(iam.as_cloudformation(iam.edge_statements(scope)))}],
    }}


def assemble(chalice_template: dict[str, Any], scope: iam.Scope) -> dict[str, Any]:
    """The deployable template: Chalice's functions with our roles, plus ``infra_resources``."""
    template = copy.deepcopy(chalice_template)
    resources: dict[str, dict[str, Any]] = template["Resources"]
    for resource_id in [rid for rid, r in resources.items() if r["Type"] == "AWS::IAM::Role"]:
        del resources[resource_id]  # Chalice's shared role; every function gets its own below
    functions = {rid: r for rid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    api_role_id = None
    for function_id, resource in functions.items():
        properties = resource["Properties"]
        function = function_of(properties["Handler"])
        role_id, log_id = f"{function_id}Role", f"{function_id}LogGroup"
        resources[role_id] = _function_role(scope.prefix, function, scope,
                                            _event_queues(scope.prefix, function_id, properties),
                                            _event_streams(scope.prefix, function_id, properties))
        resources[log_id] = {"Type": "AWS::Logs::LogGroup", **_DELETE, "Properties": {
            "LogGroupName": iam.log_group_name(scope.prefix, function), "RetentionInDays": LOG_RETENTION_DAYS}}
        properties["FunctionName"] = iam.function_name(scope.prefix, function)
        properties["Role"] = {"Fn::GetAtt": [role_id, "Arn"]}
        properties.setdefault("Environment", {"Variables": {}})["Variables"].update({
            "BRIDGE_ACCOUNT_ID": {"Ref": "AWS::AccountId"},
            "BRIDGE_EDGE_ROLE_ARN": {"Fn::GetAtt": ["EdgeRole", "Arn"]},
            "BRIDGE_PUBLIC_BASE_URL": {"Ref": "PublicBaseUrl"},
        })
        resource["DependsOn"] = log_id
        if function == iam.API_HANDLER:
            api_role_id = role_id
    if api_role_id is None:
        raise TemplateError("the Chalice template has no API handler")
    resources["EdgeRole"] = _edge_role(scope, api_role_id)
    if "RestAPI" not in resources:
        raise TemplateError("the Chalice template has no RestAPI to throttle")
    throttle_api(resources["RestAPI"])
    resources.update(gateway_responses())
    for resource_id, resource in infra_resources(scope.prefix).items():
        if resource_id in resources:
            raise TemplateError(f"{resource_id} is defined both by Chalice and by infra/")
        resources[resource_id] = resource
    template["Description"] = f"Receipt Bridge ({scope.prefix}): Chalice app and infra/ resources"
    template["Parameters"] = {"PublicBaseUrl": {
        "Type": "String", "AllowedPattern": r"^https://[^\s/]+(/[^\s]*)?$",
        "Description": "Public base URL of the API: a custom domain, or the EndpointURL output without its trailing slash."}}
    template["Outputs"].update({
        "EdgeRoleArn": {"Value": {"Fn::GetAtt": ["EdgeRole", "Arn"]}},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
    })
    return template
