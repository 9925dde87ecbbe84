"""The fiscal device of a chaos run, one adapter per family: the device the edge prints on, the faults the
bench can inject into it, and the device's own record of what it printed (never the edge's journal).

``simulated`` is the simulated register (its memory file; faults through the edge's management API). The
emulated families (``datecs`` C, ``datecs-p`` P, ``datecs-x`` X, ``daisy``; ``caspos``) are the emulators of
``edge/emulators/`` hosted in the bench's own process, so the bench can spoil their link and set their
fault flags while the edge runs, and read their electronic journal / ledger directly at the end. The stack
is still started with ``BRIDGE_EDGE_DEVICE=<family>`` so its demo shop fits the device (AZN and the Caspos VAT
types for ``caspos``); the edge's config is pointed at the bench's emulator instead of the stack's.

The ISL driver has no ``during_device_call`` crash point, so on ISL printers the device carries it out
(``arm_crash``): the bench kills the edge right after the printer closed a receipt, before the answer leaves.

Each adapter reports receipts as ``DeviceReceipt``: ``key`` is what identifies the receipt on the device and
also appears in the cloud's fiscal record of the order (``order_key``), so an order is matched to the
device's receipts without asking the edge.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.chaoskit.proxy import TcpProxy
from edge.emulators.caspos.register import CasposRegister
from edge.emulators.caspos.server import CasposServer
from edge.emulators.isl.device import FiscalPrinter
from edge.emulators.isl.endpoint import LinkFaults
from edge.emulators.isl.server import PtyServer
from edge.emulators.isl.wire import HostFrame
from edge.emulators.simulated.models import STATE_FILE as REGISTER_FILE
from edge.emulators.tremol.device import TremolDevice
from edge.emulators.tremol.endpoint import LinkFaults as TremolLinkFaults
from edge.emulators.tremol.server import PtyServer as TremolPtyServer
from edge.emulators.tremol.wire import HostFrame as TremolFrame
from edge.emulators.simulated.register import SimulatedRegister

SIMULATED_CLEAR: dict[str, Any] = {"paper_out": False, "cover_open": False, "link_loss": False, "busy": False, "latency_ms": 0}
FAMILIES = ("simulated", "datecs", "datecs-p", "datecs-x", "daisy", "tremol", "caspos")
# One model per family, as devstack runs them (devstack/stack.py ``_start_device``).
ISL_MODELS = {"datecs": ("DATECS", "DP25"), "datecs-p": ("DATECS", "FP800"), "datecs-x": ("DATECS", "DP25X"), "daisy": ("Daisy", "eXpert SX")}
ISL_CLOSE_RECEIPT = 0x38  # 38h closes the fiscal receipt (C doc p.15, P doc p.20, Daisy doc p.18, X doc p.14)


@dataclass(frozen=True)
class DeviceReceipt:
    key: str  # the device's identity of the receipt, as the cloud's fiscal record names it
    fiscal_number: str | None  # the number the cloud's record must carry, where the device has one
    total: int
    cash: int


@dataclass(frozen=True)
class DeviceZ:
    receipts: int
    net: int
    cash: int | None  # cash sales, where the device's report gives them


class FiscalDevice(ABC):
    family: str
    faults: tuple[str, ...]  # the printer faults this family's device can be given
    # Faults seen to bite before they were cleared (a lost answer that was lost, a NAK that was sent), where the
    # emulator shows it; a fault whose window passed without traffic bites nothing.
    took_effect: Counter[str]

    @abstractmethod
    def edge_toml(self) -> str | None:
        """The ``[fiscal_device]`` table the edge must use; None: keep the stack's."""

    @abstractmethod
    def inject(self, fault: str, window_s: float, latency_ms: int) -> None:
        """Start the fault; ``clear()`` ends it."""

    @abstractmethod
    def clear(self) -> None: ...

    @abstractmethod
    def receipts(self) -> list[DeviceReceipt]: ...

    @abstractmethod
    def last_z(self) -> DeviceZ | None: ...

    @staticmethod
    @abstractmethod
    def order_key(order: dict[str, Any]) -> str | None:
        """The device key an order's cloud record names (None while it has no fiscal record)."""

    def arm_crash(self, point: str | None, hits: int, kill: Callable[[], None]) -> bool:
        """Take over an edge life's crash point where the edge has none for this device: call ``kill`` at its
        ``hits``-th hit. False: the edge's own ``EDGE_CRASH_AT`` handles it. ``point=None`` disarms."""
        return False

    def close(self) -> None:
        return None


