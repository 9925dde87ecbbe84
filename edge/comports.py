"""Serial ports this edge can use: those pyserial finds, the configured extra places, and device servers.

pyserial lists hardware ports (``/dev/ttyS*``, ``ttyUSB*``, ``ttyACM*``…) and, with
``include_links``, the ``/dev`` symlinks to them. Virtual ports (pseudo-terminals behind
a stable symlink, socat pairs, ``/dev/serial/by-id`` names) come from the edge config's
``serial_port_globs``; a match counts only if it leads to a character device. Serial device
servers on the LAN (``socket://host:port``, ``rfc2217://host:port``) cannot be discovered: those
of ``serial_port_urls`` and those configured devices use are listed as they are.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable

from serial.tools import list_ports


def _is_char_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def list_com_ports(extra_globs: Iterable[str], urls: Iterable[str]) -> list[str]:
    """Port names and device server URLs, sorted and without duplicates."""
    found = {port.device for port in list_ports.comports(include_links=True)}
    for pattern in extra_globs:
        found.update(path for path in glob.glob(pattern) if _is_char_device(path))
    found.update(urls)
    return sorted(found)
