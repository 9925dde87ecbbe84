"""Child processes of the local stack: start, wait until ready, stop them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


class StartupFailed(RuntimeError):
    pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_line(self, marker: str, timeout: float) -> str:
        """Wait until the child's output has a line starting with ``marker``; return that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_text().splitlines():
                if line.startswith(marker):
                    return line
            if self.process.poll() is not None:
                raise StartupFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)
        raise StartupFailed(f"{self.name} was not ready after {timeout:.0f}s:\n{self.log_text()[-3000:]}")

    def wait_for_port(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartupFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise StartupFailed(f"{self.name} did not listen on {port} within {timeout:.0f}s:\n{self.log_text()[-3000:]}")

    def stop(self, grace: float = 8.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            return


class Supervisor:
    """Starts children in their own process groups and stops them in reverse order.

    Each child's pid is written to ``<log_dir>/<name>.pid``; children named in
    ``keep_alive`` are started again (same command, log appended) whenever they exit.
    """

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir, self.env = log_dir, env
        self.children: list[Child] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> Child:
        child = self._spawn(name, argv, extra_env or {}, append=False)
        with self._lock:
            self.children.append(child)
        return child

    def _spawn(self, name: str, argv: list[str], extra_env: dict[str, str], *, append: bool) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab" if append else "wb") as log_file:
            process = subprocess.Popen(
                argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**self.env, **extra_env}, start_new_session=True,
            )
        (self.log_dir / f"{name}.pid").write_text(f"{process.pid}\n")
        return Child(name, process, log_path, list(argv), dict(extra_env))

    def keep_alive(self, names: set[str], interval: float = 0.2) -> None:
        """Restart the named children whenever they exit, until ``stop_all``."""
        if not names:
            return

        def watch() -> None:
            while not self._stopping.wait(interval):
                with self._lock:
                    dead = [c for c in self.children if c.name in names and c.process.poll() is not None]
                for child in dead:
                    with self._lock:
                        if self._stopping.is_set():
                            return
                        self.children.remove(child)
                        self.children.append(self._spawn(child.name, child.argv, child.extra_env, append=True))

        threading.Thread(target=watch, name="supervisor-keep-alive", daemon=True).start()

    def stop_all(self) -> None:
        self._stopping.set()
        with self._lock:
            children = list(reversed(self.children))
            self.children.clear()
        for child in children:
            child.stop()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
