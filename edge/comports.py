"""Serial ports on this machine: those pyserial finds, plus the configured extra places.

pyserial lists hardware ports (``/dev/ttyS*``, ``ttyUSB*``, ``ttyACM*``…) and, with
``include_links``, the ``/dev`` symlinks to them. Virtual ports (pseudo-terminals behind
a stable symlink, socat pairs, ``/dev/serial/by-id`` names) come from the edge config's
``serial_port_globs``; a match counts only if it leads to a character device.
"""

from __future__ import annotations

import glob
import os
import stat

from serial.tools import list_ports


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def list_com_ports(extra_globs: list[str]) -> list[str]:
    """Port names, sorted and without duplicates."""
    found = {port.device for port in list_ports.comports(include_links=True)}
    for pattern in extra_globs:
        found.update(path for path in glob.glob(pattern) if _is_char_device(path))
    return sorted(found)
