"""Carry out the plan's chaos actions against the running stack, counting what was injected."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.chaoskit.cloud import CloudAdmin
from bench.chaoskit.devices import Devices
from bench.chaoskit.edge import EdgeRunner
from bench.chaoskit.journal_view import JournalView
from bench.chaoskit.plan import Action
from bench.chaoskit.proxy import TcpProxy
from devstack.harness import RunningStack


@dataclass
class Injected:
    faults: Counter[str] = field(default_factory=Counter)
    offline_windows: list[tuple[int, int]] = field(default_factory=list)  # epoch ms, edge cut off the cloud
    redelivered: int = 0
    duplicate_messages: int = 0
    pump_restarts: int = 0

    def faults_total(self) -> int:
        return sum(self.faults.values())


class Chaos:
    def __init__(self, stack: RunningStack, edge: EdgeRunner, proxies: dict[str, TcpProxy], devices: Devices,
                 cloud: CloudAdmin, journal: JournalView, rng: random.Random, say: "Say") -> None:
        self.stack, self.edge, self.proxies, self.devices = stack, edge, proxies, devices
        self.cloud, self.journal, self.rng, self.say = cloud, journal, rng, say
        self.injected = Injected()

    def run(self, action: Action) -> None:
        self.say(f"chaos: {action.describe()}")
        getattr(self, f"_{action.kind}")(**action.params)

    def heal(self) -> None:
        for proxy in self.proxies.values():
            proxy.restore()
        self.devices.clear_faults()

    # -- actions --------------------------------------------------------------------------------

    def _sigkill(self, after_s: float) -> None:
        time.sleep(after_s)
        self.edge.kill()

    def _printer_fault(self, fault: str, window_s: float, latency_ms: int = 0) -> None:
        self.injected.faults[f"printer_{fault}"] += 1
        self.devices.inject(fault, window_s, latency_ms)
        time.sleep(window_s)
        self.devices.clear_faults()

    def _terminal_fault(self, outcomes: list[str]) -> None:
        for outcome in outcomes:
            self.injected.faults[f"terminal_{outcome}"] += 1
        self.devices.script_terminal(*outcomes)  # type: ignore[arg-type]

    def _network_cut(self, links: str, window_s: float) -> None:
        self.injected.faults[f"network_cut_{links}"] += 1
        cut = [self.proxies[name] for name in (("api", "aws") if links == "both" else (links,))]
        started = time.time_ns() // 1_000_000
        for proxy in cut:
            proxy.cut()
        time.sleep(window_s)
        for proxy in cut:
            proxy.restore()
        if links in ("api", "both"):
            self.injected.offline_windows.append((started, time.time_ns() // 1_000_000))

    def _redeliver(self, share: float) -> None:
        handles = self.journal.open_receipt_handles()
        chosen = self.rng.sample(handles, int(len(handles) * share)) if handles else []
        self.injected.redelivered += self.cloud.expire_visibility(chosen)
        self.injected.faults["sqs_redelivery"] += 1

    def _duplicate_message(self, count: int) -> None:
        for body in self.journal.some_job_bodies(self.rng, count):
            self.cloud.send_job_again(body)
            self.injected.duplicate_messages += 1
        self.injected.faults["sqs_duplicate"] += 1

    def _pump_restart(self) -> None:
        self.stack.kill_child("pump")  # the stack's supervisor starts it again
        self.injected.pump_restarts += 1
        self.injected.faults["pump_restart"] += 1


class Say:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.started = time.monotonic()

    def __call__(self, line: str) -> None:
        if self.verbose:
            print(f"[{time.monotonic() - self.started:7.1f}s] {line}", flush=True)
