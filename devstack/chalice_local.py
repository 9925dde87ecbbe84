"""`chalice local`, unchanged but for TCP_NODELAY on its connections.

Chalice's dev server is Python's http.server, which sends a response's headers
and body in separate writes; with Nagle's algorithm on, each response then
waits ~40 ms for the client's delayed ACK. That stall would swamp every latency
the local stack measures, so this wrapper turns Nagle off and runs the real CLI:

    python -m devstack.chalice_local --project-dir . local --stage local --port 8000
"""

from __future__ import annotations

import sys

from chalice.cli import main
from chalice.local import ChaliceRequestHandler

ChaliceRequestHandler.disable_nagle_algorithm = True

if __name__ == "__main__":
    sys.exit(main())
