"""HTTP plumbing shared by every route: typed errors, request ids, JSON bodies.

``routes(app)`` returns a decorator that registers a Chalice route whose view
turns domain errors into the DESIGN §4 error body; ``request_context`` is the
HTTP middleware that stamps ``request-id`` on every response and rewrites the
errors Chalice produces itself (405, 415, 500) into that same body.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice, Response

from chalicelib.core.errors import BridgeError, RouteNotFound, error_body
from chalicelib.core.lazy import lazy

logs = lazy("chalicelib.core.logs")  # structlog loads on the first request, not at cold start
contextvars = lazy("structlog.contextvars")

_CHALICE_CODES = {405: "E_METHOD_NOT_ALLOWED", 415: "E_UNSUPPORTED_MEDIA_TYPE", 400: "E_BAD_REQUEST",
                  500: "E_INTERNAL", 403: "E_FORBIDDEN", 404: "E_NOT_FOUND"}


# No script, no request to anywhere, no framing: the bridge's pages are documents with one inline style block
# (and inline SVG for the QR code), so that is all they may use.
PAGE_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
_NO_SNIFF = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Answers carry tenant data or a public receipt: never cached, never sniffed as another type."""
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status_code,
                    headers={"Content-Type": "application/json", **_NO_SNIFF, **(headers or {})})


def html_response(body: str, status_code: int = 200) -> Response:
    return Response(body=body, status_code=status_code,
                    headers={"Content-Type": "text/html; charset=utf-8", **_NO_SNIFF,
                             "Content-Security-Policy": PAGE_POLICY, "X-Frame-Options": "DENY"})


def redirect(location: str) -> Response:
    return Response(body="", status_code=302, headers={"Location": location, "Cache-Control": "no-store",
                                                      "Referrer-Policy": "no-referrer"})


def _error_response(status: int, code: str, message: str) -> Response:
    return json_response(error_body(status, code, message), status)


def translating_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view so no exception escapes as Chalice's own 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except BridgeError as exc:
            logs.get_logger(__name__).info("request_refused", code=exc.code, status=exc.status_code, reason=exc.message)
            return json_response(exc.body(), exc.status_code, exc.headers())
        except (ClientError, BotoCoreError) as exc:
            logs.get_logger(__name__).error("aws_error", error=type(exc).__name__, detail=str(exc))
            return _error_response(503, "E_SERVICE_UNAVAILABLE", "a backing service is unavailable; retry later")
        except Exception:
            logs.get_logger(__name__).exception("unhandled_error")
            return _error_response(500, "E_INTERNAL", "internal error; retry later with the same request")

    return wrapper


def routes(app: Chalice) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]:
    def route(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            return app.route(path, **options)(translating_errors(view))

        return register

    return route


def _normalized(response: Response) -> Response:
    """Chalice's own error bodies ({"Code", "Message"}) rewritten to DESIGN §4."""
    if response.status_code < 400 or str(response.headers.get("Content-Type", "")).startswith("text/html"):
        return response  # an error page (the console's) is already what its reader expects
    body = response.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and {"status_code", "error", "code", "message"} <= body.keys():
        return response
    message = body.get("Message", "request failed") if isinstance(body, dict) else "request failed"
    code = _CHALICE_CODES.get(response.status_code, "E_REQUEST_FAILED")
    return json_response(error_body(response.status_code, code, str(message)), response.status_code,
                         {k: v for k, v in response.headers.items() if k.lower() == "allow"})


def request_context(app: Chalice) -> Callable[[Any, Callable[[Any], Response]], Response]:
    def middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
        request_id = str(uuid.uuid4())
        contextvars.clear_contextvars()
        contextvars.bind_contextvars(
            request_id=request_id, path=getattr(event, "path", None),
            lambda_request_id=getattr(getattr(event, "lambda_context", None), "aws_request_id", None))
        response = _normalized(get_response(event))
        response.headers["request-id"] = request_id
        return response

    return middleware


# Routes that exist only to answer every path no other route serves with the DESIGN §4 error (API Gateway would
# answer 403 "Missing Authentication Token" itself): ``/{proxy+}`` is Chalice's greedy path, which never matches ``/``.
CATCH_ALL = ("/", "/{proxy+}")
EVERY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def no_route(request: Any) -> None:
    path = str(request.context.get("path") or request.path)
    raise RouteNotFound(f"no route serves {request.method} {path[:200]}")


def header(request: Any, name: str) -> str | None:
    value = request.headers.get(name)
    return value.strip() if isinstance(value, str) else None