def fiscal_device(family: str, state_dir: Path, manage_base: str) -> FiscalDevice:
    if family == "simulated":
        return SimulatedFiscal(state_dir, manage_base)
    if family in ISL_MODELS:
        return IslFiscal(family)
    if family == "tremol":
        return TremolFiscal()
    if family == "caspos":
        return CasposFiscal()
    raise ValueError(f"device must be one of {', '.join(FAMILIES)}, not {family!r}")


def _fiscal(order: dict[str, Any]) -> dict[str, Any]:
    return dict(order.get("fiscal") or {})


class SimulatedFiscal(FiscalDevice):
    """The simulated register: faults through ``/manage/simulator/set_faults`` while the edge is up, else on its memory."""

    family = "simulated"
    faults = ("paper_out", "cover_open", "link_loss", "slow_replies", "lost_answer")

    def __init__(self, state_dir: Path, manage_base: str) -> None:
        self.register = SimulatedRegister(state_dir / REGISTER_FILE)
        self.took_effect = Counter()  # the simulated register does not tell
        self._manage = manage_base
        self.via_api = 0
        self.via_memory = 0
        self.api_misses: list[str] = []

    def edge_toml(self) -> str | None:
        return None

    def inject(self, fault: str, window_s: float, latency_ms: int) -> None:
        if fault == "slow_replies":
            self._set(latency_ms=latency_ms)
        elif fault == "lost_answer":  # a slow reply, and the link drops while the register still answers
            self._set(latency_ms=latency_ms)
            time.sleep(min(window_s, latency_ms / 2000))
            self._set(link_loss=True)
        else:
            self._set(**{fault: True})

    def clear(self) -> None:
        self._set(**SIMULATED_CLEAR)

    def _set(self, **changes: Any) -> None:
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

    def receipts(self) -> list[DeviceReceipt]:
        return [DeviceReceipt(r.sale_id, r.fiscal_number, r.total, r.paid_by("cash"))
                for r in self.register.receipts()]

    def last_z(self) -> DeviceZ | None:
        reports = self.register.z_reports()
        if not reports:
            return None
        z = reports[-1]
        return DeviceZ(z.receipt_count, z.net, z.cash.cash_sales)

    @staticmethod
    def order_key(order: dict[str, Any]) -> str | None:
        return str(order["job_id"]) if order.get("fiscal") else None  # the simulated register keys receipts by job id

    def close(self) -> None:
        self.register.close()


