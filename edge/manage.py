"""The local management API under ``/manage`` (FisCool Headless API shape, seed 000), served from a thread.

Seed endpoints answer exactly as the seed; every error is ``{"success": false, "message", "code"}``
with a 4xx status. Beyond the seed: ``status``, ``get_fiscal_devices``, ``get_pos_terminals``,
``device_operation`` and the simulated register's service endpoints under ``simulator/``.

Every route answers only to loopback (``LoopbackOnly``, DESIGN §5); the dangerous calls (device
changes, updates, notification settings, Z reports, card payments and till sales) also need the local token.
``GET /`` is the operator's page (``edge.operator_page``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.comports import list_com_ports
from edge.config import SerialConnection, serial_port_url
from edge.devices import (
    ConfigRejected,
    DeviceConfig,
    DeviceRef,
    SerialLink,
    SupportedDevices,
    as_listed,
    fiscal_settings,
    supported_devices,
    terminal_as_listed,
    terminal_settings,
)
from edge.drivers.base import DeviceError, UnsupportedDevice, UnsupportedOperation
from edge.fiscal_day.service import FiscalDay
from edge.hub import DeviceHub, NotConfigured, UnknownPrinter
from edge.journal import ActionType, Journal, JournalEntry
from edge.local_token import TOKEN_FILE, matches
from edge.loopback_guard import LoopbackOnly
from edge.notify import NotificationConfig
from edge.operations import (
    OperationFailed,
    OperationOutcome,
    OperationRequest,
    Operations,
)
from edge.operator_page.page import operator_router
from edge.operator_page.tokens import PageTokens
from edge.session import CloudLink
from edge.simulator_service import FaultChanges, SimulatorService
from edge.store import FiscalDeviceEntry, Settings, TerminalEntry, new_id
from edge.tillsales.model import SaleIn, SaleRefused, SaleReply
from edge.tillsales.service import TillSales
from edge.updates import InstallUpdateRequest, UpdateCheckResponse, UpdateError, Updater

_CODES = {400: "E_BAD_REQUEST", 404: "E_NOT_FOUND", 405: "E_METHOD_NOT_ALLOWED"}
EpochMs = Annotated[int, Field(ge=0, le=10**14, strict=True)]
# Operations that close the fiscal day or move money on the card terminal (issue 19): token only.
TOKEN_ACTIONS = frozenset({ActionType.Z_REPORT, ActionType.SALE, ActionType.SETTLEMENT})
_bearer = HTTPBearer(auto_error=False, scheme_name="LocalToken", description=f"The local token in <state_dir>/{TOKEN_FILE}.")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


class ManageError(Exception):
    """The management API could not start."""


class LocalTokenRequired(Exception):
    """A dangerous call came without the state directory's local token."""


class JournalRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: EpochMs
    end_time: EpochMs

    @model_validator(mode="after")
    def _ordered(self) -> JournalRange:
        if self.end_time < self.start_time:
            raise ValueError("end_time must not be before start_time")
        return self


class Reply(BaseModel):
    success: bool = True
    message: str


