"""Chalice wiring: routes and event handlers, each a few lines over chalicelib.

Domain modules are ``lazy``: importing this file (a cold start) loads chalice and little else,
and each handler pays only for what it touches.
"""

from __future__ import annotations

from chalice import Chalice, Rate, Response

from chalicelib.core import media
from chalicelib.core import resource_names as names
from chalicelib.core.http_api import (
    CATCH_ALL,
    EVERY_METHOD,
    PAGE_POLICY,
    header,
    html_response,
    json_response,
    no_route,
    redirect,
    request_context,
    routes,
)
from chalicelib.console.routing import console_routes
from chalicelib.core.lazy import lazy

adapters = lazy("chalicelib.orders.adapters.service")
catalog = lazy("chalicelib.shops.catalog")
clock = lazy("chalicelib.core.clock")
console = lazy("chalicelib.console.pages")
contracts = lazy("chalicelib.contracts")
deliveries = lazy("chalicelib.webhooks.deliveries")
dispatch = lazy("chalicelib.orders.outbox")
edge_api = lazy("chalicelib.edge_api")
exports = lazy("chalicelib.reports.rendering")
exports_catalog = lazy("chalicelib.reports.catalog_export")
exports_sales = lazy("chalicelib.reports.sales_export")
fleet = lazy("chalicelib.fleet.service")
fleet_offline = lazy("chalicelib.fleet.offline")
merchants = lazy("chalicelib.auth.merchants")
openapi = lazy("chalicelib.openapi.document")
orders = lazy("chalicelib.orders.service")
pairing = lazy("chalicelib.shops.pairing")
rate_limits = lazy("chalicelib.auth.rate_limits")
receipt_public = lazy("chalicelib.receipts.public")
receipts = lazy("chalicelib.receipts.service")
reports = lazy("chalicelib.reports.sales")
shops = lazy("chalicelib.shops.service")
tokens = lazy("chalicelib.auth.tokens")
validation = lazy("chalicelib.core.validation")
webhooks = lazy("chalicelib.webhooks.sending")
ws_order = lazy("chalicelib.orders.ws_order")

app = Chalice(app_name=names.DEFAULT_APP_NAME)
app.register_middleware(request_context(app), "http")
app.api.binary_types.extend(t for t in media.BINARY_TYPES if t not in app.api.binary_types)
route = routes(app)
console_route = console_routes(app)


def _queue(logical: str) -> str:
    return names.physical(names.env_prefix(), logical)


def _merchant() -> str:
    return str(tokens.bearer(app.current_request.headers, tokens.TokenKind.ACCESS)["sub"])


def _source_ip() -> str:
    return str(app.current_request.context.get("identity", {}).get("sourceIp") or "unknown")


@route("/api/v1/auth", methods=["POST"])
def authenticate():
    body = validation.parse_body(merchants.AuthRequest, app.current_request.raw_body)
    return merchants.authenticate(body, _source_ip())


@route("/api/v1/auth/secret/rotate", methods=["POST"])
def rotate_api_secret():
    merchant_id = _merchant()
    body = validation.parse_body(merchants.RotateSecretIn, app.current_request.raw_body)
    return merchants.rotate_secret(merchant_id, body).model_dump()


@route("/api/v1/shops", methods=["POST"])
def create_shop():
    merchant_id = _merchant()
    created = shops.create_shop(merchant_id, validation.parse_body(shops.CreateShop, app.current_request.raw_body))
    return json_response(created, 201)


