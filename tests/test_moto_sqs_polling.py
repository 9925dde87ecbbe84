"""The local stack's AWS emulator long-polls SQS as SQS does: woken at once, FIFO groups kept, nothing spun or doubled."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import emulator as moto_emulator


@pytest.fixture(scope="module")
def emulator():
    with moto_emulator("sqs", "list_queues") as started:
        yield started


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def poll_in_background(client, url: str, wait: int) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def poll() -> None:
        reply = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait)
        outcome["at"] = time.monotonic()
        outcome["bodies"] = [m["Body"] for m in reply.get("Messages", [])]

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)  # the poll is waiting on the server by now
    return thread, outcome


def test_a_waiting_poll_returns_as_soon_as_a_message_is_sent(emulator):
    _, client = emulator
    url = client.create_queue(QueueName="wake")["QueueUrl"]
    thread, outcome = poll_in_background(client, url, wait=10)
    sent = time.monotonic()
    client.send_message(QueueUrl=url, MessageBody="job")
    thread.join()
    assert outcome["bodies"] == ["job"]
    assert outcome["at"] - sent < 1.0


def test_a_fifo_group_is_held_while_in_flight_and_released_at_once_when_deleted(emulator):
    server, client = emulator
    url = client.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"})["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="validated", MessageGroupId="A", MessageDeduplicationId="v")
    first = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
    client.send_message(QueueUrl=url, MessageBody="terminated", MessageGroupId="A", MessageDeduplicationId="t")
    before = cpu_seconds(server.pid)
    thread, outcome = poll_in_background(client, url, wait=10)
    time.sleep(1.0)
    assert "at" not in outcome, "a message was handed out while an earlier one of its group was in flight"
    assert cpu_seconds(server.pid) - before < 0.5, "the waiting poll spun on the CPU"
    deleted = time.monotonic()
    client.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    thread.join()
    assert outcome["bodies"] == ["terminated"]
    assert outcome["at"] - deleted < 1.0, "the poll did not see the group released until it ran out"


def test_a_message_whose_visibility_runs_out_comes_back_to_a_waiting_poll(emulator):
    _, client = emulator
    url = client.create_queue(QueueName="comeback")["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="job")
    taken = client.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]
    assert [m["Body"] for m in taken] == ["job"]
    started = time.monotonic()
    again = client.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in again] == ["job"]
    assert time.monotonic() - started < 3


def test_concurrent_polls_never_receive_the_same_message(emulator):
    _, client = emulator
    url = client.create_queue(QueueName="shared", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for start in range(0, 200, 10):
        client.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)])

    def drain(_: int) -> list[str]:
        got = []
        while True:
            messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1).get("Messages", [])
            if not messages:
                return got
            got += [m["Body"] for m in messages]

    with ThreadPoolExecutor(8) as pool:
        received = [body for bodies in pool.map(drain, range(8)) for body in bodies]
    assert sorted(received, key=int) == [str(n) for n in range(200)]
