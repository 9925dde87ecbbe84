"""The edge poller as a process the chaos bench owns: started with the stack's ``edge.toml``
(pointed at the network proxies), killed at crash points or at random moments, and restarted.

Every life of the edge may carry a crash point (``EDGE_CRASH_AT=<point>:<n>``), drawn from
the seeded plan: the points are taken round-robin from a shuffled list so that every one of
them is covered, the hit ``n`` at random. A crash point the edge has no hook for on the run's device
is carried out by the device instead (``FiscalDevice.arm_crash``), which SIGKILLs that life. A monitor thread restarts the edge whenever it
exits, after a short random pause, until ``heal()`` or ``stop()``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge.faults import CHARGE_CRASHPOINTS, CRASH_EXIT_CODE, CRASHPOINTS

ALL_CRASHPOINTS: tuple[str, ...] = CRASHPOINTS + CHARGE_CRASHPOINTS
ROOT = Path(__file__).resolve().parent.parent.parent

# How the chaos run tunes the edge: retries capped at 1 s stand for the 60 s of a real shop, so an
# outage of N seconds here puts the edge through as many retry cycles as N minutes would there.
CHAOS_TUNING = {
    "wait_time_seconds": 2,
    "hold_visibility_seconds": 30,
    "extend_visibility_after_seconds": 2.0,
    "retry_initial_seconds": 0.1,
    "retry_max_seconds": 1.0,
    "http_timeout_seconds": 5.0,
}


def chaos_edge_config(stack_config: Path, api_url: str, aws_url: str, target: Path, fiscal_toml: str | None = None) -> Path:
    """The stack's edge.toml, with the cloud reached through the proxies and the chaos tuning; ``fiscal_toml``
    replaces its ``[fiscal_device]`` tables (the bench's own emulator instead of the stack's)."""
    text = stack_config.read_text()
    if fiscal_toml is not None:
        text = re.sub(r"^\[fiscal_device\].*?(?=^\[pos_terminal\])", lambda _: fiscal_toml, text, flags=re.M | re.S)
    text = re.sub(r'^api_base = ".*"$', f'api_base = "{api_url}"', text, flags=re.M)
    text = re.sub(r'^aws_endpoint_url = ".*"$', f'aws_endpoint_url = "{aws_url}"', text, flags=re.M)
    head, sep, tables = text.partition("\n[")
    tuning = "".join(f"{key} = {value}\n" for key, value in CHAOS_TUNING.items())
    target.write_text(head + "\n" + tuning + sep.lstrip("\n") + tables if sep else text + tuning)
    target.chmod(0o600)
    return target


@dataclass
class Exit:
    life: int
    code: int
    crash_at: str | None
    stopped: bool = False  # stopped by the bench (SIGTERM), not a crash
    by_device: bool = False  # killed by the device at the life's crash point (``FiscalDevice.arm_crash``)


@dataclass
class CrashPlan:
    """Which crash point each life of the edge carries (None: none)."""

    rng: random.Random
    armed_ratio: float
    max_hits: int
    points: tuple[str, ...] = ALL_CRASHPOINTS  # a run with till sales adds the till's (edge.faults.TILL_CRASHPOINTS)
    _order: list[str] = field(default_factory=list)

    def next_spec(self) -> str | None:
        if self.rng.random() >= self.armed_ratio:
            return None
        if not self._order:
            self._order = list(self.points)
            self.rng.shuffle(self._order)
        point = self._order.pop()
        hits = self.rng.randint(1, self.max_hits)
        return f"{point}:{hits}"


# (crash point or None, hit, kill) -> whether the device carries out this crash point (``FiscalDevice.arm_crash``)
DeviceCrash = Callable[[str | None, int, Callable[[], None]], bool]


class EdgeRunner:
    def __init__(self, config: Path, log_path: Path, plan: CrashPlan, rng: random.Random,
                 device_crash: DeviceCrash | None = None) -> None:
        self._config = config
        self._device_crash = device_crash
        self._killed_by_device: int | None = None  # the life the device killed
        self._log_path = log_path
        self._plan = plan
        self._rng = rng
        self._lock = threading.RLock()
        self._process: subprocess.Popen[bytes] | None = None
        self._spec: str | None = None
        self._life = 0
        self._arming = True
        self._running = False
        self.exits: list[Exit] = []
        self.sigkills = 0

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            self._running = True
            self._spawn()
        threading.Thread(target=self._monitor, name="edge-monitor", daemon=True).start()

    def kill(self) -> bool:
        """SIGKILL the edge now (the monitor restarts it); False if it was not running."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                return False
            os.killpg(process.pid, signal.SIGKILL)
            self.sigkills += 1
            return True

    def heal(self) -> None:
        """No more crash points: a life still armed is stopped gracefully and the edge restarted clean."""
        with self._lock:
            self._arming = False
            armed = self._spec is not None
        if armed:
            self._graceful_stop()
            with self._lock:
                if self._process is None:
                    self._spawn()

    def stop(self) -> int | None:
        with self._lock:
            self._running = False
        return self._graceful_stop()

    # -- what happened ---------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        with self._lock:
            return self._process is not None and self._process.poll() is None

    def crashpoint_exits(self) -> Counter[str]:
        return Counter(e.crash_at.split(":")[0] for e in self.exits if (e.code == CRASH_EXIT_CODE or e.by_device) and e.crash_at)

    def unexpected_exits(self) -> list[Exit]:
        return [e for e in self.exits if not e.stopped and e.code not in (CRASH_EXIT_CODE, -signal.SIGKILL)]

    def lives(self) -> int:
        return self._life

    # -- internals -------------------------------------------------------------------------------

    def _spawn(self) -> None:
        self._life += 1
        self._spec = self._plan.next_spec() if self._arming else None
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EDGE_", "BRIDGE_"))}
        env["PYTHONUNBUFFERED"] = "1"
        point, _, hits = (self._spec or "").partition(":")
        life = self._life
        by_device = self._device_crash is not None and self._device_crash(point or None, int(hits or 0), lambda: self._kill_from_device(life))
        if self._spec and not by_device:
            env["EDGE_CRASH_AT"] = self._spec
        with self._log_path.open("ab") as log:
            log.write(f"\n=== edge life {self._life} crash_at={self._spec} at {time.time():.3f}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "edge", "run", "--config", str(self._config)], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def _monitor(self) -> None:
        while True:
            time.sleep(0.05)
            with self._lock:
                if not self._running:
                    return
                process = self._process
                if process is None or process.poll() is None:
                    continue
                self.exits.append(Exit(self._life, process.returncode, self._spec, by_device=self._killed_by_device == self._life))
                self._process = None
                pause = self._rng.uniform(0.1, 0.8)
            time.sleep(pause)
            with self._lock:
                if self._running and self._process is None:
                    self._spawn()

    def _kill_from_device(self, life: int) -> None:
        """The device's crash point of ``life`` was reached: SIGKILL it, unless a later life runs by now."""
        with self._lock:
            process = self._process
            if life != self._life or process is None or process.poll() is not None:
                return
            self._killed_by_device = life
            os.killpg(process.pid, signal.SIGKILL)

    def _graceful_stop(self) -> int | None:
        with self._lock:
            process, self._process = self._process, None
            spec = self._spec
        if process is None:
            return None
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        with self._lock:
            self.exits.append(Exit(self._life, process.returncode, spec, stopped=True))
        return process.returncode
