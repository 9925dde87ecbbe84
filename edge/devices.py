"""Device configuration as the management API speaks it (seed 000's ``DeviceConfig``), mapped onto
the edge's typed connection config, and the supported-devices catalogue.

Every refusal is a ``ConfigRejected`` with an HTTP status, a code and a message for a person.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    SecretStr,
    StrictInt,
    ValidationError,
    field_serializer,
)

from edge.config import (
    BAUD_RATES,
    BadPortUrl,
    FiscalDeviceConfig,
    Hostname,
    HttpConnection,
    OperatorNumber,
    OperatorPassword,
    PosTerminalConfig,
    SerialConnection,
    TcpConnection,
    ZvtConnection,
    reveal,
    serial_port_url,
)
from edge.drivers import FAMILIES
from edge.terminals import simulated as simulated_terminal
from edge.terminals import zvt_models

DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=64)]


class ConfigRejected(Exception):
    """A device configuration the edge will not take."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OperatorDetails(_Strict):
    """Who receipts open as (DESIGN §5). Left out of a save: kept from the device's earlier settings;
    null: the family's factory default. Listed in clear: it is the register's keypad PIN, printed in
    the manual (C doc p.23: operator N's password is N), and the operator must be able to read it back."""

    operator: OperatorNumber | None = None
    operator_password: OperatorPassword | None = None


_OPERATOR_FIELDS = set(OperatorDetails.model_fields)


class SerialDetails(OperatorDetails):
    port: Annotated[str, Field(min_length=1, max_length=255)]
    baud_rate: StrictInt = 115200


class NetworkDetails(OperatorDetails):
    ip_address: Hostname
    port: StrictInt
    username: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    password: Annotated[SecretStr, Field(min_length=1)] | None = None

    @field_serializer("password")
    def _password(self, value: SecretStr | None, info: FieldSerializationInfo) -> str | None:
        return None if value is None else reveal(value, info)


class UsbDetails(_Strict):
    vendor_id: Annotated[int, Field(ge=0, le=0xFFFF)]
    product_id: Annotated[int, Field(ge=0, le=0xFFFF)]
    serial_number: Annotated[str, Field(max_length=128)] | None = None


class SerialLink(_Strict):
    type: Literal["Serial"]
    details: SerialDetails


class NetworkLink(_Strict):
    type: Literal["Network"]
    details: NetworkDetails


class UsbLink(_Strict):
    type: Literal["Usb"]
    details: UsbDetails


ConnectionDetails = Annotated[SerialLink | NetworkLink | UsbLink, Field(discriminator="type")]


class DeviceConfig(_Strict):
    """Seed 000's DeviceConfig: no ``id`` creates a device, an ``id`` updates that one."""

    id: DeviceId | None = None
    name: Text
    manufacturer: Text
    model: Text
    connection_details: ConnectionDetails | None = None
    notes: Annotated[str, Field(max_length=500)] | None = None


class DeviceRef(_Strict):
    """The body of the delete calls."""

    id: DeviceId


class ManufacturerInfo(BaseModel):
    value: str
    label: str
    models: list[str]
    default_port: int | None
    supports_serial: bool
    supports_network: bool


class FiscalCatalogue(BaseModel):
    manufacturers: list[ManufacturerInfo]


class PosCatalogue(BaseModel):
    banks: list[str]
    manufacturers: list[ManufacturerInfo]


class SupportedDevices(BaseModel):
    fiscal: FiscalCatalogue
    pos: PosCatalogue


def supported_devices() -> SupportedDevices:
    fiscal = [
        ManufacturerInfo(
            value=name,
            label=name,
            models=list(family.models),
            default_port=family.default_port,
            supports_serial="serial" in family.connections,
            supports_network=bool({"tcp", "http"} & set(family.connections)),
        )
        for name, family in FAMILIES.items()
    ]
    pos = [
        ManufacturerInfo(
            value=simulated_terminal.MANUFACTURER,
            label=simulated_terminal.MANUFACTURER,
            models=list(simulated_terminal.MODELS),
            default_port=None,
            supports_serial=False,
            supports_network=False,
        )
    ] + [
        ManufacturerInfo(value=name, label=name, models=list(models), default_port=zvt_models.DEFAULT_PORT, supports_serial=False, supports_network=True)
        for name, models in zvt_models.MANUFACTURERS.items()
    ]
    # ZVT is acquirer-independent: the edge knows no bank it works with or without, so it names none.
    return SupportedDevices(fiscal=FiscalCatalogue(manufacturers=fiscal), pos=PosCatalogue(banks=[], manufacturers=pos))


