"""The zones' names by their ids (model/types.zone_id): the API's lookups.

Rule owned here: `ZoneIds.get` gives the name of the zone held whose id is the 16 octets
given, as a dict from ids to names would, without holding an id per zone: the first 8
octets of each zone's id, as an unsigned 64-bit integer, in a sorted array, and the
names in that order (the model's own strings). At 10^5 zones that is ~1.6 MiB, against
~10 MiB for a dict and the ids' octets (issue 16). A lookup bisects the array and checks
the whole id of each name whose first 8 octets match; adding or removing a zone moves
the arrays' tails (~0.1 ms at 10^5 zones: a change adds or removes a few).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable

from ..model.types import zone_id_octets

__all__ = ["ZoneIds"]


def _key(octets: bytes) -> int:
    return int.from_bytes(octets[:8], "big")


class ZoneIds:
    """The names of `names` (zones) by their ids' octets (model/types.zone_id_octets)."""

    def __init__(self, names: Iterable[str]) -> None:
        unique = list(dict.fromkeys(names))
        keys = [_key(zone_id_octets(name)) for name in unique]
        order = sorted(range(len(unique)), key=keys.__getitem__)
        self._keys = array("Q", map(keys.__getitem__, order))
        self._names = list(map(unique.__getitem__, order))

    def __len__(self) -> int:
        return len(self._names)

    def get(self, octets: bytes) -> str | None:
        """The name of the zone whose id is `octets` (16 octets), if one is held."""
        if len(octets) != 16:
            return None
        return next((name for name in self._same(_key(octets)) if zone_id_octets(name) == octets),
                    None)

    def add(self, name: str) -> None:
        """Hold zone `name` (held already: nothing changes)."""
        key = _key(zone_id_octets(name))
        if name not in self._same(key):
            at = bisect_left(self._keys, key)
            self._keys.insert(at, key)
            self._names.insert(at, name)

    def discard(self, name: str) -> None:
        """Hold zone `name` no more (not held: nothing changes)."""
        key = _key(zone_id_octets(name))
        at = bisect_left(self._keys, key)
        while at < len(self._keys) and self._keys[at] == key:
            if self._names[at] == name:
                del self._keys[at]
                del self._names[at]
                return
            at += 1

    def _same(self, key: int) -> list[str]:
        """The names held whose ids start with the 8 octets `key` spells (one, mostly)."""
        at = end = bisect_left(self._keys, key)
        while end < len(self._keys) and self._keys[end] == key:
            end += 1
        return self._names[at:end]
