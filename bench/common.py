"""Helpers every local-stack bench shares: percentiles, and moto's request recorder read back
as AWS operation names."""

from __future__ import annotations

import base64
import json
import statistics
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs

import httpx

POLLING = {"ReceiveMessage", "GetQueueAttributes", "GetQueueUrl"}


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def operation(entry: dict) -> str:
    """The AWS operation of one recorded request (JSON protocols by target, query protocols by Action)."""
    target = entry["headers"].get("X-Amz-Target") or entry["headers"].get("x-amz-target")
    if target:
        return target.split(".")[-1]
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    action = parse_qs(body).get("Action")
    if action:
        return action[0]
    return f"S3 {entry.get('method', '?')}"  # REST protocol: the method says enough here


def recording_env(path: Path) -> dict[str, str]:
    return {"MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(path)}


def reset_recording(aws_endpoint: str) -> None:
    httpx.post(f"{aws_endpoint}/moto-api/recorder/reset-recording")


def recorded_operations(aws_endpoint: str, path: Path) -> Counter[str]:
    httpx.post(f"{aws_endpoint}/moto-api/recorder/stop-recording")
    return Counter(operation(entry) for entry in _entries(path.read_text()))


def _entries(text: str) -> list[dict]:
    """Every recorded request; under concurrency moto sometimes writes two on one line, so decode
    object after object rather than line by line."""
    decoder, entries, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return entries
        entry, at = decoder.raw_decode(text, at)
        entries.append(entry)
