"""The response cache: rendered responses keyed by the query's octets after the ID.

The rule this module owns: what may enter the cache, how big it may grow, and what is
dropped when the tables change. Only plain queries (the question and at most an
option-less OPT) are candidates. A response for a name that exists in the tables is
admitted at once; any other (NXDOMAIN, wildcard, below a zone cut, REFUSED) only when
the same query is seen a second time, remembered in a bounded doorkeeper set, so a flood
of random names never enters the cache: it can neither evict the hot entries nor grow
memory. All caches of one Tables share one entry budget; a full budget evicts the oldest
entry of the cache being written (first in, first out). Entries hold the response after
the ID for the lower-cased question; the core splices the query's ID and its own question
back in.

NXDOMAIN templates (core.py, dname_templates.py) have a budget of their own, shared the
same way: a template is made only below a node that exists (below a DNAME: the node its
substitution lands below), so random parents never make one, and a flood of query shapes
under one parent evicts only older templates.

The caches outlive a change of the tables (delta.py). Each entry and template is filed,
when it is stored (the slow path), under the names its answer depends on, its last
field: the apex of every zone the lookup answered from or found a target's addresses in,
and `unheld(name)` for a name that no zone held (at that address, or at any for a
target). `invalidate(names)` drops what is filed under those names, and for `unheld(N)`
what is filed under `unheld(M)` for every M at or below N (a zone made at N may hold
them all), in O(their entries); `flush()` drops everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

__all__ = ["CacheEntry", "NegativeTemplate", "ResponseCache", "unheld"]

# the response after its ID (question lower-cased), its outcome as a number (OUTCOMES), the
# answering zone's apex, and the names it depends on (module doc): only objects the cyclic
# collector does not track, so it stops tracking the entry itself
CacheEntry = tuple[bytes, int, str | None, tuple[bytes, ...]]


_UNHELD = b"\xff"  # no wire name starts with it (a label is at most 63 octets)


def unheld(key: bytes) -> bytes:
    """What an answer that depends on no zone holding the name `key` (lower-cased wire)
    is filed under; invalidated, it stands for every name at or below `key`."""
    return _UNHELD + key


class NegativeTemplate(NamedTuple):
    """core.py's NXDOMAIN answer below one parent name; its hot path unpacks the fields in
    this order."""

    head: bytes  # the response header after its ID: flags and counts
    longest: int  # the longest first label that keeps the name within 255 octets
    rest: int  # octets of the question after the first label: the parent, type, class
    lengths: int  # bit n set: some name right below the parent has a first label of n
    nodes: dict  # the zone's names, to prove the query's name does not exist
    zones: tuple  # the shards of every zone (zonemap.ShardedMap), nor is it a zone ...
    names: frozenset  # ... nor an extra name of the view (R8)
    tails: dict  # the zone's negative SOA RR, by where the question ends
    soa: object  # the zone's negative SOA RRset
    opt: bytes  # our OPT RR, or b""
    limit: int  # the UDP size the answer must fit
    apex: str  # the zone's name, for the metrics
    ends: dict  # the SOA RR and OPT after a question ending at each offset (filled lazily)
    depends: tuple[bytes, ...]  # what it is filed under (module doc): its zone's apex


class _Shelf:
    """Entries of several dicts under one budget (first in, first out), each filed under
    the names in its last field; the unheld names filed are also kept as a tree, by
    parent name, to find those at or below a name.

    Below the two dicts by name, the filing holds only bytes (an entry is the number of
    its dict, 4 octets, then its key; a set of names is a dict of them to None): the
    cyclic collector stops tracking such dicts, and so never walks them (gcpause.py);
    holding the caches' dicts, and sets, filing 20,000 answers added ~20,000 objects to
    every full collection."""

    __slots__ = ("limit", "count", "filed", "tree", "tables", "_numbers")

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self.filed: dict[bytes, dict[bytes, None]] = {}  # name → the entries filed under it
        # name → the names right below it that are unheld names filed, or above one
        self.tree: dict[bytes, dict[bytes, None]] = {}
        self.tables: list[dict[bytes, tuple]] = []  # the dicts holding entries, by number
        self._numbers: dict[int, int] = {}  # id(dict) → its number

    def _entry(self, table: dict[bytes, tuple], key: bytes) -> bytes:
        number = self._numbers.get(id(table))
        if number is None:  # (the list holds the dict: its id is not reused)
            number = self._numbers[id(table)] = len(self.tables)
            self.tables.append(table)
        return number.to_bytes(4, "big") + key

    def put(self, table: dict[bytes, tuple], key: bytes, value: tuple) -> None:
        if key in table:
            return
        if self.count >= self.limit:
            if not table:
                return  # the budget is held by other dicts: leave theirs alone
            self._remove(table, next(iter(table)))
        table[key] = value
        self.count += 1
        entry = self._entry(table, key)
        filed = self.filed
        for name in value[-1]:
            held = filed.get(name)
            if held is None:
                held = filed[name] = {}
                if name[:1] == _UNHELD:
                    self._link(name[1:])
            held[entry] = None

    def _remove(self, table: dict[bytes, tuple], key: bytes) -> None:
        value = table.pop(key)
        self.count -= 1
        entry = self._entry(table, key)
        for name in value[-1]:
            held = self.filed.get(name)
            if held is not None:
                held.pop(entry, None)
                if not held:
                    del self.filed[name]
                    if name[:1] == _UNHELD:
                        self._unlink(name[1:])

    def _link(self, name: bytes) -> None:
        """Put `name` in the tree, and its ancestors up to one already there."""
        while name != b"\0":
            parent = name[name[0] + 1 :]
            below = self.tree.setdefault(parent, {})
            if name in below:
                return
            below[name] = None
            name = parent

    def _unlink(self, name: bytes) -> None:
        """Take `name` out of the tree when nothing is filed under it nor below it, and
        then its ancestors likewise."""
        while name != b"\0" and name not in self.tree and _UNHELD + name not in self.filed:
            parent = name[name[0] + 1 :]
            below = self.tree[parent]
            below.pop(name, None)
            if not below:
                del self.tree[parent]
            name = parent

    def _at_or_below(self, name: bytes) -> list[bytes]:
        found, todo = [], [name]
        while todo:
            name = todo.pop()
            found.append(_UNHELD + name)
            todo.extend(self.tree.get(name, ()))
        return found

    def drop(self, names: Iterable[bytes]) -> None:
        tables = self.tables
        for name in names:
            for filing in self._at_or_below(name[1:]) if name[:1] == _UNHELD else (name,):
                for entry in list(self.filed.get(filing, ())):
                    self._remove(tables[int.from_bytes(entry[:4], "big")], entry[4:])

    def flush(self) -> None:
        for table in self.tables:
            table.clear()
        self.tables.clear()
        self._numbers.clear()
        self.filed.clear()
        self.tree.clear()
        self.count = 0


class ResponseCache:
    """The shared entry budget and doorkeeper of every per-view, per-transport cache."""

    __slots__ = ("answers", "negatives", "seen", "seen_limit", "store", "store_template")

    def __init__(self, limit: int, seen_limit: int = 8192, template_limit: int = 4096):
        self.answers = _Shelf(limit)
        self.negatives = _Shelf(min(limit, template_limit))  # no cache: no templates either
        self.seen: set[bytes] = set()  # keys seen once, not (yet) admitted
        self.seen_limit = seen_limit
        # store(cache, key, entry), store_template(templates, key, template): keep it within
        # its budget (first in, first out), filed; bound here: one call on the slow path
        self.store = self.answers.put
        self.store_template = self.negatives.put

    @property
    def limit(self) -> int:
        return self.answers.limit

    @property
    def size(self) -> int:
        return self.answers.count

    @property
    def template_limit(self) -> int:
        return self.negatives.limit

    @property
    def templates(self) -> int:
        return self.negatives.count

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

    def invalidate(self, names: Iterable[bytes]) -> None:
        """Drop every entry and template filed under any of `names` (module doc)."""
        names = tuple(names)
        self.answers.drop(names)
        self.negatives.drop(names)

    def flush(self) -> None:
        """Drop every entry, template and doorkeeper key."""
        self.answers.flush()
        self.negatives.flush()
        self.seen.clear()
