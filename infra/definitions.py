"""Tables and queues of the bridge, defined once.

``infra.provision`` creates them through boto3 (the local stack, tests);
deployment templates are generated from the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.core import resource_names as names


@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class Table:
    logical: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None

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
    Table(names.TENANTS_TABLE, "pk", "sk", ttl_attribute="expires_at"),  # refresh-token families, rate windows
    Table(names.ORDERS_TABLE, "pk", "sk", indexes=(Index(names.ORDERS_BY_DISPATCH_INDEX, "dispatch_shard", "dispatch_due"),)),
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
    Queue("dispatch-dlq", retention_seconds=14 * 86400),
    Queue(names.DISPATCH_QUEUE, visibility_timeout=120, dead_letter="dispatch-dlq", max_receive_count=10),
    Queue("pdfs-dlq", retention_seconds=14 * 86400),
    Queue(names.PDFS_QUEUE, visibility_timeout=120, dead_letter="pdfs-dlq"),
    Queue("webhooks-dlq.fifo", retention_seconds=14 * 86400, fifo=True),
    Queue(names.WEBHOOKS_QUEUE, visibility_timeout=30, dead_letter="webhooks-dlq.fifo", max_receive_count=10,
          fifo=True),
)

BUCKETS: tuple[Bucket, ...] = (Bucket(names.PDF_BUCKET), Bucket(names.REPORTS_BUCKET, expire_days=1))

EDGE_ROLE = "edge"
