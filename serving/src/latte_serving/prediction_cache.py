"""Recent predictions by request id, so delayed labels and business events can be joined.

One bounded, insertion-ordered table per model (a hot model cannot push another's answers
out), each entry expiring after a TTL. Memory is capped by the entry limit: request ids are
at most 128 characters (the middleware's rule) and an entry holds at most one batch of class
indices. Every eviction is counted by reason (``capacity`` or ``ttl``).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

__all__ = ["CachedPrediction", "PredictionCache"]


class CachedPrediction:
    """One answer: who gave it, what it predicted (per row), for whom and when."""

    __slots__ = ("at", "classes", "events", "labelled", "model", "tenant", "version")

    def __init__(
        self, model: str, version: int, classes: tuple[int, ...], tenant: str, at: float
    ) -> None:
        self.model = model
        self.version = version
        self.classes = classes
        self.tenant = tenant
        self.at = at
        self.labelled = False
        self.events: frozenset[str] = frozenset()  # shared empty set until an event comes


class PredictionCache:
    """``put``/``get`` by request id; expired entries are dropped as new ones arrive."""

    def __init__(
        self,
        *,
        max_entries: int,
        ttl_s: float,
        on_evict: Callable[[str, str], None] = lambda model, reason: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._on_evict = on_evict
        self._clock = clock
        self._tables: dict[str, collections.OrderedDict[str, CachedPrediction]] = {}

    def now(self) -> float:
        return self._clock()

    def size(self, model: str) -> int:
        return len(self._tables.get(model, ()))

    def put(self, request_id: str, entry: CachedPrediction) -> None:
        table = self._tables.setdefault(entry.model, collections.OrderedDict())
        table.pop(request_id, None)  # a reused id is the newest answer, moved to the end
        self._expire(entry.model, table, entry.at)
        while len(table) >= self.max_entries:
            table.popitem(last=False)
            self._on_evict(entry.model, "capacity")
        table[request_id] = entry

    def get(
        self, request_id: str, model: str | None = None
    ) -> tuple[CachedPrediction | None, bool]:
        """The entry for ``request_id`` (in ``model``'s table, else any) and whether it had
        expired (an expired entry is removed and not returned)."""
        if model is None:
            tables = list(self._tables.values())
        else:
            tables = [self._tables[model]] if model in self._tables else []
        for table in tables:
            entry = table.get(request_id)
            if entry is None:
                continue
            if self._clock() - entry.at > self.ttl_s:
                del table[request_id]
                self._on_evict(entry.model, "ttl")
                return None, True
            return entry, False
        return None, False

    def _expire(
        self, model: str, table: collections.OrderedDict[str, CachedPrediction], now: float
    ) -> None:
        while table:
            oldest = next(iter(table.values()))
            if now - oldest.at <= self.ttl_s:
                return
            table.popitem(last=False)
            self._on_evict(model, "ttl")
