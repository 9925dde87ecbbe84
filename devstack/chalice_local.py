"""`chalice local`, unchanged but for TCP_NODELAY on its connections and every HTTP method routed.

Chalice's dev server is Python's http.server, which sends a response's headers
and body in separate writes; with Nagle's algorithm on, each response then
waits ~40 ms for the client's delayed ACK. That stall would swamp every latency
the local stack measures, so this wrapper turns Nagle off and runs the real CLI:

Its handler only defines the methods API Gateway proxies; any other (TRACE, QUERY, ...)
got http.server's own 501 HTML page. API Gateway answers those itself; locally they go
through Chalice's router like any method, which answers 405 with the DESIGN error body.

    python -m devstack.chalice_local --project-dir . local --stage local --port 8000
"""

from __future__ import annotations

import sys
from typing import Any

from chalice.cli import main
from chalice.local import ChaliceRequestHandler

ChaliceRequestHandler.disable_nagle_algorithm = True


def _any_method(handler: ChaliceRequestHandler, name: str) -> Any:
    """``do_<METHOD>`` for every method http.server has no handler for."""
    if name.startswith("do_"):
        return handler._generic_handle
    raise AttributeError(name)


ChaliceRequestHandler.__getattr__ = _any_method  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(main())
