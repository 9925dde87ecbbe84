"""The offline watch: each minute (a schedule), one ``edge.offline`` per outage of a shop's edge.

Every heartbeat puts the shop in a sparse index with the instant it counts as offline (``edge_silent_at`` =
last heartbeat + 2 minutes). The sweep queries the index for instants passed, claims each outage with a
conditional write that holds only if no heartbeat came since, queues the event and takes the shop out of the
index; the next heartbeat puts it back. A sweep that stops after its claim leaves the entry due again a minute
later, and the next sweep queues the same outage under the same webhook-id.
"""

from __future__ import annotations

from typing import Any

from chalicelib.fleet import events, store
from chalicelib.fleet.view import ONLINE_WINDOW

LEASE_SECONDS = 60


def sweep(now: int) -> int:
    """Notify every outage that began by ``now``; return how many were settled."""
    claimed: list[tuple[str, str, int, dict[str, Any]]] = []
    for entry in store.silent_edges(now):
        shop_id, silent_mark = entry["pk"].removeprefix("SHOP#"), entry["edge_silent_at"]
        if "deleted_at" in entry:
            store.finish_outage(shop_id, silent_mark)
            continue
        outage = int(entry.get("edge_offline_for") or silent_mark)  # a claimed outage keeps its id on a retry
        lease_until = now + LEASE_SECONDS
        if store.claim_outage(shop_id, silent_mark, lease_until, outage):
            claimed.append((shop_id, store.mark(lease_until), outage, entry))
    sending = [(n, shop_id, outage) for n, (shop_id, _, outage, entry) in enumerate(claimed)
               if events.wanted(entry, events.OFFLINE)]
    failed = events.publish([events.message(shop_id, events.offline(shop_id, outage - ONLINE_WINDOW, outage))
                             for _, shop_id, outage in sending])
    not_queued = {sending[position][0] for position in failed}
    settled = [(shop_id, lease) for n, (shop_id, lease, _, _) in enumerate(claimed) if n not in not_queued]
    for shop_id, lease in settled:
        store.finish_outage(shop_id, lease)
    return len(settled)
