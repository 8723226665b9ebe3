"""NXDOMAIN (RFC 2308 §2.1): name error with AA and the negative SOA; a name outside
every zone served is REFUSED instead, AA and RA clear."""

import pytest
from acnsd.dns.render import NEGATIVE_TAILS

from .zonetext import ask, check, tables, zone

T = tables(zone("example.com.", "www A 192.0.2.10"), zone("example.org.", ""))
SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"


@pytest.mark.parametrize(
    "qname", ["nx.example.com.", "a.b.nx.example.com.", "x.www.example.com.", "WWW2.example.com."]
)
def test_nxdomain(qname):
    check(ask(T, qname, "A"), "NXDOMAIN", True, [], [SOA])


@pytest.mark.parametrize("qname", ["example.net.", "com.", ".", "xexample.com.", "org."])
def test_no_zone_is_refused(qname):
    check(ask(T, qname, "A", rd=True), "REFUSED", False)


def test_the_deepest_zone_answers():
    soa = SOA.replace("example.com", "example.org")
    check(ask(T, "nx.example.org.", "A"), "NXDOMAIN", True, [], [soa])


def test_negative_encodings_kept_per_zone_are_bounded():
    t = tables(zone("example.com.", ""))
    for length in range(1, 60):
        r = ask(t, "x" * length + ".example.com.", "A")
        check(r, "NXDOMAIN", True, [], [SOA])
    assert len(t.zone(b"\x07example\x03com\x00").negative_tails) == NEGATIVE_TAILS
