"""Post the plan's orders the way a web shop does: retried on network errors and 5xx (same
``order_id``, so a retry is a replay), and some orders replayed on purpose later. A refund whose original is
not printed yet is answered 409 ``E_PARENT_NOT_FISCALIZED``: the shop tries it again later (``post_all``
hands it back)."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from bench.chaoskit.plan import OrderSpec


@dataclass
class PostLog:
    statuses: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    replays: int = 0
    refunds_deferred: int = 0  # refund posts answered "original not printed yet", tried again later
    problems: list[str] = field(default_factory=list)


class Poster:
    def __init__(self, api_base: str, shop_id: str, shop_key: str, clients: int = 4) -> None:
        self._http = httpx.Client(base_url=api_base, timeout=30, headers={"x-shop-key": shop_key})
        self._path = f"/api/v1/shops/{shop_id}/orders"
        self._pool = ThreadPoolExecutor(clients)
        self.log = PostLog()

    def post_all(self, orders: list[OrderSpec], *, replay: bool = False) -> list[OrderSpec]:
        """Post each order; return the refunds to post again later because their original is not printed yet."""
        posted = list(self._pool.map(lambda spec: self._post(spec, replay), orders))
        return [spec for spec, accepted in zip(orders, posted) if not accepted]

    def close(self) -> None:
        self._pool.shutdown()
        self._http.close()

    def _post(self, spec: OrderSpec, replay: bool) -> bool:
        retried = False
        for attempt in range(8):
            try:
                response = self._http.post(self._path, json=spec.body())
            except httpx.HTTPError as exc:
                self._retry(spec, f"{type(exc).__name__}", attempt)
                retried = True
                continue
            if response.status_code >= 500 or response.status_code == 429:
                self._retry(spec, str(response.status_code), attempt)
                retried = True
                continue
            if spec.refund_of is not None and _parent_not_printed(response):
                self.log.refunds_deferred += 1
                return False
            self._record(spec, response.status_code, replay=replay, retried=retried)
            return True
        self.log.problems.append(f"{spec.order_id}: could not be posted")
        return True

    def _retry(self, spec: OrderSpec, why: str, attempt: int) -> None:
        self.log.retries += 1
        time.sleep(min(2.0, 0.1 * 2**attempt))

    def _record(self, spec: OrderSpec, status: int, *, replay: bool, retried: bool) -> None:
        kind = "replay" if replay else "first"
        self.log.statuses[f"{kind}:{status}"] += 1
        if replay:
            self.log.replays += 1
            if status != 200:
                self.log.problems.append(f"{spec.order_id}: replayed POST answered {status}, expected 200")
        elif status != 201 and not (retried and status == 200):
            self.log.problems.append(f"{spec.order_id}: first POST answered {status}, expected 201")


def _parent_not_printed(response: httpx.Response) -> bool:
    try:
        return response.status_code == 409 and response.json().get("code") == "E_PARENT_NOT_FISCALIZED"
    except ValueError:
        return False
