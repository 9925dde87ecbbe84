"""The lazy module proxies app.py loads its domain modules through (cold start)."""

from __future__ import annotations

import sys
import threading
import time

from chalicelib.core.lazy import lazy


def test_a_second_thread_waits_for_the_import_in_progress(tmp_path, monkeypatch):
    """chalice local serves requests on threads: a request must never see a half-imported module."""
    (tmp_path / "slow_to_import_for_lazy_test.py").write_text("import time\ntime.sleep(0.3)\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    proxy = lazy("slow_to_import_for_lazy_test")
    seen: list[object] = []

    def read() -> None:
        try:
            seen.append(proxy.VALUE)
        except AttributeError as exc:
            seen.append(exc)

    first = threading.Thread(target=read)
    first.start()
    time.sleep(0.1)  # the first thread is inside the module's import now
    others = [threading.Thread(target=read) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(5)
    sys.modules.pop("slow_to_import_for_lazy_test", None)
    assert seen == [42, 42, 42, 42]