class IslFiscal(FiscalDevice):
    """An emulated Datecs C / Datecs P / Datecs X / Daisy printer on a pseudo-terminal; receipts by unique sale number (UNP)."""

    def __init__(self, family: str) -> None:
        self.family = family
        self.manufacturer, self.model = ISL_MODELS[family]
        self.printer = _CrashingPrinter(self.model)
        self.server = PtyServer(self.printer).start()
        self.took_effect = Counter()
        self._armed: str | None = None
        flags = [f for f in ("paper_out", "cover_open") if f in self.printer.family.layout.names]
        self.faults = (*flags, "link_loss", "slow_replies", "lost_answer", "line_noise")

    def edge_toml(self) -> str:
        return (f'[fiscal_device]\nmanufacturer = "{self.manufacturer}"\nmodel = "{self.model}"\n'
                f'name = "Chaos {self.manufacturer} {self.model}"\n'
                f'[fiscal_device.connection]\ntype = "serial"\nport = "{self.server.path}"\nbaud_rate = 115200\n')

    def inject(self, fault: str, window_s: float, latency_ms: int) -> None:
        link = self.server.faults
        self._armed = fault
        if fault in ("paper_out", "cover_open"):
            with self.printer.lock:
                setattr(self.printer.faults, fault, True)
        elif fault == "link_loss":
            link.silent = True
        elif fault == "slow_replies":  # SYN every 60 ms while busy, then the answer (C doc p.4)
            link.syn = max(1, latency_ms // 60)
        elif fault == "lost_answer":  # the receipt is closed on the device, its answer and all after it are lost
            link.drop_after = ISL_CLOSE_RECEIPT
        elif fault == "line_noise":  # NAKs, a bad checksum, a half frame and garbage, one answer each
            link.nak, link.corrupt_checksum, link.truncate, link.garbage = 1, 1, 1, 1
        else:
            raise ValueError(f"{self.family} cannot inject {fault}")

    def clear(self) -> None:
        link, fresh = self.server.faults, LinkFaults()
        if self._armed == "lost_answer" and link.silent:
            self.took_effect["lost_answer"] += 1  # 38h ran and its answer was never sent
        if self._armed == "line_noise" and not (link.nak or link.corrupt_checksum or link.truncate or link.garbage):
            self.took_effect["line_noise"] += 1
        self._armed = None
        for spec in fields(LinkFaults):
            setattr(link, spec.name, getattr(fresh, spec.name))
        with self.printer.lock:
            for name in ("paper_out", "cover_open"):
                if name in self.printer.family.layout.names:
                    setattr(self.printer.faults, name, False)

    def receipts(self) -> list[DeviceReceipt]:
        return [DeviceReceipt(unp, f"{doc.number:07d}", doc.total, _isl_cash(doc.paid))
                for unp, docs in self.printer.receipts_by_unp().items() for doc in docs]

    def last_z(self) -> DeviceZ | None:
        with self.printer.lock:
            zs = [d for d in self.printer.journal if d.kind == "z_report"]
            if not zs:
                return None
            z = zs[-1]
            count = sum(1 for d in self.printer.journal if d.kind == "fiscal" and d.z_number == z.z_number)
        return DeviceZ(count, z.total, None)

    @staticmethod
    def order_key(order: dict[str, Any]) -> str | None:
        unp = _fiscal(order).get("unique_sale_number")
        return str(unp) if unp else None

    def arm_crash(self, point: str | None, hits: int, kill: Callable[[], None]) -> bool:
        """The ISL driver has no ``during_device_call`` crash point: the device kills the edge itself, after the
        hits-th receipt closed and before its answer goes out, so the receipt exists and the edge never heard."""
        armed = point == "during_device_call"
        self.printer.arm(hits if armed else 0, kill if armed else None)
        return armed

    def close(self) -> None:
        self.server.stop()


class _CrashingPrinter(FiscalPrinter):
    """The emulated printer, calling the bench's kill after the n-th receipt 38h closed (the answer is sent afterwards)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._closes_left = 0
        self._kill: Callable[[], None] | None = None

    def arm(self, hits: int, kill: Callable[[], None] | None) -> None:
        with self.lock:
            self._closes_left, self._kill = hits, kill

    def answer(self, frame: HostFrame) -> tuple[bytes, bool]:
        kill = None
        with self.lock:
            before = len(self.journal)
            reply, ran = super().answer(frame)
            closed = ran and frame.cmd == ISL_CLOSE_RECEIPT and len(self.journal) > before
            if closed and self._kill is not None:
                self._closes_left -= 1
                if self._closes_left <= 0:
                    kill, self._kill = self._kill, None
        if kill is not None:  # outside the lock: the bench's edge runner arms this printer under its own lock
            kill()
        return reply, ran


def _isl_cash(paid: tuple[tuple[str, int], ...]) -> int:
    """Cash is payment code P in every ISL family (C doc p.13, P doc p.19, Daisy doc p.17); the journal names it "cash"."""
    return sum(amount for mode, amount in paid if mode == "cash")


TREMOL_MODEL = "M23"  # as devstack runs it
TREMOL_CLOSE_RECEIPT = 0x38  # 38h closes the fiscal receipt (Tremol doc p.54)


class TremolFiscal(FiscalDevice):
    """An emulated Tremol ZFP device on a pseudo-terminal; receipts by unique sale number, as for ISL printers."""

    family = "tremol"
    faults = ("paper_out", "link_loss", "slow_replies", "lost_answer", "line_noise")

    def __init__(self) -> None:
        self.device = _CrashingTremol(TREMOL_MODEL)
        self.server = TremolPtyServer(self.device).start()
        self.took_effect = Counter()
        self._armed: str | None = None

    def edge_toml(self) -> str:
        return (f'[fiscal_device]\nmanufacturer = "Tremol"\nmodel = "{TREMOL_MODEL}"\nname = "Chaos Tremol {TREMOL_MODEL}"\n'
                f'[fiscal_device.connection]\ntype = "serial"\nport = "{self.server.path}"\nbaud_rate = 115200\n')

    def inject(self, fault: str, window_s: float, latency_ms: int) -> None:
        link = self.server.faults
        self._armed = fault
        if fault == "paper_out":
            with self.device.lock:
                self.device.faults.paper_out = True
        elif fault == "link_loss":
            link.silent = True
        elif fault == "slow_replies":  # RETRY answers while busy (Tremol doc p.8), one per 50 ms of latency
            link.busy = max(1, latency_ms // 50)
        elif fault == "lost_answer":  # the receipt is closed on the device, its answer and all after it are lost
            link.drop_after = TREMOL_CLOSE_RECEIPT
        elif fault == "line_noise":  # a NAK, a bad checksum, a half frame and garbage, one answer each
            link.nak, link.corrupt_checksum, link.truncate, link.garbage = 1, 1, 1, 1
        else:
            raise ValueError(f"tremol cannot inject {fault}")

    def clear(self) -> None:
        link, fresh = self.server.faults, TremolLinkFaults()
        if self._armed == "lost_answer" and link.silent:
            self.took_effect["lost_answer"] += 1
        if self._armed == "line_noise" and not (link.nak or link.corrupt_checksum or link.truncate or link.garbage):
            self.took_effect["line_noise"] += 1
        self._armed = None
        for spec in fields(TremolLinkFaults):
            setattr(link, spec.name, getattr(fresh, spec.name))
        with self.device.lock:
            self.device.faults.paper_out = False

    def receipts(self) -> list[DeviceReceipt]:
        return [DeviceReceipt(unp, f"{doc.number:06d}", doc.total, sum(a for code, a in doc.paid if code == "0") - doc.change)
                for unp, docs in self.device.receipts_by_unp().items() for doc in docs]

    def last_z(self) -> DeviceZ | None:
        with self.device.lock:
            zs = [d for d in self.device.journal if d.kind == "z_report"]
            if not zs:
                return None
            z = zs[-1]
            count = sum(1 for d in self.device.journal if d.kind == "fiscal" and d.z_number == z.z_number)
        return DeviceZ(count, z.total, None)

    @staticmethod
    def order_key(order: dict[str, Any]) -> str | None:
        unp = _fiscal(order).get("unique_sale_number")
        return str(unp) if unp else None

    def arm_crash(self, point: str | None, hits: int, kill: Callable[[], None]) -> bool:
        """As for ISL printers: the device kills the edge after the hits-th receipt closed, before its answer goes out."""
        armed = point == "during_device_call"
        self.device.arm(hits if armed else 0, kill if armed else None)
        return armed

    def close(self) -> None:
        self.server.stop()


class _CrashingTremol(TremolDevice):
    """The emulated Tremol device, calling the bench's kill after the n-th 38h closed a receipt."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self._closes_left = 0
        self._kill: Callable[[], None] | None = None

    def arm(self, hits: int, kill: Callable[[], None] | None) -> None:
        with self.lock:
            self._closes_left, self._kill = hits, kill

    def answer(self, frame: TremolFrame) -> tuple[bytes, bool]:
        kill = None
        with self.lock:
            before = len(self.journal)
            reply, ran = super().answer(frame)
            closed = ran and frame.cmd == TREMOL_CLOSE_RECEIPT and len(self.journal) > before
            if closed and self._kill is not None:
                self._closes_left -= 1
                if self._closes_left <= 0:
                    kill, self._kill = self._kill, None
        if kill is not None:
            kill()
        return reply, ran


class CasposFiscal(FiscalDevice):
    """The emulated Caspos Mobile register over HTTP, behind a proxy the bench can cut; receipts are its sale documents."""

    family = "caspos"
    faults = ("link_loss", "slow_replies", "lost_answer", "server_error", "garbage")

    def __init__(self) -> None:
        self.register = CasposRegister()
        self.server = CasposServer(self.register).start()
        self.proxy = TcpProxy(self.server.port)
        self.took_effect = Counter()
        self._armed: Counter[str] = Counter()

    def edge_toml(self) -> str:
        return ('[fiscal_device]\nmanufacturer = "Caspos"\nmodel = "Caspos Mobile"\nname = "Chaos Caspos Mobile"\n'
                f'[fiscal_device.connection]\ntype = "http"\nurl = "{self.proxy.url}"\nusername = "username"\npassword = "password"\n')

    def inject(self, fault: str, window_s: float, latency_ms: int) -> None:
        r = self.register
        if fault == "link_loss":
            self.proxy.cut()
            return
        with r.lock:
            if fault == "slow_replies":
                r.delay_seconds = latency_ms / 1000
            elif fault == "lost_answer":  # the sale is recorded, its answer is lost (seed 002 §Close Shift l.250 covers the retry)
                r.drop_answer_to.append("sale")
                self._armed["lost_answer"] += 1
            elif fault == "server_error":
                r.http_status_next.extend([500, 500])
                self._armed["server_error"] += 2
            elif fault == "garbage":
                r.garbage_next += 1
                self._armed["garbage"] += 1
            else:
                raise ValueError(f"caspos cannot inject {fault}")

    def clear(self) -> None:
        self.proxy.restore()
        with self.register.lock:
            r = self.register
            bit = {"lost_answer": self._armed["lost_answer"] - len(r.drop_answer_to),
                   "server_error": self._armed["server_error"] - len(r.http_status_next),
                   "garbage": self._armed["garbage"] - r.garbage_next}
            self.took_effect.update({kind: n for kind, n in bit.items() if n > 0})
            self._armed = Counter()
            self.register.delay_seconds = 0.0
            self.register.drop_answer_to.clear()
            self.register.http_status_next.clear()
            self.register.garbage_next = 0

    def receipts(self) -> list[DeviceReceipt]:
        return [DeviceReceipt(str(d.answer["short_document_id"]), str(d.answer["short_document_id"]), d.total,
                              d.payments.get("cashPayment", 0))
                for d in self.register.documents("sale")]

    def last_z(self) -> DeviceZ | None:
        closed = [d for d in self.register.documents("z_report")]
        if not closed:
            return None
        currency = closed[-1].answer["currencies"][0]
        return DeviceZ(int(currency["saleCount"]), _minor(currency["saleSum"]), _minor(currency["saleCashSum"]))

    @staticmethod
    def order_key(order: dict[str, Any]) -> str | None:
        number = _fiscal(order).get("fiscal_number")
        return str(number) if number else None

    def close(self) -> None:
        self.proxy.close()
        self.server.stop()


def _minor(value: Any) -> int:
    return int(Decimal(str(value)) * 100)
