"""Delegations: referrals with AA clear, NS in authority, glue in additional; in-domain
glue is mandatory (TC rather than drop it, RFC 9471), sibling glue optional; DS at the cut
is answered by the parent (RFC 4035 §3.1.4.1); names below a cut are referred."""

import pytest
from acnsd.dns.core import Transport

from .zonetext import ask, check, lines, tables, zone

GLUE = "\n".join(f"ns{i}.many A 192.0.2.{i}\nns{i}.many AAAA 2001:db8::{i}" for i in range(40))
MANY_NS = "\n".join(f"many NS ns{i}.many" for i in range(40))
SIBLINGS = "\n".join(f"opt NS s{i}\ns{i} A 192.0.2.{100 + i}" for i in range(15))
T = tables(
    zone(
        "example.com.",
        f"""
ns1 A 192.0.2.1
deleg NS ns.deleg
deleg NS ns1
deleg NS ns.other.org.
ns.deleg A 192.0.2.53
ns.deleg AAAA 2001:db8::53
deleg DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
nodata NS ns.elsewhere.net.
sub NS ns1.sub
ns1.sub A 192.0.2.54
{MANY_NS}
{GLUE}
opt NS ns.opt
ns.opt A 192.0.2.200
{SIBLINGS}
""",
    ),
    zone("other.org.", "ns A 198.51.100.53"),
    zone(
        "sub.example.com.",
        "@ A 192.0.2.99",
    ),
)

DELEG_NS = [
    "deleg.example.com. 3600 IN NS ns.deleg.example.com.",
    "deleg.example.com. 3600 IN NS ns1.example.com.",
    "deleg.example.com. 3600 IN NS ns.other.org.",
]
DELEG_GLUE = [
    "ns.deleg.example.com. 3600 IN A 192.0.2.53",
    "ns.deleg.example.com. 3600 IN AAAA 2001:db8::53",
    "ns1.example.com. 3600 IN A 192.0.2.1",
]
SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"

CASES = [
    ("deleg.example.com.", "A"),
    ("deleg.example.com.", "NS"),
    ("x.deleg.example.com.", "A"),
    ("ns.deleg.example.com.", "A"),
    ("a.b.c.deleg.example.com.", "TXT"),
    ("deleg.example.com.", "ANY"),
]


@pytest.mark.parametrize("qname,qtype", CASES)
def test_referral(qname, qtype):
    check(ask(T, qname, qtype), "NOERROR", False, [], DELEG_NS, DELEG_GLUE)


def test_referral_without_glue():
    check(
        ask(T, "nodata.example.com.", "A"),
        "NOERROR",
        False,
        [],
        ["nodata.example.com. 3600 IN NS ns.elsewhere.net."],
    )


def test_ds_is_answered_from_the_parent_side():
    r = ask(T, "deleg.example.com.", "DS")
    check(
        r,
        "NOERROR",
        True,
        [
            "deleg.example.com. 3600 IN DS 12345 13 2 "
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        ],
    )
    check(ask(T, "nodata.example.com.", "DS"), "NOERROR", True, [], [SOA])
    # sub.example.com is also served, but its DS lives in example.com
    check(ask(T, "sub.example.com.", "DS"), "NOERROR", True, [], [SOA])
    # everything else at sub.example.com comes from the child zone
    child = ["sub.example.com. 3600 IN A 192.0.2.99"]
    check(ask(T, "sub.example.com.", "A"), "NOERROR", True, child)


def test_mandatory_glue_that_does_not_fit_sets_tc():
    # 40 in-domain NS with A and AAAA glue cannot fit in 512 octets
    r = ask(T, "many.example.com.", "A", edns=None)
    assert r.flags & 0x0200
    assert not r.answer and not r.authority and not r.additional
    r = ask(T, "many.example.com.", "A", payload=4096, edns=0)
    assert r.flags & 0x0200  # our own limit is 1232
    r = ask(T, "many.example.com.", "A", transport=Transport.TCP)
    assert not r.flags & 0x0200
    assert len(lines(r.authority)) == 40 and len(lines(r.additional)) == 80


def test_optional_glue_is_dropped_silently():
    # in-domain glue first and kept; sibling glue (optional) dropped when out of room, no TC
    r = ask(T, "opt.example.com.", "A", edns=None)
    assert not r.flags & 0x0200
    assert len(lines(r.authority)) == 16
    additional = lines(r.additional)
    assert "ns.opt.example.com. 3600 IN A 192.0.2.200" in additional
    assert 1 < len(additional) < 16
    r = ask(T, "opt.example.com.", "A", transport=Transport.TCP)
    assert len(lines(r.additional)) == 16
