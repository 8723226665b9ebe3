"""Empty non-terminals (RFC 8020, RFC 4592 §2.2.2): names that exist only because names
below them do answer NODATA, never NXDOMAIN."""

import pytest

from .zonetext import ask, check, tables, zone

T = tables(zone("example.com.", "a.b.c A 192.0.2.9\n_sip._tcp.svc SRV 0 0 5060 sip.example.com."))
SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"


@pytest.mark.parametrize(
    "qname,qtype",
    [("b.c", "A"), ("c", "A"), ("c", "ANY"), ("_tcp.svc", "SRV"), ("svc", "TXT")],
)
def test_empty_non_terminal_is_nodata(qname, qtype):
    check(ask(T, f"{qname}.example.com.", qtype), "NOERROR", True, [], [SOA])


@pytest.mark.parametrize("qname", ["x.b.c", "x.c", "b.x.c", "a.b.c.d"])
def test_names_beside_or_below_are_nxdomain(qname):
    check(ask(T, f"{qname}.example.com.", "A"), "NXDOMAIN", True, [], [SOA])


def test_the_leaf_answers():
    leaf = ["a.b.c.example.com. 3600 IN A 192.0.2.9"]
    check(ask(T, "a.b.c.example.com.", "A"), "NOERROR", True, leaf)
