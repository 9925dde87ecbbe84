"""Deliver SQS messages and DynamoDB stream records to the app's handlers, as Lambda's event source
mappings would, and run its scheduled handlers, as EventBridge would.

``chalice local`` serves HTTP only, so this process long-polls every queue the
app subscribes to (read from ``app.event_sources``) and calls each handler with
a Lambda-shaped event, which Chalice wraps in its own ``SQSEvent``. A batch is
deleted only when the handler returns; a failure leaves it to reappear after
its visibility timeout, like the real mapping. Scheduled handlers run every
``BRIDGE_PUMP_SCHEDULE_SECONDS`` (default 5) instead of their own rate, so
retries are visible locally without waiting minutes.

Each handler runs in its own process (``--handler NAME``), as each is its own
Lambda function on AWS: a CPU-bound PDF render must not hold the GIL over the
webhook sender or the dispatcher. The parent starts the children and stops them
all on SIGINT/SIGTERM.

Lambda's event source mapping polls a queue with several batches at once (five
to begin with), each in its own execution environment, which runs one
invocation at a time. So each SQS handler gets ``BRIDGE_PUMP_CONCURRENCY``
children (default 3), each long-polling and invoking the handler on its own
batch; a scheduled handler gets one. With a single poller every order's
webhooks stood in one line, and one slow delivery held up all the others. On a
FIFO queue the queue itself keeps a group's messages in order: none is handed
out while an earlier one of its group is in flight. Before it reports ready,
each child imports the modules its handler names (``warm``), so that the first
orders of a run do not queue behind a cold start in every one of them.

A table stream's handler gets one child, which reads every shard of the stream the way Lambda
does (``StreamPump``): DescribeStream, GetShardIterator, GetRecords, in order, one batch of a
shard at a time, its checkpoint (the last sequence number handled) kept in a file under
``BRIDGE_PUMP_STATE_DIR``, so a restarted pump resumes after it: a record is handled again only if
the pump stopped between the handler's return and the checkpoint, which the handler's idempotency
absorbs.

Handlers named in ``BRIDGE_PUMP_NICE`` (default ``render_pdfs``; empty for none)
run at a lower CPU priority. On AWS the CPU-heavy PDF render is its own function
on its own CPU and cannot slow the receipt or webhook handlers; here every
handler shares the machine's cores, so the render takes only the cycles the
order's path leaves idle. It still renders every PDF, later when CPU is short.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from chalicelib.core import resource_names as names
from chalicelib.core.logs import configure, get_logger
from infra.definitions import STREAM_CONSUMERS

log = get_logger("pump")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def succeeded(messages: list[dict[str, Any]], response: Any) -> list[dict[str, Any]]:
    """The messages a handler consumed: all of them, less those its partial batch response names
    (``batchItemFailures``, as Lambda reads it with ReportBatchItemFailures on)."""
    failures = response.get("batchItemFailures", []) if isinstance(response, dict) else []
    failed = {failure["itemIdentifier"] for failure in failures}
    return [m for m in messages if m["MessageId"] not in failed]


class QueuePump(threading.Thread):
    def __init__(self, app_module: Any, config: SQSEventConfig, stop: threading.Event, wait_seconds: int = 5) -> None:
        super().__init__(name=f"pump-{config.name}", daemon=True)
        self.handler = getattr(app_module, config.name)
        self.config, self.stop, self.wait_seconds = config, stop, wait_seconds
        self.sqs = boto3.session.Session().client("sqs")
        self.url = self.sqs.get_queue_url(QueueName=config.queue)["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.pump_once()
            except Exception:
                log.exception("pump_receive_failed", queue=self.config.queue)
                self.stop.wait(1)

    def pump_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=min(10, self.config.batch_size),
            WaitTimeSeconds=self.wait_seconds, AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.arn, self.sqs.meta.region_name)
        context = LambdaContext(self.config.name, 256, max_runtime_ms=60_000)
        context.aws_request_id = str(uuid.uuid4())
        try:
            response = self.handler(event, context)
        except Exception:
            log.exception("handler_failed", handler=self.config.name, messages=len(messages))
            return 0
        done = succeeded(messages, response)
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(done)


def sqs_sources(app: Any) -> list[SQSEventConfig]:
    return [source for source in app.event_sources if isinstance(source, SQSEventConfig)]


def stream_sources(app: Any) -> list[DynamoDBEventConfig]:
    return [source for source in app.event_sources if isinstance(source, DynamoDBEventConfig)]


class Checkpoints:
    """The last sequence number handled per shard of one stream, one small file each, replaced atomically."""

    def __init__(self, directory: Path, stream_arn: str) -> None:
        self.directory = directory
        self.stream = hashlib.sha256(stream_arn.encode()).hexdigest()[:16]  # a new stream starts afresh

    def _path(self, shard_id: str) -> Path:
        return self.directory / f"{self.stream}-{shard_id}.json"

    def get(self, shard_id: str) -> str | None:
        try:
            return str(json.loads(self._path(shard_id).read_text())["sequence_number"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, shard_id: str, sequence_number: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path, tmp = self._path(shard_id), self._path(shard_id).with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump({"sequence_number": sequence_number}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def stream_event(records: list[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """GetRecords' records as Lambda hands them to a function."""
    return {"Records": [{**record, "eventSourceARN": stream_arn, "awsRegion": region} for record in records]}


