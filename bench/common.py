"""Helpers every local-stack bench shares: percentiles, and moto's request recorder read back
as AWS operation names."""

from __future__ import annotations

import base64
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

POLLING = {"ReceiveMessage", "GetQueueAttributes", "GetQueueUrl",
           "DescribeStream", "GetShardIterator", "GetRecords"}  # the stream mapping's polls: Lambda's, not billed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def operation(entry: dict) -> str:
    """The AWS operation of one recorded request (JSON protocols by target, query protocols by Action)."""
    target = entry["headers"].get("X-Amz-Target") or entry["headers"].get("x-amz-target")
    if target:
        return target.split(".")[-1]
    action = parse_qs(body(entry)).get("Action")
    if action:
        return action[0]
    return f"S3 {entry.get('method', '?')}"  # REST protocol: the method says enough here


def recording_env(path: Path) -> dict[str, str]:
    return {"MOTO_ENABLE_RECORDING": "1", "MOTO_RECORDER_FILEPATH": str(path)}


def reset_recording(aws_endpoint: str) -> None:
    httpx.post(f"{aws_endpoint}/moto-api/recorder/reset-recording")


def recorded_operations(aws_endpoint: str, path: Path) -> Counter[str]:
    httpx.post(f"{aws_endpoint}/moto-api/recorder/stop-recording")
    return Counter(operation(entry) for entry in read_recording(path)[0])


def read_recording(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The recorder's entries; concurrent requests sometimes share a line, so decode object by object.

    Returns the entries and how many characters could not be decoded (0 when the file is clean).
    """
    text, decoder = path.read_text(), json.JSONDecoder()
    entries, position, skipped = [], 0, 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        try:
            entry, position = decoder.raw_decode(text, position)
            entries.append(entry)
        except ValueError:
            following = text.find("\n", position)
            following = len(text) if following < 0 else following
            skipped += following - position
            position = following
    return entries, skipped


def body(entry: dict[str, Any]) -> str:
    """A recorded request's body as text."""
    raw = entry.get("body") or ""
    return base64.b64decode(raw).decode(errors="replace") if entry.get("body_encoded") else raw
