"""The response cache: rendered responses keyed by the query's octets after the ID.

The rule this module owns: what may enter the cache and how big it may grow. Only queries
whose name exists in the tables (the core decides) and whose shape is plain (the question
and at most an option-less OPT) are admitted, so a flood of random names can neither
evict the hot entries nor grow memory; all caches of one Tables share one budget, and a
full budget evicts the oldest entry of the cache being written (first in, first out).
Entries hold the response after the ID for the lower-cased question; the core splices the
query's ID and its own question back in.
"""

from __future__ import annotations

from .outcome import Outcome

__all__ = ["CacheEntry", "ResponseCache"]

# the response after its ID (question lower-cased), its outcome, the answering zone's apex
CacheEntry = tuple[bytes, Outcome, str | None]


class ResponseCache:
    """The shared entry budget of every per-view, per-transport cache of one Tables."""

    __slots__ = ("limit", "size")

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0

    def store(self, cache: dict[bytes, CacheEntry], key: bytes, value: CacheEntry) -> None:
        if key in cache:
            return
        if self.size >= self.limit:
            if not cache:
                return  # the budget is held by other caches: leave theirs alone
            del cache[next(iter(cache))]
            self.size -= 1
        cache[key] = value
        self.size += 1
