"""Tremol driver CPU time per receipt against the serial wire time of the same bytes at 115200 baud (issue 21
point 5: goal ≤ 0.02×).

The emulated Tremol device runs in its own process on a pseudo-terminal; this process runs the driver and counts
only its own CPU (time.process_time). Wire time is what the bytes that crossed the port, both ways, take on a
115200-baud 8N1 line (10 bits a byte). As in bench/datecs_driver.py, where the machine has two cores the emulator
gets the other one (a real device is a machine of its own), and the receipts alternate with a round on a shared
core, reported beside it; each placement reports its median round.

    .venv/bin/python bench/tremol_driver.py --receipts 300 --rounds 5
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
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.contracts import FiscalJob, JobLine, JobPayment, PaymentType  # noqa: E402
from edge.config import FiscalDeviceConfig  # noqa: E402
from edge.drivers import create_driver  # noqa: E402
from edge.drivers.tremol.driver import TremolDriver  # noqa: E402

BAUD = 115200  # Tremol doc p.6: 115200 bit/s by default
MODEL = "M23"
BITS_PER_BYTE = 10


def job(n: int) -> FiscalJob:
    """Five lines, paid in cash: the same receipt as the Datecs bench."""
    lines = [JobLine(name=f"Item {i}", quantity=Decimal(1 + i % 3), unit_price=100 + i, vat_rate=Decimal(20), amount=(100 + i) * (1 + i % 3))
             for i in range(5)]
    total = sum(line.amount for line in lines)
    return FiscalJob(job_id=f"bench-{n}", shop_id="bench", order_id=f"o-{n}", order_internal_id=f"i-{n}", created_at=0, operator="bench",
                     lines=lines, payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=total), total=total)


def placements() -> dict[str, tuple[set[int], set[int]]]:
    if not hasattr(os, "sched_setaffinity"):
        return {"as scheduled": (set(), set())}
    cpus = sorted(os.sched_getaffinity(0))
    shared = {"shared core": ({cpus[0]}, {cpus[0]})}
    return {"own core": ({cpus[0]}, {cpus[1]}), **shared} if len(cpus) > 1 else shared


def pin(emulator_pid: int, driver_cpus: set[int], emulator_cpus: set[int]) -> None:
    if not driver_cpus:
        return
    os.sched_setaffinity(0, driver_cpus)
    for thread in os.listdir(f"/proc/{emulator_pid}/task"):
        os.sched_setaffinity(int(thread), emulator_cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=300, help="receipts per placement, split over the rounds")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_round = max(1, args.receipts // args.rounds)
    emulator = subprocess.Popen([sys.executable, "-m", "edge.emulators.tremol.server", "--model", MODEL], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
    cpu: dict[str, list[float]] = {}
    try:
        assert emulator.stdout is not None
        pty = emulator.stdout.readline().split()[2].removeprefix("pty=")
        where = placements()
        with tempfile.TemporaryDirectory() as state:
            device = FiscalDeviceConfig(manufacturer="Tremol", model=MODEL, connection={"type": "serial", "port": pty, "baud_rate": BAUD})
            driver = create_driver(device, Path(state))
            assert isinstance(driver, TremolDriver)
            driver.print_receipt(job(-1))  # identity and VAT rates are read once, not per receipt
            link = driver.link
            jobs = iter([job(n) for n in range(per_round * args.rounds * len(where))])
            bytes_before, measured = link.bytes_out + link.bytes_in, 0
            wall0 = time.perf_counter()
            for _round in range(args.rounds):
                for name, (driver_cpus, emulator_cpus) in where.items():
                    pin(emulator.pid, driver_cpus, emulator_cpus)
                    cpu0 = time.process_time()
                    for _ in range(per_round):
                        driver.print_receipt(next(jobs))
                    cpu.setdefault(name, []).append((time.process_time() - cpu0) / per_round)
                    measured += per_round
            wall = time.perf_counter() - wall0
            wire_bytes = link.bytes_out + link.bytes_in - bytes_before
            driver.close()
    finally:
        emulator.terminate()
        emulator.wait(10)
    per_receipt_bytes = wire_bytes / measured
    wire = per_receipt_bytes * BITS_PER_BYTE / BAUD
    median = {name: statistics.median(values) for name, values in cpu.items()}
    headline = next(iter(median))
    print(f"receipts                 {measured} (5 lines each), {args.rounds} rounds of {per_round} per placement")
    print(f"bytes on the wire        {per_receipt_bytes:.0f} per receipt (both directions)")
    print(f"wire time @115200 8N1    {wire * 1000:.2f} ms per receipt")
    for name, values in cpu.items():
        rounds = ", ".join(f"{v * 1000:.2f}" for v in values)
        print(f"driver CPU, {name:<12} {median[name] * 1000:.2f} ms per receipt, median of rounds ({rounds}); {median[name] / wire:.4f}× wire")
    print(json.dumps({"receipts": measured, "rounds": args.rounds, "placement": headline, "bytes_per_receipt": round(per_receipt_bytes),
                      "wire_ms_per_receipt": round(wire * 1000, 2), "driver_cpu_ms_per_receipt": round(median[headline] * 1000, 3),
                      "cpu_to_wire_ratio": round(median[headline] / wire, 4),
                      "by_placement": {name: {"driver_cpu_ms_per_receipt": round(m * 1000, 3), "cpu_to_wire_ratio": round(m / wire, 4),
                                              "rounds_ms": [round(v * 1000, 3) for v in cpu[name]]} for name, m in median.items()},
                      "wall_ms_per_receipt": round(wall / measured * 1000, 2)}, indent=2))


if __name__ == "__main__":
    main()
