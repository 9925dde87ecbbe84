"""Fixed-window request counters in DynamoDB: one conditional UpdateItem per counted subject.

A window is one item ``RATE#<scope>#<subject>`` / ``W#<window start>``; ``ADD n :1`` under the
condition ``n < limit`` counts the request and refuses the one past the limit in the same call, so
there is no read and no race. Items expire (TTL ``expires_at``) a window after they end. A fixed
window lets a client send up to twice the limit around a window's edge; for slowing down guessing
of API secrets that is enough, and a sliding window would cost a read per request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib.aws.clients import client
from chalicelib.aws.storage import key, to_item
from chalicelib.core import clock
from chalicelib.core.errors import RateLimited
from chalicelib.core.settings import settings


@dataclass(frozen=True)
class Limit:
    scope: str
    requests: int
    window_seconds: int


AUTH_PER_KEY = Limit("auth-key", requests=60, window_seconds=60)
"""Calls with one api_key. Guessing a 256-bit secret is hopeless at any rate, so this is about floods and
cost: a client that logs in before each call (some integrations do; so do the stack tests' pollers) at up
to one a second stays under it, while a token lasts an hour and one login an hour is all a client needs."""
AUTH_PER_IP = Limit("auth-ip", requests=300, window_seconds=60)
"""Any /auth call from one source IP: several merchants' servers may share a NAT address."""
PAIR_PER_IP = Limit("pair-ip", requests=10, window_seconds=60)
"""``POST /edge/pair`` from one source IP: a person types a code once or twice; ten a minute is plenty."""
PAIR_ALL = Limit("pair-all", requests=1200, window_seconds=60)
"""Every ``POST /edge/pair`` of the deployment: what bounds guessing from many addresses at once. With a fixed
window that is at most 2 x 1200 per minute, so at most 36,000 guesses in a code's 15 minutes against 30**12
(5.3e17) possible codes (``chalicelib.shops.pairing``). A flood makes pairing wait; nothing else shares it."""
PAIRING_CODES_PER_SHOP = Limit("pair-issue", requests=10, window_seconds=60)
"""Codes issued for one shop: bounds how many live codes a leaked merchant token can mint."""


def _subject(value: str) -> str:
    """A fixed-length name for the counted value (an IP, a key): nothing an attacker sends is stored as is."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def hit(limit: Limit, value: str) -> None:
    """Count one request of ``value`` under ``limit``; raise RateLimited (with Retry-After) past it."""
    now = clock.now()
    start = now // limit.window_seconds * limit.window_seconds
    end = start + limit.window_seconds
    try:
        client("dynamodb").update_item(
            TableName=settings().table("tenants"),
            Key=key(f"RATE#{limit.scope}#{_subject(value)}", f"W#{start}"),
            UpdateExpression="ADD n :one SET expires_at = :exp",
            ConditionExpression="attribute_not_exists(n) OR n < :limit",
            ExpressionAttributeValues=to_item({":one": 1, ":exp": end + limit.window_seconds, ":limit": limit.requests}))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise RateLimited(f"too many requests; at most {limit.requests} per {limit.window_seconds} s",
                          retry_after=end - now) from exc
