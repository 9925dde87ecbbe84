"""SQLite opened for durability, shared by the journal and the simulated register.

WAL with ``synchronous=FULL`` makes every committed transaction survive a power
cut; ``BEGIN IMMEDIATE`` takes the write lock up front so two writers never
deadlock half-way. The files are the owner's only (0600, in a 0700 directory when it creates one):
the journal holds every receipt's lines and the register its sales (issue 19).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def open_durable(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """``durable=False`` (benches, emulators' scratch state) skips every fsync: fast, not crash-safe."""
    if str(path) != ":memory:":  # the bench's journal-off run: no file to create or protect
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        owner_only(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
    return db


def owner_only(path: Path) -> None:
    """Create ``path`` as an empty 0600 file, or take away what others may do with an existing one
    and its WAL and shared-memory files (SQLite gives those the database file's mode).

    An existing file is only chmod-ed, never opened: closing any descriptor of a database file drops
    every POSIX lock this process holds on it, including those of connections already open.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        if file.exists():
            os.chmod(file, 0o600)


@contextmanager
def immediate_transaction(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
