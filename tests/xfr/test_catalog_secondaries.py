"""A Knot DNS secondary (`catalog-role: interpret`) and a BIND secondary (`catalog-zones`)
consuming acnsd's catalog zone (RFC 9432) with TSIG serve every member zone exactly as
acnsd does, and follow zones created and deleted through the API within seconds (NOTIFY,
IXFR of the catalog, AXFR of the new member)."""

from __future__ import annotations

import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.zone
from acnsd.model.types import zone_id
from e2e.e2e_daemon import ACCOUNT
from tooling import unused_port

from .xfrkit import KEY, api, axfr, records

FOLLOWS = 5.0  # seconds from an API change to the secondary serving it
CATALOG = "catalog.invalid."
ZONES = f"""\
template:
  - id: member
    storage: BASE
    master: acnsd
    acl: [notify_from_acnsd, transfer_to_tests]
    zonefile-sync: -1
zone:
  - domain: {CATALOG}
    storage: BASE
    master: acnsd
    acl: [notify_from_acnsd, transfer_to_tests]
    zonefile-sync: -1
    catalog-role: interpret
    catalog-template: member
"""


def served_by_secondary(port: int, zone: str) -> dns.zone.Zone | None:
    """The zone as the secondary at `port` serves it (AXFR), or None when it does not."""
    try:
        return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=port, timeout=2,
                                               lifetime=5, relativize=False),
                                 relativize=False)
    except (dns.exception.DNSException, OSError):
        return None


def wait_same(daemon, port: int, zones: list[str], timeout: float) -> None:
    """Until the secondary serves each of `zones` exactly as acnsd does; fails after
    `timeout` seconds, naming the zones that differ."""
    deadline = time.monotonic() + timeout
    while True:
        differ = [zone for zone in zones if (served := served_by_secondary(port, zone)) is None
                  or records(served) != records(axfr(daemon, zone))]
        if not differ:
            return
        assert time.monotonic() < deadline, f"the secondary does not serve {differ} as acnsd"
        time.sleep(0.1)


def wait_gone(port: int, zone: str, timeout: float) -> None:
    """Until the secondary no longer answers for `zone`."""
    deadline = time.monotonic() + timeout
    query = dns.message.make_query(zone, "SOA")
    while dns.query.udp(query, "127.0.0.1", port=port, timeout=2).rcode() == dns.rcode.NOERROR:
        assert time.monotonic() < deadline, f"the secondary still serves {zone}"
        time.sleep(0.1)


def _follows_api_changes(daemon, api_port: int, port: int) -> None:
    """The secondary at `port` serves every zone as acnsd, after a zone is created and
    one deleted through the API too."""
    zones = ["example.com.", "sub.example.com.", "other.org."]
    wait_same(daemon, port, [CATALOG, *zones], 20.0)
    api(api_port, "POST", "/zones", {"name": "fresh.test", "account": {"id": ACCOUNT}})
    wait_same(daemon, port, [CATALOG, "fresh.test.", *zones], FOLLOWS)
    api(api_port, "DELETE", f"/zones/{zone_id('other.org')}")
    wait_gone(port, "other.org.", FOLLOWS)
    wait_same(daemon, port, [CATALOG, "fresh.test.", "example.com.", "sub.example.com."],
              FOLLOWS)
    daemon.wait_log(r"event=transfer_out peer=127\.0\.0\.1 zone=catalog\.invalid\. kind=ixfr",
                    timeout=5)


def _primary(primary_factory, port: int):
    """A primary producing catalog.invalid, notifying the secondary at `port`; its API
    port."""
    api_port = unused_port()
    daemon = primary_factory(catalogs="{name: catalog.invalid}", api_port=api_port,
                             notify=f'[{{address: "127.0.0.1:{port}", key: {KEY}}}]')
    return daemon, api_port


def test_knot_consumes_the_catalog_and_follows_api_changes(primary_factory, knot_factory):
    port = unused_port()
    daemon, api_port = _primary(primary_factory, port)
    log = knot_factory(port, daemon.port, ZONES)
    _follows_api_changes(daemon, api_port, port)
    text = log.read_text()
    assert "error:" not in text and "warning:" not in text, text
    assert "[catalog.invalid.] catalog reloaded" in text and "IXFR, incoming" in text, text
    assert "[other.org.] zone purged" in text, text


def test_bind_consumes_the_catalog_and_follows_api_changes(primary_factory, bind_factory):
    port = unused_port()
    daemon, api_port = _primary(primary_factory, port)
    log = bind_factory(port, daemon.port, CATALOG)
    _follows_api_changes(daemon, api_port, port)
    text = log.read_text()
    assert "catz: adding zone 'fresh.test'" in text, text
    assert "catz: deleting zone 'other.org'" in text, text
