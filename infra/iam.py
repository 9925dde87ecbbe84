"""Least-privilege IAM of every Lambda function and of the edge role, defined once.

``FUNCTION_GRANTS`` maps each Chalice function (``api_handler`` and one per
SQS/scheduled handler in ``app.py``) to the AWS actions its code calls, on the
resources it touches. Three grants are derived rather than written here: reading
the function's own SQS event queue or table stream (from ``app.py``'s decorators),
sending a stream's failed batches to its on-failure queue, and writing its own log group. A handler without an entry cannot be packaged.

Resources are ARN templates over CloudFormation's pseudo parameters
(``${AWS::Partition}``, ``${AWS::Region}``, ``${AWS::AccountId}``): the
template uses them as ``Fn::Sub``, the local stack and tests resolve them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib.core import resource_names as names
from infra.definitions import BUCKETS, EDGE_ROLE, QUEUES, STREAM_CONSUMERS, TABLES

API_HANDLER = "api_handler"
POLICY_VERSION = "2012-10-17"
_ARN = "arn:${AWS::Partition}"
_REGIONAL = "${AWS::Region}:${AWS::AccountId}"


@dataclass(frozen=True)
class Scope:
    """What a stage's ARNs depend on besides the account: the name prefix and the JWT key's parameter."""

    prefix: str
    jwt_secret_param: str | None = None


Resource = Callable[[Scope], str]


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: tuple[Resource, ...]

    def statement(self, scope: Scope) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": sorted(self.actions),
                "Resource": sorted({resource(scope) for resource in self.resources})}


class IamDefinitionError(ValueError):
    """A grant names a resource ``infra.definitions`` lacks, or a function has no grants."""


def _known(logical: str, defined: Iterable[str], kind: str) -> str:
    if logical not in set(defined):
        raise IamDefinitionError(f"{kind} {logical!r} is not defined in infra/definitions.py")
    return logical


def table(logical: str, index: str | None = None) -> Resource:
    """A table, or one of its indexes (Query on an index needs the index ARN)."""
    _known(logical, (t.logical for t in TABLES), "table")
    suffix = f"/index/{index}" if index else ""
    return lambda scope: f"{_ARN}:dynamodb:{_REGIONAL}:table/{names.physical(scope.prefix, logical)}{suffix}"


def table_stream(logical: str) -> Resource:
    """Every stream of a table (its ARN ends in a label chosen when the stream is enabled)."""
    _known(logical, (t.logical for t in TABLES if t.stream), "table stream")
    return lambda scope: f"{_ARN}:dynamodb:{_REGIONAL}:table/{names.physical(scope.prefix, logical)}/stream/*"


def queue(logical: str) -> Resource:
    _known(logical, (q.logical for q in QUEUES), "queue")
    return lambda scope: f"{_ARN}:sqs:{_REGIONAL}:{names.physical(scope.prefix, logical)}"


UUID_WILDCARD = "????????-????-????-????-????????????"
"""IAM ``?`` matches one character: a shop id (UUIDv4) and nothing else, so not ``<prefix>-jobs-dlq``,
which ``<prefix>-jobs-*`` would match too."""


def shop_jobs_queues() -> Resource:
    """Every shop's own jobs queue (created at onboarding), by name pattern."""
    return lambda scope: f"{_ARN}:sqs:{_REGIONAL}:{names.shop_jobs_queue(scope.prefix, UUID_WILDCARD)}"


def bucket_objects(logical: str, keys: str = "*") -> Resource:
    _known(logical, (b.logical for b in BUCKETS), "bucket")
    return lambda scope: f"{_ARN}:s3:::{names.bucket(scope.prefix, '${AWS::AccountId}', logical)}/{keys}"


def edge_role_name(prefix: str) -> str:
    return names.physical(prefix, EDGE_ROLE)


def edge_role() -> Resource:
    return lambda scope: f"{_ARN}:iam::${{AWS::AccountId}}:role/{edge_role_name(scope.prefix)}"


def jwt_secret_parameter() -> Resource:
    def arn(scope: Scope) -> str:
        if not scope.jwt_secret_param:
            raise IamDefinitionError("this stage has no BRIDGE_JWT_SECRET_PARAM to grant")
        return f"{_ARN}:ssm:{_REGIONAL}:parameter/{scope.jwt_secret_param.lstrip('/')}"

    return arn


def log_group(function_name: str) -> Resource:
    return lambda scope: f"{_ARN}:logs:{_REGIONAL}:log-group:{log_group_name(scope.prefix, function_name)}:*"


def function_name(prefix: str, function: str) -> str:
    """The deployed Lambda name, as ``chalice deploy`` would name it."""
    return f"{prefix}-{function}"


def log_group_name(prefix: str, function: str) -> str:
    return f"/aws/lambda/{function_name(prefix, function)}"


SEND_APP_QUEUE = ("sqs:GetQueueUrl", "sqs:SendMessage")
CONSUME_QUEUE = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
CONSUME_STREAM = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords",
                  "dynamodb:ListStreams")
WRITE_LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
EDGE_QUEUE_ACTIONS = names.EDGE_QUEUE_ACTIONS
"""What an edge does with its jobs queue (edge/jobqueue.py): receive, delete, extend visibility."""

