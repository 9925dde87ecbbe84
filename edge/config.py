"""The edge's TOML configuration, validated into one pydantic model."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import tomllib
from datetime import time as dt_time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

JOURNAL_FILE = "journal.sqlite"


class ConfigError(Exception):
    """The configuration file is missing or invalid; the message is one line, fit for an operator."""


BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# The shape every ISL family shares; each family's own tighter rule (P: operator 1..16 and a 4..8-digit
# password, P doc p.16; Daisy: at most 6 digits, Daisy doc p.13) is its driver's to enforce.
# C doc p.10 (30h): operator 1..30, password 1..8 digits; the widest of the three.
OperatorNumber = Annotated[int, Field(ge=1, le=30, strict=True)]
OperatorPassword = Annotated[str, Field(pattern=r"^[0-9]{1,8}$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Hostname = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:_-]+$")]
EmailAddress = Annotated[
    str, Field(min_length=3, max_length=254, pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$")
]


def reveal(value: SecretStr, info: FieldSerializationInfo) -> str:
    """Serialize a secret in clear only when asked (``context={"reveal_secrets": True}``), for the edge's own files."""
    if isinstance(info.context, dict) and info.context.get("reveal_secrets"):
        return value.get_secret_value()
    return str(value)


SERIAL_URL_SCHEMES = ("socket", "rfc2217")
_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


class BadPortUrl(ValueError):
    """A serial port written as a URL that is not a serial device server's ``socket://`` or ``rfc2217://host:port``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def serial_port_url(port: str) -> bool:
    """True for a serial device server's pyserial URL, False for a local port (``/dev/ttyUSB0``, ``COM3``).

    Only ``socket://host:port`` (raw TCP) and ``rfc2217://host:port`` (Telnet COM port control) reach a
    serial-only printer through a device server on the LAN; pyserial's other URL handlers (``loop://``,
    ``spy://``, ``hwgrep://``…) and URL options are refused with ``BadPortUrl``.
    """
    scheme, found, _ = port.partition("://")
    if not found:
        return False
    if scheme not in SERIAL_URL_SCHEMES:
        raise BadPortUrl("E_UNSUPPORTED_PORT_URL", f"{scheme}:// is not a serial device server; use socket://host:port or rfc2217://host:port")
    parts = urlsplit(port)
    if parts.path or parts.query or parts.fragment or parts.username is not None or parts.password is not None:
        raise BadPortUrl("E_BAD_PORT_URL", f"{port!r} must be {scheme}://host:port and nothing else")
    try:
        number = parts.port
    except ValueError as exc:
        raise BadPortUrl("E_BAD_PORT_URL", f"{port!r}: the port must be a number in 1..65535") from exc
    if number is None or number < 1:
        raise BadPortUrl("E_BAD_PORT_URL", f"{port!r}: the port must be a number in 1..65535")
    if not _valid_host(parts.hostname or ""):
        raise BadPortUrl("E_BAD_PORT_URL", f"{port!r}: the host must be an IP address or a DNS name")
    return True


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return 0 < len(host) <= 253 and all(_HOST_LABEL.match(label) for label in host.rstrip(".").split("."))
    return True


SerialPortUrl = Annotated[str, Field(min_length=1, max_length=255)]


class SerialConnection(BaseModel):
    """A serial port (or USB virtual COM port), 8N1; or a serial device server's ``socket://``/``rfc2217://`` URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["serial"]
    port: Annotated[str, Field(min_length=1, max_length=255)]
    baud_rate: int = 115200

    @field_validator("port")
    @classmethod
    def _local_or_device_server(cls, port: str) -> str:
        serial_port_url(port)
        return port

    @field_validator("baud_rate")
    @classmethod
    def _known_rate(cls, rate: int) -> int:
        if rate not in BAUD_RATES:
            raise ValueError(f"must be one of {', '.join(map(str, BAUD_RATES))}")
        return rate


class TcpConnection(BaseModel):
    """A device on the LAN; Datecs printers listen on 3999 by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["tcp"]
    host: Hostname
    port: Port = 3999


ZVT_PORT = 20007  # ZVT over TCP, PA00P016; kotlin-zvt-library ZvtConstants.DEFAULT_PORT


class ZvtConnection(TcpConnection):
    """A card terminal on the LAN: its family speaks ZVT, so without ``port`` it is ZVT's 20007, not a printer's 3999."""

    port: Port = ZVT_PORT


class HttpConnection(BaseModel):
    """A device with an HTTP JSON API (Caspos Mobile listens on 5544)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["http"]
    url: AnyHttpUrl
    username: Annotated[str, Field(min_length=1, max_length=128)]
    password: SecretStr = Field(min_length=1)

    _password = field_serializer("password")(reveal)


Connection = Annotated[SerialConnection | TcpConnection | HttpConnection, Field(discriminator="type")]


