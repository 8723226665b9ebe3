"""Freeing replaced tables without stopping the event loop.

The rule this module owns: after a reload swaps in new tables, the old tables and the
plan they were compiled from are freed from a background thread, a few thousand objects
at a time. Dropping the last reference at once would free millions of objects in one
cascade of deallocations that holds the GIL throughout, and no query would be answered
until it ended.
"""

from __future__ import annotations

import threading
import time

from ..dns.compiler import Tables
from ..dns.plan import ServePlan

__all__ = ["dismantle", "dismantle_later"]

# A real pause between pieces, not sleep(0): a thread that releases the GIL for a zero
# sleep takes it straight back before the waiting event loop thread wakes up.
PAUSE = 0.0005


def dismantle_later(tables: Tables, plan: ServePlan, model: object = None) -> None:
    """Free `tables`, `plan` and the model they came from in a daemon thread (nothing may
    answer from them now).

    The thread is handed a list it empties, not the objects as arguments: a Thread keeps
    its arguments until its target returns, and they would then be freed in one cascade.
    """
    parts: list[object] = [tables, plan, model]
    del tables, plan, model
    threading.Thread(target=_dismantle_parts, args=(parts,), name="acnsd-dismantle",
                     daemon=True).start()


def _dismantle_parts(parts: list) -> None:
    model = parts.pop()
    plan = parts.pop()
    tables = parts.pop()
    dismantle(tables, plan)
    del model  # last: freeing the model of 10,000 zones is one cascade of ~10 ms


def dismantle(tables: Tables, plan: ServePlan, chunk: int = 2000) -> None:
    """Free tables and the plan they came from, a few thousand objects at a time, with a
    yield of the GIL between pieces (see the module doc). Only for tables that share
    nothing with the tables now served (those compiled whole)."""
    views = list({id(v): v for v in (tables.default, *tables.views.values())}.values())
    shards = list(tables.zones.shards)
    del tables
    zones = [zone for shard in shards for zone in shard.values()]
    plans = list(plan.zones)
    del plan
    while views:
        view = views.pop()
        for mapping in (view.udp_cache, view.tcp_cache, view.negative):
            _drain(mapping, chunk)
    _drain_all(shards, chunk)
    while zones:
        zone = zones.pop().expanded
        if zone is not None:
            _drain(zone.nodes, chunk)
    while plans:
        plans.pop()
        if len(plans) % 64 == 0:
            time.sleep(PAUSE)


def _drain(mapping: dict, chunk: int) -> None:
    while mapping:
        for _ in range(min(chunk, len(mapping))):
            mapping.popitem()
        time.sleep(PAUSE)  # let the event loop thread take the GIL


def _drain_all(mappings: list[dict], chunk: int) -> None:
    """_drain for many small mappings: a pause every `chunk` items, not every mapping."""
    freed = 0
    while mappings:
        mapping = mappings.pop()
        freed += len(mapping)
        mapping.clear()
        if freed >= chunk:
            freed = 0
            time.sleep(PAUSE)
