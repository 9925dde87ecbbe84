"""How a console page answers: security headers on every page, typed errors as HTML pages, never a 500.

Loaded when ``app.py`` declares its routes, so it imports chalice and the error catalogue only; the pages
(jinja2, the domain packages) load on the first request through ``pages``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError
from chalice import Chalice, Response

from chalicelib.core.errors import AuthenticationError, BridgeError
from chalicelib.core.lazy import lazy

logs = lazy("chalicelib.core.logs")
pages = lazy("chalicelib.console.pages")
session = lazy("chalicelib.console.session")

# No script at all, nothing from anywhere but the bridge itself, no framing, forms post only back here.
CONSOLE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
                  "frame-ancestors 'none'")
SECURITY_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Content-Security-Policy": CONSOLE_POLICY, "Cross-Origin-Opener-Policy": "same-origin",
                    "Cross-Origin-Resource-Policy": "same-origin",
                    "Strict-Transport-Security": "max-age=31536000"}  # browsers heed it over HTTPS only


def page(body: str, status_code: int = 200, headers: dict[str, Any] | None = None) -> Response:
    return Response(body=body, status_code=status_code,
                    headers={"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS, **(headers or {})})


def see_other(location: str, headers: dict[str, Any] | None = None) -> Response:
    """303: after a form, the browser GETs the next page (a reload never posts twice)."""
    return Response(body="", status_code=303, headers={"Location": location, **SECURITY_HEADERS, **(headers or {})})


def console_routes(app: Chalice) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]:
    """A route decorator whose views answer typed errors as HTML: an expired or missing login goes to the
    login page, any other error is a page with its status and message."""

    def route(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return view(*args, **kwargs)
                except AuthenticationError:
                    return see_other(pages.login_path(), session.forget_session())
                except BridgeError as exc:
                    logs.get_logger(__name__).info("console_refused", code=exc.code, status=exc.status_code,
                                                   reason=exc.message)
                    return page(pages.error_page(exc.status_code, exc.code, exc.message), exc.status_code)
                except (ClientError, BotoCoreError) as exc:
                    logs.get_logger(__name__).error("aws_error", error=type(exc).__name__, detail=str(exc))
                    return page(pages.error_page(503, "E_SERVICE_UNAVAILABLE",
                                                 "A backing service is unavailable. Try again in a moment."), 503)
                except Exception:
                    logs.get_logger(__name__).exception("unhandled_error")
                    return page(pages.error_page(500, "E_INTERNAL", "Something went wrong. Try again."), 500)

            return app.route(path, **options)(wrapper)

        return register

    return route
