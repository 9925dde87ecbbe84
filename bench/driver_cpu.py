"""Fiscal driver CPU time per receipt against the serial wire time of the same bytes at 115200 baud, per device family.

One row of ``DEVICES`` per family: the model the driver is configured with, which the emulator also takes to pick
the family's protocol (``--device``, repeatable; every family by default). The emulated printer runs in a separate process on a pseudo-terminal; this process runs the
driver and measures its own CPU time (time.process_time) while printing receipts, so the
emulator's CPU is not counted. Wire time is what the bytes that crossed the port (both
directions) take on a real 115200-baud 8N1 line: 10 bits per byte.

A real printer is a device of its own. The emulator is not: it is a Python process on the same
machine, and on the driver's core it evicts the driver's caches between every command and its
answer, which costs the driver CPU no printer would. So where the machine has two cores the
headline puts the emulator on a core of its own; the same receipts with both on one core are
measured in the same run and reported beside it. The two placements alternate, in rounds, and
each reports the median round, since a shared machine's noise only ever adds time.

    .venv/bin/python bench/driver_cpu.py [--device datecs-c|datecs-p|datecs-x|daisy|tremol ...] --receipts 300 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.contracts import FiscalJob, JobLine, JobPayment, PaymentType
from edge.config import FiscalDeviceConfig
from edge.drivers import create_driver
from edge.drivers.isl.driver import IslDriver
from edge.drivers.tremol.driver import TremolDriver

BAUD = 115200
BITS_PER_BYTE = 10


@dataclass(frozen=True)
class Device:
    label: str
    manufacturer: str
    model: str  # as the edge's config names it (edge/drivers/__init__.py DRIVEN); the emulator takes it too
    emulator: str = "edge.emulators.isl.server"  # the module serving the family's emulator on a pty


DEVICES = {
    "datecs-c": Device("Datecs C", "DATECS", "DP25"),
    "datecs-p": Device("Datecs P", "DATECS", "FP800"),
    "datecs-x": Device("Datecs X", "DATECS", "DP25X"),
    "daisy": Device("Daisy", "Daisy", "eXpert SX"),
    "tremol": Device("Tremol ZFP", "Tremol", "M23", "edge.emulators.tremol.server"),  # 115200 bit/s by default (Tremol doc p.6)
}


def job(n: int) -> FiscalJob:
    lines = [JobLine(name=f"Item {i}", quantity=Decimal(1 + i % 3), unit_price=100 + i, vat_rate=Decimal(20), amount=(100 + i) * (1 + i % 3)) for i in range(5)]
    total = sum(line.amount for line in lines)
    return FiscalJob(
        job_id=f"bench-{n}", shop_id="bench", order_id=f"o-{n}", order_internal_id=f"i-{n}", created_at=0, operator="bench",
        lines=lines, payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=total), total=total,
    )


def placements() -> dict[str, tuple[set[int], set[int]]]:
    """CPU sets (driver, emulator) per placement; only "shared core" where there is one core or no affinity control."""
    if not hasattr(os, "sched_setaffinity"):
        return {"as scheduled": (set(), set())}
    cpus = sorted(os.sched_getaffinity(0))
    shared = {"shared core": ({cpus[0]}, {cpus[0]})}
    return {"own core": ({cpus[0]}, {cpus[1]}), **shared} if len(cpus) > 1 else shared


def pin(emulator_pid: int, driver_cpus: set[int], emulator_cpus: set[int]) -> None:
    """Every thread of the emulator (its pty is served by one of them) and this thread, which runs the driver."""
    if not driver_cpus:
        return
    os.sched_setaffinity(0, driver_cpus)
    for thread in os.listdir(f"/proc/{emulator_pid}/task"):
        os.sched_setaffinity(int(thread), emulator_cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=list(DEVICES), action="append", help="the family to measure (default: every one)")
    parser.add_argument("--receipts", type=int, default=300, help="receipts per placement, split over the rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    where = placements()  # before any pinning narrows this process's CPU set
    results = {name: measure(DEVICES[name], args.receipts, args.rounds, where) for name in args.device or DEVICES}
    print(json.dumps({"devices": results}, indent=2))


def measure(device: Device, receipts: int, rounds: int, where: dict[str, tuple[set[int], set[int]]]) -> dict[str, object]:
    """One family's driver on its emulator: prints the human summary, returns the numbers."""
    per_round = max(1, receipts // rounds)
    # Operator 1 with the family's factory password, as an unconfigured device sends it (P doc p.31, C doc p.23...).
    emulator = subprocess.Popen([sys.executable, "-m", device.emulator, "--model", device.model], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
    cpu_per_receipt: dict[str, list[float]] = {}
    try:
        assert emulator.stdout is not None
        ready = emulator.stdout.readline().split()
        pty = ready[2].removeprefix("pty=")
        with tempfile.TemporaryDirectory() as state:
            config = FiscalDeviceConfig(manufacturer=device.manufacturer, model=device.model,
                                        connection={"type": "serial", "port": pty, "baud_rate": BAUD})
            driver = create_driver(config, Path(state))
            assert isinstance(driver, IslDriver | TremolDriver)
            driver.print_receipt(job(-1))  # identity and tax rates are read once, not per receipt
            link = driver.link
            jobs = iter([job(n) for n in range(per_round * rounds * len(where))])  # built before any clock starts
            bytes_before, measured = link.bytes_out + link.bytes_in, 0
            wall0 = time.perf_counter()
            for _round in range(rounds):
                for name, (driver_cpus, emulator_cpus) in where.items():
                    pin(emulator.pid, driver_cpus, emulator_cpus)
                    cpu0 = time.process_time()
                    for _ in range(per_round):
                        driver.print_receipt(next(jobs))
                    cpu_per_receipt.setdefault(name, []).append((time.process_time() - cpu0) / per_round)
                    measured += per_round
            wall = time.perf_counter() - wall0
            wire_bytes = link.bytes_out + link.bytes_in - bytes_before
            driver.close()
    finally:
        emulator.terminate()
        emulator.wait(10)
    per_receipt_bytes = wire_bytes / measured
    per_receipt_wire = per_receipt_bytes * BITS_PER_BYTE / BAUD
    median = {name: statistics.median(values) for name, values in cpu_per_receipt.items()}
    headline = next(iter(median))
    print(f"{device.label} ({device.model})")
    print(f"receipts                 {measured} (5 lines each), {rounds} rounds of {per_round} per placement")
    print(f"bytes on the wire        {per_receipt_bytes:.0f} per receipt (both directions)")
    print(f"wire time @115200 8N1    {per_receipt_wire * 1000:.2f} ms per receipt")
    for name, values in cpu_per_receipt.items():
        listed = ", ".join(f"{v * 1000:.2f}" for v in values)
        print(f"driver CPU, {name:<12} {median[name] * 1000:.2f} ms per receipt, median of rounds ({listed}); {median[name] / per_receipt_wire:.4f}× wire")
    print(f"wall time over the pty   {wall / measured * 1000:.2f} ms per receipt (emulator in its own process)")
    return {"label": device.label, "model": device.model, "receipts": measured, "rounds": rounds, "placement": headline,
            "bytes_per_receipt": round(per_receipt_bytes), "wire_ms_per_receipt": round(per_receipt_wire * 1000, 2),
            "driver_cpu_ms_per_receipt": round(median[headline] * 1000, 3), "cpu_to_wire_ratio": round(median[headline] / per_receipt_wire, 4),
            "by_placement": {name: {"driver_cpu_ms_per_receipt": round(m * 1000, 3), "cpu_to_wire_ratio": round(m / per_receipt_wire, 4),
                                    "rounds_ms": [round(v * 1000, 3) for v in cpu_per_receipt[name]]} for name, m in median.items()},
            "wall_ms_per_receipt": round(wall / measured * 1000, 2)}


if __name__ == "__main__":
    main()
