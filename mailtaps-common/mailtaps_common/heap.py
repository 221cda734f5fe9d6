"""Fewer garbage collections during a sync.

CPython's cyclic collector runs after every 700 new container objects (dicts,
lists), and every so often walks every live object, the SDK's and the tap's own
modules included. A tap creates several containers per record, so the collector
ran hundreds of times a second and cost tap-mailprotector about 15 % of its CPU,
without ever finding a cycle: records are freed by reference counting.

When the tap's command starts a sync, what start-up created is frozen (never
scanned again) and the youngest generation is collected every 50,000 new
containers instead. Cycles are still collected; at most that many extra objects
wait for it.
"""

from __future__ import annotations

import gc
from typing import Any

from typing_extensions import override

from mailtaps_common.bases import TapMixin

YOUNGEST_GENERATION_THRESHOLD = 50_000


class FewerCollections(TapMixin):
    """Mix into a ``Tap`` (before it): the collector tuned as above when the command
    line syncs (``Tap.invoke``), not when a test or a caller builds a tap in its own
    process."""

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        gc.freeze()
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, older, oldest)
        super().invoke(*args, **kwargs)