def resume_point(records: list[dict[str, Any]], response: Any) -> int:
    """How many leading records of a batch the handler finished: all of them, or those before the
    lowest sequence number its partial batch response names (ReportBatchItemFailures)."""
    failures = response.get("batchItemFailures", []) if isinstance(response, dict) else []
    failed = {int(f["itemIdentifier"]) for f in failures}
    if not failed:
        return len(records)
    first = min(failed)
    return next(i for i, r in enumerate(records) if int(r["dynamodb"]["SequenceNumber"]) >= first)


class StreamPump(threading.Thread):
    """One table stream's event source mapping: each shard's records in order, from its checkpoint.

    A batch that raises is split in two (BisectBatchOnFunctionError) until one record fails alone;
    after ``max_retries`` failed attempts that record goes to the consumer's on-failure queue, as a
    Lambda failure record naming the shard and sequence number, and the shard moves on."""

    DESCRIBE_SECONDS = 10.0

    def __init__(self, app_module: Any, config: DynamoDBEventConfig, stop: threading.Event, state_dir: Path,
                 idle_seconds: float = 0.25) -> None:
        super().__init__(name=f"stream-{config.name}", daemon=True)
        self.handler = getattr(app_module, config.name)
        self.config, self.stop, self.idle_seconds = config, stop, idle_seconds
        session = boto3.session.Session()
        self.region = session.region_name or "eu-central-1"
        # botocore's account-based endpoint (<account>.streams-ddb.<region>) is one moto 5.2 does not route
        self.streams = session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
        self.sqs = session.client("sqs")
        table = names.table_of_stream(config.stream_arn)
        self.arn = session.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
        consumer = next(c for c in STREAM_CONSUMERS if table.endswith(f"-{c.table}"))
        self.max_retries = consumer.max_retries
        self.on_failure = self.sqs.get_queue_url(QueueName=table.removesuffix(consumer.table) + consumer.on_failure)["QueueUrl"]
        self.checkpoints = Checkpoints(state_dir, self.arn)
        self.iterators: dict[str, str | None] = {}
        self.shards: list[str] = []
        self.described_at = 0.0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                handled = self.pump_once()
            except Exception:
                log.exception("stream_read_failed", stream=self.arn)
                self.iterators.clear()  # start again from the checkpoints
                handled = 0
            if not handled:
                self.stop.wait(self.idle_seconds)

    def _iterator(self, shard_id: str) -> str | None:
        if shard_id not in self.iterators:
            after = self.checkpoints.get(shard_id)
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after else \
                {"ShardIteratorType": self.config.starting_position}
            self.iterators[shard_id] = self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id,
                                                                       **position)["ShardIterator"]
        return self.iterators[shard_id]

    def pump_once(self) -> int:
        """One GetRecords per open shard and the handler over what came; return how many records were handled."""
        handled = 0
        for shard_id in self._shards():
            iterator = self._iterator(shard_id)
            if iterator is None:
                continue  # a closed shard read to its end
            response = self.streams.get_records(ShardIterator=iterator, Limit=self.config.batch_size)
            records = response["Records"]
            if records and not self.deliver(shard_id, records):
                del self.iterators[shard_id]  # read again from the checkpoint
                continue
            self.iterators[shard_id] = response.get("NextShardIterator")
            handled += len(records)
        return handled

    def _shards(self) -> list[str]:
        """The stream's shards, described again every ``DESCRIBE_SECONDS`` (shards split and close over time)."""
        if not self.shards or time.monotonic() - self.described_at > self.DESCRIBE_SECONDS:
            description = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]
            self.shards, self.described_at = [shard["ShardId"] for shard in description["Shards"]], time.monotonic()
        return self.shards

    def deliver(self, shard_id: str, records: list[dict[str, Any]]) -> bool:
        """Hand the records to the handler, bisecting on errors, and checkpoint what it finished; False when
        some remain to be read again."""
        pending, size, attempts = records, len(records), 0
        while pending:
            batch = pending[:size]
            done, error = self._invoke(batch)
            if done:
                self.checkpoints.put(shard_id, batch[done - 1]["dynamodb"]["SequenceNumber"])
                pending, size, attempts = pending[done:], len(pending) - done, 0
                continue
            attempts += 1
            if error and size > 1:
                size //= 2  # BisectBatchOnFunctionError: narrow down to the record that fails
                continue
            if attempts > self.max_retries:
                self._give_up(shard_id, pending[0])
                pending, size, attempts = pending[1:], len(pending) - 1, 0
                continue
            if self._backoff(attempts):
                return False
        return True

    def _backoff(self, attempts: int) -> bool:
        """Wait before the next attempt; True if the pump is stopping meanwhile."""
        return self.stop.wait(min(2.0, 0.1 * 2 ** attempts))

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[int, bool]:
        """(leading records finished, whether the handler raised)."""
        context = LambdaContext(self.config.name, 256, max_runtime_ms=60_000)
        context.aws_request_id = str(uuid.uuid4())
        try:
            response = self.handler(stream_event(records, self.arn, self.region), context)
        except Exception:
            log.exception("handler_failed", handler=self.config.name, records=len(records))
            return 0, True
        return resume_point(records, response), False

    def _give_up(self, shard_id: str, record: dict[str, Any]) -> None:
        number = record["dynamodb"]["SequenceNumber"]
        log.error("stream_record_to_dlq", handler=self.config.name, shard=shard_id, sequence_number=number)
        self.sqs.send_message(QueueUrl=self.on_failure, MessageBody=json.dumps({
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.config.name},
            "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": number, "endSequenceNumber": number,
                                   "batchSize": 1, "streamArn": self.arn}}))
        self.checkpoints.put(shard_id, number)


