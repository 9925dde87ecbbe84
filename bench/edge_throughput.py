"""Edge throughput: jobs/s through the poller, its journal and a zero-latency simulated register.

The same loop runs twice in one process: once with the journal as in production (SQLite
WAL, ``synchronous=FULL``: every step fsync'd), once with the journal in memory (no disk,
no fsync). The register keeps its memory without fsync in both runs, and the cloud is an
in-process stand-in that acknowledges every result, so the difference is the journal's
durability. Logs are rendered as JSON, as ``edge run`` does, and written to /dev/null. Messages arrive in batches of 10, as SQS delivers them.

    .venv/bin/python bench/edge_throughput.py --jobs 2000 [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.contracts import (  # noqa: E402
    FiscalJob,
    JobLine,
    JobPayment,
    JobResult,
    PaymentType,
    ResultAck,
)
from edge.config import EdgeConfig  # noqa: E402
from edge.drivers.simulated import SimulatedDriver  # noqa: E402
from edge.emulators.simulated.models import STATE_FILE  # noqa: E402
from edge.emulators.simulated.register import SimulatedRegister  # noqa: E402
from edge.journal import InboundMessage, JobState, Journal  # noqa: E402
from edge.logs import configure_logging  # noqa: E402
from edge.poller import FixedDevice, Poller  # noqa: E402

BATCH = 10


class AckingCloud:
    """Stands in for CloudLink: every result is acknowledged at once."""

    current = None
    online = True

    def post_result(self, result: JobResult) -> ResultAck:
        return ResultAck(job_id=result.job_id, order_status="terminated")


def job(n: int) -> FiscalJob:
    lines = [JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700)]
    return FiscalJob(
        job_id=f"bench-{n}", shop_id="bench", order_id=f"o-{n}", order_internal_id=f"i-{n}", created_at=0, operator="bench",
        lines=lines, payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=700), total=700,
    )


def run(jobs: list[FiscalJob], workdir: Path, *, durable_journal: bool) -> float:
    """Jobs per second from first intake to last acknowledged result."""
    workdir.mkdir(parents=True)
    config = EdgeConfig.model_validate(
        {"api_base": "http://127.0.0.1:1", "edge_key": "bench", "state_dir": str(workdir), "fiscal_device": {"manufacturer": "Simulated", "model": "Simulated"}}
    )
    journal = Journal(workdir / "journal.sqlite" if durable_journal else Path(":memory:"))
    register = SimulatedRegister(workdir / STATE_FILE, durable=False)
    driver = SimulatedDriver(register, "bench")
    poller = Poller(config, journal, FixedDevice("bench", driver), AckingCloud(), lambda s: None, threading.Event(), lambda s: None)  # type: ignore[arg-type]
    bodies = [(f"m-{j.job_id}", j.model_dump_json()) for j in jobs]
    started = time.perf_counter()
    for first in range(0, len(bodies), BATCH):
        poller.accept([InboundMessage(message_id=m, receipt_handle=f"h-{m}", body=body) for m, body in bodies[first : first + BATCH]])
        poller.work_device()
        poller.deliver_results()
    elapsed = time.perf_counter() - started
    summary = journal.summary()
    assert summary.counts[JobState.REPORTED.value] == len(jobs) and summary.backlog == 0, summary
    assert len(register.receipts()) == len(jobs)
    journal.close()
    register.close()
    return len(jobs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="Profile the fsync'd run with pyinstrument.")
    args = parser.parse_args()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - for the whole run
    configure_logging(devnull)  # the edge's JSON logs, rendered as in production, then dropped
    jobs = [job(n) for n in range(args.jobs)]
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="bench-edge-") as tmp:  # the real disk, not a tmpfs
        base = Path(tmp)
        if args.profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                run(jobs, base / "profiled", durable_journal=True)
            profiler.print(show_all=False)
        fsync_on = run(jobs, base / "fsync", durable_journal=True)
        fsync_off = run(jobs, base / "memory", durable_journal=False)
    print(f"jobs                       {args.jobs}")
    print(f"journal fsync'd (WAL, FULL) {fsync_on:8.1f} jobs/s")
    print(f"journal off (in memory)     {fsync_off:8.1f} jobs/s")
    print(f"ratio off/on                {fsync_off / fsync_on:8.2f}x")
    print(json.dumps({"jobs": args.jobs, "journal_on_jobs_per_second": round(fsync_on, 1),
                      "journal_off_jobs_per_second": round(fsync_off, 1), "ratio": round(fsync_on / fsync_off, 3)},
                     indent=2))


if __name__ == "__main__":
    main()
