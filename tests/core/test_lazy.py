"""Zones are compiled on the first query that reaches them, and only the latest ones
compiled are kept (compiler.LazyZone, compiler.Expanded): answers are those of zones
compiled at load, whichever zones are compiled when."""

import dataclasses
import pickle

import dns.message
from acnsd.dns.compiler import EAGER_RECORDS, Expanded
from acnsd.dns.core import Transport, answer
from acnsd.xfr.notify import changed_zones
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import make_query, tables, zone

ZONES = (
    zone("a.test.", "www A 192.0.2.1\nalias CNAME www.b.test.\n@ MX 10 mail.c.test."),
    zone("b.test.", "www A 192.0.2.2\nloop CNAME alias.a.test.\nsub NS ns.sub\nns.sub A 192.0.2.9"),
    zone("c.test.", "mail A 192.0.2.3\n*.w TXT \"w\"\nnext CNAME www.a.test."),
)
KEYS = [plan.origin.to_wire() for plan in ZONES]


def _expanded(t) -> list[bool]:
    return [t.zones[key].expanded is not None for key in KEYS]


def _ask(t, name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.message.from_wire(answer(t, make_query(name, rdtype).to_wire(), Transport.UDP))


def test_a_zone_is_compiled_on_the_first_query_that_reaches_it():
    t = tables(*ZONES)
    assert _expanded(t) == [False, False, False] and len(t.expanded) == 0
    assert _ask(t, "www.b.test.").answer[0][0].address == "192.0.2.2"
    assert _expanded(t) == [False, True, False]
    _ask(t, "x.y.sub.b.test.")  # (a referral: the same zone, not compiled again)
    assert len(t.expanded) == 1
    assert t.zone(KEYS[0]) is t.zones[KEYS[0]].expanded is not None


def test_only_the_latest_zones_compiled_are_kept():
    t = dataclasses.replace(tables(*ZONES), expanded=Expanded(2))
    for name in ("www.a.test.", "www.b.test.", "mail.c.test."):
        _ask(t, name)
    assert _expanded(t) == [False, True, True] and len(t.expanded) == 2
    assert _ask(t, "a.test.", "MX").additional[0][0].address == "192.0.2.3"  # a, again
    assert _expanded(t)[0] and len(t.expanded) == 2


def test_a_zone_dropped_stays_whole_for_whoever_holds_it():
    t = dataclasses.replace(tables(*ZONES), expanded=Expanded(1))
    held = t.zone(KEYS[0])
    t.zone(KEYS[1])
    assert t.zones[KEYS[0]].expanded is None
    assert held.nodes[b"\x03www" + KEYS[0]] and held.negative_soa is not None


QUESTIONS = [(name, rdtype)
             for name in ("www.a.test.", "alias.a.test.", "a.test.", "loop.b.test.",
                          "x.sub.b.test.", "nx.b.test.", "q.w.c.test.", "next.c.test.",
                          "mail.c.test.", "c.test.")
             for rdtype in ("A", "MX", "TXT", "NS", "SOA")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(QUESTIONS), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=3))
def test_answers_do_not_depend_on_which_zones_are_compiled(questions, limit):
    """One zone kept compiled (a chain through three zones drops the first on the way)
    answers as every zone compiled."""
    every = tables(*ZONES)
    for key in KEYS:
        every.zone(key)
    few = dataclasses.replace(tables(*ZONES), expanded=Expanded(limit))
    for name, rdtype in questions:
        query = make_query(name, rdtype).to_wire()
        assert answer(few, query, Transport.UDP) == answer(every, query, Transport.UDP)
        assert len(few.expanded) <= limit


def test_notify_compares_serials_without_compiling():
    old = tables(*ZONES)
    new = tables(*ZONES[:2], zone("c.test.", "mail A 192.0.2.4"))
    assert changed_zones(old, new) == []  # (the serials are equal)
    assert _expanded(old) == _expanded(new) == [False, False, False]


LARGE = zone("large.test.", "\n".join(f"h{i} A 192.0.2.1" for i in range(EAGER_RECORDS)))


def test_a_large_zone_is_compiled_when_it_enters_the_tables_and_kept():
    t = dataclasses.replace(tables(LARGE, *ZONES), expanded=Expanded(1))
    large = t.zones[LARGE.origin.to_wire()]
    compiled = large.expanded
    assert compiled is not None and len(t.expanded) == 0
    for name in ("www.a.test.", "www.b.test.", "h7.large.test."):
        _ask(t, name)
    assert large.expanded is compiled and len(t.expanded) == 1


def test_a_snapshot_holds_only_the_large_zones_compiled():
    t = tables(LARGE, *ZONES)
    _ask(t, "www.a.test.")
    restored = pickle.loads(pickle.dumps(t))
    assert _expanded(restored) == [False, False, False] and len(restored.expanded) == 0
    assert restored.zones[LARGE.origin.to_wire()].expanded is not None
    assert _ask(restored, "www.a.test.").answer == _ask(t, "www.a.test.").answer
