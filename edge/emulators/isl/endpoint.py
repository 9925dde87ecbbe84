"""The byte side of the emulated device on one stream, with injectable link faults.

A frame the device cannot read is answered with NAK (C doc p.4, Daisy doc p.3); SYN bytes,
one every 60 ms, may precede an answer while the device is busy (C doc p.4).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from edge.emulators.isl import wire_x
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.wire import NAK, SYN, BadFrame, FrameReader


@dataclass
class LinkFaults:
    """Byte-level faults, each a count of answers to spoil (``silent`` and ``drop_after`` aside)."""

    silent: bool = False
    nak: int = 0
    corrupt_checksum: int = 0
    truncate: int = 0
    garbage: int = 0
    syn: int = 0
    syn_interval: float = 0.06
    drop_after: int | None = None  # run this command, then fall silent: the link is cut (a crash, a pulled cable)


class IslEndpoint:
    """Feeds a byte stream to the device and writes its answers back."""

    def __init__(self, printer: FiscalPrinter, faults: LinkFaults | None = None) -> None:
        self.printer = printer
        self.faults = faults or LinkFaults()
        family = printer.family
        reader = wire_x.FrameReader if family.x_protocol else FrameReader
        self._reader = reader(family.max_data, family.seq_range)

    def receive(self, chunk: bytes, send: Callable[[bytes], None]) -> None:
        """Handle bytes from the host; answers go out through ``send``."""
        for frame in self._reader.feed(chunk):
            faults = self.faults
            if faults.silent:
                continue
            if isinstance(frame, BadFrame) or faults.nak:
                if not isinstance(frame, BadFrame):
                    faults.nak -= 1
                send(bytes([NAK]))
                continue
            answer, ran = self.printer.answer(frame)
            if ran and faults.drop_after == frame.cmd:
                faults.drop_after = None
                faults.silent = True
                continue
            for _ in range(faults.syn):
                send(bytes([SYN]))
                time.sleep(faults.syn_interval)
            send(self._spoil(answer))

    def _spoil(self, answer: bytes) -> bytes:
        faults = self.faults
        if faults.corrupt_checksum:
            faults.corrupt_checksum -= 1
            return answer[:-2] + bytes([0x30 + ((answer[-2] - 0x30 + 1) & 0x0F)]) + answer[-1:]
        if faults.truncate:
            faults.truncate -= 1
            return answer[: len(answer) // 2]
        if faults.garbage:
            faults.garbage -= 1
            return b"\xfe\x7fNOISE\x80\x81\x00\x02"
        return answer
