"""The daily sales export at scale: seconds and peak memory per 10,000 lines, every format, against the old path.

Each (path, format) runs in a subprocess of its own, so its peak resident memory (ru_maxrss) is its own:
* ``streaming``: this checkout; the day's orders are folded one at a time as the paginated day-index read yields them,
  and the file is written into the same spooled temporary file ``sales_export.deliver`` uses (the S3 upload of a
  large file is not timed: it is network, one 8 MB part in memory at a time).
* ``inline``: the code at ``--baseline-ref`` (extracted with ``git archive``), as the API ran it: the whole day as one
  list, the report as pydantic models, and the body built in memory by that checkout's renderers.
Memory is the process's peak RSS above what it held after importing everything (fpdf2 and openpyxl included).

    .venv/bin/python bench/sales_report.py [--lines 50000] [--baseline-ref <commit>]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE_REF = "ced923bd858d2c219cb47f04ed58e700886bdd0b"  # the last commit before the exports streamed
FORMATS = ("html", "csv", "xml", "json", "xlsx", "pdf")
PROFILE = {"shop_id": "0b5c6f8e-6a0e-4b8e-9d6f-0c5f6a3e2b1d", "name": "Bench shop", "timezone": "UTC", "currency": "EUR"}
DAY_START = 1796601600  # 2026-12-07T00:00:00Z


def orders(lines: int) -> Iterator[dict[str, Any]]:
    """A shop day of ``lines`` single-line orders, as the day index holds them."""
    for i in range(lines):
        yield {"order_id": f"B-{i:06d}", "order_internal_id": f"i-{i}", "date": DAY_START + i % 86400,
               "created_at": DAY_START + i % 86400, "currency": "EUR",
               "lines": [{"name": f"Flat white oat milk {i % 97}", "quantity": "1", "unit_price": 350,
                          "vat_rate": "20", "amount": 350}],
               "total": 350, "vat_total": 58, "vats": [{"rate": "20", "gross": 350, "net": 292, "vat": 58}],
               "payment": {"method_id": "cash", "name": "Cash", "type": "cash"}, "is_refund": False,
               "parent_order_id": None}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(path: str, root: str, fmt: str, lines: int) -> dict[str, Any]:
    """One render in this process: seconds from the first order read to the whole file written, and memory."""
    sys.path.insert(0, root)
    import fpdf  # noqa: F401  (loaded before the baseline, as on a warm Lambda)
    import openpyxl  # noqa: F401

    from chalicelib.reports import sales_export
    from chalicelib.reports.sales import build_sales_report

    before = _rss_mb()
    started = time.perf_counter()
    if path == "inline":
        day = list(orders(lines))
        size = len(sales_export.render(build_sales_report(PROFILE, "2026-12-07", day), fmt).body)
    else:
        report = build_sales_report(PROFILE, "2026-12-07", orders(lines))
        with tempfile.SpooledTemporaryFile(max_size=sales_export.SPOOL_BYTES) as spool:
            sales_export.FORMATS[fmt].write(report, spool)
            size = spool.tell()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": _rss_mb() - before, "bytes": size}


def run(path: str, root: Path, fmt: str, lines: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--worker", path, "--root", str(root), "--format", fmt,
                          "--lines", str(lines)], check=True, capture_output=True, text=True, cwd=root)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--baseline-ref", default=BASELINE_REF)
    parser.add_argument("--worker", choices=("inline", "streaming"))
    parser.add_argument("--root")
    parser.add_argument("--format", choices=FORMATS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.root, args.format, args.lines)))
        return
    per = 10_000 / args.lines
    results: dict[str, Any] = {"lines": args.lines, "baseline_ref": args.baseline_ref}
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "archive", args.baseline_ref, "chalicelib"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        for fmt in FORMATS:
            row: dict[str, Any] = {}
            for path, root in (("inline", Path(old)), ("streaming", ROOT)):
                measured = run(path, root, fmt, args.lines)
                row[path] = {"seconds_per_10k_lines": round(measured["seconds"] * per, 3),
                             "peak_mb": round(measured["peak_mb"], 1),
                             "peak_mb_per_10k_lines": round(measured["peak_mb"] * per, 1), "bytes": measured["bytes"]}
            row["time_ratio"] = round(row["streaming"]["seconds_per_10k_lines"]
                                      / row["inline"]["seconds_per_10k_lines"], 3)
            row["memory_ratio"] = round(row["streaming"]["peak_mb"] / max(row["inline"]["peak_mb"], 0.1), 3)
            results[fmt] = row
            print(fmt, json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
