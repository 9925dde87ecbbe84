"""One byte stream to the emulated device, with injectable link faults.

A frame the device cannot read is answered with NAK (Tremol doc p.8); while busy the device answers RETRY 0Eh and
takes nothing (p.8); 09h is answered 40h ready, 42h out of paper (p.8), 04h with 04h.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.wire import NAK, PING_ON, RETRY, BadFrame, FrameReader, Ping


@dataclass
class LinkFaults:
    """Byte-level faults, each a count of answers to spoil (``silent`` and ``drop_after`` aside)."""

    silent: bool = False
    nak: int = 0
    busy: int = 0  # RETRY answers before the frame is taken
    corrupt_checksum: int = 0
    truncate: int = 0
    garbage: int = 0
    drop_after: int | None = None  # run this command, then fall silent: the link is cut (a crash, a pulled cable)
    drop_before: int | None = None  # fall silent when this command arrives, without running it


class TremolEndpoint:
    def __init__(self, device: TremolDevice, faults: LinkFaults | None = None) -> None:
        self.device = device
        self.faults = faults or LinkFaults()
        self._reader = FrameReader()

    def receive(self, chunk: bytes, send: Callable[[bytes], None]) -> None:
        for frame in self._reader.feed(chunk):
            faults = self.faults
            if faults.silent:
                continue
            if isinstance(frame, Ping):
                send(bytes([PING_ON]) if frame.byte == PING_ON else bytes([0x42 if self.device.faults.paper_out else 0x40]))
                continue
            if isinstance(frame, BadFrame) or faults.nak:
                if not isinstance(frame, BadFrame):
                    faults.nak -= 1
                send(bytes([NAK]))
                continue
            if faults.busy:
                faults.busy -= 1
                send(bytes([RETRY]))
                continue
            if faults.drop_before == frame.cmd:
                faults.drop_before = None
                faults.silent = True
                continue
            answer, ran = self.device.answer(frame)
            if ran and faults.drop_after == frame.cmd:
                faults.drop_after = None
                faults.silent = True
                continue
            send(self._spoil(answer))

    def _spoil(self, answer: bytes) -> bytes:
        faults = self.faults
        if faults.corrupt_checksum:
            faults.corrupt_checksum -= 1
            return answer[:-3] + bytes([0x30 + ((answer[-3] - 0x30 + 1) & 0x0F)]) + answer[-2:]
        if faults.truncate:
            faults.truncate -= 1
            return answer[: len(answer) // 2]
        if faults.garbage:
            faults.garbage -= 1
            return b"\xfe\x7fNOISE\x80\x81\x00"
        return answer
