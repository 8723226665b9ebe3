"""The response cache: rendered responses keyed by the query's octets after the ID.

The rule this module owns: what may enter the cache and how big it may grow. Only plain
queries (the question and at most an option-less OPT) are candidates. A response for a
name that exists in the tables is admitted at once; any other (NXDOMAIN, wildcard,
below a zone cut, REFUSED) only when the same query is seen a second time, remembered in
a bounded doorkeeper set, so a flood of random names never enters the cache: it can
neither evict the hot entries nor grow memory. All caches of one Tables share one entry
budget; a full budget evicts the oldest entry of the cache being written (first in, first
out). Entries hold the response after the ID for the lower-cased question; the core
splices the query's ID and its own question back in.

NXDOMAIN templates (core.py) have a budget of their own, shared the same way: a template
is made only below a node that exists, so random parents never make one, and a flood of
query shapes under one parent evicts only older templates.
"""

from __future__ import annotations

from typing import NamedTuple

from .outcome import Outcome

__all__ = ["CacheEntry", "NegativeTemplate", "ResponseCache"]

# the response after its ID (question lower-cased), its outcome, the answering zone's apex
CacheEntry = tuple[bytes, Outcome, str | None]


class NegativeTemplate(NamedTuple):
    """core.py's NXDOMAIN answer below one parent name; its hot path unpacks the fields in
    this order."""

    head: bytes  # the response header after its ID: flags and counts
    longest: int  # the longest first label that keeps the name within 255 octets
    rest: int  # octets of the question after the first label: the parent, type, class
    lengths: int  # bit n set: some name right below the parent has a first label of n
    nodes: dict  # the zone's names, to prove the query's name does not exist
    served: frozenset | None  # zones and view names served right below the parent
    tails: dict  # the zone's negative SOA RR, by where the question ends
    soa: object  # the zone's negative SOA RRset
    opt: bytes  # our OPT RR, or b""
    limit: int  # the UDP size the answer must fit
    apex: str  # the zone's name, for the metrics
    ends: dict  # the SOA RR and OPT after a question ending at each offset (filled lazily)


class ResponseCache:
    """The shared entry budget and doorkeeper of every per-view, per-transport cache."""

    __slots__ = ("limit", "size", "seen", "seen_limit", "template_limit", "templates")

    def __init__(self, limit: int, seen_limit: int = 8192, template_limit: int = 4096):
        self.limit = limit
        self.size = 0
        self.seen: set[bytes] = set()  # keys seen once, not (yet) admitted
        self.seen_limit = seen_limit
        self.template_limit = min(limit, template_limit)  # no cache: no templates either
        self.templates = 0

    def seen_before(self, key: bytes) -> bool:
        """Whether `key` was seen once already (the doorkeeper forgets it then); if not, it
        is remembered, in a set that is emptied when full."""
        seen = self.seen
        if key in seen:
            seen.discard(key)
            return True
        if len(seen) >= self.seen_limit:
            seen.clear()
        seen.add(key)
        return False

    def store(self, cache: dict[bytes, CacheEntry], key: bytes, value: CacheEntry) -> None:
        """Keep `value` under `key` within the shared budget (first in, first out)."""
        if key in cache:
            return
        if self.size >= self.limit:
            if not cache:
                return  # the budget is held by other caches: leave theirs alone
            del cache[next(iter(cache))]
            self.size -= 1
        cache[key] = value
        self.size += 1

    def store_template(
        self, templates: dict[bytes, NegativeTemplate], key: bytes, value: NegativeTemplate
    ) -> None:
        """Keep an NXDOMAIN template within the templates' own budget (first in, first out)."""
        if key in templates:
            return
        if self.templates >= self.template_limit:
            if not templates:
                return
            del templates[next(iter(templates))]
            self.templates -= 1
        templates[key] = value
        self.templates += 1
