"""`make package`: the generated template lints, matches the local stack, and holds least-privilege IAM."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.api import ManualArgs, lint

from chalicelib.core import resource_names as names
from chalicelib.core.settings import settings
from infra import iam
from infra.definitions import QUEUES, TABLES
from infra.package import PackagingError, package, stage_environment
from infra.template import TemplateError, assemble, dead_letter_queues

STAGE = "dev"
PREFIX = f"receipt-bridge-{STAGE}"
EXTRA_QUEUE_ATTRIBUTES = sorted({key for queue in QUEUES for key in queue.attributes})


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package(STAGE, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def template(packaged: Path) -> dict[str, Any]:
    return json.loads(packaged.read_text())


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in template["Resources"].items() if r["Type"] == kind}


def test_package_writes_template_and_code(packaged: Path) -> None:
    assert {p.name for p in packaged.parent.iterdir()} >= {"sam.json", "deployment.zip", "layer-deployment.zip"}


def test_cfn_lint_passes_including_informational_checks(packaged: Path) -> None:
    started = time.monotonic()
    matches = lint(packaged.read_text(), config=ManualArgs(include_checks=["I"], regions=["eu-central-1", "us-east-1"]))
    assert [str(m) for m in matches] == []
    assert time.monotonic() - started < 60


# --- the local stack and the template come from the same definitions ----------------------------

def _template_spec(template: dict[str, Any]) -> dict[str, Any]:
    resources = template["Resources"]

    def strip(name: str) -> str:
        assert name.startswith(f"{PREFIX}-"), name
        return name.removeprefix(f"{PREFIX}-")

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    tables = {}
    for table in of_type(template, "AWS::DynamoDB::Table").values():
        p = table["Properties"]
        ttl = p.get("TimeToLiveSpecification", {})
        tables[strip(p["TableName"])] = {
            "keys": keys(p["KeySchema"]),
            "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in p["AttributeDefinitions"]),
            "indexes": sorted((i["IndexName"], keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
                              for i in p.get("GlobalSecondaryIndexes", [])),
            "billing": p["BillingMode"],
            "ttl": ttl["AttributeName"] if ttl.get("Enabled") else None,
            "stream": p.get("StreamSpecification", {}).get("StreamViewType"),
        }
    queues = {}
    for queue in of_type(template, "AWS::SQS::Queue").values():
        p = queue["Properties"]
        redrive = p.get("RedrivePolicy")
        target = resources[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]["QueueName"] if redrive else None
        queues[strip(p["QueueName"])] = {
            "fifo": p.get("FifoQueue", False),
            "VisibilityTimeout": str(p["VisibilityTimeout"]),
            "MessageRetentionPeriod": str(p["MessageRetentionPeriod"]),
            "redrive": (strip(target), redrive["maxReceiveCount"]) if redrive else None,
            **{k: json.dumps(p.get(k)).strip('"') for k in EXTRA_QUEUE_ATTRIBUTES},
        }
    buckets = {}
    for bucket in of_type(template, "AWS::S3::Bucket").values():
        p = bucket["Properties"]
        rules = p.get("LifecycleConfiguration", {}).get("Rules", [])
        buckets[p["BucketName"]["Fn::Sub"].split("${AWS::AccountId}-", 1)[1]] = {
            "public_access_block": p["PublicAccessBlockConfiguration"],
            "encryption": p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "ownership": p["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "expire_days": rules[0]["ExpirationInDays"] if rules else None,
        }
    return {"tables": tables, "queues": queues, "buckets": buckets}


def _local_spec(session: Any, prefix: str) -> dict[str, Any]:
    dynamodb, sqs, s3 = session.client("dynamodb"), session.client("sqs"), session.client("s3")

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    tables = {}
    for name in dynamodb.list_tables()["TableNames"]:
        if not name.startswith(f"{prefix}-"):
            continue
        t = dynamodb.describe_table(TableName=name)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        tables[name.removeprefix(f"{prefix}-")] = {
            "keys": keys(t["KeySchema"]),
            "attributes": sorted((a["AttributeName"], a["AttributeType"]) for a in t["AttributeDefinitions"]),
            "indexes": sorted((i["IndexName"], keys(i["KeySchema"]), i["Projection"]["ProjectionType"])
                              for i in t.get("GlobalSecondaryIndexes", [])),
            "billing": t["BillingModeSummary"]["BillingMode"],
            "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
            "stream": t["StreamSpecification"]["StreamViewType"] if t.get("StreamSpecification", {}).get("StreamEnabled")
            else None,
        }
    queues = {}
    for url in sqs.list_queues(QueueNamePrefix=f"{prefix}-")["QueueUrls"]:
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(a["RedrivePolicy"]) if "RedrivePolicy" in a else None
        queues[url.rsplit("/", 1)[1].removeprefix(f"{prefix}-")] = {
            "fifo": a.get("FifoQueue") == "true",
            "VisibilityTimeout": a["VisibilityTimeout"],
            "MessageRetentionPeriod": a["MessageRetentionPeriod"],
            "redrive": (redrive["deadLetterTargetArn"].rsplit(":", 1)[1].removeprefix(f"{prefix}-"),
                        int(redrive["maxReceiveCount"])) if redrive else None,
            **{k: a.get(k, "null") for k in EXTRA_QUEUE_ATTRIBUTES},
        }
    buckets = {}
    account = session.client("sts").get_caller_identity()["Account"]
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        if not name.startswith(f"{prefix}-{account}-"):
            continue
        encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except ClientError:
            rules = []
        buckets[name.removeprefix(f"{prefix}-{account}-")] = {
            "public_access_block": s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
            "encryption": encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "ownership": s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "expire_days": rules[0]["Expiration"]["Days"] if rules else None,
        }
    return {"tables": tables, "queues": queues, "buckets": buckets}


def test_local_stack_and_template_do_not_drift(aws_env: dict[str, str], template: dict[str, Any]) -> None:
    local = _local_spec(boto3.session.Session(region_name="eu-central-1"), settings().prefix)
    deployed = _template_spec(template)
    assert deployed == local
    assert set(deployed["tables"]) == {t.logical for t in TABLES}
    assert set(deployed["queues"]) == {q.logical for q in QUEUES}


def test_tables_are_on_demand_with_point_in_time_recovery(template: dict[str, Any]) -> None:
    tables = of_type(template, "AWS::DynamoDB::Table")
    assert len(tables) == len(TABLES)
    for table in tables.values():
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == "Retain"
    with_ttl = {t.logical: t.ttl_attribute for t in TABLES if t.ttl_attribute}
    assert {t["Properties"]["TableName"].removeprefix(f"{PREFIX}-"): t["Properties"]["TimeToLiveSpecification"]["AttributeName"]
            for t in tables.values() if "TimeToLiveSpecification" in t["Properties"]} == with_ttl


def test_buckets_are_private_encrypted_and_tls_only(template: dict[str, Any]) -> None:
    buckets = of_type(template, "AWS::S3::Bucket")
    assert set(buckets) == {"ReceiptPdfsBucket", "SalesReportsBucket"}
    policies = {policy["Properties"]["Bucket"]["Ref"]: policy for policy in of_type(template, "AWS::S3::BucketPolicy").values()}
    for bucket_id, bucket in buckets.items():
        p = bucket["Properties"]
        assert all(p["PublicAccessBlockConfiguration"].values()) and len(p["PublicAccessBlockConfiguration"]) == 4
        assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        (deny,) = policies[bucket_id]["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "LifecycleConfiguration" not in buckets["ReceiptPdfsBucket"]["Properties"], "receipts outlive a day"
    (rule,) = buckets["SalesReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 1, "large exports are fetched within minutes, then only cost storage"


def test_every_dlq_has_a_depth_alarm(template: dict[str, Any]) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm").values()
    watched = {template["Resources"][a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]]["Properties"]["QueueName"]
               for a in alarms}
    assert watched == {names.physical(PREFIX, q) for q in dead_letter_queues()}
    assert names.physical(PREFIX, names.JOBS_DLQ) in watched  # the shops' jobs queues' DLQ too
    for alarm in alarms:
        assert alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


# --- functions, event sources and their roles --------------------------------------------------------

def functions(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from of_type(template, "AWS::Serverless::Function").items()


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [s for policy in template["Resources"][role_id]["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]]


def test_sqs_handlers_consume_template_queues_within_their_visibility(template: dict[str, Any]) -> None:
    consumers = 0
    for function_id, function in functions(template):
        p = function["Properties"]
        for event in p.get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            queue_id = event["Properties"]["Queue"]["Fn::GetAtt"][0]
            queue = template["Resources"][queue_id]
            assert queue["Type"] == "AWS::SQS::Queue"
            assert "RedrivePolicy" in queue["Properties"], f"{queue_id} has no DLQ"
            assert p["Timeout"] <= queue["Properties"]["VisibilityTimeout"], function_id
            consume = [s for s in statements(template, p["Role"]["Fn::GetAtt"][0]) if "sqs:ReceiveMessage" in s["Action"]]
            assert [s["Resource"] for s in consume] == [[{"Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:"
                                                          f"${{AWS::AccountId}}:{queue['Properties']['QueueName']}"}]]
    from app import app

    assert consumers == sum(type(source).__name__ == "SQSEventConfig" for source in app.event_sources) > 0


def test_the_orders_stream_drives_dispatch_with_bisection_retries_and_a_dlq(template: dict[str, Any]) -> None:
    """Intake's one write is the outbox: the orders table streams each change (new and old images, so an order's
    move to terminated is told from any other change) to dispatch_orders, whose mapping bisects a failing batch,
    resumes from a partial failure, and reports a record that keeps failing to an alarmed queue; its role reads
    that stream and sends to that queue, and of the tables it reads only the profiles and writes only deliveries."""
    resources = template["Resources"]
    orders_id = next(rid for rid, r in of_type(template, "AWS::DynamoDB::Table").items()
                     if r["Properties"]["TableName"] == f"{PREFIX}-{names.ORDERS_TABLE}")
    assert resources[orders_id]["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert "GlobalSecondaryIndexes" not in resources[orders_id]["Properties"], "no sweep, no dispatch index"
    streamed = [(fid, e["Properties"]) for fid, f in functions(template) for e in f["Properties"].get("Events", {}).values()
                if e["Type"] == "DynamoDB"]
    [(function_id, mapping)] = streamed
    assert resources[function_id]["Properties"]["Handler"] == "app.dispatch_orders"
    assert mapping["Stream"] == {"Fn::GetAtt": [orders_id, "StreamArn"]}
    assert mapping["StartingPosition"] == "TRIM_HORIZON", "a new mapping starts with the stream's oldest record"
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 0 < mapping["MaximumRetryAttempts"] <= 100
    assert mapping["ParallelizationFactor"] == 10, "one shop's slow webhook receiver does not hold back every shop"
    dlq_id = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert resources[dlq_id]["Properties"]["QueueName"] == f"{PREFIX}-{names.DISPATCH_DLQ}"
    assert resources[dlq_id + "DepthAlarm"]["Type"] == "AWS::CloudWatch::Alarm"
    role = statements(template, resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0])
    stream_arn = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{PREFIX}-orders/stream/*"
    assert [s["Resource"] for s in role if "dynamodb:GetRecords" in s["Action"]] == [[{"Fn::Sub": stream_arn}]]
    streams = [s for s in role if "dynamodb:GetRecords" in s["Action"]]
    assert sorted(a for s in streams for a in s["Action"]) == sorted(iam.CONSUME_STREAM)
    tables = {r["Fn::Sub"].rsplit("/", 1)[-1]: sorted(s["Action"]) for s in role if s not in streams
              for r in s["Resource"] if ":dynamodb:" in r["Fn::Sub"]}
    assert tables == {f"{PREFIX}-{names.TENANTS_TABLE}": ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query"],
                      f"{PREFIX}-{names.WEBHOOK_DELIVERIES_TABLE}": ["dynamodb:GetItem", "dynamodb:PutItem"]}
    dlq_arn = f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{PREFIX}-{names.DISPATCH_DLQ}"
    assert any(s["Resource"] == [{"Fn::Sub": dlq_arn}] and s["Action"] == ["sqs:SendMessage"] for s in role)
    api = statements(template, "APIHandlerRole")
    assert not any("dispatch" in r["Fn::Sub"] for s in api for r in s["Resource"]), "intake sends no dispatch message"


def test_a_handler_on_a_stream_infra_does_not_define_cannot_be_packaged() -> None:
    events = {"E": {"Type": "DynamoDB", "Properties": {"Stream": names.table_stream_arn(PREFIX, names.RECEIPTS_TABLE)}}}
    with pytest.raises(TemplateError, match="not a table stream of infra/definitions.py"):
        assemble(chalice_output("app.dispatch_orders", events), iam.Scope(PREFIX, "/p"))


def test_each_function_has_its_own_role_and_log_group(template: dict[str, Any]) -> None:
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for _, f in functions(template)]
    assert len(set(roles)) == len(roles) == len(iam.FUNCTION_GRANTS)
    assert "DefaultRole" not in template["Resources"]
    for function_id, function in functions(template):
        log_group = template["Resources"][function["DependsOn"]]["Properties"]["LogGroupName"]
        assert log_group == f"/aws/lambda/{function['Properties']['FunctionName']}"


_ARN_TEMPLATE = re.compile(r"^arn:\$\{AWS::Partition\}:(?P<service>[a-z0-9-]+):(?P<rest>.+)$")
_SCOPED_WILDCARDS = (
    re.compile(rf"^sqs:\$\{{AWS::Region\}}:\$\{{AWS::AccountId\}}:{PREFIX}-jobs-{re.escape(iam.UUID_WILDCARD)}$"),
    re.compile(rf"^logs:\$\{{AWS::Region\}}:\$\{{AWS::AccountId\}}:log-group:/aws/lambda/{PREFIX}-[a-z_]+:\*$"),
    re.compile(rf"^s3:::{PREFIX}-\$\{{AWS::AccountId\}}-[a-z-]+/receipts/\*$"),
    re.compile(rf"^dynamodb:\$\{{AWS::Region\}}:\$\{{AWS::AccountId\}}:table/{PREFIX}-[a-z-]+/stream/\*$"),
    re.compile(rf"^s3:::{PREFIX}-\$\{{AWS::AccountId\}}-sales-reports/sales/\*$"),
)


def test_iam_statements_have_no_wildcard_actions_and_scoped_resources(template: dict[str, Any]) -> None:
    role_ids = of_type(template, "AWS::IAM::Role")
    assert len(role_ids) == len(iam.FUNCTION_GRANTS) + 1  # + the edge role
    for role_id in role_ids:
        for statement in statements(template, role_id):
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), f"{role_id}: {action}"
            for resource in statement["Resource"]:
                match = _ARN_TEMPLATE.match(resource["Fn::Sub"])
                assert match, f"{role_id}: {resource}"
                arn = f"{match['service']}:{match['rest']}"
                own = PREFIX in arn or arn.endswith(f":parameter/receipt-bridge/{STAGE}/jwt-secret")
                assert own, f"{role_id}: {arn} is not one of this stage's resources"
                if "*" in arn or "?" in arn:
                    assert any(p.match(arn) for p in _SCOPED_WILDCARDS), f"{role_id}: unscoped wildcard in {arn}"


def test_only_the_api_may_assume_the_edge_role(template: dict[str, Any]) -> None:
    edge = template["Resources"]["EdgeRole"]["Properties"]
    (trust,) = edge["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::GetAtt": ["APIHandlerRole", "Arn"]}}
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    (allowed,) = statements(template, "EdgeRole")
    assert sorted(allowed["Action"]) == sorted(iam.EDGE_QUEUE_ACTIONS)
    assert edge["RoleName"] == f"{PREFIX}-edge"
    api = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api["BRIDGE_EDGE_ROLE_ARN"] == {"Fn::GetAtt": ["EdgeRole", "Arn"]}


def test_jwt_key_comes_from_ssm_and_only_the_api_reads_it(template: dict[str, Any]) -> None:
    readers = {role_id for role_id in of_type(template, "AWS::IAM::Role")
               for s in statements(template, role_id) if "ssm:GetParameter" in s["Action"]}
    assert readers == {"APIHandlerRole"}
    for _, function in functions(template):
        variables = function["Properties"]["Environment"]["Variables"]
        assert "BRIDGE_JWT_SECRET" not in variables
        assert variables["BRIDGE_JWT_SECRET_PARAM"] == f"/receipt-bridge/{STAGE}/jwt-secret"


def chalice_output(handler: str, events: dict[str, Any]) -> dict[str, Any]:
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Handler": handler, "Events": events}}
    api = {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.app"}}
    return {"Resources": {"APIHandler": api, "NewHandler": function}, "Outputs": {}}


def test_a_handler_on_a_queue_infra_does_not_define_cannot_be_packaged() -> None:
    arn = f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{PREFIX}-no-such-queue"
    events = {"E": {"Type": "SQS", "Properties": {"Queue": {"Fn::Sub": arn}}}}
    with pytest.raises(TemplateError, match="not a queue of infra/definitions.py"):
        assemble(chalice_output("app.send_webhooks", events), iam.Scope(PREFIX, "/p"))


def test_a_handler_without_grants_cannot_be_packaged() -> None:
    with pytest.raises(iam.IamDefinitionError, match="FUNCTION_GRANTS"):
        assemble(chalice_output("app.brand_new_handler", {}), iam.Scope(PREFIX, "/p"))


@pytest.mark.parametrize("environment, message", [
    ({"BRIDGE_STAGE": "dev", "BRIDGE_JWT_SECRET": "x", "BRIDGE_JWT_SECRET_PARAM": "/p"}, "never be in config.json"),
    ({"BRIDGE_STAGE": "dev"}, "needs BRIDGE_JWT_SECRET_PARAM"),
    ({"BRIDGE_STAGE": "prod", "BRIDGE_JWT_SECRET_PARAM": "/p"}, "must set BRIDGE_STAGE=dev"),
])
def test_packaging_refuses_unsafe_stage_config(tmp_path: Path, environment: dict[str, str], message: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stages": {"dev": {"environment_variables": environment}}}))
    with pytest.raises(PackagingError, match=message):
        stage_environment("dev", config)


def test_packaging_refuses_unknown_stage() -> None:
    with pytest.raises(PackagingError, match="not in"):
        stage_environment("no-such-stage")


def test_api_gateway_answers_nothing_itself_but_in_the_error_contract(template: dict[str, Any]) -> None:
    """Issue 27 point 10: a path no route serves reaches the app's catch-all (Chalice's greedy ``/{proxy+}``, and
    ``/``) for every method, so API Gateway's 403 "Missing Authentication Token" is never the answer; what the
    gateway does answer itself (a method the path lacks, throttling, ...) is the DESIGN §4 body with a request-id."""
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    for catch_all in ("/", "/{proxy+}"):
        assert {"get", "post", "put", "patch", "delete", "head", "options"} <= set(paths[catch_all]), catch_all
        assert paths[catch_all]["get"]["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in of_type(template, "AWS::ApiGateway::GatewayResponse").values()}
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["RestApiId"] == {"Ref": "RestAPI"} and missing["StatusCode"] == "405"
    assert missing["ResponseParameters"]["gatewayresponse.header.request-id"] == "context.requestId"
    for response_type, properties in responses.items():
        body = json.loads(properties["ResponseTemplates"]["application/json"])
        assert set(body) == {"status_code", "error", "code", "message"}, response_type
        assert str(body["status_code"]) == properties["StatusCode"] and re.fullmatch(r"E_[A-Z_]+", body["code"])
    assert {"THROTTLED", "INTEGRATION_TIMEOUT"} <= set(responses)
