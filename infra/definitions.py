"""Tables and queues of the bridge, defined once.

``infra.provision`` creates them through boto3 (the local stack, tests);
deployment templates are generated from the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.core import resource_names as names


@dataclass(frozen=True)
class Index:
    """A global secondary index; ``include`` projects only those attributes besides the keys (None: all)."""

    name: str
    hash_key: str
    range_key: str | None = None
    include: tuple[str, ...] | None = None

    def projection(self) -> dict[str, object]:
        if self.include is None:
            return {"ProjectionType": "ALL"}
        if not self.include:
            return {"ProjectionType": "KEYS_ONLY"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.include)}


@dataclass(frozen=True)
class Table:
    logical: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    stream: str | None = None
    """A DynamoDB Streams view type (``NEW_IMAGE``...) when a handler consumes the table's changes."""

    def attributes(self) -> dict[str, str]:
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        types = {"created_at": "N"}
        return {k: types.get(k, "S") for k in keys if k}


@dataclass(frozen=True)
class Queue:
    logical: str
    visibility_timeout: int = 60
    retention_seconds: int = 4 * 86400
    dead_letter: str | None = None
    max_receive_count: int = 5
    fifo: bool = False
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bucket:
    """A private, encrypted bucket; objects expire after ``expire_days`` when set."""

    logical: str
    expire_days: int | None = None


TABLES: tuple[Table, ...] = (
    # refresh-token families, rate windows, pairing codes; shops whose edge may have gone silent (the fleet's offline watch)
    Table(names.TENANTS_TABLE, "pk", "sk", ttl_attribute="expires_at",
          indexes=(Index(names.EDGE_SILENCE_INDEX, "edge_watch_shard", "edge_silent_at",
                         include=("deleted_at", "webhook_url", "webhook_events", "edge_offline_for")),)),
    Table(names.ORDERS_TABLE, "pk", "sk", stream="NEW_AND_OLD_IMAGES"),  # dispatch and webhooks follow an order's changes
    Table(
        names.RECEIPTS_TABLE,
        "receipt_id",
        indexes=(
            Index(names.RECEIPTS_BY_MERCHANT_INDEX, "merchant_id", "created_at"),
        ),
    ),
    Table(names.WEBHOOK_DELIVERIES_TABLE, "pk", "sk", indexes=(Index(names.WEBHOOK_DUE_INDEX, "due_shard", "due_at"),),
          ttl_attribute="expires_at"),
)

QUEUES: tuple[Queue, ...] = (
    Queue(names.JOBS_DLQ, retention_seconds=14 * 86400),
    Queue(names.DISPATCH_DLQ, retention_seconds=14 * 86400),
    Queue("pdfs-dlq", retention_seconds=14 * 86400),
    Queue(names.PDFS_QUEUE, visibility_timeout=120, dead_letter="pdfs-dlq"),
    Queue("webhooks-dlq.fifo", retention_seconds=14 * 86400, fifo=True),
    Queue(names.WEBHOOKS_QUEUE, visibility_timeout=30, dead_letter="webhooks-dlq.fifo", max_receive_count=10,
          fifo=True),
)

@dataclass(frozen=True)
class StreamConsumer:
    """How a table's stream is fed to its handler (the Lambda event source mapping).

    A batch that raises is split in two and retried (``bisect``) until the failing record is alone;
    a record that still fails after ``max_retries`` is reported to ``on_failure`` (a queue with a DLQ
    alarm; the message names the shard and sequence numbers, the record stays readable for the
    stream's 24 hours) and the shard moves on. A handler that only partly failed names the first
    record it did not finish (ReportBatchItemFailures) and the shard resumes from there, so records
    of one shard are handled in stream order. ``parallelization`` batches of one shard run at once, each
    partition key's records (one shop's, on the orders table) still in order: a shop whose webhook
    receiver is slow holds back only the shops that share its lane (an order's first webhook attempt
    is made in this handler)."""

    table: str
    on_failure: str
    max_retries: int = 10
    bisect: bool = True
    starting_position: str = "TRIM_HORIZON"
    parallelization: int = 10


STREAM_CONSUMERS: tuple[StreamConsumer, ...] = (StreamConsumer(names.ORDERS_TABLE, on_failure=names.DISPATCH_DLQ),)

BUCKETS: tuple[Bucket, ...] = (Bucket(names.PDF_BUCKET), Bucket(names.REPORTS_BUCKET, expire_days=1))

EDGE_ROLE = "edge"
