"""The operator's page routes: ``GET /`` renders it, ``POST /operator/report`` presses X or Z, ``GET /operator/login``
turns ``edge page``'s one-time link into the operator session the Z button needs (see ``tokens``).

Every response carries a Content-Security-Policy that allows no script at all and this page's own inline style
(by nonce), forms only to this origin, and no framing; the loopback guard in front refuses foreign hosts and origins.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import jinja2
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from edge.drivers.base import DeviceError
from edge.fiscal_day.service import FiscalDay
from edge.hub import NotConfigured
from edge.journal import ActionType, Journal
from edge.operations import OperationFailed, OperationRequest, Operations
from edge.operator_page.tokens import SESSION_SECONDS, PageTokens
from edge.operator_page.view import PageView, device_card, recent_rows
from edge.operator_page.words import in_words
from edge.session import CloudLink

log = structlog.get_logger("edge.operator_page")

SESSION_COOKIE = "rb_operator"
MAX_FORM_BYTES = 2048
_ERROR_WARNING = {"E_PAPER_OUT": "W_PAPER_OUT", "E_COVER_OPEN": "W_COVER_OPEN", "E_FISCAL_MEMORY_FULL": "W_FISCAL_MEMORY_FULL",
                  "E_JOURNAL_FULL": "W_JOURNAL_FULL", "E_CLOCK_NOT_SET": "W_CLOCK_NOT_SET", "E_PRINTER_FAULT": "W_PRINTER_FAULT"}
_NOTICES = {
    "done": "{report} report printed{number}.",
    "used": "That button was already pressed on this page: nothing was done again.",
    "expired": "This page was too old to press a button. It has been reloaded: press again if you still need to.",
    "login": "To close the day, open this page with: python -m edge page",
    "busy": "The printer is busy printing. Try again in a moment.",
    "missing": "That printer is no longer set up.",
}
_CODE = re.compile(r"^E_[A-Z_]{1,40}$")
_NUMBER = re.compile(r"^[0-9]{1,10}$")


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("edge.operator_page", "templates"), autoescape=True)


def _secured(response: Response, nonce: str) -> Response:
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" would make the browser send "Origin: null" with the forms
    response.headers["Cache-Control"] = "no-store"
    return response


def _notice(params: dict[str, str]) -> tuple[str | None, bool]:
    """The line above the devices after a button was pressed, built only from values this page sent itself."""
    key = params.get("notice", "")
    if key == "failed":
        code = params.get("code", "")
        if not _CODE.match(code):
            return None, False
        words = in_words(_ERROR_WARNING[code]) if code in _ERROR_WARNING else "The printer refused it."
        return f"The {params.get('report') == 'Z' and 'Z' or 'X'} report was not made ({code}). {words}", True
    if key not in _NOTICES:
        return None, False
    number = params.get("number", "")
    text = _NOTICES[key].format(report="Z" if params.get("report") == "Z" else "X", number=f", No {number}" if _NUMBER.match(number) else "")
    return text, key != "done"


def operator_router(journal: Journal, fiscal_day: FiscalDay, operations: Operations, link: CloudLink, tokens: PageTokens,
                    zone: ZoneInfo) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def page(request: Request) -> Response:
        summary = journal.summary()
        view = PageView(
            cloud_online=link.online,
            shop_id=link.current.shop_id if link.current else None,
            devices=[device_card(v) for v in fiscal_day.statuses()],
            waiting_to_print=summary.counts.get("received", 0) + summary.counts.get("printing", 0),
            waiting_to_send=summary.counts.get("printed", 0) + summary.counts.get("failed", 0),
            recent=recent_rows(journal, zone),
            zone=str(zone),
        )
        nonce = secrets.token_urlsafe(16)
        notice, failed = _notice(dict(request.query_params))
        html = _templates().get_template("operator.html").render(
            view=view, nonce=nonce, form_token=tokens.new_form(), session=tokens.session_valid(request.cookies.get(SESSION_COOKIE)),
            notice=notice, notice_failed=failed, all_ok=all(d.ok for d in view.devices) and bool(view.devices),
        )
        return _secured(HTMLResponse(html), nonce)

    @router.get("/operator/login")
    def login(code: str = "") -> Response:
        if not tokens.login_valid(code[:100]):
            return _secured(RedirectResponse("/?" + urlencode({"notice": "login"}), status_code=303), "-")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, tokens.new_session(), max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/")
        return _secured(response, "-")

    @router.post("/operator/report")
    async def report(request: Request) -> Response:
        form = await _form(request)
        kind = form.get("report")
        if kind not in ("X", "Z") or not tokens.use_form(form.get("form")):
            return _back({"notice": "expired" if kind in ("X", "Z") else "failed", "code": "E_BAD_FORM"})
        if kind == "Z" and not tokens.session_valid(request.cookies.get(SESSION_COOKIE)):
            return _back({"notice": "login"})
        action = ActionType.Z_REPORT if kind == "Z" else ActionType.X_REPORT
        try:
            request_ = OperationRequest(action_type=action, device_id=form.get("device") or None)
        except ValidationError:
            return _back({"notice": "failed", "report": kind, "code": "E_BAD_FORM"})
        try:
            outcome = operations.run(request_, description=f"{kind} report from the operator's page")
        except OperationFailed as exc:
            return _back({"notice": "failed", "report": kind, "code": exc.error.code})
        except NotConfigured:
            return _back({"notice": "missing"})
        except DeviceError as exc:  # the device stayed busy past the hub's wait
            log.info("operator_report_not_made", report=kind, code=exc.code)
            return _back({"notice": "busy"})
        return _back({"notice": "done", "report": kind, "number": outcome.entry.fiscal_number or ""})

    return router


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form of at most ``MAX_FORM_BYTES``; anything else is an empty form (refused by the caller)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("ascii"), max_num_fields=8, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0][:200] for name, values in fields.items() if values}


def _back(params: dict[str, Any]) -> Response:
    """303 to the page (Post/Redirect/Get: a reload shows the page again, never repeats the button)."""
    return _secured(RedirectResponse("/?" + urlencode(params), status_code=303), "-")
