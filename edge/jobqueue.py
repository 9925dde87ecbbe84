"""The shop's SQS jobs queue, reached with the edge session's scoped credentials."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
import structlog
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from edge.cloud import EdgeSession
from edge.journal import InboundMessage

log = structlog.get_logger("edge.jobqueue")

MAX_MESSAGES = 10
_AUTH_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AccessDenied",
    "AccessDeniedException",
}
_GONE_CODES = {"ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight"}


class QueueError(Exception):
    """SQS could not be reached or refused the call; try again later."""


class QueueAuthError(QueueError):
    """The session's AWS credentials were refused (expired?): renew the session."""


class MessageGone(QueueError):
    """The receipt handle no longer names a message in flight (deleted, or handed out again)."""


class JobQueue:
    def __init__(self, session: EdgeSession, endpoint_url: str | None, wait_time_seconds: int) -> None:
        self.url = session.queue_url
        aws = boto3.session.Session(
            aws_access_key_id=session.credentials.access_key_id,
            aws_secret_access_key=session.credentials.secret_access_key.get_secret_value(),
            aws_session_token=session.credentials.session_token.get_secret_value(),
            region_name=session.region,
        )
        self._sqs = aws.client(
            "sqs",
            endpoint_url=endpoint_url,
            config=Config(connect_timeout=5, read_timeout=wait_time_seconds + 10, retries={"max_attempts": 2, "mode": "standard"}),
        )

    def receive(self, wait_seconds: int) -> list[InboundMessage]:
        with _translated("receive"):
            reply = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return [
            InboundMessage(
                message_id=m["MessageId"],
                receipt_handle=m["ReceiptHandle"],
                body=m.get("Body", ""),
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in reply.get("Messages", [])
        ]

    def delete(self, receipt_handle: str) -> None:
        with _translated("delete"):
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt_handle)

    def hide(self, receipt_handle: str, seconds: int) -> None:
        """Keep a message in flight for ``seconds`` more (ChangeMessageVisibility)."""
        with _translated("change_visibility"):
            self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)

    def hide_all(self, receipt_handles: Sequence[str], seconds: int) -> None:
        """Best effort: a message that cannot be hidden comes back and is recognised by the journal."""
        for handle in receipt_handles:
            try:
                self.hide(handle, seconds)
            except QueueError as exc:
                log.warning("visibility_not_extended", error=str(exc))


def receive_abandonable(queue: JobQueue, wait_seconds: int, stop: threading.Event) -> list[InboundMessage]:
    """Long-poll in a helper thread so that ``stop`` is honoured at once.

    An abandoned poll may still take messages off the queue; nothing was
    journaled for them, so they simply come back after their visibility timeout.
    """
    outcome: dict[str, list[InboundMessage] | Exception] = {}
    done = threading.Event()

    def poll() -> None:
        try:
            outcome["messages"] = queue.receive(wait_seconds)
        except Exception as exc:  # handed over to the polling thread below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=poll, name="sqs-receive", daemon=True).start()
    while not done.wait(0.05):
        if stop.is_set():
            return []
    error = outcome.get("error")
    if isinstance(error, Exception):
        raise error
    messages = outcome["messages"]
    assert isinstance(messages, list)
    return messages


@dataclass
class _Call:
    """A device call whose messages are kept invisible: hidden again at ``due`` (monotonic seconds)."""

    queue: JobQueue
    receipt_handles: Sequence[str]
    seconds: int
    after: float
    due: float


class VisibilityKeeper:
    """Keeps a device call's messages invisible: once the call has taken ``after`` seconds, hides them for ``seconds``
    more, and again every ``max(after, seconds / 2)``. One helper thread, started at the first call, serves every call:
    nothing is started per call (a thread's start and join cost more than a fast device's whole receipt), and it
    wakes only when a call is due, not at each call's start and end."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._call: _Call | None = None
        self._hiding: _Call | None = None
        self._waiting_until = math.inf  # when the helper thread wakes next
        self._thread: threading.Thread | None = None

    @contextmanager
    def kept(self, queue: JobQueue | None, receipt_handles: Sequence[str], seconds: int, after: float) -> Iterator[None]:
        """While the block runs (a device call), keep its messages invisible."""
        if queue is None or not receipt_handles:
            yield
            return
        call = _Call(queue, receipt_handles, seconds, after, time.monotonic() + after)
        with self._changed:
            self._call = call
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sqs-visibility", daemon=True)
                self._thread.start()
            elif call.due < self._waiting_until:
                self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._call = None
                while self._hiding is call:  # the call's messages are not touched once it has returned
                    self._changed.wait()

    def _run(self) -> None:
        with self._changed:
            while True:
                call = self._call
                now = time.monotonic()
                if call is None or call.due > now:
                    self._waiting_until = math.inf if call is None else call.due
                    self._changed.wait(None if call is None else call.due - now)
                    self._waiting_until = math.inf
                    continue
                call.due = now + max(call.after, call.seconds / 2)
                self._hiding = call
                self._changed.release()
                try:
                    call.queue.hide_all(call.receipt_handles, call.seconds)
                finally:
                    self._changed.acquire()
                    self._hiding = None
                    self._changed.notify_all()


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        text = f"sqs {action}: {code}"
        if code in _AUTH_CODES:
            raise QueueAuthError(text) from exc
        if code in _GONE_CODES:
            raise MessageGone(text) from exc
        raise QueueError(text) from exc
    except BotoCoreError as exc:
        raise QueueError(f"sqs {action}: {type(exc).__name__}") from exc
