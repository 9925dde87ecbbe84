"""The console's pages: each reads through the domain packages' own services (the same ones the API
routes call) for the logged-in merchant only, and renders a template. A shop id of another merchant is
the same 404 as one that does not exist (``shops.owned_by``)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Callable, Literal
from urllib.parse import parse_qs, quote, urlencode, urlparse

import jinja2
from chalice import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.console import session as sessions
from chalicelib.console import trace
from chalicelib.console.routing import SECURITY_HEADERS, page, see_other
from chalicelib.core import clock, money, validation
from chalicelib.core.errors import AuthenticationError, BridgeError, SchemaValidationError
from chalicelib.core.http_api import PAGE_POLICY
from chalicelib.core.settings import settings
from chalicelib.orders import service as orders
from chalicelib.receipts import service as receipts
from chalicelib.reports import sales as sales_report
from chalicelib.reports import sales_export
from chalicelib.shops import catalog
from chalicelib.shops import service as shops
from chalicelib.webhooks import deliveries

EdgeStatus = Callable[[str, str, int], Any]
"""``(merchant_id, shop_id, now)`` → the shop's edge view (DESIGN §4.4 ``GET /api/v1/shops/{shop_id}/edge``)."""

_Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: str = Field(min_length=1, max_length=128)
    api_secret: str = Field(min_length=1, max_length=256)
    csrf: str | None = Field(default=None, max_length=128, description="Missing is refused as forged (403).")


class CsrfForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csrf: str | None = Field(default=None, max_length=128, description="Missing is refused as forged (403).")


class DayQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: _Day | None = None

    @field_validator("date")
    @classmethod
    def _calendar_day(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)
        return value


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["pending", "delivered", "dead_lettered"] | None = None
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None
    replayed: Annotated[str, StringConstraints(max_length=100)] | None = None


class ReceiptsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    offset: Annotated[int, Field(ge=0, le=100_000)] = 0


PAGE_SIZE = 50


def base_path() -> str:
    """Console paths under the bridge's public base URL (a stage prefix such as ``/api`` on AWS included)."""
    return urlparse(settings().public_base_url).path.rstrip("/") + "/console"


def login_path() -> str:
    return f"{base_path()}/login"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("chalicelib.console", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["utc"] = trace.utc
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


def _render(template: str, **context: Any) -> str:
    return _templates().get_template(template).render(base=base_path(), **context)


def _form(request: Any, model: type[validation.Model]) -> validation.Model:
    raw = request.raw_body or b""
    if len(raw) > 16_384:
        raise SchemaValidationError("the form is too large")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=10)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SchemaValidationError("the form could not be read") from exc
    if any(len(values) != 1 for values in fields.values()):
        raise SchemaValidationError("each form field must be sent once")
    return validation.parse_data(model, {name: values[0] for name, values in fields.items()})


def _query(request: Any, model: type[validation.Model]) -> validation.Model:
    params = request.query_params or {}
    return validation.parse_data(model, {name: params.get(name) for name in params})


def _source_ip(request: Any) -> str:
    return str(request.context.get("identity", {}).get("sourceIp") or "unknown")


def error_page(status_code: int, code: str, message: str) -> str:
    return _render("error.html", status_code=status_code, code=code, message=message, user=None)


def stylesheet() -> Response:
    css = resources.files("chalicelib.console").joinpath("static/console.css").read_text(encoding="utf-8")
    return Response(body=css, status_code=200, headers={**SECURITY_HEADERS, "Content-Type": "text/css; charset=utf-8",
                                                        "Cache-Control": "public, max-age=300"})


# --- login ---------------------------------------------------------------------------------------

def root(request: Any) -> Response:
    try:
        sessions.current(request.headers)
    except AuthenticationError:
        return see_other(login_path())
    return see_other(f"{base_path()}/shops")


