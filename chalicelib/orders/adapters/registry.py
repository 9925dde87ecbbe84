"""The shop platforms the bridge takes orders from: adding one is a module implementing ``base.PlatformAdapter``
plus one line here."""

from __future__ import annotations

from chalicelib.orders.adapters import shopify, woocommerce
from chalicelib.orders.adapters.base import PlatformAdapter

ADAPTERS: dict[str, PlatformAdapter] = {adapter.name: adapter for adapter in (shopify.ADAPTER, woocommerce.ADAPTER)}
