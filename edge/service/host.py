"""The edge hosted by a service manager that asks it to stop instead of signalling it (the Windows SCM).

``EdgeHost`` runs what ``edge run`` runs (``edge.runner.run_edge``) in a thread and stops it on request,
reporting "still stopping" at a steady beat meanwhile: the SCM gives up on a service whose stop-pending
check point stops moving (SERVICE_STATUS.dwWaitHint, Microsoft's "Service Status Transitions"). Portable:
no win32 module, so it is tested on Linux; ``edge.service.windows`` is the thin glue around it.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, cast

from edge.config import EdgeConfig, load_config

SERVICE_LOG = "edge-service.log"


class RotatingLog(io.TextIOBase):
    """A text stream whose lines go to a size-bounded file with a few old copies: a service has no console
    for ``configure_logging`` to write to, and a till runs for years."""

    def __init__(self, path: Path, max_bytes: int = 5_000_000, backups: int = 3) -> None:
        self._handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
        self._handler.terminator = ""  # the writer's own newlines are kept as written

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._handler.handle(logging.makeLogRecord({"msg": text}))
        return len(text)

    def flush(self) -> None:
        self._handler.flush()

    def close(self) -> None:
        self._handler.close()
        super().close()


def service_log(config: EdgeConfig) -> TextIO:
    """``<state_dir>/edge-service.log``: where the hosted edge's log lines and READY line go."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    return cast(TextIO, RotatingLog(config.state_dir / SERVICE_LOG))  # a text stream, not typing's TextIO class


class EdgeHost:
    """Start the edge, wait while it runs, stop it when asked; ``run`` returns once the edge has stopped
    cleanly (journal closed, state directory released) and raises what made it fail."""

    def __init__(self, config: Path, log: Callable[[EdgeConfig], TextIO] = service_log) -> None:
        self._config = config
        self._log = log
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the edge to stop (from any thread); it finishes the receipt it is printing first."""
        self._stop.set()

    def run(self, stopping: Callable[[], None], beat: float = 5.0) -> None:
        """Run the edge until it stops; once a stop was asked for, call ``stopping`` every ``beat`` seconds
        until the edge is done."""
        failure: list[Exception] = []

        def edge() -> None:
            try:
                self._run_edge()
            except Exception as exc:  # handed to the caller's thread, which reports it
                failure.append(exc)

        thread = threading.Thread(target=edge, name="edge")
        thread.start()
        while True:
            thread.join(beat)
            if not thread.is_alive():
                break
            if self._stop.is_set():
                stopping()
        if failure:
            raise failure[0]

    def _run_edge(self) -> None:
        from edge.logs import configure_logging
        from edge.runner import run_edge

        # A service starts in %SystemRoot%\System32: a relative state_dir means the config's directory, as
        # under the systemd unit (WorkingDirectory=).
        os.chdir(self._config.parent)
        settings = load_config(self._config)
        out = self._log(settings)
        try:
            configure_logging(out)
            os.umask(0o077)  # as ``edge run``: what the edge creates in its state directory is the owner's only
            run_edge(settings, self._stop, out)
        finally:
            out.flush()
