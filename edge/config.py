"""The edge's TOML configuration, validated into one pydantic model."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

JOURNAL_FILE = "journal.sqlite"


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message is one line, fit for an operator."""


class FiscalDeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manufacturer: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=64)] = "Fiscal printer"


class EdgeConfig(BaseModel):
    """Everything ``edge run`` needs; times in seconds, a relative ``state_dir`` from the working directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base: AnyHttpUrl
    edge_key: SecretStr = Field(min_length=1)
    aws_endpoint_url: AnyHttpUrl | None = None
    state_dir: Path
    manage_host: str = "127.0.0.1"
    manage_port: Annotated[int, Field(ge=1, le=65535)] = 8765
    wait_time_seconds: Annotated[int, Field(ge=1, le=20)] = 20
    hold_visibility_seconds: Annotated[int, Field(ge=1, le=43200)] = 300
    extend_visibility_after_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    retry_initial_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    retry_max_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    device_max_attempts: Annotated[int, Field(ge=1, le=10000)] = 20
    http_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    session_refresh_ratio: Annotated[float, Field(ge=0.1, le=0.95)] = 0.8
    fiscal_device: FiscalDeviceConfig

    @field_validator("manage_host")
    @classmethod
    def _loopback_only(cls, host: str) -> str:
        """The management API has no authentication, so it must not be reachable from the network."""
        if host == "localhost":
            return host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError as exc:
            raise ValueError("must be a loopback address such as 127.0.0.1") from exc
        if not loopback:
            raise ValueError("must be a loopback address such as 127.0.0.1")
        return host

    @model_validator(mode="after")
    def _retry_bounds(self) -> EdgeConfig:
        if self.retry_max_seconds < self.retry_initial_seconds:
            raise ValueError("retry_max_seconds must be at least retry_initial_seconds")
        return self

    @property
    def api_root(self) -> str:
        return str(self.api_base).rstrip("/")

    @property
    def journal_path(self) -> Path:
        return self.state_dir / JOURNAL_FILE


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a TOML config file; raise ``ConfigError`` with a one-line reason."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid TOML: {exc}") from exc
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"config {path} is invalid: {_describe(exc)}") from exc
