"""Edge throughput: jobs/s through the poller's cycle, its journal and a zero-latency simulated register.

The poller runs its production cycle (``Poller.cycle``: device work, result delivery, queue deletions,
visibility, intake) against in-process stand-ins of the queue (10 messages a receive, as SQS hands them
out) and the cloud (acknowledges every result), until every message is deleted. It runs twice: with the
journal as in production (SQLite WAL, ``synchronous=FULL``) and with the journal in memory (no disk, no
fsync). The register keeps its memory without fsync in both runs, so the difference is the journal's
durability. Logs are rendered as JSON, as ``edge run`` does, and written to /dev/null.

Each run is a subprocess of its own. ``--baseline-ref`` runs the same cycle on another commit's code
(extracted with ``git archive``) in the same run, the two trees alternating round by round so that the
machine's load falls on both; the medians are reported. Where ``strace`` is on PATH, one more fsync'd run of
each tree counts its fsync and fdatasync calls (the journal's only: the register and the in-memory journal
make none), schema creation and WAL checkpoints included.

    .venv/bin/python bench/edge_throughput.py --jobs 2000 [--rounds 3] [--baseline-ref <commit>] [--profile]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10


def worker(root: Path, jobs: int, durable: bool, workdir: Path, profile: bool) -> float:
    """Jobs per second from the first receive to the last message deleted, with the code under ``root``."""
    sys.path.insert(0, str(root))
    import threading
    from decimal import Decimal

    from pydantic import SecretStr

    from chalicelib.contracts import (
        FiscalJob,
        JobLine,
        JobPayment,
        JobResult,
        PaymentType,
        ResultAck,
    )
    from edge.cloud import AwsCredentials, EdgeSession
    from edge.config import EdgeConfig
    from edge.drivers.simulated import SimulatedDriver
    from edge.emulators.simulated.models import STATE_FILE
    from edge.emulators.simulated.register import SimulatedRegister
    from edge.journal import InboundMessage, JobState, Journal
    from edge.logs import configure_logging
    from edge.poller import FixedDevice, Poller

    session = EdgeSession(token=SecretStr("bench"), expires_at=2**40, shop_id="bench", queue_url="bench", region="eu-central-1",
                          credentials=AwsCredentials(access_key_id="bench", secret_access_key=SecretStr("bench"),
                                                     session_token=SecretStr("bench"), expiration=2**40))

    class AckingCloud:
        """Stands in for CloudLink: always online, every result acknowledged at once."""

        def session(self) -> EdgeSession:
            return session

        def seconds_until_available(self) -> float:
            return 0.0

        def seconds_until_renewal(self) -> float:
            return 3600.0

        def post_result(self, result: JobResult) -> ResultAck:
            return ResultAck(job_id=result.job_id, order_status="terminated")

    class Queue:
        """Stands in for JobQueue: hands out ``BATCH`` messages a receive, counts the deletions."""

        def __init__(self, messages: list[InboundMessage]) -> None:
            self.waiting, self.deleted = messages, 0

        def receive(self, wait_seconds: int) -> list[InboundMessage]:
            taken, self.waiting = self.waiting[:BATCH], self.waiting[BATCH:]
            return taken

        def delete(self, receipt_handle: str) -> None:
            self.deleted += 1

        def hide_all(self, receipt_handles: list[str], seconds: int) -> None:
            pass

    def job(n: int) -> FiscalJob:
        lines = [JobLine(name="Coffee", quantity=Decimal(2), unit_price=350, vat_rate=Decimal(20), amount=700)]
        return FiscalJob(job_id=f"bench-{n}", shop_id="bench", order_id=f"o-{n}", order_internal_id=f"i-{n}", created_at=0,
                         operator="bench", lines=lines, payment=JobPayment(type=PaymentType.CASH, method_id="cash", amount=700),
                         total=700)

    configure_logging(open(os.devnull, "w"))  # noqa: SIM115 - the edge's JSON logs, rendered as in production, then dropped
    workdir.mkdir(parents=True)
    config = EdgeConfig.model_validate({"api_base": "http://127.0.0.1:1", "edge_key": "bench", "state_dir": str(workdir),
                                        "fiscal_device": {"manufacturer": "Simulated", "model": "Simulated"}})
    journal = Journal(workdir / "journal.sqlite" if durable else Path(":memory:"))
    register = SimulatedRegister(workdir / STATE_FILE, durable=False)
    queue = Queue([InboundMessage(message_id=f"m-{n}", receipt_handle=f"h-{n}", body=job(n).model_dump_json()) for n in range(jobs)])
    poller = Poller(config, journal, FixedDevice("bench", SimulatedDriver(register, "bench")), AckingCloud(),  # type: ignore[arg-type]
                    lambda s: queue, threading.Event(), lambda s: None)  # type: ignore[arg-type, return-value]
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    while queue.deleted < jobs:
        poller.cycle()
    elapsed = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        profiler.print(file=sys.stderr, show_all=False)
    summary = journal.summary()
    assert summary.counts[JobState.REPORTED.value] == jobs and summary.backlog == 0, summary
    assert len(register.receipts()) == jobs
    journal.close()
    register.close()
    return jobs / elapsed


def run(root: Path, jobs: int, durable: bool, scratch: Path, *, profile: bool = False, strace: bool = False) -> dict[str, float]:
    """One run in a subprocess of its own: jobs/s and, under strace, fsyncs per job."""
    workdir = scratch / f"run-{time.monotonic_ns()}"
    command = [sys.executable, __file__, "--worker", "--root", str(root), "--jobs", str(jobs), "--workdir", str(workdir)]
    command += ["--durable"] if durable else []
    command += ["--profile"] if profile else []
    counts = scratch / f"strace-{time.monotonic_ns()}.txt"
    if strace:
        command = ["strace", "-f", "-c", "-o", str(counts), "-e", "trace=fsync,fdatasync", *command]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=root)
    result = {"jobs_per_second": json.loads(out.stdout.splitlines()[-1])["jobs_per_second"]}
    if strace:
        total = re.search(r"^\S+\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total$", counts.read_text(), re.MULTILINE)
        result["fsyncs_per_job"] = int(total.group(1)) / jobs if total else 0.0
    shutil.rmtree(workdir, ignore_errors=True)
    return result


def extract(ref: str, into: Path) -> Path:
    """The tree of ``ref`` (git archive), as the baseline's code."""
    archive = subprocess.run(["git", "archive", ref], check=True, capture_output=True, cwd=ROOT).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure(trees: dict[str, Path], jobs: int, rounds: int, scratch: Path) -> dict[str, dict[str, Any]]:
    """Medians over ``rounds``, the trees alternating; then fsyncs per job where strace is on PATH."""
    samples: dict[str, dict[str, list[float]]] = {name: {"on": [], "off": []} for name in trees}
    for _ in range(rounds):
        for name, root in trees.items():
            samples[name]["on"].append(run(root, jobs, True, scratch)["jobs_per_second"])
            samples[name]["off"].append(run(root, jobs, False, scratch)["jobs_per_second"])
    results: dict[str, dict[str, Any]] = {}
    for name, root in trees.items():
        on, off = statistics.median(samples[name]["on"]), statistics.median(samples[name]["off"])
        results[name] = {"journal_on_jobs_per_second": round(on, 1), "journal_off_jobs_per_second": round(off, 1),
                         "ratio": round(on / off, 3), "journal_on_samples": [round(s) for s in samples[name]["on"]],
                         "journal_off_samples": [round(s) for s in samples[name]["off"]]}
        if shutil.which("strace"):
            results[name]["fsyncs_per_job"] = round(run(root, jobs, True, scratch, strace=True)["fsyncs_per_job"], 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="fsync'd and in-memory runs per tree; medians are reported")
    parser.add_argument("--baseline-ref", help="also measure this commit's code, alternating with this checkout's")
    parser.add_argument("--profile", action="store_true", help="first profile one fsync'd run with pyinstrument (on stderr)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--durable", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps({"jobs_per_second": worker(args.root, args.jobs, args.durable, args.workdir, args.profile)}))
        return
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="bench-edge-") as tmp:  # the real disk, not a tmpfs
        scratch = Path(tmp)
        trees = {"this checkout": ROOT}
        if args.baseline_ref:
            trees[f"baseline {args.baseline_ref[:12]}"] = extract(args.baseline_ref, scratch / "baseline")
        if args.profile:
            run(ROOT, args.jobs, True, scratch, profile=True)
        results = measure(trees, args.jobs, args.rounds, scratch)
    print(f"jobs {args.jobs}, {args.rounds} round(s), medians; fsyncs per job {'by strace' if shutil.which('strace') else 'not counted (no strace)'}")
    print(f"{'code':26} {'fsync’d jobs/s':>15} {'journal off':>12} {'off/on':>7} {'fsyncs/job':>11}")
    for name, r in results.items():
        print(f"{name:26} {r['journal_on_jobs_per_second']:15.1f} {r['journal_off_jobs_per_second']:12.1f}"
              f" {1 / r['ratio']:6.2f}x {r.get('fsyncs_per_job', float('nan')):11.3f}")
    summary: dict[str, Any] = {"jobs": args.jobs, "rounds": args.rounds, **results["this checkout"]}
    if args.baseline_ref:
        summary["baseline"] = {"ref": args.baseline_ref, **next(r for n, r in results.items() if n != "this checkout")}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
