"""Read-only looks into the edge's journal while the edge runs (SQLite WAL allows a reader beside it)."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from edge.config import JOURNAL_FILE


@dataclass(frozen=True)
class Reported:
    job_id: str
    result_ms: int
    reported_ms: int | None
    state: str


class JournalView:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / JOURNAL_FILE

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if not self.path.exists():
            return []
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # the edge has not created its tables yet
            return []
        finally:
            db.close()

    def open_receipt_handles(self) -> list[str]:
        """Handles of the job messages the edge has journaled and not deleted yet."""
        return [str(h) for (h,) in self._rows("SELECT receipt_handle FROM messages WHERE deleted_ms IS NULL")]

    def some_job_bodies(self, rng: random.Random, count: int) -> list[str]:
        bodies = [str(b) for (b,) in self._rows("SELECT body FROM jobs WHERE order_id IS NOT NULL ORDER BY seq")]
        return rng.sample(bodies, min(count, len(bodies)))

    def states(self) -> dict[str, int]:
        return {str(s): int(n) for s, n in self._rows("SELECT state, COUNT(*) FROM jobs GROUP BY state")}

    def results(self) -> list[Reported]:
        """Every job with a result, in the order the results were produced."""
        rows = self._rows("SELECT job_id, result_ms, reported_ms, state FROM jobs WHERE result_ms IS NOT NULL ORDER BY result_ms, seq")
        return [Reported(str(j), int(r), int(p) if p is not None else None, str(s)) for j, r, p, s in rows]  # type: ignore[arg-type]
