"""The embedded AWS emulator: moto's server with atomic DynamoDB transactions.

moto (5.2) runs TransactWriteItems by deep-copying every table it touches and,
when a condition fails, putting those copies back. Under concurrent requests
that is wrong twice: the copy races with other writers (HTTP 500s), and the
restore erases whatever other requests committed in between (lost orders). It
also costs O(table size) per transaction. Real DynamoDB isolates transactions
from every other write, so this launcher gives moto the same semantics: item
operations share one lock, a transaction checks all conditions first and only
then applies its writes, and a failure while applying restores just the items
it touched.

It also fixes how moto's SQS long poll waits (see ``receive_message`` below)
and drops two costs moto pays on every request that have nothing to do with
AWS: a directory listing of moto's own package to route the request, and an
access-log line (``BRIDGE_MOTO_ACCESS_LOG=1`` brings it back).

    python -m devstack.moto_server -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import sys
import threading
from typing import Any, Callable

from moto import backends as moto_backends
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

_ITEM_LOCK = threading.RLock()
_LOCKED_OPERATIONS = ("put_item", "get_item", "query", "scan", "update_item", "delete_item")
_WRITES = ("Put", "Update", "Delete", "ConditionCheck")


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _ITEM_LOCK:
            return method(self, *args, **kwargs)

    return locked


def _key(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _condition_holds(op: dict[str, Any], current: Any) -> bool:
    expression = op.get("ConditionExpression")
    if expression is None:
        return True
    return bool(get_filter_expression(expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")).expr(current))


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(op["TableName"], key, update_expression=op["UpdateExpression"],
                            expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key)


def _restore(backend: DynamoDBBackend, touched: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> None:
    for table_name, key, before in reversed(touched):
        if before is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, before)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _ITEM_LOCK:
        plan, seen, reasons = [], set(), []
        for entry in transact_items:
            if len(entry) != 1:
                raise TransactWriteSingleOpException()
            op_type, op = next(iter(entry.items()))
            if op_type not in _WRITES:
                raise ValueError(f"unsupported transaction operation {op_type}")
            key = _key(self, op_type, op)
            identity = (op["TableName"], repr(sorted(key.items(), key=lambda kv: kv[0])))
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            current = self.get_item(op["TableName"], key)
            if _condition_holds(op, current):
                reasons.append((None, None, None))
            else:
                wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                old = current.to_json()["Attributes"] if current and wants_old else None
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
            plan.append((op_type, op, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        touched: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        try:
            for op_type, op, key, before in plan:
                touched.append((op["TableName"], key, before))
                _apply(self, op_type, op, key)
        except Exception:
            _restore(self, touched)
            raise


# -- SQS long polling -------------------------------------------------------------------------
#
# moto 5.2's ReceiveMessage with WaitTimeSeconds has three faults that real SQS does not:
# - a FIFO group in flight when the poll starts stays blocked for the whole poll, even after its
#   message is deleted (the pending groups are read once), so the group's next message waits for
#   the poll to run out (up to 20 s) unless another consumer happens to poll;
# - it waits with ``wait_for(lambda: queue.messages)``, which is true as soon as any message is
#   visible, even one it may not hand out (its group is in flight): the poll then spins on the CPU
#   for its whole wait, holding the GIL that every other request of the emulator needs;
# - it takes messages without a lock, so two concurrent polls can both receive the same message.
# Here a poll takes messages under the queue's lock, re-reads the groups in flight on every pass,
# and sleeps until a send, delete or visibility change on that queue wakes it (or until the next
# message's visibility timeout or delay runs out, or the poll's own end).


def _retained(queue: Queue, message: Message) -> bool:
    """moto checks this through get_queue_attributes, which recounts the whole queue per message."""
    return message.sent_timestamp / 1000 + int(queue.message_retention_period) > unix_time()  # type: ignore[operator]


def _take(queue: Queue, count: int, visibility_timeout: int, attribute_names: list[str]) -> list[Message]:
    """One pass over the visible messages, as moto's own loop body; the caller holds the queue's lock."""
    for message in [m for m in queue.pending_messages if m.visible]:
        queue.pending_messages.discard(message)  # its consumer timed out: no longer in flight
    groups_in_flight = {m.group_id for m in queue.pending_messages if m.group_id is not None}
    result: list[Message] = []
    to_dead_letter: list[Message] = []
    for message in queue.messages:
        if queue.fifo_queue and message.group_id and message.group_id in groups_in_flight:
            continue
        if (queue.dead_letter_queue is not None and queue.redrive_policy
                and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]):
            to_dead_letter.append(message)
            continue
        queue.pending_messages.add(message)
        message.mark_received(visibility_timeout=visibility_timeout)
        received = copy.deepcopy(message)  # as moto: filtering attributes must not change the stored message
        _filter_message_attributes(received, attribute_names)
        if not _retained(queue, message):
            break
        result.append(received)
        if len(result) >= count:
            break
    for message in to_dead_letter:
        queue._messages.remove(message)
        queue.dead_letter_queue.add_message(message)
    return result


def _next_change(queue: Queue, now: float) -> float:
    """When the next in-flight or delayed message of the queue becomes receivable (epoch seconds)."""
    times = [t / 1000 for m in queue._messages for t in (m.visible_at, m.delayed_until) if t / 1000 > now]
    return min(times, default=float("inf"))


def receive_message(self: SQSBackend, queue_name: str, count: int, wait_seconds_timeout: int,
                    visibility_timeout: int, message_attribute_names: list[str] | None = None) -> list[Message]:
    queue = self.get_queue(queue_name)
    polling_end = unix_time() + wait_seconds_timeout
    with queue._messages_lock:
        while True:
            result = _take(queue, count, visibility_timeout, message_attribute_names or [])
            now = unix_time()
            if result or not wait_seconds_timeout or now >= polling_end:
                return result
            queue._messages_lock.wait(min(polling_end, _next_change(queue, now)) - now)


def _wakes_pollers(method: Callable[..., Any], queue_of: Callable[..., Queue]) -> Callable[..., Any]:
    """Run ``method`` under the queue's lock and wake its long polls: a message may be receivable now."""

    @functools.wraps(method)
    def waking(*args: Any, **kwargs: Any) -> Any:
        queue = queue_of(*args)
        with queue._messages_lock:
            try:
                return method(*args, **kwargs)
            finally:
                queue._messages_lock.notify_all()

    return waking


def _install_sqs() -> None:
    SQSBackend.receive_message = receive_message
    Queue.delete_message = _wakes_pollers(Queue.delete_message, lambda queue, *_: queue)
    SQSBackend.change_message_visibility = _wakes_pollers(
        SQSBackend.change_message_visibility, lambda backend, queue_name, *_: backend.get_queue(queue_name))


def _install_request_costs() -> None:
    # Every request routed without a host is matched against moto's package directories, listed
    # from disk each time under the router's global lock; the list never changes while running.
    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules
    if os.environ.get("BRIDGE_MOTO_ACCESS_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def install_dynamodb() -> None:
    """Atomic, isolated transactions; also for moto used in-process by threads (the request-counting bench)."""
    if getattr(DynamoDBBackend.transact_write_items, "__module__", "") == __name__:
        return
    for name in _LOCKED_OPERATIONS:
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = transact_write_items


def install() -> None:
    install_dynamodb()
    _install_sqs()
    _install_request_costs()


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
