"""Parsing request bodies and parameters into pydantic models with typed 400s.

Every parsed body is also checked for text no name may hold: C0 control characters other than tab, line feed
and carriage return, the noncharacters U+FFFE and U+FFFF, and lone surrogates. They break XML and spreadsheets
(an XLSX cell refuses them) long after the order was accepted, so they are refused at the boundary.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.contracts import Identifier
from chalicelib.core.errors import SchemaValidationError

_identifier: TypeAdapter[str] = TypeAdapter(Identifier)

Model = TypeVar("Model", bound=BaseModel)


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def reject_forbidden_text(value: Any, where: str = "body") -> None:
    """Raise SchemaValidationError naming the first string (key or value) that holds a forbidden character."""
    if isinstance(value, str):
        found = _FORBIDDEN_TEXT.search(value)
        if found:
            raise SchemaValidationError(f"{where}: control character U+{ord(found.group()):04X} is not allowed")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            reject_forbidden_text(getattr(value, name), f"{where}.{name}" if where != "body" else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_forbidden_text(key, where)
            reject_forbidden_text(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            reject_forbidden_text(item, f"{where}.{index}")


def parse_body(model: type[Model], raw: bytes | None) -> Model:
    if not raw:
        raise SchemaValidationError("request body is required")
    try:
        parsed = model.model_validate_json(raw)
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc
    reject_forbidden_text(parsed)
    return parsed


def parse_data(model: type[Model], data: object) -> Model:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc
    reject_forbidden_text(parsed)
    return parsed


def uuid4_param(value: str, name: str) -> str:
    """A path parameter that must be a UUIDv4, returned in canonical form."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError) as exc:
        raise SchemaValidationError(f"{name} must be a UUIDv4") from exc
    if parsed.version != 4 or parsed.variant != uuid.RFC_4122:
        raise SchemaValidationError(f"{name} must be a UUIDv4")
    return str(parsed)


def identifier_param(value: str, name: str) -> str:
    """A path parameter naming one of the merchant's own ids (order, catalogue entry)."""
    try:
        return _identifier.validate_python(value)
    except ValidationError as exc:
        raise SchemaValidationError(f"{name} must be 1-64 characters of A-Z a-z 0-9 . _ : -") from exc
