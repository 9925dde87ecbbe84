"""Faults on the edge's devices: the simulated register's fault flags and the card terminal's script.

Printer faults go through the edge's management API (``/manage/simulator/set_faults``) while the
edge is up; while it is down (killed a moment ago) they are set on the register's memory directly,
as a service tool would. The terminal's next outcomes are queued in its own memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from edge.emulators.simulated.models import STATE_FILE as REGISTER_FILE
from edge.emulators.simulated.register import SimulatedRegister
from edge.local_token import TOKEN_FILE, read_token
from edge.terminals.simulated import STATE_FILE as TERMINAL_FILE
from edge.terminals.simulated import Outcome, SimulatedTerminal

CLEAR: dict[str, Any] = {"paper_out": False, "cover_open": False, "link_loss": False, "busy": False, "latency_ms": 0}


class Devices:
    def __init__(self, state_dir: Path, manage_base: str) -> None:
        self.register = SimulatedRegister(state_dir / REGISTER_FILE)
        self.terminal = SimulatedTerminal(state_dir / TERMINAL_FILE)
        self._manage = manage_base
        self._token_path = state_dir / TOKEN_FILE
        self.via_api = 0
        self.via_memory = 0
        self.api_misses: list[str] = []

    def set_faults(self, **changes: Any) -> None:
        try:
            response = httpx.post(f"{self._manage}/manage/simulator/set_faults", json=changes, timeout=2)
            if response.status_code == 200:
                self.via_api += 1
                return
            self.api_misses.append(f"{response.status_code} {response.text[:200]}")
        except httpx.HTTPError as exc:
            self.api_misses.append(type(exc).__name__)
        self.register.set_faults(**changes)
        self.via_memory += 1

    def clear_faults(self) -> None:
        self.set_faults(**CLEAR)

    def script_terminal(self, *outcomes: Outcome) -> None:
        self.terminal.script(*outcomes)

    def z_report(self) -> dict[str, Any]:
        """Close the day through the running edge, as the shop would (with the edge's local token, as the CLI)."""
        token = read_token(self._token_path)
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        response = httpx.post(f"{self._manage}/manage/device_operation", json={"action_type": "ZReport"}, headers=headers, timeout=60)
        response.raise_for_status()
        return dict(response.json())

    def close(self) -> None:
        self.register.close()
        self.terminal.close()
