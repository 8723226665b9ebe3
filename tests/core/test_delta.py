"""A delta applied to live tables gives what a cold compile of the changed plan gives.

Random sets of nested zones (delegations to each other with glue, data inside a child
that the parent does not delegate, apex NS, MX, SRV and CNAME pointing into other zones,
R8-like names in views, zones served at some view addresses only) are changed by random
deltas (zones added, removed, replaced, moved between addresses; view names, views and
options changed), one or two in a row. Before each delta every query is asked twice, so
that the caches and NXDOMAIN templates are warm; after it (and the invalidation of what
it returns), every query is asked twice again and must get, byte for byte, the answer of
tables compiled cold from the new plan: every name × type × local address × transport.
The same runs for named scenarios, one per way an answer depends on another zone, both
ways (each would serve a stale cached answer if the cache filed it under its first zone
only). What a delta does not touch is shared, caches included; a delta that cannot be
applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import dns.message
import dns.name
import pytest
from acnsd.dns.compiler import Tables, compile_plan
from acnsd.dns.core import Transport, answer
from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
from acnsd.dns.plan import ServePlan, ServerOptions, View, zone_plan
from acnsd.errors import ConfigError
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import make_query, zone

ORIGINS = ["test.", "a.test.", "b.a.test.", "c.b.a.test.", "x.test.", "y.x.test.", "other.org."]
SNIPPETS = [
    "www A 192.0.2.1",
    "www AAAA 2001:db8::1",
    "ns1 A 192.0.2.53",
    "ns1 AAAA 2001:db8::53",
    "mail A 192.0.2.25",
    "@ MX 10 mail",
    "@ MX 20 mail.{other}",
    "@ NS ns1.{other}",
    "_sip._tcp SRV 0 0 5060 ns1.{other}",
    "alias CNAME www.{other}",
    '*.wild TXT "w"',
    "www.b A 192.0.2.77",  # inside b.<origin>, which this zone may not delegate
    "delegations",  # NS for every zone of ORIGINS right below this one ...
    "glue",  # ... and an A for each of their name servers
    "dn DNAME {other}",  # names below it substituted into another zone ...
    "www.dn A 192.0.2.88",  # ... and data it occludes
]
VIEWS = ["127.53.1.1", "127.53.1.2"]
THIRD = "fd00:53::3"  # a view some deltas add and others remove
NAMES = ["ns1.a.test.", "ns1.x.test.", "ns1.other.org.", "ns1.b.a.test.", "www.y.x.test."]
LOCALS = [None, *VIEWS, THIRD, "fd00:53:0:0:0:0:0:3"]
QUERY_NAMES = [
    f"{label}{origin}"
    for origin in ORIGINS
    for label in ("", "www.", "ns1.", "mail.", "alias.", "_sip._tcp.", "q.wild.", "nx.", "www.b.",
                  "www.dn.")
]
QTYPES = ["A", "AAAA", "NS", "MX", "SRV", "TXT", "DS", "SOA", "CNAME", "ANY"]
QUERIES = [make_query(n, t).to_wire() for n in QUERY_NAMES for t in QTYPES]


@dataclass(frozen=True)
class Spec:
    """One zone of a world: its records (indexes into SNIPPETS) and where it is served."""

    snippets: frozenset[int]
    other: str  # the zone the {other} targets point into
    addresses: frozenset[str]


@dataclass(frozen=True)
class World:
    zones: dict[str, Spec]
    views: dict[str, frozenset[str]]  # view address → its extra names
    edns_udp_size: int = 1232


def text(origin: str, spec: Spec) -> str:
    lines = []
    below = [o for o in ORIGINS if o != origin and o.endswith("." + origin)
             and o[: -len(origin)].count(".") == 1]  # fmt: skip
    for index in sorted(spec.snippets):
        snippet = SNIPPETS[index]
        if snippet == "delegations":
            lines += [f"{child} NS ns1.{child}" for child in below]
        elif snippet == "glue":
            lines += [f"ns1.{child} A 192.0.2.99" for child in below]
        else:
            lines.append(snippet.format(other=spec.other))
    return "\n".join(lines) + "\n"


def plan_of(world: World) -> ServePlan:
    views = tuple(
        View(
            address,
            frozenset(dns.name.from_text(o) for o, s in world.zones.items()
                      if address in s.addresses),  # fmt: skip
            frozenset(map(dns.name.from_text, names)),
        )
        for address, names in world.views.items()
    )
    zones = tuple(zone(origin, text(origin, spec)) for origin, spec in world.zones.items())
    return ServePlan(zones=zones, views=views, options=ServerOptions(world.edns_udp_size))


def key(origin: str) -> bytes:
    return dns.name.from_text(origin).to_wire().lower()


def specs(addresses: list[str]) -> st.SearchStrategy[Spec]:
    return st.builds(
        Spec,
        st.frozensets(st.integers(0, len(SNIPPETS) - 1)),
        st.sampled_from(ORIGINS),
        st.frozensets(st.sampled_from(addresses)),
    )


@st.composite
def worlds(draw) -> World:
    views = {a: draw(st.frozensets(st.sampled_from(NAMES))) for a in VIEWS}
    if draw(st.booleans()):
        views[THIRD] = draw(st.frozensets(st.sampled_from(NAMES)))
    origins = draw(st.lists(st.sampled_from(ORIGINS), unique=True))
    return World({o: draw(specs(list(views))) for o in origins}, views)


@st.composite
def changes(draw, world: World) -> tuple[World, Delta]:
    """A changed world, and the delta from `world` to it."""
    views = dict(world.views)
    for address in list(views):
        if draw(st.integers(0, 3)) == 0:
            views[address] = draw(st.frozensets(st.sampled_from(NAMES)))
    if draw(st.integers(0, 4)) == 0:  # the third view comes or goes
        if THIRD in views:
            del views[THIRD]
        else:
            views[THIRD] = draw(st.frozensets(st.sampled_from(NAMES)))
    zones = {o: replace(s, addresses=s.addresses & views.keys()) for o, s in world.zones.items()}
    for origin in ORIGINS:
        action = draw(st.sampled_from(["keep"] * 4 + ["drop", "put", "replace", "readdress"]))
        spec = zones.get(origin)
        if action == "drop":
            zones.pop(origin, None)
        elif action == "put" or spec is None and action != "keep":
            zones[origin] = draw(specs(list(views)))
        elif action == "replace":
            zones[origin] = replace(draw(specs(list(views))), addresses=spec.addresses)
        elif action == "readdress":
            addresses = draw(st.frozensets(st.sampled_from(list(views))))
            zones[origin] = replace(spec, addresses=addresses)
    size = draw(st.sampled_from([world.edns_udp_size] * 3 + [1400]))
    new = World(zones, views, size)
    delta = delta_of(world, new, lambda n: draw(st.integers(0, n - 1)) == 0)
    return new, replace(delta, zones=tuple(draw(st.permutations(delta.zones))))


def delta_of(old: World, new: World, maybe: Callable[[int], bool] = lambda n: False) -> Delta:
    """The delta from `old` to `new`; `maybe(n)`, true one time in n, also sends what did
    not change (zones, absent zones removed, view names, views, options) and flushes."""
    zones = []
    for origin in ORIGINS:
        before, after = old.zones.get(origin), new.zones.get(origin)
        if after is None:
            if before is not None or maybe(6):
                zones.append(ZoneDelta(key(origin), None))
        elif after != before or maybe(6):
            unchanged = before is not None and before.addresses == after.addresses
            addresses = None if unchanged and maybe(2) else after.addresses
            zones.append(ZoneDelta(key(origin), zone(origin, text(origin, after)), addresses))
    names = {a: frozenset(map(key, v)) for a, v in new.views.items()
             if old.views.get(a) != v or maybe(6)}  # fmt: skip
    resized = new.edns_udp_size != old.edns_udp_size
    return Delta(
        generation=1,
        zones=tuple(zones),
        view_names=names or None,
        views=tuple(new.views) if new.views.keys() != old.views.keys() or maybe(2) else None,
        options=ServerOptions(new.edns_udp_size) if resized or maybe(2) else None,
        flush_caches=maybe(10),
    )


def question(query: bytes) -> str:
    return dns.message.from_wire(query).question[0].to_text()


def ask_all(tables: Tables) -> None:
    for local in LOCALS:
        for transport in Transport:
            for query in QUERIES:
                answer(tables, query, transport, local)


def same_structure(got: Tables, cold: Tables) -> None:
    assert set(got.zones) == set(cold.zones)
    assert {k: z.addresses for k, z in got.zones.items()} == {
        k: z.addresses for k, z in cold.zones.items()
    }
    assert dict(got.below.items()) == dict(cold.below.items())
    assert got.records == cold.records
    assert {s: v.address for s, v in got.views.items()} == {
        s: v.address for s, v in cold.views.items()
    }
    assert {v.address: v.names for v in got.views.values()} == {
        v.address: v.names for v in cold.views.values()
    }
    assert got.options == cold.options


def changed_tables(tables: Tables, new: World, delta: Delta) -> Tables:
    """Ask every query twice, apply `delta`, invalidate, and check that every query, asked
    twice, gets the answer of tables compiled cold from `new`."""
    ask_all(tables)
    ask_all(tables)  # admitted on the second sighting
    cold = compile_plan(plan_of(new), cache_entries=0)
    tables, invalid = apply_delta(tables, delta)
    tables.cache.invalidate(invalid)
    same_structure(tables, cold)
    for _ in range(2):
        for local in LOCALS:
            for transport in Transport:
                for query in QUERIES:
                    expected = answer(cold, query, transport, local)
                    got = answer(tables, query, transport, local)
                    assert got == expected, (question(query), transport, local)
    return tables


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_delta_gives_what_a_cold_compile_gives(data):
    world = data.draw(worlds())
    try:
        tables = compile_plan(plan_of(world))
    except ConfigError:  # e.g. a CNAME beside other data at "alias": no such world
        return
    for _ in range(data.draw(st.integers(1, 2))):
        world, delta = data.draw(changes(world))
        try:
            compile_plan(plan_of(world))
        except ConfigError:
            with pytest.raises(ConfigError):
                apply_delta(tables, delta)
            return
        tables = changed_tables(tables, world, delta)


(WWW, WWW6, NS1, NS16, MAIL, MX_IN, MX_OUT, NS_OUT, SRV_OUT, ALIAS, WILD, OVERLAP, DELEG, GLUE,
 DNAME, OCCLUDED) = range(len(SNIPPETS))  # fmt: skip
V1, V2 = VIEWS


def world(zones: dict[str, Spec], views: dict[str, set[str]] | None = None, size=1232) -> World:
    """A World of these zones (at those of their addresses that are views) and views."""
    views = {a: set() for a in VIEWS} if views is None else views
    zones = {o: replace(s, addresses=s.addresses & views.keys()) for o, s in zones.items()}
    return World(zones, {a: frozenset(v) for a, v in views.items()}, size)


def spec(*snippets: int, other: str = "x.test.", at: tuple[str, ...] = ()) -> Spec:
    return Spec(frozenset(snippets), other, frozenset(at))


A_ALIAS = {"a.test.": spec(ALIAS, MX_OUT, SRV_OUT, NS_OUT)}
SCENARIOS = {
    "a CNAME chain and targets into a zone that changes": (
        {**A_ALIAS, "x.test.": spec(WWW, MAIL, NS1)},
        {**A_ALIAS, "x.test.": spec(WWW6, NS16)},
    ),
    "a CNAME chain and targets that no zone held, into a zone added": (
        A_ALIAS,
        {**A_ALIAS, "x.test.": spec(WWW, MAIL, NS1)},
    ),
    "DS at a child's apex, its parent added": (
        {"b.a.test.": spec(WWW)},
        {"b.a.test.": spec(WWW), "a.test.": spec(DELEG, GLUE)},
    ),
    "a parent's referral, then its child served at the parent's address too": (
        {"a.test.": spec(DELEG, GLUE, at=(V1,)), "b.a.test.": spec(WWW, at=(V2,))},
        {"a.test.": spec(DELEG, GLUE, at=(V1,)), "b.a.test.": spec(WWW, at=(V1, V2))},
    ),
    "NXDOMAIN below a parent, then a zone right below it": (
        {"a.test.": spec(WWW)},
        {"a.test.": spec(WWW), "b.a.test.": spec(WWW)},
    ),
    "the same, three labels down": (
        {"b.a.test.": spec(WWW, DELEG, at=(V1,))},
        {"b.a.test.": spec(WWW, DELEG, at=(V1,)), "c.b.a.test.": spec(WWW, at=(V1, V2))},
    ),
    "REFUSED, then the zone added": ({"x.test.": spec(WWW)}, {"other.org.": spec(WWW)}),
    "a zone of one label added": ({"a.test.": spec(WWW)}, {"a.test.": spec(WWW), "test.": spec()}),
    "a DNAME into a zone that changes": (
        {"a.test.": spec(DNAME, OCCLUDED), "x.test.": spec(WWW)},
        {"a.test.": spec(DNAME, OCCLUDED), "x.test.": spec(WWW6)},
    ),
    "a DNAME added above names that were NXDOMAIN and data": (
        {"a.test.": spec(WWW, OCCLUDED), "x.test.": spec(WWW)},
        {"a.test.": spec(WWW, OCCLUDED, DNAME), "x.test.": spec(WWW)},
    ),
}


@pytest.mark.parametrize("before, after", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_what_a_delta_changes_is_not_served_from_the_cache(before, after):
    for old, new in ((world(before), world(after)), (world(after), world(before))):
        changed_tables(compile_plan(plan_of(old)), new, delta_of(old, new))


def test_view_names_options_and_views_change():
    zones = {"x.test.": spec(NS1, WWW, at=(V2,)), "a.test.": spec(NS_OUT, at=(V1,))}
    old = world(zones, {V1: {"ns1.x.test."}, V2: set()})
    for new in (
        world(zones, {V1: set(), V2: set()}),
        world(zones, {V1: {"ns1.x.test."}, V2: set(), THIRD: {"www.x.test."}}),
        world(zones, {V1: {"ns1.x.test."}}),
        world(zones, {V1: {"ns1.x.test."}, V2: set()}, size=1400),
    ):
        for first, second in ((old, new), (new, old)):
            changed_tables(compile_plan(plan_of(first)), second, delta_of(first, second))


def test_what_a_delta_does_not_touch_is_shared_caches_included():
    old = world({"a.test.": spec(WWW, at=(V1,)), "x.test.": spec(WWW, at=(V2,))})
    tables = compile_plan(plan_of(old))
    ask_all(tables)
    ask_all(tables)
    cached = {v.address: dict(v.udp_cache) for v in (tables.default, *tables.views.values())}
    new = world({"a.test.": spec(WWW, at=(V1,)), "x.test.": spec(WWW6, at=(V2,))})
    changed, invalid = apply_delta(tables, delta_of(old, new))
    assert invalid == {key("x.test.")}
    assert changed.cache is tables.cache and changed.views == tables.views
    assert changed.zones[key("a.test.")] is tables.zones[key("a.test.")]
    changed.cache.invalidate(invalid)
    for view in (changed.default, *changed.views.values()):
        kept = {k: e for k, e in cached[view.address].items() if e[2] != "x.test."}
        assert view.udp_cache == kept and kept
    options = replace(new, edns_udp_size=1400)  # every answer changes: empty caches
    emptied, _ = apply_delta(changed, delta_of(new, options))
    assert emptied.cache is not changed.cache and not emptied.default.udp_cache


def test_a_zone_that_cannot_be_served_changes_nothing():
    tables = compile_plan(plan_of(world({"a.test.": spec(WWW)})))
    good = ZoneDelta(key("x.test."), zone("x.test.", "www A 192.0.2.1"))
    no_soa = zone("b.test.", "www A 192.0.2.1")
    bad = ZoneDelta(key("b.test."), zone_plan(no_soa.origin, no_soa.rrsets[1:]))
    with pytest.raises(ConfigError, match="zone b.test.: the apex needs exactly one SOA"):
        apply_delta(tables, Delta(1, (good, bad)))
    with pytest.raises(ValueError, match="holds the zone x.test."):
        apply_delta(tables, Delta(1, (replace(good, key=key("y.test.")),)))
    with pytest.raises(ValueError, match="no view: \\['127.9.9.9'\\]"):
        apply_delta(tables, Delta(1, view_names={"127.9.9.9": frozenset()}))
    assert set(tables.zones) == {key("a.test.")} and tables.generation == 0