FUNCTION_GRANTS: dict[str, tuple[Grant, ...]] = {
    API_HANDLER: (
        Grant(("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
               "dynamodb:ConditionCheckItem"),  # edge results and order intake check the edge or shop key in their transaction
              (table(names.TENANTS_TABLE),)),
        Grant(("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
              (table(names.ORDERS_TABLE),)),
        Grant(("dynamodb:GetItem", "dynamodb:PutItem"), (table(names.RECEIPTS_TABLE),)),
        Grant(("dynamodb:Query",), (table(names.RECEIPTS_TABLE, names.RECEIPTS_BY_MERCHANT_INDEX),)),
        Grant(("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"), (table(names.WEBHOOK_DELIVERIES_TABLE),)),
        Grant(SEND_APP_QUEUE, (queue(names.PDFS_QUEUE), queue(names.WEBHOOKS_QUEUE))),
        Grant(("sqs:CreateQueue", "sqs:TagQueue", "sqs:DeleteQueue"), (shop_jobs_queues(),)),
        # a printed order's PDF, stored before its receipt is written (deleted if that write is refused); presigned links
        Grant(("s3:PutObject", "s3:DeleteObject", "s3:GetObject"), (bucket_objects(names.PDF_BUCKET, "receipts/*"),)),
        # large sales exports: uploaded (multipart above 8 MB) and handed out as presigned links
        Grant(("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"),
              (bucket_objects(names.REPORTS_BUCKET, "sales/*"),)),
        Grant(("sts:AssumeRole", "sts:TagSession"), (edge_role(),)),
        Grant(("ssm:GetParameter",), (jwt_secret_parameter(),)),
    ),
    "render_pdfs": (
        Grant(("dynamodb:GetItem", "dynamodb:BatchWriteItem"), (table(names.RECEIPTS_TABLE),)),
        Grant(("s3:PutObject",), (bucket_objects(names.PDF_BUCKET, "receipts/*"),)),
    ),
    "send_webhooks": (
        # the shop snapshot, and the webhook URL and secret each delivery confirms (in its transaction) or reads
        Grant(("dynamodb:Query", "dynamodb:GetItem", "dynamodb:ConditionCheckItem"), (table(names.TENANTS_TABLE),)),
        Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), (table(names.WEBHOOK_DELIVERIES_TABLE),)),
    ),
    "dispatch_orders": (
        Grant(("sqs:SendMessage",), (shop_jobs_queues(),)),
        # the first attempt of an order's webhooks (chalicelib/webhooks/first_attempts.py), as send_webhooks has
        Grant(("dynamodb:Query", "dynamodb:GetItem", "dynamodb:ConditionCheckItem"), (table(names.TENANTS_TABLE),)),
        Grant(("dynamodb:GetItem", "dynamodb:PutItem"), (table(names.WEBHOOK_DELIVERIES_TABLE),)),
    ),
    "retry_webhooks": (
        Grant(("dynamodb:Query",), (table(names.WEBHOOK_DELIVERIES_TABLE, names.WEBHOOK_DUE_INDEX),)),
        Grant(SEND_APP_QUEUE, (queue(names.WEBHOOKS_QUEUE),)),
    ),
    "watch_edges": (  # chalicelib/fleet/offline.py: silent edges from the index, one claim and one release each
        Grant(("dynamodb:Query",), (table(names.TENANTS_TABLE, names.EDGE_SILENCE_INDEX),)),
        Grant(("dynamodb:UpdateItem",), (table(names.TENANTS_TABLE),)),
        Grant(SEND_APP_QUEUE, (queue(names.WEBHOOKS_QUEUE),)),
    ),
}
"""Batch calls need no extra action: SendMessageBatch is ``sqs:SendMessage``; transactions are
authorised per item as ``dynamodb:PutItem``/``UpdateItem``/``DeleteItem``/``ConditionCheckItem``."""


def function_statements(function: str, scope: Scope, event_queues: Iterable[str] = (),
                        event_streams: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every statement of one function's policy: its grants, its event queues and table streams (and
    their on-failure queues: Lambda sends a failed batch's description with the function's role), its
    log group."""
    if function not in FUNCTION_GRANTS:
        raise IamDefinitionError(f"no IAM grants for Lambda function {function!r}: add it to FUNCTION_GRANTS in infra/iam.py")
    grants = list(FUNCTION_GRANTS[function])
    grants += [Grant(CONSUME_QUEUE, (queue(logical),)) for logical in event_queues]
    on_failure = {c.table: c.on_failure for c in STREAM_CONSUMERS}
    for logical in event_streams:
        grants += [Grant(CONSUME_STREAM, (table_stream(logical),)), Grant(("sqs:SendMessage",), (queue(on_failure[logical]),))]
    grants.append(Grant(WRITE_LOGS, (log_group(function),)))
    return [grant.statement(scope) for grant in grants]


def edge_statements(scope: Scope) -> list[dict[str, Any]]:
    """The edge role's own policy; each session narrows it further to one queue."""
    return [Grant(EDGE_QUEUE_ACTIONS, (shop_jobs_queues(),)).statement(scope)]


def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def as_cloudformation(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements whose ARN templates become ``Fn::Sub`` expressions."""
    return [{**s, "Resource": [{"Fn::Sub": arn} for arn in s["Resource"]]} for s in statements]


def resolve(statements: list[dict[str, Any]], *, partition: str, region: str, account_id: str) -> list[dict[str, Any]]:
    """Statements with concrete ARNs for one account and region."""
    values = {"${AWS::Partition}": partition, "${AWS::Region}": region, "${AWS::AccountId}": account_id}

    def concrete(arn: str) -> str:
        for placeholder, value in values.items():
            arn = arn.replace(placeholder, value)
        return arn

    return [{**s, "Resource": [concrete(arn) for arn in s["Resource"]]} for s in statements]
