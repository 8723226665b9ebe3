"""An NSD secondary of acnsd for a listed zone (NSD 4.6 has no catalog support): it
transfers example.com. with TSIG (hmac-sha256), serves it exactly as acnsd does, and after
a change through the API it is told by NOTIFY (RFC 1996) and serves the new serial and
record within a second. With a wrong secret nothing is transferred: acnsd refuses, NSD
has no zone to serve (SERVFAIL)."""

from __future__ import annotations

import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.zone
from acnsd.model.types import zone_id
from tooling import unused_port

from .xfrkit import KEY, OTHER_SECRET, ZONE, api, axfr, records

FIRST_SYNC = 15.0  # seconds from NSD's start to it serving the zone
FOLLOWS = 1.0  # seconds from an API change to NSD serving it


def _soa(port: int) -> dns.message.Message | None:
    try:
        return dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port,
                             timeout=0.2)
    except dns.exception.Timeout:
        return None


def _serial(port: int) -> int | None:
    response = _soa(port)
    if response is None or response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def _wait_serial(port: int, serial: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _serial(port) != serial:
        assert time.monotonic() < deadline, f"NSD does not serve serial {serial}"
        time.sleep(0.01)


def _nsd_axfr(port: int) -> dns.zone.Zone:
    return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=port, timeout=5,
                                           lifetime=20, relativize=False), relativize=False)


def _answers(port: int, qname: str, qtype: str) -> list[tuple]:
    response = dns.query.udp(dns.message.make_query(qname, qtype), "127.0.0.1", port=port,
                             timeout=2)
    return [(response.rcode(), [rrset.to_text() for rrset in response.answer])]


def test_nsd_secondary_with_tsig_and_notify(primary_factory, nsd_factory):
    nsd_port, api_port = unused_port(), unused_port()
    daemon = primary_factory(api_port=api_port,
                             notify=f'[{{address: "127.0.0.1:{nsd_port}", key: {KEY}}}]')
    nsd_log = nsd_factory(nsd_port, daemon.port, ZONE)
    served = axfr(daemon)
    _wait_serial(nsd_port, served.get_soa().serial, FIRST_SYNC)
    assert records(_nsd_axfr(nsd_port)) == records(served)
    for qname, qtype in [(ZONE, "MX"), ("www." + ZONE, "AAAA"), ("big." + ZONE, "TXT")]:
        assert _answers(nsd_port, qname, qtype) == _answers(daemon.port, qname, qtype)

    api(api_port, "POST", f"/zones/{zone_id('example.com')}/dns_records",
        {"type": "A", "name": "api", "content": "192.0.2.77", "ttl": 120})
    changed = axfr(daemon)
    assert changed.get_soa().serial != served.get_soa().serial
    _wait_serial(nsd_port, changed.get_soa().serial, FOLLOWS)
    daemon.wait_log(r"event=notify_sent zone=example\.com\.", timeout=5)
    assert records(_nsd_axfr(nsd_port)) == records(changed)
    assert _answers(nsd_port, "api." + ZONE, "A") == _answers(daemon.port, "api." + ZONE, "A")
    log = nsd_log.read_text()
    assert "notify" in log.lower() and "error" not in log.lower(), log


def test_nsd_with_a_wrong_key_transfers_nothing(primary_factory, nsd_factory):
    nsd_port = unused_port()
    daemon = primary_factory()
    nsd_log = nsd_factory(nsd_port, daemon.port, ZONE, secret=OTHER_SECRET)
    daemon.wait_log(r"event=transfer_refused peer=\S+ zone=example\.com\. kind=axfr "
                    r"reason=tsig_badsig ", timeout=FIRST_SYNC)
    deadline = time.monotonic() + FIRST_SYNC
    while "bad transfer" not in nsd_log.read_text():
        assert time.monotonic() < deadline, nsd_log.read_text()
        time.sleep(0.05)
    assert "Bad Signature" in nsd_log.read_text()
    response = _soa(nsd_port)
    assert response is not None and response.rcode() == dns.rcode.SERVFAIL
    assert "transfer_out" not in daemon.log()
