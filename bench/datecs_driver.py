"""Datecs driver CPU time per receipt against the serial wire time of the same bytes at 115200 baud.

The emulated printer runs in a separate process on a pseudo-terminal; this process runs the
driver and measures its own CPU time (time.process_time) while printing receipts, so the
emulator's CPU is not counted. Wire time is what the bytes that crossed the port (both
directions) take on a real 115200-baud 8N1 line: 10 bits per byte.

    .venv/bin/python bench/datecs_driver.py --receipts 300
"""

from __future__ import annotations

import argparse
import json
import resource
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
from edge.drivers.datecs import IslDriver  # noqa: E402

BAUD = 115200
BITS_PER_BYTE = 10


def job(n: int) -> FiscalJob:
    lines = [JobLine(name=f"Item {i}", quantity=Decimal(1 + i % 3), unit_price=100 + i, vat_rate=Decimal(20), amount=(100 + i) * (1 + i % 3)) for i in range(5)]
    total = sum(line.amount for line in lines)
    return FiscalJob(
        job_id=f"bench-{n}", shop_id="bench", order_id=f"o-{n}", order_internal_id=f"i-{n}", created_at=0, operator="bench",
        lines=lines, payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=total), total=total,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=300)
    args = parser.parse_args()
    emulator = subprocess.Popen([sys.executable, "-m", "edge.emulators.datecs_server"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        ready = emulator.stdout.readline().split()
        pty = ready[2].removeprefix("pty=")
        with tempfile.TemporaryDirectory() as state:
            device = FiscalDeviceConfig(manufacturer="DATECS", model="DP25", connection={"type": "serial", "port": pty, "baud_rate": BAUD})
            driver = create_driver(device, Path(state))
            assert isinstance(driver, IslDriver)
            driver.print_receipt(job(-1))  # identity and tax rates are read once, not per receipt
            link = driver.link
            bytes_before = link.bytes_out + link.bytes_in
            jobs = [job(n) for n in range(args.receipts)]  # the bench's input, built before the clock starts
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for each in jobs:
                driver.print_receipt(each)
            cpu = time.process_time() - cpu0
            wall = time.perf_counter() - wall0
            wire_bytes = link.bytes_out + link.bytes_in - bytes_before
            driver.close()
    finally:
        emulator.terminate()
        emulator.wait(10)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    emulator_cpu = child.ru_utime + child.ru_stime
    per_receipt_cpu = cpu / args.receipts
    per_receipt_bytes = wire_bytes / args.receipts
    per_receipt_wire = per_receipt_bytes * BITS_PER_BYTE / BAUD
    print(f"receipts                 {args.receipts} (5 lines each)")
    print(f"bytes on the wire        {per_receipt_bytes:.0f} per receipt (both directions)")
    print(f"wire time @115200 8N1    {per_receipt_wire * 1000:.2f} ms per receipt")
    print(f"driver CPU (this proc)   {per_receipt_cpu * 1000:.2f} ms per receipt")
    print(f"wall time over the pty   {wall / args.receipts * 1000:.2f} ms per receipt (emulator in its own process)")
    print(f"emulator CPU (its proc)  {emulator_cpu:.2f} s in all, start-up included")
    print(f"CPU / wire ratio         {per_receipt_cpu / per_receipt_wire:.3f}")
    print(json.dumps({"receipts": args.receipts, "bytes_per_receipt": round(per_receipt_bytes),
                      "wire_ms_per_receipt": round(per_receipt_wire * 1000, 2),
                      "driver_cpu_ms_per_receipt": round(per_receipt_cpu * 1000, 3),
                      "wall_ms_per_receipt": round(wall / args.receipts * 1000, 2),
                      "cpu_to_wire_ratio": round(per_receipt_cpu / per_receipt_wire, 4)}, indent=2))


if __name__ == "__main__":
    main()
