"""Fixtures for the edge tests: a real moto SQS server, a fake cloud, the edge as a subprocess."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for entry in (str(HERE), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import boto3  # noqa: E402
from edge_harness import REGION, Stack, open_stack  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


@pytest.fixture(scope="session")
def aws_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def sqs(aws_url: str) -> Any:
    return boto3.client("sqs", endpoint_url=aws_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def stack(tmp_path: Path, sqs: Any, aws_url: str) -> Iterator[Stack]:
    """One edge's world; whatever edges the test started are killed afterwards."""
    world = open_stack(sqs, aws_url, tmp_path)
    yield world
    world.close()
