"""Modules loaded on first use, so importing ``app`` (a Lambda cold start) costs little more than
importing chalice and boto3: each handler pays only for the modules it touches.

A ``lazy("chalicelib.orders.service")`` proxy imports the real module on its first attribute access and
then always reads through to it, so anything patched on the real module is seen. Unlike
``importlib.util.LazyLoader`` it is safe under threads: every access goes through ``import_module``,
which returns a loaded module at once and waits for one another thread is still importing (a bare
``sys.modules`` lookup would hand out that half-initialised module).
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self.__name__), attribute)


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it when first used."""
    return _LazyModule(name)
