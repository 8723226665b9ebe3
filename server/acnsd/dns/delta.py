"""Changing the tables zone by zone: a Delta, applied copy-on-write.

The rule this module owns: `apply_delta(tables, delta)` returns the tables that a cold
compile of the changed plan returns (compiler.compile_plan), answer for answer, and
shares with the tables it was given everything the delta does not touch, the caches
included; with them, the names whose cached answers may have changed, for
`ResponseCache.invalidate` once the new tables are swapped in:

- every zone added, removed or replaced;
- where a zone is added or removed or the addresses that serve it change, for each
  extra name (R8) added to or removed from a view, and for each apex that enters or
  leaves `Tables.unavailable`: every zone at or above that name
  (its answers for the names below, its referrals, its NXDOMAIN templates) and
  `cache.unheld(name)` (answers that found no zone holding a name at or below it).

Nothing else: another zone's answer depends on a changed zone only through a CNAME chain
or a target looked up elsewhere, and the cache files it under the zone reached. A delta
that may change any answer (other options, views added or removed, `flush_caches`) gets
empty caches instead.

A zone changed is checked whole (compiler.lazy_zone) and compiled whole from its plan on
the first query that reaches it (compiler.Expanded: about 1.5 µs per record); patching
the nodes of a large zone in place is left for later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import chain

from ..errors import ConfigError, Problem
from .cache import ResponseCache, unheld
from .compiler import (
    CATALOG_CACHE,
    LazyZone,
    Tables,
    ViewTables,
    compile_plan,
    lazy_zone,
    option_tables,
    views_of,
)
from .plan import ServePlan, ServerOptions, ZonePlan
from .zonemap import ShardedMap

__all__ = ["Delta", "ZoneDelta", "apply_delta"]


@dataclass(frozen=True)
class ZoneDelta:
    """One zone after a change."""

    key: bytes  # the zone's lower-cased wire apex
    plan: ZonePlan | None  # every RRset it serves (SOA and NS included); None: removed
    # the view addresses that serve it; None: as before (a new zone: none)
    addresses: frozenset[str] | None = None
    serial: int = 0  # its SOA serial after the change (for logs and metrics)


@dataclass(frozen=True)
class Delta:
    """What one accepted change does to the served tables."""

    generation: int  # the control plane's counter, +1 per accepted change
    zones: tuple[ZoneDelta, ...] = ()
    # the extra names (R8, lower-cased wire) of each view listed; views not listed keep theirs
    view_names: Mapping[str, frozenset[bytes]] | None = None
    views: tuple[str, ...] | None = None  # every view address, when the list changed
    options: ServerOptions | None = None  # when the server's options changed
    flush_caches: bool = False  # start with empty caches
    final: bool = True  # False: a part of a streamed full load; swap on the final part
    catalogs: tuple[ZoneDelta, ...] = ()  # the catalog zones changed (Tables.catalogs)
    # every apex of Tables.unavailable (a secondary's zones with nothing to serve), when
    # they changed; None: as before
    unavailable: frozenset[bytes] | None = None


def apply_delta(tables: Tables, delta: Delta) -> tuple[Tables, set[bytes]]:
    """The tables after `delta`, and the names to invalidate in their cache (module doc).
    Raises ConfigError for a zone that cannot be served (nothing is changed then)."""
    changed = _checked(tables.zones, delta.zones)
    zones = tables.zones.with_items(
        {key: new for key, (_, new) in changed.items() if new is not None},
        [key for key, (_, new) in changed.items() if new is None],
    )
    came_or_went = [key for key, (old, new) in changed.items() if (old is None) != (new is None)]
    readdressed = [key for key, (old, new) in changed.items()
                   if old is not None and new is not None and old.addresses != new.addresses]
    moved = came_or_went + readdressed
    names = None  # the extra names by view address, when the delta changes the views
    renamed: set[bytes] = set()
    views_changed = False
    if delta.views is not None or delta.view_names is not None:
        before = _names_of(tables.views)
        names = _view_names(before, delta)
        for address in names.keys() | before.keys():
            renamed |= names.get(address, frozenset()) ^ before.get(address, frozenset())
        views_changed = names.keys() != before.keys()
    invalid = set(changed)
    unavailable = tables.unavailable if delta.unavailable is None else delta.unavailable
    for key in chain(moved, renamed, unavailable ^ tables.unavailable):
        invalid |= _around(key, tables.zones, zones)
    options = delta.options or tables.options
    if delta.flush_caches or options != tables.options or views_changed:
        parts = _emptied(tables, options, _names_of(tables.views) if names is None else names)
    else:
        parts = {} if names is None else {"views": _renamed(tables.views, names)}
    records = sum(new.records for _, new in changed.values() if new is not None)
    records -= sum(old.records for old, _ in changed.values() if old is not None)
    new_tables = replace(
        tables,
        options=options,
        zones=zones,
        below=_below(tables.below, changed, came_or_went),
        records=tables.records + records,
        generation=delta.generation,
        catalogs=_catalogs(tables, delta, options),
        unavailable=unavailable,
        **parts,
    )
    return new_tables, invalid


def _catalogs(tables: Tables, delta: Delta, options: ServerOptions) -> Tables | None:
    """The catalogs' tables after `delta`: those it changes applied, with empty caches
    (catalogs are rarely asked; nothing else is invalidated)."""
    if not delta.catalogs and (delta.options is None or tables.catalogs is None):
        return tables.catalogs
    base = tables.catalogs or compile_plan(ServePlan((), options=options), CATALOG_CACHE)
    sub = Delta(delta.generation, delta.catalogs, options=options, flush_caches=True)
    return apply_delta(base, sub)[0]


def _emptied(
    tables: Tables, options: ServerOptions, names: Mapping[str, frozenset[bytes]]
) -> dict[str, object]:
    """The parts of tables with empty caches (for `options` and views with `names`)."""
    chaos, opt_records = option_tables(options)
    cache = tables.cache
    return {
        "default": ViewTables(None, frozenset()),
        "views": views_of(names),
        "cache": ResponseCache(cache.limit, cache.seen_limit, cache.template_limit),
        "chaos": chaos,
        "opt_records": opt_records,
    }


def _checked(
    zones: ShardedMap[bytes, LazyZone], deltas: Iterable[ZoneDelta]
) -> dict[bytes, tuple[LazyZone | None, LazyZone | None]]:
    """(before, after) of each zone a delta names, checked (lazy_zone); a zone named twice
    takes the later. Raises ConfigError naming every zone that cannot be served."""
    changed: dict[bytes, tuple[LazyZone | None, LazyZone | None]] = {}
    problems: list[Problem] = []
    for delta in deltas:
        old = zones.get(delta.key)
        current = changed[delta.key][1] if delta.key in changed else old
        new = None
        if delta.plan is not None:
            addresses = delta.addresses
            if addresses is None:
                addresses = frozenset() if current is None else current.addresses
            try:
                new = lazy_zone(delta.plan, addresses)
            except ConfigError as error:
                problems.extend(error.problems)
                continue
            if new.key != delta.key:
                raise ValueError(f"the delta for {delta.key!r} holds the zone {new.name}")
        if old is not None or new is not None:
            changed[delta.key] = (old, new)
        else:
            changed.pop(delta.key, None)  # added and removed again: nothing changes
    if problems:
        raise ConfigError(problems)
    return changed


def _names_of(views: Mapping[str, ViewTables]) -> dict[str, frozenset[bytes]]:
    return {view.address: view.names for view in views.values()}  # type: ignore[misc]


def _view_names(
    before: Mapping[str, frozenset[bytes]], delta: Delta
) -> dict[str, frozenset[bytes]]:
    """The extra names of every view after `delta`, by address."""
    addresses = before.keys() if delta.views is None else delta.views
    given = delta.view_names or {}
    unknown = set(given) - set(addresses)
    if unknown:
        raise ValueError(f"view names for addresses that are no view: {sorted(unknown)}")
    return {a: given.get(a, before.get(a, frozenset())) for a in addresses}


def _renamed(
    views: Mapping[str, ViewTables], names: Mapping[str, frozenset[bytes]]
) -> dict[str, ViewTables]:
    """The views (every spelling of each address) with their new extra names, each
    keeping its caches."""
    after: dict[int, ViewTables] = {}
    for view in views.values():
        if id(view) not in after:
            held = names[view.address]  # type: ignore[index]
            after[id(view)] = view if held == view.names else replace(view, names=held)
    return {spelling: after[id(view)] for spelling, view in views.items()}


def _around(key: bytes, *maps: ShardedMap[bytes, LazyZone]) -> set[bytes]:
    """Every zone at or above the name `key` in any of `maps`, and unheld(key)."""
    found = {unheld(key)}
    o = 0
    while True:
        name = key[o:]
        if any(name in zones for zones in maps):
            found.add(name)
        if not key[o]:
            return found
        o += key[o] + 1


def _below(
    below: ShardedMap[bytes, dict[int, int]],
    changed: Mapping[bytes, tuple[LazyZone | None, LazyZone | None]],
    came_or_went: Iterable[bytes],
) -> ShardedMap[bytes, dict[int, int]]:
    """`below` (compiler.lengths_below) after the zones `came_or_went` came or went."""
    counts: dict[bytes, dict[int, int]] = {}
    for key in came_or_went:
        if key == b"\0":
            continue
        parent = key[key[0] + 1 :]
        held = counts.get(parent)
        if held is None:
            held = counts[parent] = dict(below.get(parent, {}))
        held[key[0]] = held.get(key[0], 0) + (1 if changed[key][1] is not None else -1)
        if not held[key[0]]:
            del held[key[0]]
    return below.with_items(
        {parent: held for parent, held in counts.items() if held},
        [parent for parent, held in counts.items() if not held],
    )