class ManageContext(BaseModel):
    """What the API serves from; built by the runner."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    journal: Journal
    hub: DeviceHub
    link: CloudLink
    operations: Operations
    sales: TillSales
    fiscal_day: FiscalDay
    updater: Updater
    simulator: SimulatorService
    serial_port_globs: list[str]
    serial_port_urls: list[str]
    manage_host: str
    manage_port: int
    local_token: SecretStr
    time_zone: str = "UTC"


def _error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    content = {"success": False, "message": message, "code": code or _CODES.get(status, "E_HTTP")}
    return JSONResponse(status_code=status, content=content, headers=headers)


def _token_check(ctx: ManageContext) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """A route dependency (or a call, for ``device_operation``): ``LocalTokenRequired`` unless the
    request's bearer credentials are the local token."""

    def require_local_token(credentials: Bearer) -> None:
        if not matches(ctx.local_token, credentials.credentials if credentials else None):
            raise LocalTokenRequired

    return require_local_token


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def _device_router(ctx: ManageContext) -> APIRouter:
    router = APIRouter(prefix="/manage")
    store = ctx.hub.store
    token = [Depends(_token_check(ctx))]

    @router.post("/save_fiscal_device", dependencies=token)
    def save_fiscal_device(body: DeviceConfig) -> Reply:
        ports = list_com_ports(ctx.serial_port_globs, ()) if isinstance(body.connection_details, SerialLink) else []

        def change(settings: Settings) -> Settings:
            index = _index(settings.fiscal_devices, body.id, "fiscal device")
            previous = settings.fiscal_devices[index].settings if index is not None else None
            config = fiscal_settings(body, previous, ports)
            entry = FiscalDeviceEntry(device=as_listed(body.model_copy(update={"id": body.id or new_id()}), config), settings=config)
            settings.fiscal_devices = _put(settings.fiscal_devices, index, entry)
            return settings

        store.update(change)
        return Reply(message="Fiscal device saved successfully")

    @router.post("/delete_fiscal_device", dependencies=token)
    def delete_fiscal_device(body: DeviceRef) -> Reply:
        def change(settings: Settings) -> Settings:
            index = _index(settings.fiscal_devices, body.id, "fiscal device")
            settings.fiscal_devices = [e for i, e in enumerate(settings.fiscal_devices) if i != index]
            return settings

        store.update(change)
        return Reply(message="Fiscal device deleted successfully")

    @router.post("/save_pos_terminal", dependencies=token)
    def save_pos_terminal(body: DeviceConfig) -> Reply:
        def change(settings: Settings) -> Settings:
            index = _index(settings.pos_terminals, body.id, "POS terminal")
            previous = settings.pos_terminals[index].settings if index is not None else None
            device = terminal_as_listed(body.model_copy(update={"id": body.id or new_id()}))
            entry = TerminalEntry(device=device, settings=terminal_settings(body, previous))
            settings.pos_terminals = _put(settings.pos_terminals, index, entry)
            return settings

        store.update(change)
        return Reply(message="POS terminal saved successfully")

    @router.post("/delete_pos_terminal", dependencies=token)
    def delete_pos_terminal(body: DeviceRef) -> Reply:
        def change(settings: Settings) -> Settings:
            index = _index(settings.pos_terminals, body.id, "POS terminal")
            settings.pos_terminals = [e for i, e in enumerate(settings.pos_terminals) if i != index]
            return settings

        store.update(change)
        return Reply(message="POS terminal deleted successfully")

    @router.get("/get_fiscal_devices")
    def get_fiscal_devices() -> list[DeviceConfig]:
        return [e.device for e in store.get().fiscal_devices]

    @router.get("/get_pos_terminals")
    def get_pos_terminals() -> list[DeviceConfig]:
        return [e.device for e in store.get().pos_terminals]

    @router.get("/get_com_ports")
    def get_com_ports() -> list[str]:
        in_use = (e.settings.connection.port for e in store.get().fiscal_devices if isinstance(e.settings.connection, SerialConnection))
        return list_com_ports(ctx.serial_port_globs, [*ctx.serial_port_urls, *(port for port in in_use if serial_port_url(port))])

    @router.get("/get_supported_devices")
    def get_supported_devices() -> SupportedDevices:
        return supported_devices()

    @router.get("/get_notification_config")
    def get_notification_config() -> NotificationConfig:
        return store.get().notification

    @router.post("/save_notification_config", dependencies=token)
    def save_notification_config(body: NotificationConfig) -> Reply:
        def change(settings: Settings) -> Settings:
            settings.notification = body
            return settings

        store.update(change)
        return Reply(message="Notification config saved successfully")

    return router


def _index(entries: list[Any], device_id: str | None, kind: str) -> int | None:
    """Where the device with ``device_id`` is; None for a new device; 404 for an unknown id."""
    if device_id is None:
        return None
    for i, entry in enumerate(entries):
        if entry.device.id == device_id:
            return i
    raise ConfigRejected(404, "E_DEVICE_NOT_FOUND", f"no {kind} with id {device_id}")


def _put(entries: list[Any], index: int | None, entry: Any) -> list[Any]:
    if index is None:
        return [*entries, entry]
    return [entry if i == index else e for i, e in enumerate(entries)]


