"""Card terminals, chosen by the configured manufacturer."""

from __future__ import annotations

from pathlib import Path

from edge.config import PosTerminalConfig
from edge.drivers.base import UnsupportedDevice
from edge.terminals import simulated, zvt_models
from edge.terminals.base import PosTerminal
from edge.terminals.zvt.terminal import ZvtTerminal, ledger_path

# manufacturer -> models, for every card terminal the edge drives
SUPPORTED: dict[str, tuple[str, ...]] = {simulated.MANUFACTURER: simulated.MODELS, **zvt_models.MANUFACTURERS}


def create_terminal(config: PosTerminalConfig, state_dir: Path) -> PosTerminal:
    models = SUPPORTED.get(config.manufacturer)
    if models is None:
        raise UnsupportedDevice(f"unsupported card terminal manufacturer {config.manufacturer!r} (supported: {', '.join(SUPPORTED)})")
    if config.model not in models:
        raise UnsupportedDevice(f"unsupported {config.manufacturer} terminal model {config.model!r} (supported: {', '.join(models)})")
    if config.manufacturer == simulated.MANUFACTURER:
        return simulated.SimulatedTerminal(state_dir / simulated.STATE_FILE, config.name, config.timeout_seconds)
    if config.connection is None:
        raise UnsupportedDevice(f"{config.manufacturer} {config.model} speaks ZVT over TCP: give its connection (host, port {zvt_models.DEFAULT_PORT})")
    host, port = config.connection.host, config.connection.port
    return ZvtTerminal(
        host, port, ledger_path(state_dir, host, port), name=config.name, password=config.password, timeout_seconds=config.timeout_seconds
    )
