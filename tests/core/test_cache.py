"""The response cache changes no answer: for random query mixes (0x20 case, EDNS shapes,
transports, addresses with and without a view) the cached path gives byte for byte what
the uncached path gives (and a UDP batch's path the same after the ID); random names are
never admitted, other names on their second sighting, and the budget holds."""

import dns.message
import dns.name
from acnsd.dns.cache import ResponseCache
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Transport, answer, answer_after_id
from acnsd.dns.plan import ServePlan, View
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import make_query, zone

ZONES = (
    zone(
        "example.com.",
        """
www A 192.0.2.10
www AAAA 2001:db8::10
alias CNAME www
*.wild TXT "wild"
deleg NS ns.deleg
ns.deleg A 192.0.2.53
a.b.c A 192.0.2.9
@ MX 10 mail
mail A 192.0.2.25
"""
        + "".join(f'big TXT "{c * 250}"\n' for c in "abcd"),
    ),
    zone("sub.example.com.", "www A 192.0.2.20"),
)
PLAN = ServePlan(
    zones=ZONES,
    views=(View("127.53.1.2", frozenset({dns.name.from_text("sub.example.com.")})),),
)
NAMES = ["www", "alias", "x.wild", "y.z.wild", "deleg", "x.deleg", "b.c", "a.b.c", "nx", "",
         "mail", "big", "www.sub", "sub"]  # fmt: skip
QTYPES = ["A", "AAAA", "TXT", "MX", "NS", "SOA", "ANY", "DS", "CNAME"]

WARM = compile_plan(PLAN)


def random_case(data, name: str) -> str:
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if f else c for c, f in zip(name, flips, strict=True))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_cached_path_equals_uncached_path(data):
    cold = compile_plan(PLAN, cache_entries=0)  # never caches: every query takes the slow path
    for _ in range(data.draw(st.integers(1, 6))):
        label = data.draw(st.sampled_from(NAMES))
        qname = random_case(data, f"{label}.example.com." if label else "example.com.")
        q = make_query(
            qname,
            data.draw(st.sampled_from(QTYPES)),
            edns=data.draw(st.sampled_from([None, 0])),
            payload=data.draw(st.sampled_from([512, 1232, 4096])),
            do=data.draw(st.booleans()),
            rd=data.draw(st.booleans()),
        )
        q.id = data.draw(st.integers(0, 65535))
        wire = q.to_wire()
        transport = data.draw(st.sampled_from(list(Transport)))
        local = data.draw(st.sampled_from([None, "127.53.1.2"]))
        expected = answer(cold, wire, transport, local)
        assert answer(WARM, wire, transport, local) == expected
        assert answer(WARM, wire, transport, local) == expected  # now surely from the cache
        assert answer_after_id(WARM, [wire[2:]], transport, local) == [expected[2:]]
        assert dns.message.from_wire(expected).question[0].name.to_text() == qname


def test_random_names_are_not_admitted():
    t = compile_plan(PLAN)
    hot = make_query("www.example.com.", "A").to_wire()
    answer(t, hot, Transport.UDP)
    assert t.cache.size == 1
    for i in range(300):
        for name in (f"r{i}.example.com.", f"r{i}.wild.example.com.", f"r{i}.deleg.example.com."):
            answer(t, make_query(name, "A").to_wire(), Transport.UDP)
    assert t.cache.size == 1
    assert hot[2:] in t.default.udp_cache


def test_other_answers_are_admitted_on_the_second_sighting():
    t = compile_plan(PLAN)
    # (NXDOMAIN below an existing parent is answered from a template: test_negative.py)
    for name in ("x.deleg.example.com.", "nx.nx.example.com.", "y.wild.example.com.", "nx.org."):
        wire = make_query(name, "A").to_wire()
        answer(t, wire, Transport.UDP)
        assert wire[2:] not in t.default.udp_cache
        first = answer(t, wire, Transport.UDP)
        assert wire[2:] in t.default.udp_cache
        assert answer(t, wire, Transport.UDP) == first
    assert t.cache.size == 4


def test_doorkeeper_is_bounded():
    cache = ResponseCache(limit=10, seen_limit=16)
    for i in range(100):
        assert not cache.seen_before(b"%d" % i)
        assert len(cache.seen) <= 16
    assert cache.seen_before(b"99")
    assert not cache.seen_before(b"99")  # forgotten once admitted


def test_queries_with_options_are_not_admitted():
    t = compile_plan(PLAN)
    answer(t, make_query("www.example.com.", "A", nsid=True).to_wire(), Transport.UDP)
    assert t.cache.size == 0


def test_budget_is_shared_and_bounded():
    t = compile_plan(PLAN, cache_entries=5)
    for qtype in QTYPES:
        for transport in Transport:
            answer(t, make_query("www.example.com.", qtype).to_wire(), transport)
            answer(t, make_query("www.example.com.", qtype).to_wire(), transport, "127.53.1.2")
    sizes = [len(t.default.udp_cache), len(t.default.tcp_cache)]
    view = t.views["127.53.1.2"]
    sizes += [len(view.udp_cache), len(view.tcp_cache)]
    assert sum(sizes) == t.cache.size == 5
