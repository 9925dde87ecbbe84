"""The edge's standing with the cloud: a current session, renewed before it runs out, and an offline gate.

The poller (results) and the sales uploader (till sales) post through it from their own threads: one lock
keeps the session and the backoff gate consistent between them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import structlog

from chalicelib.contracts import JobResult, ResultAck, TillSale, TillSaleAck
from edge.backoff import RetryGate
from edge.cloud import (
    CloudAuthError,
    CloudClient,
    CloudError,
    CloudRejected,
    CloudUnavailable,
    EdgeSession,
)

log = structlog.get_logger("edge.session")
_Ack = TypeVar("_Ack", ResultAck, TillSaleAck)


def refresh_time(obtained_at: float, session: EdgeSession, ratio: float) -> float:
    """When to renew: ``ratio`` of the way from obtaining the session to the first expiry in it."""
    return obtained_at + max(0.0, session.expires - obtained_at) * ratio


class CloudLink:
    """Opens and renews the edge session and posts results; backs off while the cloud is out of reach.

    ``wall`` is the epoch clock the session's expiry times are measured in;
    ``mono`` drives the backoff gate.
    """

    def __init__(
        self,
        client: CloudClient,
        gate: RetryGate,
        refresh_ratio: float,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._gate = gate
        self._ratio = refresh_ratio
        self._wall = wall
        self._mono = mono
        self._session: EdgeSession | None = None
        self._refresh_at = 0.0
        self.online = False
        self._lock = threading.RLock()  # the poller and the sales uploader share the session and its backoff

    @property
    def current(self) -> EdgeSession | None:
        """The last session obtained, even if expired (for display)."""
        return self._session

    def seconds_until_available(self) -> float:
        return self._gate.seconds_until_open(self._mono())

    def seconds_until_renewal(self) -> float:
        """How soon ``session()`` will try to open or renew the session."""
        if self._session is None:
            return self.seconds_until_available()
        return max(self._refresh_at - self._wall(), self.seconds_until_available())

    def session(self) -> EdgeSession | None:
        """A session that has not expired, renewed when due; None while none can be had."""
        with self._lock:
            return self._session_now()

    def _session_now(self) -> EdgeSession | None:
        if self._session is not None and self._wall() < self._refresh_at:
            return self._session
        if self._gate.is_open(self._mono()):
            try:
                self._open()
            except CloudError as exc:
                self._failed(exc, "edge_session_failed")
        return self._unexpired()

    def invalidate(self) -> None:
        """Renew the session at the next opportunity (after a 401 or expired AWS credentials)."""
        self._refresh_at = 0.0

    def post_result(self, result: JobResult) -> ResultAck:
        """Deliver one result; a 401 renews the session and tries once more.

        Raises ``CloudUnavailable`` (try later) or ``CloudRejected`` (never).
        """
        return self._deliver(lambda session: self._client.post_result(session.token, result), f"job {result.job_id}")

    def post_sale(self, build: Callable[[EdgeSession], TillSale]) -> TillSaleAck:
        """Upload one sale the till printed, built for the session's shop; the same rules as ``post_result``."""
        return self._deliver(lambda session: self._client.post_sale(session.token, build(session)), "till sale")

    def _deliver(self, post: Callable[[EdgeSession], _Ack], what: str) -> _Ack:
        with self._lock:
            if not self._gate.is_open(self._mono()):
                raise CloudUnavailable("cloud backing off")
            session = self.session()
            if session is None:
                raise CloudUnavailable("no edge session")
            try:
                return self._post(post, session, last_try=False)
            except CloudAuthError:
                log.info("edge_token_refused", what=what)
            self.invalidate()
            renewed = self.session()
            if renewed is None or renewed is session:
                raise CloudUnavailable("edge session could not be renewed")
            return self._post(post, renewed, last_try=True)

    def _post(self, post: Callable[[EdgeSession], _Ack], session: EdgeSession, *, last_try: bool) -> _Ack:
        try:
            ack = post(session)
        except CloudAuthError as exc:
            if not last_try:
                raise
            self._failed(exc, "result_unauthorized")
            raise CloudUnavailable(str(exc), status=exc.status, code=exc.code) from exc
        except CloudUnavailable as exc:
            self._failed(exc, "result_deferred")
            raise
        except CloudRejected:
            self._succeeded()
            raise
        self._succeeded()
        return ack

    def _open(self) -> None:
        obtained_at = self._wall()
        session = self._client.open_session()
        if session.expires <= obtained_at:
            raise CloudUnavailable("the cloud handed out an already expired session")
        self._session = session
        self._refresh_at = refresh_time(obtained_at, session, self._ratio)
        self._succeeded()
        log.info("edge_session_opened", shop_id=session.shop_id, expires_at=session.expires)

    def _unexpired(self) -> EdgeSession | None:
        if self._session is not None and self._wall() < self._session.expires:
            return self._session
        return None

    def _succeeded(self) -> None:
        self._gate.succeed()
        self.online = True

    def _failed(self, exc: CloudError, event: str) -> None:
        delay = self._gate.fail(self._mono())
        self.online = False
        log.warning(event, error=str(exc), code=exc.code, status=exc.status, retry_in=round(delay, 2))
