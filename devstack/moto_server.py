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

    python -m devstack.moto_server -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
from typing import Any, Callable

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

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


def install() -> None:
    for name in _LOCKED_OPERATIONS:
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = transact_write_items


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
