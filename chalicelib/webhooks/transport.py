"""One webhook POST over a pinned address, bounded by a total deadline rather than a per-read timeout.

A per-read timeout lets a receiver that trickles one byte every 0.4 s hold an attempt for as long as it likes,
and a FIFO batch of ten events behind it past the Lambda's limit. Here every connect, TLS handshake, write and
read gets at most the time left until the attempt's deadline, so an attempt ends by then whatever the receiver
does. The deadline lives in an httpcore network backend, which httpcore (the transport under httpx) accepts
and httpx's client does not expose.
"""

from __future__ import annotations

import functools
import ssl
import time
from typing import Any

import certifi
import httpcore

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class DeadlinePassed(httpcore.TimeoutException):
    """The attempt's total deadline passed before the receiver answered."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def bound(self, timeout: float | None) -> float:
        """The time one socket operation may take: its own timeout, cut to what is left of the attempt."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlinePassed("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout)),
                               self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: _Deadline) -> None:
        self._inner, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, self._deadline.bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, self._deadline.bound(seconds)))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """certifi's CA bundle, parsed once per container (~30 ms a parse)."""
    return ssl.create_default_context(cafile=certifi.where())


class DeadlineSession:
    """Connections for one delivery attempt, all sharing one deadline (redirects included)."""

    def __init__(self, seconds: float, read_timeout: float) -> None:
        self._deadline = _Deadline(seconds)
        self._pool = httpcore.ConnectionPool(ssl_context=tls_context(), network_backend=_DeadlineBackend(self._deadline),
                                             max_connections=1, retries=0)
        self._timeouts = {"connect": read_timeout, "read": read_timeout, "write": read_timeout, "pool": read_timeout}

    def __enter__(self) -> DeadlineSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pool.close()

    @property
    def deadline_passed(self) -> bool:
        """Whether a timeout came from the attempt's deadline rather than one slow connect or read."""
        return self._deadline.passed

    def post(self, url: str, body: bytes, headers: dict[str, str], server_name: str) -> tuple[int, str | None]:
        """POST without reading the answer's body; (status code, Location header)."""
        extensions = {"timeout": self._timeouts, "sni_hostname": server_name}
        with self._pool.stream("POST", url, headers=list(headers.items()), content=body, extensions=extensions) as response:
            location = next((value.decode("latin-1") for name, value in response.headers if name.lower() == b"location"), None)
            return response.status, location
