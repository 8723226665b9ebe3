"""AXFR out (RFC 5936) from the real daemon, dnspython as the client and the oracle: the
zone transferred is the zone served, streamed over several messages when large, TCP only,
every message signed (RFC 8945 §5.3.1)."""

from __future__ import annotations

import signal

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from e2e.e2e_daemon import EXAMPLE_ZONE

from .xfrkit import KEYRING, ZONE, axfr


def _served(primary, name: dns.name.Name, rdtype: int) -> dns.rrset.RRset:
    """The RRset the daemon serves for (name, type): from the answer of an authoritative
    answer, else (at or below a zone cut) from the referral's authority or additional."""
    response = primary.query(name.to_text(), dns.rdatatype.to_text(rdtype), tcp=True)
    for section in (response.answer, response.authority, response.additional):
        for rrset in section:
            if rrset.name == name and rrset.rdtype == rdtype:
                return rrset
    raise AssertionError(f"{name} {dns.rdatatype.to_text(rdtype)} is not served:\n{response}")


def test_axfr_is_the_zone_served(primary):
    zone = axfr(primary)
    origin = dns.name.from_text(ZONE)
    from_file = dns.zone.from_text(EXAMPLE_ZONE.format(www="192.0.2.10"), origin,
                                   relativize=False, check_origin=False)
    transferred = {(name, rdataset.rdtype): rdataset
                   for name, node in zone.items() for rdataset in node}
    for name, node in from_file.items():  # every record of the file
        for rdataset in node:
            assert transferred[name, rdataset.rdtype] == rdataset
    for (name, rdtype), rdataset in transferred.items():  # each as the daemon answers it
        served = _served(primary, name, rdtype)
        assert served == rdataset
        if name == origin or rdtype != dns.rdatatype.NS:  # a cut: the child (served
            assert served.ttl == rdataset.ttl  # here too) answers, with its own TTL
    extra = {key for key in transferred if from_file.get_rdataset(*key) is None}
    ns_names = {rdata.target for rdata in zone.get_rdataset(origin, "NS")}
    # what the compiler synthesized: the apex SOA and NS, the nameservers' addresses (R8)
    assert extra == {(origin, dns.rdatatype.SOA), (origin, dns.rdatatype.NS)} | {
        (name, rdtype) for name in ns_names for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)}


def test_every_message_is_signed_and_the_soa_first_and_last(primary):
    messages = list(dns.query.xfr("127.0.0.1", ZONE, port=primary.port, timeout=5,
                                  keyring=KEYRING, relativize=False))
    assert all(message.had_tsig for message in messages)  # dnspython verified each MAC
    records = [rrset for message in messages for rrset in message.answer]
    assert records[0].rdtype == records[-1].rdtype == dns.rdatatype.SOA
    assert all(message.flags & dns.flags.AA for message in messages)


def test_axfr_over_udp_is_notimp(primary):
    query = dns.message.make_query(ZONE, "AXFR")
    query.use_tsig(KEYRING)
    response = dns.query.udp(query, "127.0.0.1", port=primary.port, timeout=3)
    assert response.rcode() == dns.rcode.NOTIMP


def test_not_a_zone_is_notauth(primary):
    query = dns.message.make_query("www." + ZONE, "AXFR")
    query.use_tsig(KEYRING)
    response = dns.query.tcp(query, "127.0.0.1", port=primary.port, timeout=3)
    assert response.rcode() == dns.rcode.NOTAUTH and response.had_tsig


def test_a_signed_query_gets_a_signed_answer(primary):
    for send in (dns.query.udp, dns.query.tcp):
        query = dns.message.make_query(ZONE, "SOA")
        query.use_tsig(KEYRING)
        response = send(query, "127.0.0.1", port=primary.port, timeout=3)  # verified
        assert response.had_tsig and response.rcode() == dns.rcode.NOERROR
        assert response.answer[0].rdtype == dns.rdatatype.SOA


@pytest.mark.parametrize("records", [4000])
def test_a_large_zone_is_streamed_in_several_messages(primary_factory, tmp_path, records):
    daemon = primary_factory()
    text = (tmp_path / "zones" / "other.org.zone").read_text()
    text += "".join(f"host{i:05d} IN TXT \"{'y' * 60} {i}\"\n" for i in range(records))
    (tmp_path / "zones" / "other.org.zone").write_text(text)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok")
    messages = list(dns.query.xfr("127.0.0.1", "other.org.", port=daemon.port, timeout=5,
                                  keyring=KEYRING, relativize=False))
    assert len(messages) > 2
    assert all(len(message.to_wire(multi=True, tsig_ctx=None)) <= 65535 for message in messages)
    zone = dns.zone.from_xfr(iter(messages), relativize=False)
    hosts = [name for name in zone if name.labels[0].startswith(b"host")]
    assert len(hosts) == records
    assert zone == axfr(daemon, "other.org.")  # the same zone every time
