"""A Knot DNS secondary of acnsd (knotd in a temporary directory on a loopback port): it
transfers example.com. with TSIG, serves it exactly as acnsd does, and after a change it
is told by NOTIFY (RFC 1996) and takes the difference by IXFR within a second."""

from __future__ import annotations

import signal
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.zone
from e2e.e2e_daemon import EXAMPLE_ZONE
from tooling import unused_port

from .xfrkit import KEY, ZONE, axfr, records

NOTIFY_TO_SERVED = 1.0  # seconds from the reload to the secondary serving the change
ZONES = f"""\
zone:
  - domain: {ZONE}
    storage: BASE
    file: example.com.zone
    master: acnsd
    acl: [notify_from_acnsd, transfer_to_tests]
    zonefile-sync: -1
"""


def _knot_soa_serial(port: int) -> int | None:
    try:
        response = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port,
                                 timeout=0.2)
    except dns.exception.Timeout:
        return None
    if response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def _wait_serial(port: int, serial: int, timeout: float) -> float:
    """Seconds until the secondary serves `serial`; fails after `timeout`."""
    started = time.monotonic()
    while _knot_soa_serial(port) != serial:
        assert time.monotonic() - started < timeout, f"Knot does not serve serial {serial}"
        time.sleep(0.01)
    return time.monotonic() - started


def test_knot_secondary_with_tsig_and_notify(primary_factory, knot_factory, tmp_path):
    knot_port = unused_port()
    daemon = primary_factory(notify=f'[{{address: "127.0.0.1:{knot_port}", key: {KEY}}}]')
    knot_log = knot_factory(knot_port, daemon.port, ZONES)
    served = axfr(daemon)
    _wait_serial(knot_port, served.get_soa().serial, 15.0)
    secondary = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=knot_port, timeout=5,
                                                relativize=False), relativize=False)
    assert records(secondary) == records(served)

    (tmp_path / "zones" / "example.com.zone").write_text(EXAMPLE_ZONE.format(www="192.0.2.77"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok")
    changed = axfr(daemon)
    _wait_serial(knot_port, changed.get_soa().serial, NOTIFY_TO_SERVED)
    daemon.wait_log(r"event=notify_sent zone=example\.com\.", timeout=5)
    daemon.wait_log(r"event=transfer_out peer=127\.0\.0\.1 zone=example\.com\. kind=ixfr",
                    timeout=5)
    log = knot_log.read_text()
    assert "notify, incoming" in log and "IXFR, incoming" in log
    assert "warning:" not in log and "error:" not in log
    secondary = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE, port=knot_port, timeout=5,
                                                relativize=False), relativize=False)
    assert records(secondary) == records(changed)
    www = dns.query.udp(dns.message.make_query("www." + ZONE, "A"), "127.0.0.1",
                        port=knot_port, timeout=2)
    assert www.answer[0][0].address == "192.0.2.77"
