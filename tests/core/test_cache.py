"""The response cache changes no answer: for random query mixes (0x20 case, EDNS shapes,
transports, addresses with and without a view) the cached path gives byte for byte what
the uncached path gives (and a UDP batch's path the same after the ID); random names are
never admitted, other names on their second sighting, and the budget holds."""

import gc

import dns.message
import dns.name
from acnsd.dns.cache import ResponseCache, unheld
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Outcome, Transport, answer, answer_after_id, respond
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


def _filed(cache: ResponseCache) -> int:
    return sum(len(held) for shelf in (cache.answers, cache.negatives)
               for held in shelf.filed.values())  # fmt: skip


def test_invalidate_drops_the_answers_of_those_zones_only():
    t = compile_plan(PLAN)
    sub = dns.name.from_text("sub.example.com.").to_wire()
    queries = [make_query(n, "A").to_wire() for n in ("www.example.com.", "www.sub.example.com.",
                                                      "nx.sub.example.com.", "nx.example.com.")]
    for _ in range(2):
        for wire in queries:
            for local in (None, "127.53.1.2"):
                answer(t, wire, Transport.UDP, local)
    answers, templates = t.cache.size, t.cache.templates
    assert answers and templates
    in_sub = [k for v in (t.default, t.views["127.53.1.2"]) for k, e in v.udp_cache.items()
              if e[2] == "sub.example.com."]  # fmt: skip
    t.cache.invalidate([sub])
    assert t.cache.size == answers - len(in_sub) and in_sub
    assert not any(e[2] == "sub.example.com." for e in t.default.udp_cache.values())
    assert t.default.udp_cache  # example.com.'s answers stay
    assert t.cache.templates == templates - 2  # below sub.example.com., at both addresses
    assert all(n.apex == "example.com." for n in t.default.negative.values())
    assert _filed(t.cache) == t.cache.size + t.cache.templates  # each under one name
    t.cache.flush()
    assert t.cache.size == t.cache.templates == _filed(t.cache) == 0
    assert not t.default.udp_cache and not t.default.negative
    assert not t.views["127.53.1.2"].udp_cache


def test_evicted_entries_are_no_longer_filed():
    t = compile_plan(PLAN, cache_entries=3)
    for qtype in QTYPES:
        for label in ("www", "mail", "a.b.c", "www.sub"):
            answer(t, make_query(f"{label}.example.com.", qtype).to_wire(), Transport.TCP)
    assert t.cache.size == 3 == _filed(t.cache)


def _wire(name: str) -> bytes:
    return dns.name.from_text(name).to_wire()


def test_unheld_names_are_dropped_at_and_below_the_name_given():
    cache, table = ResponseCache(limit=3), {}
    filed = {b"q1": unheld(_wire("www.a.example.")), b"q2": unheld(_wire("example.")),
             b"q3": unheld(_wire("other.")), b"q4": _wire("a.example.")}  # fmt: skip
    for key, name in filed.items():
        cache.store(table, key, (b"", Outcome.REFUSED, None, (name,)))
    assert list(table) == [b"q2", b"q3", b"q4"]  # q1 evicted: the tree forgot www.a.example.
    assert cache.answers.tree == {b"\0": dict.fromkeys([_wire("example."), _wire("other.")])}
    cache.store(table, b"q1", (b"", Outcome.REFUSED, None, (filed[b"q1"],)))  # evicts q2
    cache.invalidate([unheld(_wire("a.example."))])  # a zone made at a.example.
    assert list(table) == [b"q3", b"q4"]  # a.example.'s own answers are not unheld ones
    cache.invalidate([unheld(b"\0")])  # a root zone
    assert list(table) == [b"q4"] and cache.size == 1
    assert not cache.answers.tree and list(cache.answers.filed) == [_wire("a.example.")]
    for i in range(100):  # evictions keep the tree as small as what is filed
        cache.store(table, b"r%d" % i, (b"", Outcome.REFUSED, None, (unheld(_wire(f"r{i}.x.")),)))
    assert len(cache.answers.filed) == 3 and len(cache.answers.tree[_wire("x.")]) == 3


def test_a_cached_answer_is_no_object_the_cyclic_collector_walks():
    """Issue 16: a full collection walked every cached answer (10^5 of them held the GIL
    ~75 ms, a gap in the answers); an entry holds only untracked objects, so the collector
    stops tracking it, and a hit still gives the outcome the full path gave."""
    t = compile_plan(PLAN)
    wire = make_query("www.example.com.", "A").to_wire()
    first = respond(t, wire, Transport.UDP)
    assert first[1] is Outcome.ANSWER and first[2] == "example.com."
    gc.collect()  # untracks the names it depends on (a tuple), and then the entry:
    gc.collect()
    (entry,) = t.default.udp_cache.values()
    assert not gc.is_tracked(entry)
    assert respond(t, wire, Transport.UDP) == first


def test_the_filing_of_cached_answers_is_no_object_the_cyclic_collector_walks():
    """Issue 16: the filing of each answer and template under the names it depends on
    (cache.py) held the dicts of the caches, and sets: objects a full collection walked,
    one per name filed. After a collection only the two dicts by name are tracked (a dict
    holding dicts is), and invalidation still drops what is filed."""
    t = compile_plan(PLAN)
    names = ("www.example.com.", "www.sub.example.com.", "nx.sub.example.com.", "nx.nx.test.")
    for name in names:
        for _ in range(2):  # (NXDOMAIN and REFUSED answers are admitted when seen again)
            for transport in Transport:
                answer(t, make_query(name, "A").to_wire(), transport)
    shelves = (t.cache.answers, t.cache.negatives)
    assert t.cache.answers.tree and t.cache.templates  # an unheld name, an NXDOMAIN template
    gc.collect()
    for shelf in shelves:
        assert not any(map(gc.is_tracked, (*shelf.filed.values(), *shelf.tree.values())))
    size, templates = t.cache.size, t.cache.templates
    t.cache.invalidate([dns.name.from_text("sub.example.com.").to_wire()])
    assert (t.cache.size, t.cache.templates) == (size - 2, templates - 1)  # (UDP and TCP)
