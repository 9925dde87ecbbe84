"""A rich progress bar while the edge drains a backlog (jobs journaled but not yet reported)."""

from __future__ import annotations

import threading
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from edge.journal import Journal


class BacklogProgress:
    """Polls the journal's backlog; shows a bar from the first job waiting until none is left."""

    def __init__(self, journal: Journal, out: TextIO, stop: threading.Event, interval: float = 0.2) -> None:
        self._journal = journal
        self._console = Console(file=out, force_terminal=out.isatty(), width=100)
        self._stop = stop
        self._interval = interval
        self._thread = threading.Thread(target=self._watch, name="backlog-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=2)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            backlog = self._journal.summary().backlog
            if backlog:
                self._drain(backlog)

    def _drain(self, backlog: int) -> None:
        total = backlog
        columns = (TextColumn("draining backlog"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self._console, transient=False) as progress:
            task = progress.add_task("backlog", total=total)
            while backlog and not self._stop.is_set():
                total = max(total, backlog + int(progress.tasks[0].completed))
                progress.update(task, total=total, completed=total - backlog)
                self._stop.wait(self._interval)
                backlog = self._journal.summary().backlog
            progress.update(task, total=total, completed=total - backlog)
        if not backlog:
            self._console.print(f"backlog drained: {total} job(s)")
