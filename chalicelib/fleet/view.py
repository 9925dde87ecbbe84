"""What the merchant sees of a shop's edge (DESIGN §4.4), computed at read time: no timer decides ``online``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from chalicelib.contracts import Backlog, DeviceHeartbeat

ONLINE_WINDOW = 120
"""Seconds of silence after which an edge counts as offline."""


class EdgeView(BaseModel):
    online: bool = Field(description=f"False when no heartbeat came for {ONLINE_WINDOW} seconds (or none ever).")
    last_seen: int | None = Field(description="UTC epoch seconds of the last heartbeat, the cloud's clock.")
    version: str | None = Field(description="The edge's version, as its last heartbeat said.")
    devices: list[DeviceHeartbeat]
    backlog: Backlog | None = Field(description="Jobs to print, results to report, till sales to upload; "
                                                "null before the first heartbeat.")


def edge_view(state: dict[str, Any] | None, now: int) -> EdgeView:
    """The view of a stored edge state (None: the edge never reported)."""
    if not state:
        return EdgeView(online=False, last_seen=None, version=None, devices=[], backlog=None)
    last_seen = int(state["last_seen"])
    return EdgeView(online=now - last_seen < ONLINE_WINDOW, last_seen=last_seen, version=state["version"],
                    devices=[DeviceHeartbeat.model_validate(device) for device in state["devices"]],
                    backlog=Backlog.model_validate(state["backlog"]))
