"""Per-address serving on 127.0.0.0/8 (DESIGN.md §4): each ACNS address answers its zones."""

from __future__ import annotations

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from .e2e_daemon import CHILD_ADDRESSES, PARENT_ADDRESSES

TRANSPORTS = [pytest.param(False, id="udp"), pytest.param(True, id="tcp")]


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_parent_set_address_refers_to_the_child(server, tcp):
    response = server.query("www.sub.example.com", "A", address=PARENT_ADDRESSES[0], tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert not response.flags & dns.flags.AA
    assert not response.answer
    (rrset,) = [r for r in response.authority if r.rdtype == dns.rdatatype.NS]
    assert rrset.name == dns.name.from_text("sub.example.com")
    assert {r.to_text() for r in rrset} == {"ns1.vanity.test.", "ns2.vanity.test."}


@pytest.mark.parametrize("tcp", TRANSPORTS)
def test_child_set_address_is_authoritative(server, tcp):
    response = server.query("www.sub.example.com", "A", address=CHILD_ADDRESSES[1], tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert {r.to_text() for r in response.answer[0]} == {"192.0.2.21"}


@pytest.mark.parametrize("address", [PARENT_ADDRESSES[1], CHILD_ADDRESSES[0]])
def test_own_zone_answered(server, address):
    zone = "example.com" if address in PARENT_ADDRESSES else "sub.example.com"
    response = server.query(zone, "NS", address=address)
    assert response.flags & dns.flags.AA
    assert response.answer


def test_unrelated_zone_refused(server):
    response = server.query("other.org", "A", address=CHILD_ADDRESSES[0])
    assert response.rcode() == dns.rcode.REFUSED
    assert server.query("other.org", "A", address=PARENT_ADDRESSES[0]).answer


def test_startup_log_lists_bound_and_skipped(server):
    log = server.log()
    port = server.port
    assert f"event=listening transports=udp,tcp address=127.0.0.1:{port} zones=all" in log
    for address in PARENT_ADDRESSES + CHILD_ADDRESSES:
        assert f"address={address}:{port} view={address}" in log
    # IPv6 ACNS addresses from fd00:53:1::/64 are not configured on this host
    assert "event=skipped address=[fd00:53:1::" in log
