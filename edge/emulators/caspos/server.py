"""The emulated Caspos Mobile register over HTTP (seed 002 §Introduction l.14-15: HTTP, port 5544, UTF-8 JSON).

``python -m edge.emulators.caspos.server --port 5544`` prints ``CASPOS READY port=<port>``. It accepts only
what the document describes (AZN, the document's VAT types); nothing widens it.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from edge.emulators.caspos import wire
from edge.emulators.caspos.register import CasposRegister


class CasposServer:
    """The register behind ``ThreadingHTTPServer`` on 127.0.0.1; any path takes the JSON requests."""

    def __init__(self, register: CasposRegister, port: int = 0) -> None:
        self.register = register
        served = register

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with served.lock:
                    served.raw_bodies.append(body)
                    status = served.http_status_next.pop(0) if served.http_status_next else 200
                if status != 200:
                    self._send(status, b"<html>Internal Server Error</html>", "text/html")
                    return
                bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip() or None
                request: Any = None
                try:
                    request = wire.decode(body)
                    answer = served.handle(request, bearer) if isinstance(request, dict) else _not_json()
                except (ValueError, UnicodeDecodeError):
                    answer = _not_json()
                drop = served.take_drop(request)
                with served.lock:
                    delay = served.delay_seconds
                    garbage = served.garbage_next > 0
                    served.garbage_next -= int(garbage)
                    data = answer.get("data") if isinstance(answer, dict) else None
                    if served.blank_ids_next > 0 and isinstance(data, dict) and "short_document_id" in data:
                        served.blank_ids_next -= 1
                        answer = {**answer, "data": {**data, "short_document_id": ""}}
                time.sleep(delay)
                if drop:
                    self.close_connection = True
                    return
                self._send(200, b"\x00\x9f garbage {" if garbage else wire.encode(answer), wire.CONTENT_TYPE)

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CasposServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _not_json() -> dict[str, Any]:
    return {"code": wire.JSON_NOT_RECOGNIZED, "message": wire.MESSAGES[wire.JSON_NOT_RECOGNIZED]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulated Caspos Mobile register (seed 002 HTTP JSON integration API).")
    parser.add_argument("--port", type=int, default=wire.PORT)
    parser.add_argument("--username", default="username")
    parser.add_argument("--password", default="password")
    parser.add_argument("--require-token", action="store_true", help="refuse requests without the login token (§Common Errors 401)")
    parser.add_argument("--open-shift", action="store_true", help="start with an open shift")
    args = parser.parse_args(argv)
    register = CasposRegister(args.username, args.password)
    register.require_token = args.require_token
    if args.open_shift:
        register.open_shift_now()
    server = CasposServer(register, args.port).start()
    stop = threading.Event()

    def request_stop(signum: int, _: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    print(f"CASPOS READY port={server.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