@route("/api/v1/shops/{shop_id}", methods=["GET"])
def get_shop(shop_id):
    return shops.public_view(shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"), fresh=True).profile)


@route("/api/v1/shops/{shop_id}", methods=["DELETE"])
def delete_shop(shop_id):
    shops.delete_shop(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    return Response(body="", status_code=204)


@route("/api/v1/shops/{shop_id}/keys/shop_key/rotate", methods=["POST"])
def rotate_shop_key(shop_id):
    return shops.rotate_shop_key(_merchant(), validation.uuid4_param(shop_id, "shop_id")).model_dump()


@route("/api/v1/shops/{shop_id}/keys/edge_key/rotate", methods=["POST"])
def rotate_edge_key(shop_id):
    return shops.rotate_edge_key(_merchant(), validation.uuid4_param(shop_id, "shop_id")).model_dump()


@route("/api/v1/shops/{shop_id}/edge/pairing", methods=["POST"])
def issue_pairing_code(shop_id):
    merchant_id, shop_id = _merchant(), validation.uuid4_param(shop_id, "shop_id")
    rate_limits.hit(rate_limits.PAIRING_CODES_PER_SHOP, shop_id)
    return pairing.issue(merchant_id, shop_id, clock.now()).model_dump()


@route("/api/v1/shops/{shop_id}/catalog/{kind}/{entry_id}", methods=["PUT"])
def put_catalog_entry(shop_id, kind, entry_id):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    catalog_kind = catalog.parse_kind(kind)
    entry = catalog.parse_entry(catalog_kind, app.current_request.raw_body)
    saved = catalog.put_entry(shop.shop_id, catalog_kind, validation.identifier_param(entry_id, "id"), entry)
    shops.forget(shop.shop_id)
    return saved


@route("/api/v1/shops/{shop_id}/orders", methods=["POST"])
def record_order(shop_id):
    request = app.current_request
    shop_key = header(request, "x-shop-key")
    shop = shops.authorized_by_shop_key(validation.uuid4_param(shop_id, "shop_id"), shop_key, proven_by_the_write=True)
    order, created = orders.record_order(shop, validation.parse_body(orders.OrderIn, request.raw_body),
                                         guard=shops.shop_key_guard(shop.shop_id, shop_key))
    return json_response(orders.public_view(order), 201 if created else 200)


@route("/api/v1/shops/{shop_id}/orders/{order_id}", methods=["GET"])
def get_order(shop_id, order_id):
    request = app.current_request
    shop_id = validation.uuid4_param(shop_id, "shop_id")
    if header(request, "x-shop-key"):
        shops.authorized_by_shop_key(shop_id, header(request, "x-shop-key"))
    else:
        shops.owned_by(_merchant(), shop_id)
    return orders.public_view(orders.get_order(shop_id, validation.identifier_param(order_id, "order_id")))


@route("/api/v1/shops/{shop_id}/webhook", methods=["PUT"])
def put_webhook(shop_id):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    config = validation.parse_body(webhooks.WebhookConfigIn, app.current_request.raw_body)
    webhooks.check_target(config.url)
    secret = webhooks.new_secret()
    shops.set_webhook(shop.shop_id, config.url, secret, config.events)
    return {"url": config.url, "secret": secret, "events": list(config.events or webhooks.ORDER_EVENTS)}


@route("/api/v1/shops/{shop_id}/webhook/secret/rotate", methods=["POST"])
def rotate_webhook_secret(shop_id):
    merchant_id, raw = _merchant(), app.current_request.raw_body
    body = validation.parse_body(shops.WebhookSecretRotateIn, raw) if raw else shops.WebhookSecretRotateIn()
    return shops.rotate_webhook_secret(merchant_id, validation.uuid4_param(shop_id, "shop_id"), webhooks.new_secret(),
                                       body, clock.now()).model_dump()


@route("/ws/order", methods=["POST"], content_types=[media.FORM, "application/json"])
def ws_record_order():
    request = app.current_request
    query = {name: request.query_params.getlist(name) for name in request.query_params or {}}
    params = validation.parse_data(ws_order.WsOrderParams,
                        ws_order.collect(query, header(request, "content-type"), request.raw_body))
    shop = shops.authorized_by_shop_key(validation.uuid4_param(params.shop_id, "ID_SHOP"), params.shop_key,
                                        proven_by_the_write=True)
    order, created = orders.record_order(shop, ws_order.to_order(params), guard=shops.shop_key_guard(shop.shop_id,
                                                                                                   params.shop_key))
    return json_response(orders.public_view(order), 201 if created else 200)


def _download(rendered: exports.Rendered) -> Response:
    disposition = "inline" if rendered.content_type == "application/json" else "attachment"
    return Response(body=rendered.body, status_code=200, headers={
        "Content-Type": rendered.content_type, "Content-Disposition": f'{disposition}; filename="{rendered.filename}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": PAGE_POLICY, "Referrer-Policy": "no-referrer"})


@route("/api/v1/shops/{shop_id}/catalog/{kind}", methods=["GET"])
def download_catalog(shop_id, kind):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"), fresh=True)
    catalog_kind = catalog.parse_kind(kind)
    query = validation.parse_data(exports_catalog.CatalogExportQuery, app.current_request.query_params or {})
    return _download(exports_catalog.render(shop.shop_id, shop.profile["name"], catalog_kind,
                                            shop.catalog.entries(catalog_kind), query.format))


@route("/api/v1/shops/{shop_id}/reports/sales", methods=["GET"])
def sales_report(shop_id):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    query = validation.parse_data(exports_sales.SalesReportQuery, app.current_request.query_params or {})
    report = reports.build_sales_report(shop.profile, query.date, orders.day_orders(shop.shop_id, query.date))
    delivered = exports_sales.deliver(report, query.format)
    if isinstance(delivered, str):  # too large for a response: 303 to a short-lived link in S3
        return Response(body="", status_code=303, headers={"Location": delivered, "Cache-Control": "no-store",
                                                           "Referrer-Policy": "no-referrer"})
    return _download(delivered)


@route("/api/v1/shops/{shop_id}/webhook/deliveries", methods=["GET"])
def list_webhook_deliveries(shop_id):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    query = validation.parse_data(deliveries.DeliveryListQuery, app.current_request.query_params or {})
    return deliveries.list_deliveries(shop.shop_id, query)


@route("/api/v1/shops/{shop_id}/webhook/deliveries/{delivery_id}/replay", methods=["POST"])
def replay_webhook_delivery(shop_id, delivery_id):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"))
    return json_response(deliveries.replay(shop.shop_id, deliveries.delivery_id_param(delivery_id), clock.now()), 202)


@route("/api/v1/shops/{shop_id}/adapters/{platform}", methods=["PUT"])
def put_adapter(shop_id, platform):
    shop = shops.owned_by(_merchant(), validation.uuid4_param(shop_id, "shop_id"), fresh=True)
    config = validation.parse_body(adapters.AdapterConfigIn, app.current_request.raw_body)
    return adapters.put_config(shop, adapters.parse_platform(platform), config)


@route("/api/v1/shops/{shop_id}/adapters/{platform}/orders", methods=["POST"],
       content_types=["application/json", media.FORM])
def adapter_order(shop_id, platform):
    request = app.current_request
    body, status = adapters.receive(validation.uuid4_param(shop_id, "shop_id"), adapters.parse_platform(platform),
                                    request.headers, request.raw_body)
    return json_response(body, status)


@route("/api/v1/edge/session", methods=["POST"])
def edge_session():
    return edge_api.open_session(validation.parse_body(edge_api.EdgeSessionIn, app.current_request.raw_body))


@route("/api/v1/edge/pair", methods=["POST"])
def edge_pair():
    rate_limits.hit(rate_limits.PAIR_PER_IP, _source_ip())
    rate_limits.hit(rate_limits.PAIR_ALL, "all")
    return pairing.redeem(validation.parse_body(pairing.PairIn, app.current_request.raw_body), clock.now()).model_dump()


@route("/api/v1/edge/results", methods=["POST"])
def edge_result():
    claims = edge_api.session_claims(app.current_request.headers)
    result = validation.parse_body(contracts.JobResult, app.current_request.raw_body)
    return edge_api.accept_result(claims, result).model_dump(mode="json")


@route("/api/v1/edge/sales", methods=["POST"])
def edge_sale():
    claims = edge_api.session_claims(app.current_request.headers)
    sale = validation.parse_body(contracts.TillSale, app.current_request.raw_body)
    return edge_api.accept_sale(claims, sale).model_dump(mode="json")


@route("/api/v1/edge/heartbeat", methods=["POST"])
def edge_heartbeat():
    claims = edge_api.session_claims(app.current_request.headers)
    heartbeat = fleet.parse_heartbeat(app.current_request.raw_body)
    return fleet.accept_heartbeat(str(claims["sub"]), str(claims[edge_api.KEY_STAMP]), heartbeat,
                                  clock.now()).model_dump()


@route("/api/v1/shops/{shop_id}/edge", methods=["GET"])
def get_shop_edge(shop_id):
    merchant_id = _merchant()
    return fleet.edge_status(merchant_id, validation.uuid4_param(shop_id, "shop_id"), clock.now()).model_dump(mode="json")


@route("/api/v1/receipts/{receipt_id}", methods=["PUT"])
def put_receipt(receipt_id):
    receipt_id, merchant_id = validation.uuid4_param(receipt_id, "receipt_id"), _merchant()
    return receipts.put_receipt(merchant_id, receipt_id, validation.parse_body(receipts.ReceiptPut, app.current_request.raw_body))


@route("/api/v1/receipts/{receipt_id}", methods=["GET"])
def get_receipt(receipt_id):
    receipt_id = validation.uuid4_param(receipt_id, "receipt_id")
    return receipts.get_receipt(_merchant(), receipt_id)


@route("/api/v1/receipts", methods=["GET"])
def list_receipts():
    merchant_id = _merchant()
    return receipts.list_receipts(merchant_id, validation.parse_data(receipts.ListQuery, app.current_request.query_params or {}))


@route("/api/v1/openapi.json", methods=["GET"])
def openapi_document():
    return openapi.document()  # built on first request: cold starts never pay for it


@route("/r/{token}", methods=["GET"])
def public_receipt(token):
    if token.endswith(".json"):
        return json_response(receipt_public.public_json(token.removesuffix(".json")))
    if token.endswith(".pdf"):
        return redirect(receipt_public.pdf_location(token.removesuffix(".pdf")))
    return html_response(receipt_public.page(token))


@console_route("/console", methods=["GET"])
def console_root():
    return console.root(app.current_request)


@console_route("/console/static/console.css", methods=["GET"])
def console_stylesheet():
    return console.stylesheet()


@console_route("/console/login", methods=["GET"])
def console_login_page():
    return console.login_page(app.current_request)


@console_route("/console/login", methods=["POST"], content_types=[media.FORM])
def console_login():
    return console.login_submit(app.current_request)


@console_route("/console/logout", methods=["POST"], content_types=[media.FORM])
def console_logout():
    return console.logout(app.current_request)


@console_route("/console/shops", methods=["GET"])
def console_shops():
    return console.shops_page(app.current_request)


@console_route("/console/shops/{shop_id}", methods=["GET"])
def console_shop(shop_id):
    return console.shop_page(app.current_request, shop_id, fleet.edge_status)


@console_route("/console/shops/{shop_id}/catalog", methods=["GET"])
def console_catalog(shop_id):
    return console.catalog_page(app.current_request, shop_id)


@console_route("/console/shops/{shop_id}/orders", methods=["GET"])
def console_orders(shop_id):
    return console.orders_page(app.current_request, shop_id)


@console_route("/console/shops/{shop_id}/orders/{order_id}", methods=["GET"])
def console_order(shop_id, order_id):
    return console.order_page(app.current_request, shop_id, order_id)


@console_route("/console/receipts", methods=["GET"])
def console_receipts():
    return console.receipts_page(app.current_request)


@console_route("/console/shops/{shop_id}/webhooks", methods=["GET"])
def console_deliveries(shop_id):
    return console.deliveries_page(app.current_request, shop_id)


@console_route("/console/shops/{shop_id}/webhooks/{delivery_id}/replay", methods=["POST"], content_types=[media.FORM])
def console_replay(shop_id, delivery_id):
    return console.replay(app.current_request, shop_id, delivery_id)


@console_route("/console/shops/{shop_id}/reports", methods=["GET"])
def console_reports(shop_id):
    return console.reports_page(app.current_request, shop_id)


@console_route("/console/shops/{shop_id}/reports/sales", methods=["GET"])
def console_sales_file(shop_id):
    return console.sales_file(app.current_request, shop_id)


@route(CATCH_ALL[0], methods=EVERY_METHOD)
def unknown_root():
    no_route(app.current_request)


@route(CATCH_ALL[1], methods=EVERY_METHOD)
def unknown_route():
    no_route(app.current_request)


@app.on_dynamodb_record(stream_arn=names.table_stream_arn(names.env_prefix(), names.ORDERS_TABLE), batch_size=100,
                        starting_position="TRIM_HORIZON")
def dispatch_orders(event):
    return dispatch.dispatch_records(event.to_dict()["Records"])


@app.on_sqs_message(queue=_queue(names.PDFS_QUEUE), batch_size=10)
def render_pdfs(event):
    receipt_public.render_pdfs([receipts.PdfWork.model_validate_json(record.body) for record in event])


@app.on_sqs_message(queue=_queue(names.WEBHOOKS_QUEUE), batch_size=10)
def send_webhooks(event):
    raw = [record.to_dict() for record in event]
    return deliveries.handle_batch([(r["messageId"], r["attributes"].get("MessageGroupId"), r["body"]) for r in raw],
                                   clock.now())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def retry_webhooks(event):
    deliveries.sweep(clock.now())


@app.schedule(Rate(1, unit=Rate.MINUTES))
def watch_edges(event):
    fleet_offline.sweep(clock.now())
