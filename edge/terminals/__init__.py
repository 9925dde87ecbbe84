"""Card terminals, chosen by the configured manufacturer."""

from __future__ import annotations

from pathlib import Path

from edge.config import PosTerminalConfig
from edge.drivers.base import UnsupportedDevice
from edge.terminals import simulated
from edge.terminals.base import PosTerminal


def create_terminal(config: PosTerminalConfig, state_dir: Path) -> PosTerminal:
    if config.manufacturer != simulated.MANUFACTURER:
        raise UnsupportedDevice(f"unsupported card terminal manufacturer {config.manufacturer!r} (supported: {simulated.MANUFACTURER})")
    if config.model not in simulated.MODELS:
        raise UnsupportedDevice(f"unsupported {config.manufacturer} terminal model {config.model!r} (supported: {', '.join(simulated.MODELS)})")
    return simulated.SimulatedTerminal(state_dir / simulated.STATE_FILE, config.name, config.timeout_seconds)
