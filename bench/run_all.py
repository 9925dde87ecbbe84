"""`make bench`: run every benchmark in one go and write bench/results.json, bench/RESULTS.md and
bench/latency_histogram.png.

Each bench script prints one JSON object as the last thing on stdout; this runner collects them
and states each headline number as a ratio measured in this same run, since the machines here are
shared and noisy and only ratios carry from one run to the next.

    .venv/bin/python bench/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    args: list[str]
    quick_args: list[str]


def last_json(stdout: str) -> dict[str, Any]:
    """The last top-level JSON object a bench printed (they may print progress before it)."""
    lines = stdout.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith("{"):
            return json.JSONDecoder().raw_decode("\n".join(lines[start:]))[0]  # text may follow it
    raise ValueError("no JSON result in the bench output")


def run(bench: Bench, quick: bool, extra: list[str]) -> dict[str, Any]:
    command = [sys.executable, str(BENCH / bench.script), *(bench.quick_args if quick else bench.args), *extra]
    print(f"== {bench.name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{bench.name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    result = last_json(done.stdout)
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


def histogram(latencies_ms: list[float], p50: float, p99: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=120)
    axes.hist(latencies_ms, bins=40, color="#0f766e", edgecolor="white")
    for value, label, style in ((p50, "p50", "--"), (p99, "p99", ":")):
        axes.axvline(value, color="#111827", linestyle=style, linewidth=1.5)
        axes.text(value, axes.get_ylim()[1] * 0.92, f" {label} {value:.0f} ms", color="#111827")
    axes.set_xlabel("order POST → signed `terminated` webhook received (ms)")
    axes.set_ylabel("orders")
    axes.set_title(f"End-to-end latency on the local stack ({len(latencies_ms)} orders)")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


Row = tuple[str, str, str, str]


def rows(results: dict[str, dict[str, Any]]) -> list[Row]:
    """(measure, value, ratio in this run, goal) for RESULTS.md; a bench missing from the run is skipped."""
    table: list[Row] = []
    extractors: list[Callable[[dict[str, dict[str, Any]]], list[Row]]] = [_cold, _requests, _e2e, _edge, _driver, _receipts, _orders]
    for extract in extractors:
        try:
            table += extract(results)
        except KeyError:
            continue
    return table


def _cold(r: dict[str, dict[str, Any]]) -> list[Row]:
    c = r["cold_start"]
    return [("cold start: import app", f"{c['import_app_ms']} ms", f"{c['ratio']}× bare `import chalice, boto3` "
             f"({c['bare_chalice_boto3_ms']} ms)", "≤ 1.15×"),
            ("cold start: app + the order route's modules", f"{c['app_plus_order_path_ms']} ms",
             f"{c['order_path_ratio']}× the same bare import", "(what a first order pays)")]


def _requests(r: dict[str, dict[str, Any]]) -> list[Row]:
    a = r["aws_requests"]
    return [("sync AWS requests to accept one order", str(a["intake_sync"]), f"naive design: {a['naive_intake_sync']}", "1"),
            ("AWS requests over an order's lifecycle, orders in bursts", str(a["lifecycle"]),
             f"{a['lifecycle_ratio_to_naive']}× the naive design's {a['naive_lifecycle']}", "≤ 1/3 (0.33×)"),
            ("… orders trickling in one at a time (batches of 1)", str(a["lifecycle_trickle"]),
             f"{a['trickle_ratio_to_naive']}× the naive design's {a['naive_lifecycle']}; "
             f"{a['lifecycle_trickle_billed']} billed (a Lambda trigger's stream reads are free)", "≤ 12")]


def _e2e(r: dict[str, dict[str, Any]]) -> list[Row]:
    e = r["e2e_latency"]
    return [("order → `terminated` webhook p50 / p99", f"{e['p50_ms']} / {e['p99_ms']} ms",
             f"p50 = {e['p50_in_moto_round_trips']} moto round trips ({e['moto_round_trip_ms']} ms each); "
             f"p99 = {round(e['p99_ms'] / e['p50_ms'], 2)}× p50", "p50 ≤ 30 round trips, p99 ≤ 3× p50")]


def _edge(r: dict[str, dict[str, Any]]) -> list[Row]:
    e = r["edge_throughput"]
    fsyncs = f"; {e['fsyncs_per_job']} fsyncs a job" if "fsyncs_per_job" in e else ""
    return [("edge jobs/s, fsync'd journal", f"{e['journal_on_jobs_per_second']}",
             f"{e['ratio']}× the journal-off loop ({e['journal_off_jobs_per_second']}/s){fsyncs}", "≥ 1,000/s")]


def _driver(r: dict[str, dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    for d in r["driver_cpu"]["devices"].values():  # one per device family (bench/driver_cpu.py DEVICES)
        rows.append((f"{d['label']} driver CPU per receipt ({d['model']}; emulator: {d['placement']})", f"{d['driver_cpu_ms_per_receipt']} ms",
                     f"{d['cpu_to_wire_ratio']}× its wire time at 115200 baud ({d['wire_ms_per_receipt']} ms)", "≤ 0.02×"))
        shared = d["by_placement"].get("shared core")
        if shared and d["placement"] != "shared core":
            rows.append(("… the emulator on the driver's core (it evicts the driver's caches)", f"{shared['driver_cpu_ms_per_receipt']} ms",
                         f"{shared['cpu_to_wire_ratio']}× the same wire time", "(for reference)"))
    return rows


def _receipts(r: dict[str, dict[str, Any]]) -> list[Row]:
    p = r["receipts"]
    return [("eReceipt PUT/s (4 clients), p99", f"{p['put']['per_second']}/s, {p['put']['p99_ms']} ms",
             f"{p['throughput_ratio_to_bare_put_item']}× bare moto PutItem/s; {p['sync_aws_requests_per_put']} sync AWS requests per PUT",
             "")]


def _orders(r: dict[str, dict[str, Any]]) -> list[Row]:
    o = r["orders"]
    return [("order intake requests/s (16 clients), p99", f"{o['intake_requests_per_second']}/s, {o['intake_p99_ms']} ms",
             f"{o['aws_requests_per_order']} AWS requests per order over its lifecycle", "")]


def markdown(results: dict[str, Any], table: list[Row]) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"One run of `make bench` on {results['machine']} at {results['finished_at']}. Every ratio is measured in "
        "this run against its own baseline; absolute numbers move with the machine's load.",
        "",
        "| measure | value | ratio, same run | goal |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table],
        "",
        "![latency histogram](latency_histogram.png)",
        "",
    ]
    return "\n".join(lines)


BENCHES = [
    Bench("cold_start", "cold_start.py", ["--runs", "15"], ["--runs", "5"]),
    Bench("aws_requests", "aws_requests.py", [], []),
    Bench("e2e_latency", "e2e_latency.py", ["--orders", "200", "--rate", "4"], ["--orders", "40", "--rate", "4"]),
    Bench("receipts", "receipts.py", ["--receipts", "300"], ["--receipts", "60"]),
    Bench("driver_cpu", "driver_cpu.py", ["--receipts", "300", "--rounds", "5"], ["--receipts", "60", "--rounds", "2"]),
    Bench("edge_throughput", "edge_throughput.py", ["--jobs", "2000"], ["--jobs", "200"]),
    Bench("orders", "orders.py", ["--orders", "300", "--clients", "16"], ["--orders", "60", "--clients", "8"]),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", nargs="*", help="bench names to run (default: all)")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": f"{platform.node()} ({platform.machine()}, Python {platform.python_version()})"}
    with tempfile.TemporaryDirectory() as tmp:
        latencies = Path(tmp) / "latencies.json"
        for bench in BENCHES:
            if args.only and bench.name not in args.only:
                continue
            if not (BENCH / bench.script).exists():
                print(f"== {bench.name}: {bench.script} not present, skipped", file=sys.stderr)
                continue
            extra = ["--latencies-out", str(latencies)] if bench.name == "e2e_latency" else []
            results[bench.name] = run(bench, args.quick, extra)
        if latencies.exists():
            e2e = results["e2e_latency"]
            histogram(json.loads(latencies.read_text()), e2e["p50_ms"], e2e["p99_ms"], BENCH / "latency_histogram.png")
    results["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    table = rows(results)
    results["summary"] = [dict(zip(("measure", "value", "ratio", "goal"), row)) for row in table]
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (BENCH / "RESULTS.md").write_text(markdown(results, table))
    print((BENCH / "RESULTS.md").read_text())


if __name__ == "__main__":
    main()
