"""The compiler decides zone structure once: node roles, merged RRsets, the negative SOA,
and it refuses a plan it cannot serve with a ConfigError that names the zone."""

import gc

import dns.name
import dns.rrset
import pytest
from acnsd.dns.compiler import NO_ADDRESSES, compile_plan, compile_zone
from acnsd.dns.plan import ServePlan, View, zone_plan
from acnsd.dns.wire import encode_rrset
from acnsd.errors import ConfigError

from .zonetext import ask, check, lines, tables, zone

T = tables(
    zone(
        "example.com.",
        """
a.b.c A 192.0.2.9
*.w TXT "w"
d NS ns.d
x.y.d A 192.0.2.1
""",
    )
)


def node(name: str):
    return T.zone(dns.name.from_text("example.com.").to_wire()).nodes.get(
        dns.name.from_text(name).to_wire()
    )


def test_node_roles():
    assert node("b.c.example.com.") == {} and node("c.example.com.") == {}  # ENTs
    assert node("w.example.com.").wildcard is node("*.w.example.com.")
    ns = node("d.example.com.")[2]  # a cut's role is its NS RRset
    assert node("d.example.com.").cut is ns
    assert node("x.y.d.example.com.").cut is ns and node("y.d.example.com.").cut is ns
    assert node("example.com.").cut is None and node("a.b.c.example.com.").cut is None
    assert node("zz.example.com.") is None


def test_child_lengths_are_those_of_the_apex_children_empty_non_terminals_included():
    zone_ = T.zone(dns.name.from_text("example.com.").to_wire())
    apex = zone_.key
    children = [key for key in zone_.nodes if key != apex and key[key[0] + 1 :] == apex]
    names = ("c.example.com.", "w.example.com.", "d.example.com.")  # c, w: empty non-terminals
    assert sorted(children) == sorted(dns.name.from_text(n).to_wire() for n in names)
    assert zone_.child_lengths == 1 << 1  # every child's first label has one octet
    other = tables(zone("example.org.", "www A 192.0.2.1\nmail.x A 192.0.2.2\nlg.a.b A 192.0.2.3"))
    assert other.zone(b"\x07example\x03org\x00").child_lengths == 1 << 3 | 1 << 1


def test_tables_hold_no_reference_cycles():
    # so that reference counting frees old tables after a reload, and gc.freeze() is safe
    plan = ServePlan(
        zones=(zone("example.com.", "d NS ns.d\nns.d A 192.0.2.1\n*.d2 A 192.0.2.2\nd2 NS x."),),
    )
    gc.collect()
    t = compile_plan(plan)
    for name in ("www.example.com.", "a.d.example.com.", "d.example.com.", "q.d2.example.com."):
        ask(t, name, "A")
        ask(t, name, "DS")
    gc.collect()
    del t
    assert gc.collect() == 0


def test_zones_no_view_serves_share_one_empty_address_set():
    # one object, not one 216-byte frozenset per zone (issue 16: memory at 100,000 zones)
    t = tables(zone("a.example.", "www A 192.0.2.1"), zone("b.example.", "www A 192.0.2.2"))
    assert len({id(z.addresses) for z in t.zones.values()}) == 1
    assert compile_zone(zone("c.example.", ""), frozenset()).addresses is NO_ADDRESSES


def test_negative_soa_ttl():
    soa = T.zone(b"\x07example\x03com\x00").negative_soa
    assert soa.fixed[-4:] == (1800).to_bytes(4, "big")  # min(3600, 1800)


def test_rrsets_listed_twice_are_merged():
    z = zone("example.com.", "www A 192.0.2.1")
    extra = encode_rrset(dns.rrset.from_text("www.example.com.", 3600, "IN", "A", "192.0.2.2"))
    t = compile_plan(ServePlan(zones=(zone_plan(z.origin, (*z.rrsets, extra)),)))
    r = ask(t, "www.example.com.", "A")
    assert lines(r.answer) == [
        "www.example.com. 3600 IN A 192.0.2.1",
        "www.example.com. 3600 IN A 192.0.2.2",
    ]


def test_names_are_case_insensitive():
    t = tables(zone("Example.COM.", "WWW A 192.0.2.1"))
    answer = ["www.example.com. 3600 IN A 192.0.2.1"]
    check(ask(t, "www.example.com.", "A"), "NOERROR", True, answer)


def _problems(plan: ServePlan) -> str:
    with pytest.raises(ConfigError) as error:
        compile_plan(plan)
    return str(error.value)


def test_unservable_plans_are_refused():
    z = zone("example.com.", "www A 192.0.2.1")
    no_soa = zone_plan(z.origin, (r for r in z.rrsets if r.rdtype != 6))
    assert "example.com.: the apex needs exactly one SOA" in _problems(ServePlan(zones=(no_soa,)))
    outside = encode_rrset(dns.rrset.from_text("www.example.org.", 3600, "IN", "A", "192.0.2.1"))
    stray = zone_plan(z.origin, (*z.rrsets, outside))
    assert "www.example.org. is outside the zone" in _problems(ServePlan(zones=(stray,)))
    assert "listed twice" in _problems(ServePlan(zones=(z, z)))
    view = View("127.53.1.1", frozenset({dns.name.from_text("example.net.")}))
    assert "example.net." in _problems(ServePlan(zones=(z,), views=(view,)))
