"""The local management API under ``/manage`` (FisCool Headless API shape), served from a thread."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from edge.drivers.base import FiscalDriver
from edge.journal import Journal, JournalEntry
from edge.session import CloudLink

_CODES = {400: "E_BAD_REQUEST", 404: "E_NOT_FOUND", 405: "E_METHOD_NOT_ALLOWED"}
EpochMs = Annotated[int, Field(ge=0, le=10**14, strict=True)]


class ManageError(Exception):
    """The management API could not start."""


class JournalRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_time: EpochMs
    end_time: EpochMs

    @model_validator(mode="after")
    def _ordered(self) -> JournalRange:
        if self.end_time < self.start_time:
            raise ValueError("end_time must not be before start_time")
        return self


def _error(status: int, message: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"success": False, "message": message, "code": code or _CODES.get(status, "E_HTTP")})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for item in exc.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts)


def create_manage_app(journal: Journal, driver: FiscalDriver, link: CloudLink) -> FastAPI:
    app = FastAPI(title="Receipt Bridge edge management", docs_url=None, redoc_url=None, openapi_url="/manage/openapi.json")
    router = APIRouter(prefix="/manage")

    @router.get("/status")
    def status() -> dict[str, Any]:
        summary = journal.summary()
        session = link.current
        return {
            "success": True,
            "shop_id": session.shop_id if session else None,
            "queue_url": session.queue_url if session else None,
            "device": driver.status().model_dump(mode="json"),
            "backlog": summary.backlog,
            "counts": summary.counts,
            "last_result": summary.last_result.model_dump(mode="json") if summary.last_result else None,
            "online": link.online,
        }

    @router.post("/get_journal_entries")
    def get_journal_entries(body: JournalRange) -> list[JournalEntry]:
        return journal.entries(body.start_time, body.end_time)

    app.include_router(router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

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
