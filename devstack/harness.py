"""Run the real local stack as a subprocess (for the end-to-end tests and benches)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.stack import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    demo: dict[str, Any]
    var_dir: Path
    ports: dict[str, int]

    def child_pid(self, name: str) -> int:
        """The pid of the stack's child ``name`` (moto, api, pump, edge…), as its supervisor last started it."""
        return int((self.var_dir / "logs" / f"{name}.pid").read_text())

    def kill_child(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal the child's whole process group; returns the pid signalled."""
        pid = self.child_pid(name)
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        return pid

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextmanager
def running_stack(var_dir: Path, extra_env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[RunningStack]:
    """Start ``python -m devstack --no-demo`` on free ports; yield once it printed READY."""
    ports = {"aws": free_port(), "api": free_port(), "edge": free_port()}
    env = {**os.environ, "BRIDGE_VAR_DIR": str(var_dir), "BRIDGE_AWS_PORT": str(ports["aws"]),
           "BRIDGE_API_PORT": str(ports["api"]), "BRIDGE_EDGE_PORT": str(ports["edge"]), **(extra_env or {})}
    output = (var_dir / "devstack.out").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "devstack", "--no-demo"], cwd=ROOT, env=env,
                               stdout=output, stderr=subprocess.STDOUT, text=True)
    stack = RunningStack(process, {}, var_dir, ports)
    try:
        deadline = time.monotonic() + timeout
        while True:
            output.seek(0)
            ready = [line for line in output.read().splitlines() if line.startswith("READY ")]
            if ready:
                stack.demo = json.loads(Path(ready[0].split(" ", 1)[1]).read_text())
                break
            if process.poll() is not None or time.monotonic() > deadline:
                output.seek(0)
                raise RuntimeError(f"local stack did not start:\n{output.read()[-4000:]}")
            time.sleep(0.1)
        yield stack
    finally:
        stack.stop()
        output.close()
