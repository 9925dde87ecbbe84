"""The edge's devices as the chaos bench drives them: the fiscal device of the run's family
(``fiscal.py``) and the simulated card terminal, whose next outcomes are queued in its own memory.
The day is closed through the edge's management API, as the shop would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bench.chaoskit.fiscal import FiscalDevice
from edge.local_token import TOKEN_FILE, read_token
from edge.terminals.simulated import STATE_FILE as TERMINAL_FILE
from edge.terminals.simulated import Outcome, SimulatedTerminal


class Devices:
    def __init__(self, state_dir: Path, manage_base: str, fiscal: FiscalDevice) -> None:
        self.fiscal = fiscal
        self.terminal = SimulatedTerminal(state_dir / TERMINAL_FILE)
        self._manage = manage_base
        self._token_path = state_dir / TOKEN_FILE

    def inject(self, fault: str, window_s: float, latency_ms: int = 0) -> None:
        self.fiscal.inject(fault, window_s, latency_ms)

    def clear_faults(self) -> None:
        self.fiscal.clear()

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
        self.fiscal.close()
        self.terminal.close()
