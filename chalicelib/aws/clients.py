"""boto3 clients, created once per Lambda container and reused.

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` handling, which is how
the local stack points everything at the embedded moto server.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.core.settings import settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.session.Session().client(service, region_name=settings().region, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests switch endpoints between runs)."""
    client.cache_clear()
    queue_url.cache_clear()


@lru_cache(maxsize=None)
def queue_url(name: str) -> str:
    """URL of one of the app's own queues, looked up once per container."""
    return str(client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def send_message_batches(url: str, entries: list[dict[str, Any]]) -> set[int]:
    """SendMessageBatch in tens; return the positions (in ``entries``) that failed."""
    failed: set[int] = set()
    for start in range(0, len(entries), 10):
        batch = entries[start:start + 10]
        response = client("sqs").send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(start + i), **entry} for i, entry in enumerate(batch)])
        failed |= {int(f["Id"]) for f in response.get("Failed", [])}
    return failed