class DeviceTimeouts(BaseModel):
    """How long a driver waits for a device; every wait is bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    busy_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3


class FiscalDeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manufacturer: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=64)] = "Fiscal printer"
    connection: Connection | None = None
    timeouts: DeviceTimeouts = DeviceTimeouts()
    operator: OperatorNumber | None = Field(default=None, description="The operator receipts open as; None: the family's factory default.")
    operator_password: OperatorPassword | None = Field(default=None, description="That operator's password; None: the family's factory default.")
    vat_codes: dict[Annotated[Decimal, Field(ge=0, le=100)], Annotated[int, Field(ge=0, le=255)]] = Field(
        default_factory=dict, description="VAT rate (percent) -> the device's VAT code, where the device numbers its VAT types."
    )


class PosTerminalConfig(BaseModel):
    """The card terminal that charges card-paid jobs before they are printed."""

    model_config = ConfigDict(extra="forbid")

    manufacturer: Annotated[str, Field(min_length=1, max_length=64)]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=64)] = "Card terminal"
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 90.0
    # A ZVT terminal (PAX, Ingenico) on the LAN, and its password: 6 digits, 3 BCD bytes (ZVT spec §1.2).
    connection: ZvtConnection | None = None
    password: Annotated[str, Field(pattern=r"^[0-9]{6}$")] = "000000"


class SmtpConfig(BaseModel):
    """The mail server Z reports are sent through (``[smtp]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: Hostname = "127.0.0.1"
    port: Port = 25
    from_address: EmailAddress = "edge@localhost.localdomain"
    starttls: bool = False
    username: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    password: SecretStr | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0


_LOCAL_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ZReportConfig(BaseModel):
    """The fiscal day (``[z_report]``): when the edge closes it with a Z report, and when it warns that one is due.

    ``at`` is a local time ("23:55") in the edge's ``time_zone``; without it nothing is scheduled, and the
    warnings still come. A slot the edge missed (switched off at that minute) is caught up within
    ``catch_up_minutes``, never later: a Z the next morning would close a day that has just begun. Bulgarian
    devices refuse receipts 24 h after the day's first one without a Z, so ``W_Z_REPORT_DUE`` comes
    ``due_warning_hours`` after the day opened (22 by default: two hours to react).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[str, Field(description="HH:MM, 24-hour, in the shop's time zone")] | None = None
    catch_up_minutes: Annotated[int, Field(ge=0, le=720)] = 120
    due_warning_hours: Annotated[float, Field(gt=0, le=24)] = 22.0
    check_seconds: Annotated[float, Field(ge=0.1, le=600)] = 30.0  # how often the devices are looked at for the fiscal day

    @field_validator("at", mode="before")
    @classmethod
    def _local_time(cls, value: object) -> object:
        if isinstance(value, dt_time):  # TOML's own local time: at = 23:55:00
            if value.second or value.microsecond or value.tzinfo is not None:
                raise ValueError("must be a whole minute without a time zone, e.g. 23:55")
            return value.strftime("%H:%M")
        if not isinstance(value, str) or not _LOCAL_TIME.match(value):
            raise ValueError('must be "HH:MM" (24-hour), e.g. "23:55"')
        return value

    def local_time(self) -> dt_time | None:
        return None if self.at is None else dt_time(int(self.at[:2]), int(self.at[3:]))


class DeviceWarningsConfig(BaseModel):
    """Thresholds of the warnings the edge derives itself (``[device_warnings]``).

    ``W_CLOCK_DRIFT`` when a device's clock is more than ``clock_drift_seconds`` off the edge's (60 by default:
    the receipt's printed time is what a customer and an inspector compare with the card slip and the till).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    clock_drift_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60


def loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (brackets allowed): a host only this machine can answer for."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secure_update_url(url: str) -> bool:
    """https, or http to a loopback host (the tests' and devstack's local release server); nothing else."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and loopback_host(parts.hostname or ""))


class UpdatesConfig(BaseModel):
    """Where signed release manifests come from, and the Ed25519 key they must be signed with (``[updates]``).

    ``manifest_url`` must be https: the signature protects the content, but only TLS keeps a network
    attacker from seeing which version a till runs and from holding back new manifests unnoticed.
    Plain http is accepted only to a loopback host, which is how tests and devstack serve releases.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest_url: AnyHttpUrl
    public_key: Annotated[str, Field(description="Raw 32-byte Ed25519 public key, base64.")]
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    max_artifact_bytes: Annotated[int, Field(ge=1, le=2**31)] = 200 * 2**20

    @field_validator("manifest_url")
    @classmethod
    def _https(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if not secure_update_url(str(url)):
            raise ValueError("must be https (plain http only to 127.0.0.1, ::1 or localhost, for tests and devstack)")
        return url

    @field_validator("public_key")
    @classmethod
    def _ed25519_key(cls, text: str) -> str:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be base64") from exc
        if len(raw) != 32:
            raise ValueError("must be a raw 32-byte Ed25519 public key")
        return text


class EdgeConfig(BaseModel):
    """Everything ``edge run`` needs; times in seconds, a relative ``state_dir`` from the working directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base: AnyHttpUrl
    edge_key: SecretStr = Field(min_length=1)
    shop_id: str | None = Field(default=None, description="The shop the edge key is of, as `edge pair` wrote it.")
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
    pos_terminal: PosTerminalConfig | None = None
    serial_port_globs: Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(max_length=32)] = Field(
        default_factory=lambda: ["/dev/serial/by-id/*"],
        description="More places serial ports live (udev names, virtual ports), besides those pyserial finds.",
    )
    serial_port_urls: Annotated[list[SerialPortUrl], Field(max_length=32)] = Field(
        default_factory=list,
        description="Serial device servers on the LAN (socket://host:port, rfc2217://host:port), listed by get_com_ports.",
    )
    smtp: SmtpConfig | None = None
    updates: UpdatesConfig | None = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64, description="The shop's IANA time zone, e.g. Europe/Sofia")] = "UTC"
    z_report: ZReportConfig = ZReportConfig()
    device_warnings: DeviceWarningsConfig = DeviceWarningsConfig()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Sofia)") from exc
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

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

    @field_validator("serial_port_urls")
    @classmethod
    def _device_server_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not serial_port_url(url):
                raise ValueError(f"{url!r} is not a socket:// or rfc2217:// URL (local ports belong in serial_port_globs)")
        return urls

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
