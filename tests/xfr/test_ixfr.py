"""IXFR out (RFC 1995) from the store's journal: after a change the difference carries only
the changed RRs; a client up to date gets one SOA; a serial the journal does not reach
gets the zone whole; over UDP, the one SOA of our version."""

from __future__ import annotations

import signal

import dns.message
import dns.query
import dns.rdatatype
import dns.xfr
from e2e.e2e_daemon import EXAMPLE_ZONE
from tooling import unused_port

from .xfrkit import KEYRING, ZONE, api, axfr

SOA, A = dns.rdatatype.SOA, dns.rdatatype.A


def _ixfr(daemon, serial: int, **options) -> list[tuple]:
    """The answer's records, in order: (name text, type, rdata text)."""
    messages = dns.query.xfr("127.0.0.1", ZONE, rdtype="IXFR", serial=serial,
                             port=daemon.port, timeout=5, keyring=KEYRING, relativize=False,
                             **options)
    return [(rrset.name.to_text(), rrset.rdtype, rdata.to_text())
            for message in messages for rrset in message.answer for rdata in rrset]


def _edit_www(daemon, directory, address: str) -> None:
    (directory / "zones" / "example.com.zone").write_text(EXAMPLE_ZONE.format(www=address))
    reloads = daemon.log().count("event=reload result=ok")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok", count=reloads + 1)


def test_ixfr_after_an_edit_carries_only_the_change(primary_factory, tmp_path):
    daemon = primary_factory()
    before = axfr(daemon)
    old = before.get_soa().serial
    _edit_www(daemon, tmp_path, "192.0.2.99")
    records = _ixfr(daemon, old)
    assert [rdtype for _, rdtype, _ in records] == [SOA, SOA, A, SOA, A, SOA]
    assert records[2] == ("www.example.com.", A, "192.0.2.10")  # removed
    assert records[4] == ("www.example.com.", A, "192.0.2.99")  # added
    new = axfr(daemon)
    query, _ = dns.xfr.make_query(before, keyring=KEYRING)
    dns.query.inbound_xfr("127.0.0.1", before, query, port=daemon.port, timeout=5)
    assert before == new  # the difference applied to the old zone is the new zone
    assert _ixfr(daemon, new.get_soa().serial) == [records[0]]  # up to date: one SOA


def test_two_changes_chain(primary_factory, tmp_path):
    daemon = primary_factory()
    old = axfr(daemon).get_soa().serial
    _edit_www(daemon, tmp_path, "192.0.2.98")
    _edit_www(daemon, tmp_path, "192.0.2.97")
    records = _ixfr(daemon, old)
    assert [rdtype for _, rdtype, _ in records] == [SOA, SOA, A, SOA, A, SOA, A, SOA, A, SOA]
    assert [rdata for _, rdtype, rdata in records if rdtype == A] == [
        "192.0.2.10", "192.0.2.98", "192.0.2.98", "192.0.2.97"]


def test_a_serial_the_journal_does_not_reach_gets_the_zone(primary):
    zone = axfr(primary)
    records = _ixfr(primary, zone.get_soa().serial - 7)
    assert records[0][1] == records[-1][1] == SOA
    assert len(records) == 1 + sum(len(rdataset) for _, node in zone.items()
                                   for rdataset in node)


def test_ixfr_over_udp_is_our_soa(primary):
    serial = axfr(primary).get_soa().serial
    query, _ = dns.xfr.make_query(axfr(primary), serial=serial - 1, keyring=KEYRING)
    response = dns.query.udp(query, "127.0.0.1", port=primary.port, timeout=3)
    assert response.had_tsig and [rrset.rdtype for rrset in response.answer] == [SOA]
    assert response.answer[0][0].serial == serial


def test_ixfr_after_an_api_change_carries_only_the_changed_rrs(primary_factory):
    api_port = unused_port()
    daemon = primary_factory(api_port=api_port)
    old = axfr(daemon).get_soa().serial
    zone_id = api(api_port, "GET", "/zones?name=example.com")["result"][0]["id"]
    api(api_port, "PATCH", f"/zones/{zone_id}/dns_settings", {"ns_ttl": 600})
    messages = dns.query.xfr("127.0.0.1", ZONE, rdtype="IXFR", serial=old, port=daemon.port,
                             timeout=5, keyring=KEYRING, relativize=False)
    records = [(rrset.name.to_text(), rrset.rdtype, rrset.ttl, rdata.to_text())
               for message in messages for rrset in message.answer for rdata in rrset]
    soas = [i for i, record in enumerate(records) if record[1] == SOA]
    assert len(soas) == 4 and soas[0] == 0 and soas[-1] == len(records) - 1  # one change
    removed, added = records[soas[1] + 1 : soas[2]], records[soas[2] + 1 : soas[3]]
    # only the TTL of the apex NS and of the nameservers' addresses (R8) changed
    assert {r[2] for r in removed} == {86400} and {r[2] for r in added} == {600}
    assert sorted((n, t, d) for n, t, _, d in removed) == sorted(
        (n, t, d) for n, t, _, d in added)
    assert {r[0] for r in added} == {"example.com.", "ns1.example.com.", "ns2.example.com."}
