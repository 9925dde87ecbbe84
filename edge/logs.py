"""structlog JSON lines on stderr, for our own events and for stdlib loggers (uvicorn, botocore)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

SECRET_FIELDS = frozenset(
    {"edge_key", "token", "authorization", "credentials", "secret_access_key", "session_token", "access_key_id", "password"}
)


def redact_secrets(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Safety net: a field named like a secret never reaches the log, whoever passed it."""
    for key in event.keys() & SECRET_FIELDS:
        event[key] = "[redacted]"
    return event


def configure_logging(stream: TextIO = sys.stderr, level: int = logging.INFO) -> None:
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.JSONRenderer()],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
