"""One edge per state directory: two pollers sharing a journal could print a job twice.

The state directory is the edge's own (journal, settings with device passwords, the local token),
so taking it also makes it the owner's only: 0700.
"""

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
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    handle = os.fdopen(os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600), "r+b")
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