def _check_model(manufacturer: str, model: str, catalogue: dict[str, tuple[str, ...]]) -> None:
    models = catalogue.get(manufacturer)
    if models is None:
        raise ConfigRejected(400, "E_UNSUPPORTED_DEVICE", f"unsupported manufacturer {manufacturer!r} (supported: {', '.join(catalogue)})")
    if model not in models:
        raise ConfigRejected(400, "E_UNSUPPORTED_DEVICE", f"unsupported {manufacturer} model {model!r} (supported: {', '.join(models)})")


def _wrong_link(device: DeviceConfig, allowed: tuple[str, ...]) -> ConfigRejected:
    names = sorted({"Serial" if kind == "serial" else "Network" for kind in allowed})
    given = device.connection_details.type if device.connection_details else "none"
    needs = " or ".join(names) if names else "no connection (it runs inside the edge)"
    return ConfigRejected(400, "E_CONNECTION_TYPE", f"{device.manufacturer} {device.model} takes {needs}, not {given}")


def fiscal_settings(device: DeviceConfig, previous: FiscalDeviceConfig | None, com_ports: list[str]) -> FiscalDeviceConfig:
    """The edge's config for a device as saved through the API; driver tuning of an earlier save is kept."""
    _check_model(device.manufacturer, device.model, {name: family.models for name, family in FAMILIES.items()})
    allowed = FAMILIES[device.manufacturer].connections
    link = device.connection_details
    connection: SerialConnection | TcpConnection | HttpConnection | None
    if link is None:
        if allowed:
            raise _wrong_link(device, allowed)
        connection = None
    elif isinstance(link, SerialLink) and "serial" in allowed:
        if link.details.baud_rate not in BAUD_RATES:
            raise ConfigRejected(400, "E_BAD_BAUD_RATE", f"baud_rate {link.details.baud_rate} is not one of {', '.join(map(str, BAUD_RATES))}")
        _check_serial_port(link.details.port, com_ports)
        connection = SerialConnection(type="serial", port=link.details.port, baud_rate=link.details.baud_rate)
    elif isinstance(link, NetworkLink) and {"tcp", "http"} & set(allowed):
        connection = _network(device, link.details, "http" in allowed)
    else:
        raise _wrong_link(device, allowed)
    kept = previous.model_dump(include={"timeouts", "operator", "operator_password", "vat_codes"}) if previous and previous.manufacturer == device.manufacturer else {}
    if link is not None:
        kept.update(link.details.model_dump(include=_OPERATOR_FIELDS & link.details.model_fields_set))
    try:
        return FiscalDeviceConfig(manufacturer=device.manufacturer, model=device.model, name=device.name, connection=connection, **kept)
    except ValidationError as exc:
        raise ConfigRejected(400, "E_BAD_REQUEST", f"invalid device: {exc.errors()[0]['msg']}") from exc


def as_listed(device: DeviceConfig, settings: FiscalDeviceConfig) -> DeviceConfig:
    """The device as ``get_fiscal_devices`` shows it: its details carry the operator and password in effect."""
    link = device.connection_details
    if not isinstance(link, SerialLink | NetworkLink):
        return device
    details = link.details.model_copy(update={"operator": settings.operator, "operator_password": settings.operator_password})
    return device.model_copy(update={"connection_details": link.model_copy(update={"details": details})})


def _check_serial_port(port: str, com_ports: list[str]) -> None:
    """A local port must exist here; a device server's URL is checked for shape only (it is on the LAN)."""
    try:
        remote = serial_port_url(port)
    except BadPortUrl as exc:
        raise ConfigRejected(400, exc.code, str(exc)) from exc
    if not remote and port not in com_ports:
        raise ConfigRejected(400, "E_BAD_PORT", f"{port} is not a serial port on this machine (see get_com_ports)")