def scheduled_event(region: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": [], "detail": {}}


class SchedulePump(threading.Thread):
    """Call one scheduled handler every ``interval`` seconds until stopped."""

    def __init__(self, app_module: Any, config: ScheduledEventConfig, stop: threading.Event, interval: float) -> None:
        super().__init__(name=f"schedule-{config.name}", daemon=True)
        self.handler = getattr(app_module, config.name)
        self.config, self.stop, self.interval = config, stop, interval
        self.region = boto3.session.Session().region_name or "eu-central-1"

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            context = LambdaContext(self.config.name, 256, max_runtime_ms=60_000)
            context.aws_request_id = str(uuid.uuid4())
            try:
                self.handler(scheduled_event(self.region), context)
            except Exception:
                log.exception("scheduled_handler_failed", handler=self.config.name)


def scheduled_sources(app: Any) -> list[ScheduledEventConfig]:
    return [source for source in app.event_sources if isinstance(source, ScheduledEventConfig)]


def _is_lazy(value: Any) -> bool:
    """A ``chalicelib.core.lazy`` stand-in: a module object that is not the module its name imports."""
    return isinstance(value, types.ModuleType) and sys.modules.get(value.__name__) is not value


def warm(app_module: Any, name: str) -> None:
    """Import the modules handler ``name`` names, which app.py loads lazily, and those they load lazily.

    With several environments per handler, each would otherwise pay these imports on its first
    event (a cold start, 0.3-1 s here) and the first orders of every run would queue behind them;
    this way each child starts initialised, as a provisioned Lambda environment does. Nothing of
    the handler runs: its first event still creates its AWS clients and looks up its queues.
    """
    handler = getattr(app_module, name)
    code = getattr(handler, "func", handler).__code__
    modules = [importlib.import_module(value.__name__) for value in (vars(app_module).get(n) for n in code.co_names)
               if _is_lazy(value)]
    for module in modules:
        for value in list(vars(module).values()):
            if _is_lazy(value):
                importlib.import_module(value.__name__)


def run_handler(name: str) -> None:
    """Pump one handler until SIGINT/SIGTERM."""
    configure()
    if name in os.environ.get("BRIDGE_PUMP_NICE", "render_pdfs").split(","):
        os.nice(10)  # off the order's path; on AWS its own function with its own CPU, here it shares two cores
    import app as app_module

    warm(app_module, name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    interval = float(os.environ.get("BRIDGE_PUMP_SCHEDULE_SECONDS", "5"))
    threads: list[threading.Thread] = [QueuePump(app_module, c, stop) for c in sqs_sources(app_module.app) if c.name == name]
    threads += [SchedulePump(app_module, c, stop, interval) for c in scheduled_sources(app_module.app) if c.name == name]
    state_dir = Path(os.environ.get("BRIDGE_PUMP_STATE_DIR", "var/pump"))
    idle = float(os.environ.get("BRIDGE_PUMP_STREAM_IDLE_SECONDS", "0.25"))  # Lambda polls a shard 4 times a second
    threads += [StreamPump(app_module, c, stop, state_dir, idle) for c in stream_sources(app_module.app) if c.name == name]
    if not threads:
        raise SystemExit(f"no SQS, stream or scheduled handler named {name!r} in app.py")
    for thread in threads:
        thread.start()
    print(f"HANDLER READY {name}", flush=True)
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)


def _relay(child: subprocess.Popen[str]) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        print(line, end="", flush=True)


def run_all() -> None:
    """``BRIDGE_PUMP_CONCURRENCY`` child processes per SQS handler, one per stream or scheduled handler (a
    stream's shards are each read in order by one reader); READY once every child is."""
    import app as app_module

    concurrency = max(1, int(os.environ.get("BRIDGE_PUMP_CONCURRENCY", "3")))
    singles = [c.name for c in stream_sources(app_module.app)] + [c.name for c in scheduled_sources(app_module.app)]
    handlers = [c.name for c in sqs_sources(app_module.app)] + singles
    instances = [c.name for c in sqs_sources(app_module.app) for _ in range(concurrency)] + singles
    children = [subprocess.Popen([sys.executable, "-m", "devstack.pump", "--handler", name], stdout=subprocess.PIPE,
                                 text=True) for name in instances]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for child in children:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("HANDLER READY"):
            for other in children:
                other.terminate()
            raise SystemExit(f"a pump child did not start: {line!r}")
    for child in children:  # keep each child's stdout flowing, so a full pipe never blocks it
        threading.Thread(target=_relay, args=(child,), daemon=True).start()
    print(f"PUMP READY handlers={','.join(handlers)}", flush=True)
    while not stop.wait(1):
        if any(child.poll() is not None for child in children):
            log.error("pump_child_exited")
            break
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description="Feed the app's SQS, stream and scheduled handlers locally.")
    parser.add_argument("--handler", help="run only this handler (the parent runs one child per handler)")
    args = parser.parse_args()
    if args.handler:
        run_handler(args.handler)
    else:
        run_all()


if __name__ == "__main__":
    main()
