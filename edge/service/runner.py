"""The one place service commands call the system's tools (systemctl): found on PATH, so a test puts its own
recording tool first on PATH and the real code path runs. The Windows path calls the SCM API instead."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


class ServiceError(Exception):
    """A service command could not be done; the message is one line for the operator."""


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str


def run(argv: list[str], timeout: float = 60.0) -> Outcome:
    """Run ``argv`` (list form, no shell, so paths with spaces stay one argument) and return its exit status and output."""
    tool = shutil.which(argv[0])
    if tool is None:
        raise ServiceError(f"{argv[0]} was not found on PATH")
    try:
        done = subprocess.run([tool, *argv[1:]], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"{argv[0]} failed: {exc}") from exc
    return Outcome(done.returncode, (done.stdout + done.stderr).strip())


def checked(argv: list[str]) -> Outcome:
    outcome = run(argv)
    if outcome.returncode != 0:
        raise ServiceError(f"{' '.join(argv)} exited {outcome.returncode}: {outcome.output[-500:]}")
    return outcome
