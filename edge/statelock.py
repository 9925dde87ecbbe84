"""One edge per state directory: two pollers sharing a journal could print a job twice."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "edge.lock"


class StateDirBusy(Exception):
    """Another edge process holds the state directory."""


@contextmanager
def exclusive_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold an OS lock on ``<state_dir>/edge.lock`` for the life of the block (released if the process dies)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held open for the block
    try:
        try:
            _lock(handle.fileno())
        except OSError as exc:
            raise StateDirBusy(f"another edge is running on {state_dir}") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        yield
    finally:
        handle.close()


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