def _network(device: DeviceConfig, details: NetworkDetails, http: bool) -> TcpConnection | HttpConnection:
    if not 1 <= details.port <= 65535:
        raise ConfigRejected(400, "E_BAD_PORT", f"network port {details.port} is not in 1..65535")
    if not http:
        return TcpConnection(type="tcp", host=details.ip_address, port=details.port)
    if details.username is None or details.password is None:
        raise ConfigRejected(400, "E_BAD_REQUEST", f"{device.manufacturer} needs username and password in the Network details")
    host = f"[{details.ip_address}]" if ":" in details.ip_address else details.ip_address
    try:
        return HttpConnection(type="http", url=f"http://{host}:{details.port}", username=details.username, password=details.password)
    except ValidationError as exc:
        raise ConfigRejected(400, "E_BAD_REQUEST", f"invalid network address {details.ip_address!r}") from exc


def link_of(settings: FiscalDeviceConfig) -> SerialLink | NetworkLink | None:
    """The seed's connection details for a device configured in ``edge.toml``."""
    connection = settings.connection
    operator = {"operator": settings.operator, "operator_password": settings.operator_password}
    if isinstance(connection, SerialConnection):
        return SerialLink(type="Serial", details=SerialDetails(port=connection.port, baud_rate=connection.baud_rate, **operator))
    if isinstance(connection, TcpConnection):
        return NetworkLink(type="Network", details=NetworkDetails(ip_address=connection.host, port=connection.port, **operator))
    if isinstance(connection, HttpConnection):
        url = connection.url
        return NetworkLink(
            type="Network",
            details=NetworkDetails(
                ip_address=url.host or "", port=url.port or 80, username=connection.username, password=connection.password, **operator
            ),
        )
    return None


def terminal_settings(device: DeviceConfig, previous: PosTerminalConfig | None) -> PosTerminalConfig:
    """The simulated terminal takes no connection; a ZVT terminal (PAX, Ingenico) a Network one, its ZVT
    password in ``operator_password`` (6 digits). The listing never shows it (``terminal_as_listed``), so left out
    or null it is kept from the earlier save of that terminal; a new terminal gets the factory 000000."""
    _check_model(device.manufacturer, device.model, {simulated_terminal.MANUFACTURER: simulated_terminal.MODELS, **zvt_models.MANUFACTURERS})
    timeout = previous.timeout_seconds if previous else PosTerminalConfig.model_fields["timeout_seconds"].default
    link = device.connection_details
    if device.manufacturer == simulated_terminal.MANUFACTURER:
        if link is not None:
            raise _wrong_link(device, ())
        return PosTerminalConfig(manufacturer=device.manufacturer, model=device.model, name=device.name, timeout_seconds=timeout)
    if not isinstance(link, NetworkLink):
        raise _wrong_link(device, ("tcp",))
    if not 1 <= link.details.port <= 65535:
        raise ConfigRejected(400, "E_BAD_PORT", f"network port {link.details.port} is not in 1..65535")
    factory = PosTerminalConfig.model_fields["password"].default
    kept = previous.password if previous and previous.manufacturer == device.manufacturer else factory
    password = link.details.operator_password or kept
    try:
        return PosTerminalConfig(
            manufacturer=device.manufacturer, model=device.model, name=device.name, timeout_seconds=timeout,
            connection=ZvtConnection(type="tcp", host=link.details.ip_address, port=link.details.port), password=password,
        )  # fmt: skip
    except ValidationError as exc:
        raise ConfigRejected(400, "E_BAD_REQUEST", f"invalid POS terminal: {exc.errors()[0]['msg']} (the ZVT password is 6 digits)") from exc


def terminal_link_of(settings: PosTerminalConfig) -> NetworkLink | None:
    """The seed's connection details for a card terminal configured in ``edge.toml`` (without its password)."""
    if settings.connection is None:
        return None
    return NetworkLink(type="Network", details=NetworkDetails(ip_address=settings.connection.host, port=settings.connection.port))


def terminal_as_listed(device: DeviceConfig) -> DeviceConfig:
    """A card terminal as saved, without its ZVT password: unlike a fiscal operator's keypad PIN it lets
    whoever holds it pay money back to cards (refund 06 31), so it is kept in the settings only."""
    link = device.connection_details
    if not isinstance(link, NetworkLink) or link.details.operator_password is None:
        return device
    details = link.details.model_copy(update={"operator_password": None})
    return device.model_copy(update={"connection_details": link.model_copy(update={"details": details})})
