"""The running daemon answers over UDP and TCP: NS, SOA, A, NXDOMAIN, referral, TC."""

from __future__ import annotations

import dns.edns
import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from .e2e_daemon import BIG_TXT

TRANSPORTS = [pytest.param(False, id="udp"), pytest.param(True, id="tcp")]


def names(rrset) -> set[str]:
    return {rdata.to_text() for rdata in rrset}


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_apex_ns_is_the_assigned_set(server, tcp):
    response = server.query("example.com", "NS", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert not response.flags & dns.flags.RA
    (rrset,) = response.answer
    assert names(rrset) == {"ns1.example.com.", "ns2.example.com."}


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_managed_soa(server, tcp):
    response = server.query("example.com", "SOA", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    (rrset,) = response.answer
    soa = rrset[0]
    assert soa.mname == dns.name.from_text("ns1.example.com")
    assert soa.rname == dns.name.from_text("hostmaster.example.com")


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_a_record_and_case_echo(server, tcp):
    response = server.query("WwW.ExAmPlE.CoM", "A", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    (rrset,) = response.answer
    assert names(rrset) == {"192.0.2.10"}
    assert response.question[0].name.to_text() == "WwW.ExAmPlE.CoM."


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_nxdomain_carries_the_soa(server, tcp):
    response = server.query("missing.example.com", "A", tcp=tcp)
    assert response.rcode() == dns.rcode.NXDOMAIN
    assert response.flags & dns.flags.AA
    assert not response.answer
    assert [r.rdtype for r in response.authority] == [dns.rdatatype.SOA]


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_referral_to_another_server(server, tcp):
    response = server.query("www.ext.example.com", "A", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert not response.flags & dns.flags.AA
    assert not response.answer
    (rrset,) = response.authority
    assert rrset.name == dns.name.from_text("ext.example.com")
    assert rrset.rdtype == dns.rdatatype.NS


def test_deepest_zone_answers_on_listen_address(server):
    response = server.query("www.sub.example.com", "A")
    assert response.flags & dns.flags.AA
    (rrset,) = response.answer
    assert names(rrset) == {"192.0.2.21"}


def test_large_answer_truncated_over_udp_complete_over_tcp(server):
    udp = server.query("big.example.com", "TXT", use_edns=False)
    assert udp.flags & dns.flags.TC
    tcp = server.query("big.example.com", "TXT", tcp=True)
    assert not tcp.flags & dns.flags.TC
    (rrset,) = tcp.answer
    assert len(rrset) == BIG_TXT


def test_unknown_zone_refused(server):
    response = server.query("example.net", "A")
    assert response.rcode() == dns.rcode.REFUSED


@pytest.mark.parametrize("tcp", [False, True])
def test_unknown_zone_refused_with_ede_not_authoritative(server, tcp):
    response = server.query("example.net", "A", use_edns=0, tcp=tcp)
    assert response.rcode() == dns.rcode.REFUSED
    assert [(o.otype, o.code) for o in response.options] == [(dns.edns.EDE, 20)]


def test_dname_substitution(server):
    for _ in range(2):  # the second from the cache
        response = server.query("WwW.old.example.com", "A", use_edns=0)
        assert response.rcode() == dns.rcode.NOERROR
        assert [rrset.to_text() for rrset in response.answer] == [
            "old.example.com. 3600 IN DNAME example.com.",
            "WwW.old.example.com. 3600 IN CNAME www.example.com.",
            "www.example.com. 3600 IN A 192.0.2.10",
        ]
