"""Parsing request bodies and parameters into pydantic models with typed 400s."""

from __future__ import annotations

import uuid
from typing import TypeVar

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


def parse_body(model: type[Model], raw: bytes | None) -> Model:
    if not raw:
        raise SchemaValidationError("request body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc


def parse_data(model: type[Model], data: object) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SchemaValidationError(describe(exc)) from exc


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
