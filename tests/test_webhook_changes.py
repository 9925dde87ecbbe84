"""Issue 27 point 11: a webhook URL or secret change, once acknowledged, is what every later delivery uses, in
every container: a container that cached the shop before the change (simulated by putting the stale snapshot
back into this process's shop cache) neither sends to the old URL nor signs with the dropped secret."""

from __future__ import annotations

import time

from chalicelib.shops import service as shops
from devstack.receiver import WebhookReceiver
from tests.conftest import run_dispatch
from tests.test_webhooks import post, pump


def _cached_before_the_change(shop_id: str, stale: shops.ShopSnapshot) -> None:
    shops._cache[shop_id] = (time.monotonic(), stale)


def test_a_new_url_and_a_rotated_secret_reach_every_sender_at_once(api, shop, merchant, aws_env, clock):
    shop_id = shop["shop_id"]
    old, new = WebhookReceiver(), WebhookReceiver()
    try:
        stale = shops.load_snapshot(shop_id)
        r = api.call("PUT", f"/api/v1/shops/{shop_id}/webhook", {"url": old.start()}, merchant["auth"])
        old.secret = r.json["secret"]
        _cached_before_the_change(shop_id, stale)  # cached with no webhook at all: not a reason to skip
        post(api, shop, "C-1")
        pump(aws_env)
        assert [d.body["orderID"] for d in old.deliveries] == ["C-1"]

        stale = shops.load_snapshot(shop_id)
        r = api.call("PUT", f"/api/v1/shops/{shop_id}/webhook", {"url": new.start()}, merchant["auth"])
        assert r.status_code == 200
        new.secret = r.json["secret"]
        _cached_before_the_change(shop_id, stale)
        post(api, shop, "C-2")
        pump(aws_env)
        assert [d.body["orderID"] for d in new.deliveries] == ["C-2"], "the new URL, signed with the new secret"
        assert [d.body["orderID"] for d in old.deliveries] == ["C-1"] and new.rejected == 0

        stale = shops.load_snapshot(shop_id)
        r = api.call("POST", f"/api/v1/shops/{shop_id}/webhook/secret/rotate", {"grace_seconds": 0}, merchant["auth"])
        assert r.status_code == 200
        new.secret = r.json["secret"]
        _cached_before_the_change(shop_id, stale)
        post(api, shop, "C-3")
        pump(aws_env)
        assert [d.body["orderID"] for d in new.deliveries] == ["C-2", "C-3"] and new.rejected == 0, \
            "signed with the rotated secret, not the cached one"
    finally:
        old.stop()
        new.stop()



def test_while_the_webhook_is_unchanged_a_delivery_costs_no_extra_request(api, shop, merchant, aws_env, clock,
                                                                          aws_calls):
    """The check rides in the transaction that creates the delivery record (in place of its PutItem)."""
    hooks = WebhookReceiver()
    try:
        r = api.call("PUT", f"/api/v1/shops/{shop['shop_id']}/webhook", {"url": hooks.start()}, merchant["auth"])
        hooks.secret = r.json["secret"]
        post(api, shop, "R-1")
        aws_calls.clear()
        run_dispatch()  # the first attempt, from the orders stream
        assert [d.body["orderID"] for d in hooks.deliveries] == ["R-1"]
        assert sorted(c for c in aws_calls if c.startswith("dynamodb.")) == [
            "dynamodb.TransactWriteItems", "dynamodb.UpdateItem"], "create-and-check, then the attempt's outcome"
    finally:
        hooks.stop()
