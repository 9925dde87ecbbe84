"""`chalice local`, unchanged but for TCP_NODELAY on its connections and every HTTP method routed.

Chalice's dev server is Python's http.server, which sends a response's headers
and body in separate writes; with Nagle's algorithm on, each response then
waits ~40 ms for the client's delayed ACK. That stall would swamp every latency
the local stack measures, so this wrapper turns Nagle off and runs the real CLI:

Its access log line is the raw request line, query string and all: a ``KEYPARAM`` (the shop key
``/ws/order`` accepts in the query, as seed 003 does) would land in ``var/logs/api.log``. The log line
here keeps every parameter's name and hides the values of those that carry a credential.

Its router knows no greedy path parameter: ``/{proxy+}`` (the app's catch-all, which answers every path no route
serves with the DESIGN §4 error) would match one segment only and the rest get Chalice's imitation of API Gateway's
403 "Missing Authentication Token". Here ``{name+}`` takes the rest of the path, as on API Gateway, after every
concrete route had its chance.

Its handler only defines the methods API Gateway proxies; any other (TRACE, QUERY, ...)
got http.server's own 501 HTML page. API Gateway answers those itself; locally they go
through Chalice's router like any method, which answers 405 with the DESIGN error body.

    python -m devstack.chalice_local --project-dir . local --stage local --port 8000
"""

from __future__ import annotations

import re
import sys
from typing import Any
from urllib.parse import parse_qs, urlparse

from chalice.cli import main
from chalice.local import ChaliceRequestHandler, MatchResult, RouteMatcher

ChaliceRequestHandler.disable_nagle_algorithm = True
_CREDENTIAL = re.compile(r"(?i)([?&](?:KEYPARAM|shop_key|edge_key|api_key|api_secret|token|secret|code)=)[^&\s]*")


def _log_request(handler: ChaliceRequestHandler, code: int | str = "-", size: int | str = "-") -> None:
    """http.server's access log line, with credential values in the query string replaced by ``***``."""
    handler.log_message('"%s" %s %s', _CREDENTIAL.sub(r"\1***", handler.requestline), str(code), str(size))


ChaliceRequestHandler.log_request = _log_request  # type: ignore[method-assign]


def _any_method(handler: ChaliceRequestHandler, name: str) -> Any:
    """``do_<METHOD>`` for every method http.server has no handler for."""
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]

_match_concrete = RouteMatcher.match_route


def _greedy(route_url: str) -> re.Pattern[str]:
    """``/a/{b}/{proxy+}`` as a pattern: ``{b}`` one segment, ``{proxy+}`` one or more."""
    segments = []
    for segment in route_url.split("/"):
        param = re.fullmatch(r"{(\w+)(\+?)}", segment)
        segments.append(re.escape(segment) if not param else
                        f"(?P<{param[1]}>.+)" if param[2] else f"(?P<{param[1]}>[^/]+)")
    return re.compile("/".join(segments))


def _match_route(matcher: RouteMatcher, url: str) -> MatchResult:
    """Chalice's match; failing that, the first route whose greedy ``{name+}`` takes the rest of the path."""
    try:
        return _match_concrete(matcher, url)
    except ValueError:
        parsed = urlparse(url)
        for route_url in (r for r in matcher.route_urls if r.endswith("+}")):
            found = _greedy(route_url).fullmatch(parsed.path)
            if found:
                return MatchResult(route_url, found.groupdict(), parse_qs(parsed.query, keep_blank_values=True))
        raise


RouteMatcher.match_route = _match_route  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
