"""The card terminals driven with ZVT over TCP (``edge.terminals.zvt``), for the catalogue and the config check.

The seed's terminals (seed 000 ``get_supported_devices``): driven when their payment application has the
ZVT ECR interface on TCP enabled, as German acquirers' builds of them do. Kept apart from the driver so
the management API lists them without importing it.
"""

from __future__ import annotations

from edge.config import ZVT_PORT

MANUFACTURERS: dict[str, tuple[str, ...]] = {"Ingenico": ("Desk3200", "Desk3500"), "PAX": ("A920", "A920 Pro")}
DEFAULT_PORT = ZVT_PORT  # where an edge.toml connection without ``port`` points (edge/config.py ZvtConnection)