def login_page(request: Any, *, error: str | None = None, status_code: int = 200) -> Response:
    token, cookie = sessions.login_nonce(request.headers)
    return page(_render("login.html", csrf=token, error=error, user=None), status_code, cookie)


def login_submit(request: Any) -> Response:
    form = _form(request, LoginForm)
    sessions.check_login_csrf(request.headers, form.csrf)
    try:
        cookie = sessions.log_in(form.api_key, form.api_secret, _source_ip(request))
    except AuthenticationError:
        return login_page(request, error="That API key and secret do not match.", status_code=401)
    except BridgeError as exc:
        return login_page(request, error=exc.message, status_code=exc.status_code)
    return see_other(f"{base_path()}/shops", cookie)


def logout(request: Any) -> Response:
    sessions.check_csrf(sessions.current(request.headers), _form(request, CsrfForm).csrf)
    return see_other(login_path(), sessions.forget_session())


# --- shops, catalogue ----------------------------------------------------------------------------

def _owned(user: sessions.Session, shop_id: str, *, fresh: bool = False) -> shops.ShopSnapshot:
    return shops.owned_by(user.merchant_id, validation.uuid4_param(shop_id, "shop_id"), fresh=fresh)


def shops_page(request: Any) -> Response:
    user = sessions.current(request.headers)
    return page(_render("shops.html", user=user, shops=shops.merchant_shops(user.merchant_id)))


def shop_page(request: Any, shop_id: str, edge_status: EdgeStatus | None = None) -> Response:
    """One shop; with ``edge_status`` wired (the fleet view) its edge and device warnings too."""
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id, fresh=True)
    edge = None
    if edge_status is not None:
        found = edge_status(user.merchant_id, shop.shop_id, clock.now())
        edge = found.model_dump(mode="json") if hasattr(found, "model_dump") else found
    today = sales_report.local_day(shop.profile["timezone"], clock.now())
    counts = {kind.value: len(shop.catalog.entries(kind)) for kind in catalog.CatalogKind}
    return page(_render("shop.html", user=user, shop=shops.public_view(shop.profile), counts=counts, today=today,
                        edge=edge))


def catalog_page(request: Any, shop_id: str) -> Response:
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id, fresh=True)
    kinds = [(kind.value.replace("_", " ").capitalize(), catalog.columns(kind), shop.catalog.entries(kind))
             for kind in catalog.CatalogKind]
    return page(_render("catalog.html", user=user, shop=shops.public_view(shop.profile), kinds=kinds))


# --- orders and their trace ----------------------------------------------------------------------

def _day(shop: shops.ShopSnapshot, query: DayQuery) -> str:
    return query.date or sales_report.local_day(shop.profile["timezone"], clock.now())


def orders_page(request: Any, shop_id: str) -> Response:
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id)
    day = _day(shop, _query(request, DayQuery))
    listed = sorted(orders.day_orders(shop.shop_id, day), key=lambda o: (o["created_at"], o["order_id"]))
    stored = orders.orders_by_id(shop.shop_id, [o["order_id"] for o in listed])
    rows = [_day_row(entry, stored.get(entry["order_id"], {})) for entry in listed]
    return page(_render("orders.html", user=user, shop=shops.public_view(shop.profile), day=day, orders=rows,
                        **_neighbours(day)))


def _day_row(entry: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    """A line of the day's list: the day index entry with its order's status and eReceipt link."""
    return {"order_id": entry["order_id"], "created_at": entry["created_at"], "total": money.format_minor(entry["total"]),
            "currency": entry["currency"], "is_refund": entry["is_refund"], "status": order.get("status"),
            "source": order.get("source", "web"), "receipt": (order.get("public_link") or {}).get("url")}


def _neighbours(day: str) -> dict[str, str]:
    current = date.fromisoformat(day)
    return {"previous_day": (current - timedelta(days=1)).isoformat(), "next_day": (current + timedelta(days=1)).isoformat()}


def order_page(request: Any, shop_id: str, order_id: str) -> Response:
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id)
    order = orders.stored_order(shop.shop_id, validation.identifier_param(order_id, "order_id"))
    sent = [{**d, "rows": trace.attempt_rows(d), "replayable": trace.replayable(d), "failed": trace.failed(d)}
            for d in deliveries.order_deliveries(shop.shop_id, order["order_internal_id"])]
    dispatched = order["status"] != "validated" or bool(sent)  # dispatch sends the job and the validated webhook
    return page(_render("order.html", user=user, shop=shops.public_view(shop.profile), order=order,
                        total=money.format_minor(order["total"]), steps=trace.steps(order, dispatched),
                        deliveries=sent, day=sales_report.local_day(shop.profile["timezone"], order["created_at"])))


