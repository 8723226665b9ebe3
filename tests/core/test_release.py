"""Freeing replaced tables piecewise (release.py): everything is freed, nothing early."""

from __future__ import annotations

import gc
import threading
import weakref

from acnsd.daemon.release import dismantle, dismantle_later
from acnsd.dns.compiler import compile_plan

from .zonetext import make_query, zone

ZONE = """
@ 3600 IN A 192.0.2.1
www 3600 IN A 192.0.2.2
sub 3600 IN NS ns.sub
ns.sub 3600 IN A 192.0.2.53
"""


def _tables():
    from acnsd.dns.core import Transport, answer
    from acnsd.dns.plan import ServePlan

    plan = ServePlan(zones=(zone("example.com", ZONE),))
    tables = compile_plan(plan)
    assert answer(tables, make_query("www.example.com", "A").to_wire(), Transport.UDP)  # cached
    return tables, plan


def _refs(tables, plan):
    zone_ref = weakref.ref(next(iter(tables.zones.values())).expanded)  # compiled: asked
    plan_ref = weakref.ref(plan.zones[0])
    return zone_ref, plan_ref


def test_dismantle_frees_tables_and_plan_without_the_cycle_collector():
    gc.disable()
    try:
        tables, plan = _tables()
        zone_ref, plan_ref = _refs(tables, plan)
        view, zones = tables.default, tables.zones
        dismantle(tables, plan, chunk=1)
        del tables, plan
        assert zone_ref() is None and plan_ref() is None
        assert not any(zones.shards) and not view.udp_cache
    finally:
        gc.enable()


class _Model:
    """Stands for the config model: anything that must be freed with the plan."""


def test_dismantle_later_frees_in_a_thread():
    tables, plan = _tables()
    model = _Model()
    zone_ref, plan_ref, model_ref = *_refs(tables, plan), weakref.ref(model)
    dismantle_later(tables, plan, model)
    del tables, plan, model
    for thread in threading.enumerate():
        if thread.name == "acnsd-dismantle":
            thread.join(5)
    assert zone_ref() is None and plan_ref() is None and model_ref() is None