def _system_router(ctx: ManageContext) -> APIRouter:
    router = APIRouter(prefix="/manage")
    check_token = _token_check(ctx)

    @router.get("/status")
    def status() -> dict[str, Any]:
        summary = ctx.journal.summary()
        session = ctx.link.current
        devices = ctx.fiscal_day.statuses()
        return {
            "success": True,
            "shop_id": session.shop_id if session else None,
            "queue_url": session.queue_url if session else None,
            "device": devices[0].status.model_dump(mode="json") if devices else None,
            "devices": [view.model_dump(mode="json") for view in devices],
            "backlog": summary.backlog,
            "counts": summary.counts,
            "last_result": summary.last_result.model_dump(mode="json") if summary.last_result else None,
            "sales": {"pending": ctx.journal.pending_sales(), "counts": ctx.journal.sale_counts()},
            "online": ctx.link.online,
            "version": ctx.updater.current_version(),
        }

    @router.post("/sales", dependencies=[Depends(check_token)])
    def sales(body: SaleIn) -> SaleReply:
        return ctx.sales.sell(body)

    @router.post("/get_journal_entries")
    def get_journal_entries(body: JournalRange) -> list[JournalEntry]:
        return ctx.journal.entries(body.start_time, body.end_time)

    @router.post("/device_operation")
    def device_operation(body: OperationRequest, credentials: Bearer) -> OperationOutcome:
        if body.action_type in TOKEN_ACTIONS:
            check_token(credentials)
        return ctx.operations.run(body)

    @router.get("/check_for_updates")
    def check_for_updates() -> UpdateCheckResponse:
        return ctx.updater.check()

    @router.post("/install_update", dependencies=[Depends(check_token)])
    def install_update(body: InstallUpdateRequest) -> Reply:
        ctx.updater.install(body.version)
        return Reply(message="Update installation started")

    @router.get("/simulator/faults")
    def simulator_faults() -> dict[str, Any]:
        return ctx.simulator.faults().model_dump()

    @router.post("/simulator/set_faults")
    def simulator_set_faults(body: FaultChanges) -> dict[str, Any]:
        return ctx.simulator.set_faults(body).model_dump()

    @router.post("/simulator/close_day", dependencies=[Depends(check_token)])
    def simulator_close_day() -> dict[str, Any]:
        report = ctx.simulator.close_day()
        return {"success": True, "message": f"The register made Z report {report.z_number} by itself", "z_number": report.z_number}

    @router.get("/simulator/electronic_journal", response_class=PlainTextResponse)
    def simulator_electronic_journal() -> str:
        return ctx.simulator.electronic_journal()

    return router


def create_manage_app(ctx: ManageContext) -> FastAPI:
    app = FastAPI(title="Receipt Bridge edge management", docs_url=None, redoc_url=None, openapi_url="/manage/openapi.json")
    app.add_middleware(LoopbackOnly, bound_host=ctx.manage_host, port=ctx.manage_port)
    app.include_router(_device_router(ctx))
    app.include_router(_system_router(ctx))
    tokens = PageTokens(ctx.local_token)
    app.include_router(operator_router(ctx.journal, ctx.fiscal_day, ctx.operations, ctx.link, tokens, ZoneInfo(ctx.time_zone)))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(LocalTokenRequired)
    async def token_required(_: Request, __: LocalTokenRequired) -> JSONResponse:
        message = f"this call needs Authorization: Bearer <the token in the edge's state directory, {TOKEN_FILE}>"
        return _error(401, message, "E_LOCAL_TOKEN_REQUIRED", {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ConfigRejected)
    async def rejected(_: Request, exc: ConfigRejected) -> JSONResponse:
        return _error(exc.status, str(exc), exc.code)

    @app.exception_handler(UpdateError)
    async def update_error(_: Request, exc: UpdateError) -> JSONResponse:
        return _error(exc.status, str(exc), exc.code)

    @app.exception_handler(NotConfigured)
    async def not_configured(_: Request, exc: NotConfigured) -> JSONResponse:
        return _error(404, str(exc), "E_DEVICE_NOT_FOUND")

    @app.exception_handler(UnsupportedDevice)
    async def unsupported_device(_: Request, exc: UnsupportedDevice) -> JSONResponse:
        return _error(409, str(exc), "E_UNSUPPORTED_DEVICE")

    @app.exception_handler(OperationFailed)
    async def operation_failed(_: Request, exc: OperationFailed) -> JSONResponse:
        status = 400 if isinstance(exc.error, UnsupportedOperation) else 409
        return _error(status, str(exc), exc.error.code)

    @app.exception_handler(SaleRefused)
    async def sale_refused(_: Request, exc: SaleRefused) -> JSONResponse:
        return _error(exc.status, str(exc), exc.code)

    @app.exception_handler(UnknownPrinter)
    async def unknown_printer(_: Request, exc: UnknownPrinter) -> JSONResponse:
        return _error(422, str(exc), exc.code)

    @app.exception_handler(DeviceError)
    async def device_error(_: Request, exc: DeviceError) -> JSONResponse:
        return _error(409, str(exc), exc.code)

    return app


class ManageServer:
    """uvicorn in a daemon thread; ``start`` returns once it listens, ``stop`` once it has closed."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self._where = f"{host}:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._serve, name="manage-api", daemon=True)

    def _serve(self) -> None:
        try:
            self._server.run()
        except SystemExit:  # uvicorn exits this way when it cannot bind
            return

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ManageError(f"management API could not listen on {self._where}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