# --- receipts ------------------------------------------------------------------------------------

def receipts_page(request: Any) -> Response:
    user = sessions.current(request.headers)
    query = _query(request, ReceiptsQuery)
    listed = receipts.list_receipts(user.merchant_id, receipts.ListQuery(order="DESC", limit=PAGE_SIZE,
                                                                         offset=query.offset))["data"]
    return page(_render("receipts.html", user=user, receipts=listed, offset=query.offset, page_size=PAGE_SIZE))


# --- webhooks ------------------------------------------------------------------------------------

def deliveries_page(request: Any, shop_id: str) -> Response:
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id, fresh=True)
    query = _query(request, DeliveriesQuery)
    listed = deliveries.list_deliveries(shop.shop_id, deliveries.DeliveryListQuery(status=query.status,
                                                                                   cursor=query.cursor))
    rows = [{**d, "rows": trace.attempt_rows(d), "replayable": trace.replayable(d), "failed": trace.failed(d)}
            for d in listed["data"]]
    next_page = (f"?{urlencode({k: v for k, v in (('status', query.status), ('cursor', listed['next_cursor'])) if v})}"
                 if listed["next_cursor"] else None)
    return page(_render("deliveries.html", user=user, shop=shops.public_view(shop.profile), deliveries=rows,
                        status=query.status, replayed=query.replayed, next_page=next_page))


def replay(request: Any, shop_id: str, delivery_id: str) -> Response:
    user = sessions.current(request.headers)
    sessions.check_csrf(user, _form(request, CsrfForm).csrf)
    shop = _owned(user, shop_id)
    replayed = deliveries.replay(shop.shop_id, deliveries.delivery_id_param(delivery_id), clock.now())
    return see_other(f"{base_path()}/shops/{shop.shop_id}/webhooks?{urlencode({'replayed': replayed['delivery_id']})}")


# --- daily report --------------------------------------------------------------------------------

def reports_page(request: Any, shop_id: str) -> Response:
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id)
    day = _day(shop, _query(request, DayQuery))
    return page(_render("reports.html", user=user, shop=shops.public_view(shop.profile), day=day,
                        formats=list(sales_export.FORMATS), **_neighbours(day)))


def sales_file(request: Any, shop_id: str) -> Response:
    """The daily sales report in one of the export formats, as ``GET …/reports/sales`` serves it to the API."""
    user = sessions.current(request.headers)
    shop = _owned(user, shop_id)
    query = validation.parse_data(sales_export.SalesReportQuery, dict(request.query_params or {}))
    report = sales_report.build_sales_report(shop.profile, query.date, orders.day_orders(shop.shop_id, query.date))
    rendered = sales_export.deliver(report, query.format)
    if isinstance(rendered, str):  # too large for a response: to the same short-lived link in S3 as the API's
        return Response(body="", status_code=303, headers={**SECURITY_HEADERS, "Location": rendered})
    disposition = "inline" if query.format == "html" else "attachment"
    return Response(body=rendered.body, status_code=200, headers={
        **SECURITY_HEADERS, "Content-Type": rendered.content_type, "Content-Security-Policy": PAGE_POLICY,
        "Content-Disposition": f'{disposition}; filename="{rendered.filename}"'})
