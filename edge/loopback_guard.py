"""The management API answers only requests addressed to loopback (DESIGN §5), against DNS rebinding.

A web page opened on the till PC can make the browser send requests to ``127.0.0.1:<port>`` by
resolving its own name there; the browser then still sends ``Host: evil.example:<port>`` and
``Origin: http://evil.example:<port>``. So every request, on every route, must name the management
API itself in ``Host`` and, when it has an ``Origin`` (browsers send one on cross-origin and on
non-GET requests), that origin must be the management API's own.

Matching is exact apart from letter case, which RFC 3986 §3.2.2 (host) and §3.1 (scheme) make
insignificant: no trailing dot (``localhost.`` is a DNS name a resolver may send elsewhere), no
missing port, no userinfo, one ``Host`` header only. Besides the three loopback names, the address
the API is bound to (``manage_host``, any loopback IP) is accepted: an IP literal cannot be rebound,
and the CLI names the API by it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports ``authority`` without pulling in the web stack
    from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
FORBIDDEN_CODE = "E_FORBIDDEN_ORIGIN"


def authority(host: str, port: int) -> str:
    """``host:port`` as it appears in a ``Host`` header, IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def allowed_hosts(bound_host: str, port: int) -> frozenset[str]:
    return frozenset({f"{name}:{port}" for name in LOOPBACK_NAMES} | {authority(bound_host, port).lower()})


class LoopbackOnly:
    """ASGI middleware: refuse (403 ``E_FORBIDDEN_ORIGIN``) before routing, so nothing behind it runs."""

    def __init__(self, app: ASGIApp, bound_host: str, port: int) -> None:
        self._app = app
        self._hosts = allowed_hosts(bound_host, port)
        self._origins = frozenset(f"http://{host}" for host in self._hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reason = self._refusal(scope["headers"])
            if reason is not None:
                body = json.dumps({"success": False, "message": reason, "code": FORBIDDEN_CODE}).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)

    def _refusal(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """Why this request is not for the loopback management API, or None when it is."""
        hosts = [value for name, value in headers if name == b"host"]
        origins = [value for name, value in headers if name == b"origin"]
        if len(hosts) != 1:
            return "the request must carry exactly one Host header naming the loopback management API"
        if hosts[0].decode("latin-1").lower() not in self._hosts:
            return "Host must be 127.0.0.1, localhost or [::1] with the management port"
        if len(origins) > 1 or (origins and origins[0].decode("latin-1").lower() not in self._origins):
            return "cross-origin requests are refused: Origin must be the management API itself"
        return None
