"""Chaos run: N orders through the real local stack while the edge is killed, its devices fail,
its network drops, SQS redelivers and duplicates, and the cloud pump restarts; then every order is
checked for exactly one fiscal receipt, card charge, eReceipt and pair of webhooks. The orders are every kind a
shop makes: cash, card, split tender (cash with change plus card) and refunds of earlier orders, in cash or
back to the card (``bench/chaoskit/plan.py``).

    .venv/bin/python bench/chaos.py [--device simulated|datecs|datecs-p|datecs-x|daisy|tremol|caspos] [--orders 1000] [--till-sales 250] [--actions 120] [--seed N] [--quiet]

``--till-sales`` sales are taken at the edge (``POST /manage/sales``, ``bench/chaoskit/till.py``) beside the web
orders, across the same kills and offline windows: each must come out as one receipt on the device and one
``terminated`` till order in the cloud.

``--device`` picks the fiscal device family (``BRIDGE_EDGE_DEVICE``): the simulated register, or an emulated
Datecs C (DP25), Datecs P (FP800), Daisy (eXpert SX) or Caspos Mobile, each with the faults its emulator can
show (``bench/chaoskit/fiscal.py``); receipts are counted in the device's own journal.

The seed is printed first; ``--seed`` reproduces the run's plan (orders, chaos actions and their
parameters, the crash point of each edge life). Exit status 1 on any violation, with the stack's
logs kept for a post-mortem. Seconds stand for minutes where the real thing is slow: the edge's
retry cap is 1 s instead of 60 s, and the queues' visibility timeouts are a few seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.chaoskit.actions import Chaos, Say  # noqa: E402
from bench.chaoskit.cloud import CloudAdmin  # noqa: E402
from bench.chaoskit.devices import Devices  # noqa: E402
from bench.chaoskit.edge import ALL_CRASHPOINTS, CrashPlan, EdgeRunner, chaos_edge_config  # noqa: E402
from bench.chaoskit.fiscal import FAMILIES, DeviceZ, FiscalDevice, SimulatedFiscal, fiscal_device  # noqa: E402
from bench.chaoskit.journal_view import JournalView  # noqa: E402
from bench.chaoskit.plan import OrderSpec, plan_actions, plan_orders  # noqa: E402
from bench.chaoskit.poster import Poster  # noqa: E402
from bench.chaoskit.proxy import TcpProxy  # noqa: E402
from bench.chaoskit.till import TillSeller, pending_till_sales, plan_till_sales  # noqa: E402
from bench.chaoskit.verify import Evidence, Verdict, verify  # noqa: E402
from chalicelib.core import resource_names as names  # noqa: E402
from devstack.demo import configure_webhook  # noqa: E402
from devstack.harness import RunningStack, free_port, running_stack  # noqa: E402
from devstack.receiver import WebhookReceiver  # noqa: E402
from edge.faults import TILL_CRASHPOINTS  # noqa: E402

# The edge is the bench's to kill; the pump is restarted by the stack's supervisor whenever the bench kills it.
# Webhook attempts time out after 2 s, so a delivery leased by a killed pump is due again ~40 s later, not 70 s.
STACK_ENV = {"BRIDGE_EDGE_EXTERNAL": "1", "BRIDGE_KEEP_ALIVE": "pump", "BRIDGE_PUMP_SCHEDULE_SECONDS": "1",
             "BRIDGE_WEBHOOK_TIMEOUT_SECONDS": "2"}
# Simulated time: visibility timeouts of seconds, so a redelivery after a crash comes in seconds.
VISIBILITY = {names.WEBHOOKS_QUEUE: 8}  # the dispatch reads the orders stream from its checkpoint: no visibility to wait out
JOBS_VISIBILITY = 5


@dataclass(frozen=True)
class ChaosOptions:
    device: str = "simulated"
    orders: int = 1000
    till_sales: int = 0  # sales taken at the edge (POST /manage/sales) beside the web orders
    actions: int = 120
    seed: int | None = None
    card_ratio: float = 0.3
    split_ratio: float = 0.15
    refund_ratio: float = 0.1
    replay_ratio: float = 0.08
    crash_armed_ratio: float = 0.6
    crash_max_hits: int = 25
    window_scale: float = 1.0
    settle_timeout: float = 600.0
    verbose: bool = True
    keep_logs: Path | None = None


@dataclass
class ChaosReport:
    seed: int
    device: str
    verdict: Verdict
    wall_seconds: float
    crashes: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)
    posts: dict[str, Any] = field(default_factory=dict)
    logs_kept_in: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "device": self.device,
            "ok": self.ok,
            "orders": self.verdict.counts.get("orders"),
            "crashes_injected": self.crashes.get("total"),
            "faults_injected": self.faults.get("total"),
            "duplicates": sum(self.verdict.duplicates.values()),
            "losses": sum(self.verdict.losses.values()),
            "wall_seconds": round(self.wall_seconds, 1),
            "counts": self.verdict.counts,
            "crashes": self.crashes,
            "faults": self.faults,
            "posts": self.posts,
            "duplicates_by_kind": self.verdict.duplicates,
            "losses_by_kind": self.verdict.losses,
            "violations": self.verdict.violations,
            "logs_kept_in": self.logs_kept_in,
        }


def run(options: ChaosOptions) -> ChaosReport:
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print(f"chaos seed {seed} on {options.device} (reproduce with --seed {seed} --device {options.device})", flush=True)
    if options.device not in FAMILIES:
        raise ValueError(f"device must be one of {', '.join(FAMILIES)}, not {options.device!r}")
    say = Say(options.verbose)
    # The stack's shop fits the family; the stack's own Caspos emulator is moved off the fixed port 5544.
    env = {**STACK_ENV, "BRIDGE_EDGE_DEVICE": options.device, "BRIDGE_CASPOS_PORT": str(free_port())}
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        var_dir = Path(tmp)
        with running_stack(var_dir, extra_env=env) as stack:
            report = _run_on(stack, var_dir, seed, options, say)
            if not report.ok:
                kept = options.keep_logs or Path(tempfile.mkdtemp(prefix=f"chaos-logs-{seed}-"))
                shutil.copytree(var_dir / "logs", kept, dirs_exist_ok=True)
                shutil.copy2(var_dir / "devstack.out", kept / "devstack.out")
                report.logs_kept_in = str(kept)
    return report


def _run_on(stack: RunningStack, var_dir: Path, seed: int, options: ChaosOptions, say: Say) -> ChaosReport:
    demo, shop = stack.demo, stack.demo["shop"]
    receiver = WebhookReceiver()
    configure_webhook(demo["api_base"], demo, receiver)
    cloud = CloudAdmin(demo["aws_endpoint"], shop["shop_id"])
    cloud.set_visibility_timeouts({cloud.jobs_queue_url: JOBS_VISIBILITY,
                                   **{cloud.cloud_queue_url(q): s for q, s in VISIBILITY.items()}})
    proxies = {"api": TcpProxy(stack.ports["api"]), "aws": TcpProxy(stack.ports["aws"])}
    stack_config = Path(demo["edge_config"])
    state_dir = stack_config.parent
    fiscal = fiscal_device(options.device, state_dir, demo["edge_base"])
    config = chaos_edge_config(stack_config, proxies["api"].url, proxies["aws"].url, state_dir / "chaos-edge.toml", fiscal.edge_toml())
    crash_points = ALL_CRASHPOINTS + (TILL_CRASHPOINTS if options.till_sales else ())
    crash_plan = CrashPlan(random.Random(f"{seed}:crash"), options.crash_armed_ratio, options.crash_max_hits, crash_points)
    edge = EdgeRunner(config, var_dir / "logs" / "chaos-edge.log", crash_plan, random.Random(f"{seed}:edge"), fiscal.arm_crash)
    devices = Devices(state_dir, demo["edge_base"], fiscal)
    journal = JournalView(state_dir)
    chaos = Chaos(stack, edge, proxies, devices, cloud, journal, random.Random(f"{seed}:chaos"), say)
    orders = plan_orders(random.Random(f"{seed}:orders"), f"CH{seed}", options.orders, options.card_ratio, options.replay_ratio,
                         options.split_ratio, options.refund_ratio, fiscal.refunds_to_card)
    actions = plan_actions(random.Random(f"{seed}:actions"), options.actions, options.window_scale, fiscal.faults)
    poster = Poster(demo["api_base"], shop["shop_id"], shop["shop_key"])
    till = TillSeller(demo["edge_base"], state_dir, plan_till_sales(random.Random(f"{seed}:till"), f"CH{seed}",
                                                                    options.till_sales, options.card_ratio))
    started = time.monotonic()
    edge.start()
    try:
        waiting = _drive(orders, actions, poster, chaos, say, random.Random(f"{seed}:gaps"), till)
        say("healing: network up, faults cleared, no more crash points")
        chaos.heal()
        edge.heal()
        _post_waiting_refunds(waiting, poster, options.settle_timeout, say)
        till.confirm(options.settle_timeout / 2, say)
        settled = _settle(orders, cloud, receiver, journal, options.settle_timeout, say, till)
        say(f"settled={settled}; closing the day (Z report)")
        z_report = _z_report(devices, say)
        evidence = Evidence(
            orders=orders, cloud_orders=cloud.orders(), receipts=fiscal.receipts(), order_key=fiscal.order_key, z_report=z_report,
            card_transactions=devices.terminal.transactions(), ereceipts=cloud.ereceipts(), deliveries=cloud.deliveries(),
            webhooks=list(receiver.deliveries), results=journal.results(), offline_windows=chaos.injected.offline_windows,
            till_sales=till.sales, till_answers=till.confirmed,
        )
        verdict = verify(evidence)
        wall = time.monotonic() - started
        verdict.counts["jobs_queue_left"] = cloud.queue_depth(cloud.jobs_queue_url)
        verdict.counts["edge_journal_states"] = sum(journal.states().values())
    finally:
        edge.stop()
        poster.close()
        receiver.stop()
        devices.close()
        for proxy in proxies.values():
            proxy.close()
    for problem in poster.log.problems:
        verdict.fail(problem)
    for bad in edge.unexpected_exits():
        verdict.fail(f"edge life {bad.life} exited with {bad.code} (crash_at={bad.crash_at})")
    injected = chaos.injected
    crashpoints = edge.crashpoint_exits()
    return ChaosReport(
        seed=seed,
        device=options.device,
        verdict=verdict,
        wall_seconds=wall,
        crashes={"total": sum(crashpoints.values()) + edge.sigkills, "at_crash_points": dict(sorted(crashpoints.items())),
                 "sigkill_at_random_times": edge.sigkills, "edge_lives": edge.lives()},
        faults={"total": injected.faults_total(), "by_kind": dict(sorted(injected.faults.items())),
                "messages_redelivered": injected.redelivered, "duplicate_job_messages": injected.duplicate_messages,
                "pump_restarts": injected.pump_restarts, "offline_windows": len(injected.offline_windows),
                "offline_seconds": round(sum(end - start for start, end in injected.offline_windows) / 1000, 1),
                "printer_faults_took_effect": dict(sorted(fiscal.took_effect.items())), **_simulated_paths(fiscal)},
        posts={"statuses": dict(poster.log.statuses), "retried": poster.log.retries, "replays": poster.log.replays,
               "refunds_deferred": poster.log.refunds_deferred, "till": till.summary()},
    )


def _drive(orders: list[OrderSpec], actions: list[Any], poster: Poster, chaos: Chaos, say: Say, gaps: random.Random,
           till: TillSeller) -> list[OrderSpec]:
    """Post the orders in chunks with one chaos action after each; replays go out with the next chunk, and the
    till sells its share of the till sales beside each chunk. A refund whose original is not printed yet goes out
    again with each later chunk; those still waiting are returned."""
    chunks = max(1, len(actions))
    size = -(-len(orders) // chunks)
    replays: list[OrderSpec] = []
    waiting: list[OrderSpec] = []
    for i in range(chunks):
        chunk = waiting + orders[i * size:(i + 1) * size]
        # Sales first: a refund goes out once its original was taken (a shop refunds what it sold).
        waiting = poster.post_all([spec for spec in chunk if spec.refund_of is None])
        waiting += poster.post_all([spec for spec in chunk if spec.refund_of is not None])
        poster.post_all(replays, replay=True)
        replays = [spec for spec in chunk if spec.replay and spec not in waiting]
        till.sell_chunk(i, chunks)
        say(f"posted {min(len(orders), (i + 1) * size)}/{len(orders)} orders ({len(waiting)} refunds wait for their original)")
        if i < len(actions):
            chaos.run(actions[i])
        time.sleep(gaps.uniform(0.1, 0.6))
    poster.post_all(replays, replay=True)
    return waiting


def _post_waiting_refunds(waiting: list[OrderSpec], poster: Poster, timeout: float, say: Say) -> None:
    """Once healed, post the refunds whose original was still unprinted until the cloud takes them."""
    deadline = time.monotonic() + timeout
    while waiting:
        if time.monotonic() > deadline:
            poster.log.problems.extend(f"{spec.order_id}: refund of {spec.refund_of} never accepted" for spec in waiting)
            return
        say(f"{len(waiting)} refunds wait for their original's receipt")
        time.sleep(2)
        still = poster.post_all(waiting)
        poster.post_all([spec for spec in waiting if spec.replay and spec not in still], replay=True)
        waiting = still


def _settle(orders: list[OrderSpec], cloud: CloudAdmin, receiver: WebhookReceiver, journal: JournalView, timeout: float, say: Say,
            till: TillSeller) -> bool:
    """Wait until every order and till sale has its `terminated` webhook (sent only after its eReceipt exists) and
    the edge has no backlog; then confirm once in DynamoDB. Cheap signals first: moto is the bottleneck."""
    deadline = time.monotonic() + timeout
    wanted = {spec.order_id for spec in orders} | {sale.order_id for sale in till.sales}
    while True:
        hooks = {d.body.get("orderID") for d in receiver.deliveries if d.body.get("type") == "terminated"}
        backlog = sum(n for state, n in journal.states().items() if state in ("received", "printing", "printed", "failed"))
        backlog += pending_till_sales(till.state_dir)
        if wanted <= hooks and backlog == 0:
            stored = cloud.orders()
            open_orders = [oid for oid in wanted if not ((o := stored.get(oid)) and o["status"] == "terminated" and o.get("receipt_id"))]
            if not open_orders:
                return True
            say(f"settling: {len(open_orders)} orders not terminated in DynamoDB")
        if time.monotonic() > deadline:
            say(f"not settled: {len(wanted - hooks)} orders without a terminated webhook, edge backlog {backlog}")
            return False
        say(f"settling: {len(wanted & hooks)}/{len(wanted)} terminated webhooks, edge backlog {backlog}")
        time.sleep(3)


def _simulated_paths(fiscal: FiscalDevice) -> dict[str, Any]:
    """How the simulated register's faults were set: through the edge's management API or on its memory."""
    if not isinstance(fiscal, SimulatedFiscal):
        return {}
    return {"printer_faults_via_api": fiscal.via_api, "printer_faults_via_memory": fiscal.via_memory,
            "manage_api_misses": fiscal.api_misses[:10]}


def _z_report(devices: Devices, say: Say) -> DeviceZ | None:
    """Close the day through the edge; the report is then read from the device's own journal."""
    for _ in range(30):
        try:
            devices.z_report()
            return devices.fiscal.last_z()
        except Exception as exc:  # the edge may still be starting; the report is retried
            say(f"Z report not yet: {exc}")
            time.sleep(1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=FAMILIES, default="simulated", help="the fiscal device family (BRIDGE_EDGE_DEVICE)")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--till-sales", type=int, default=None, help="sales taken at the till (default: a quarter of --orders)")
    parser.add_argument("--actions", type=int, default=None, help="chaos actions (default: one per ~8 orders)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--card-ratio", type=float, default=0.3)
    parser.add_argument("--split-ratio", type=float, default=0.15, help="share of orders paid part cash (with change), part card")
    parser.add_argument("--refund-ratio", type=float, default=0.1, help="share of orders that refund an earlier order of the run")
    parser.add_argument("--replay-ratio", type=float, default=0.08)
    parser.add_argument("--crash-armed-ratio", type=float, default=0.6, help="share of edge lives that carry a crash point")
    parser.add_argument("--crash-max-hits", type=int, default=25, help="an armed edge life dies on hit 1..N of its crash point")
    parser.add_argument("--window-scale", type=float, default=1.0, help="scale every fault/outage window")
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    options = ChaosOptions(
        device=args.device, orders=args.orders, till_sales=args.till_sales if args.till_sales is not None else args.orders // 4,
        actions=args.actions if args.actions is not None else max(7, args.orders // 8), seed=args.seed,
        card_ratio=args.card_ratio, split_ratio=args.split_ratio, refund_ratio=args.refund_ratio, replay_ratio=args.replay_ratio,
        crash_armed_ratio=args.crash_armed_ratio,
        crash_max_hits=args.crash_max_hits,
        window_scale=args.window_scale, settle_timeout=args.settle_timeout, verbose=not args.quiet,
    )
    report = run(options)
    summary = report.as_dict()
    print(json.dumps(summary, indent=2))
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2))
    print(f"{'OK' if report.ok else 'VIOLATIONS'}: {report.device}, seed {report.seed}, {summary['orders']} orders, "
          f"{summary['counts'].get('till_sales', 0)} till sales, "
          f"{summary['crashes_injected']} crashes, {summary['faults_injected']} faults, {summary['duplicates']} duplicates, "
          f"{summary['losses']} losses, {summary['wall_seconds']} s")
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
