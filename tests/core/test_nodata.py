"""NODATA (RFC 2308 §2.2): NOERROR, AA, empty answer, the zone's SOA in authority with
TTL min(SOA TTL, SOA MINIMUM) (RFC 2308 §5)."""

import pytest

from .zonetext import ask, check, tables, zone

T = tables(
    zone("example.com.", "www A 192.0.2.10\n"),
    zone(
        "short.test.",
        "$TTL 300\n@ 300 SOA ns1 hostmaster 5 10000 2400 604800 86400\n@ NS ns1\nns1 A 192.0.2.1",
        soa=False,
    ),
)
SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"


@pytest.mark.parametrize(
    "qname,qtype",
    [
        ("www.example.com.", "AAAA"),
        ("www.example.com.", "TXT"),
        ("www.example.com.", "CNAME"),
        ("www.example.com.", "DS"),
        ("example.com.", "A"),
        ("example.com.", "TYPE65280"),
    ],
)
def test_nodata(qname, qtype):
    check(ask(T, qname, qtype), "NOERROR", True, [], [SOA])


def test_negative_ttl_is_the_soa_ttl_when_lower_than_minimum():
    soa = "short.test. 300 IN SOA ns1.short.test. hostmaster.short.test. 5 10000 2400 604800 86400"
    check(ask(T, "ns1.short.test.", "TXT"), "NOERROR", True, [], [soa])
    check(ask(T, "nx.short.test.", "TXT"), "NXDOMAIN", True, [], [soa])
