"""Cold-start proxy: importing ``app`` in a fresh interpreter against a bare ``import chalice, boto3``.

Measured in a virtualenv that holds what the Lambda package holds (``requirements.txt`` plus
chalice), not the development one: there, packages the Lambda never has (rich, click, …) would
be imported by libraries that probe for them and blur the number. The two imports alternate,
so machine noise hits both alike; the ratio of medians is the result.

``app`` loads its domain modules lazily, so importing it no longer even loads boto3. What a cold
order then pays on its first request is measured too: ``app`` plus every module the order route
touches (pydantic, boto3, the domain), against the same bare import.

    .venv/bin/python bench/cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_VENV = ROOT / "var" / "bench-lambda-venv"
ORDER_PATH = "app, chalicelib.orders.service, chalicelib.shops.service, chalicelib.auth.tokens, chalicelib.core.validation"
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def lambda_python() -> Path:
    """A virtualenv with the Lambda's packages only, rebuilt when requirements.txt changes."""
    python = LAMBDA_VENV / "bin" / "python"
    stamp = LAMBDA_VENV / ".requirements"
    wanted = (ROOT / "requirements.txt").read_text()
    if not python.exists() or not stamp.exists() or stamp.read_text() != wanted:
        venv.create(LAMBDA_VENV, with_pip=True, clear=True)
        chalice = next(line for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("chalice=="))
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt"), chalice],
                       check=True)
        stamp.write_text(wanted)
    return python


def import_seconds(python: Path, module: str) -> float:
    env = {**os.environ, "BRIDGE_JWT_SECRET": "cold-start-bench-key-long-enough-for-hs256", "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([str(python), "-c", PROBE.format(module=module)], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, float]:
    python = lambda_python()
    import_seconds(python, "app")  # compile bytecode once, as a deployed package ships it
    bare, app, first_order = [], [], []
    for _ in range(runs):
        bare.append(import_seconds(python, "chalice, boto3"))
        app.append(import_seconds(python, "app"))
        first_order.append(import_seconds(python, ORDER_PATH))
    bare_ms, app_ms = statistics.median(bare) * 1000, statistics.median(app) * 1000
    order_ms = statistics.median(first_order) * 1000
    return {"runs": runs, "bare_chalice_boto3_ms": round(bare_ms, 1), "import_app_ms": round(app_ms, 1),
            "ratio": round(app_ms / bare_ms, 3), "goal_ratio": 1.15,
            "app_plus_order_path_ms": round(order_ms, 1), "order_path_ratio": round(order_ms / bare_ms, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    print(json.dumps(measure(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    sys.exit(main())
