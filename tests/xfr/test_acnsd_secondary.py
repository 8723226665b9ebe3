"""acnsd as a secondary (xfr/secondary.py) of an acnsd primary: consuming the primary's
per-set catalog with TSIG it serves exactly that set's zones as the primary does; it
follows changes made through the primary's API within 1 s (NOTIFY, then IXFR for a
record change); it keeps serving while the primary is down, from its copies on disk after
a kill -9 too, until the SOA expire (then SERVFAIL); with a wrong key nothing is
transferred; NOTIFY is answered for the zones followed, when signed with the primary's
key."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest
from acnsd.model.types import zone_id
from e2e.e2e_daemon import ACCOUNT, Daemon, kill, start_daemon
from ops.opskit import promtool_check, scrape
from tooling import require_tool, stop_process, unused_port

from .xfrkit import KEY, KEYRING, SECRET, api, axfr, records, start_primary

FOLLOWS = 1.0  # seconds from a change on the primary to the secondary serving it (issue 17)
FIRST_SYNC = 20.0  # seconds for the first transfers of every zone
SET1 = f"{ACCOUNT}-set1.catalog.invalid"
SET1_ZONES = ["example.com.", "other.org."]  # sub.example.com is on set 2
SAMPLES = [("www.example.com.", "A"), ("example.com.", "NS"), ("example.com.", "SOA"),
           ("example.com.", "MX"), ("nothing.example.com.", "A"), ("other.org.", "A"),
           ("ns1.example.com.", "A"), ("big.example.com.", "TXT"), ("example.com.", "TXT")]
WRONG_SECRET = base64.b64encode(bytes(range(1, 33))).decode()


def secondary_config(directory: Path, port: int, primary_port: int, *,
                     secret: str = SECRET, metrics_port: int | None = None,
                     catalogs: str = f"[{SET1}]", zones: str = "[]") -> Path:
    """A secondary-only configuration (no accounts): one primary with KEY."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [
        "server:",
        f'  listen: ["127.0.0.1:{port}"]',
        f"  tsig_keys: [{{name: {KEY}, algorithm: hmac-sha256, secret: \"{secret}\"}}]",
        f"  allow_transfer: [{{prefix: 127.0.0.1/32, key: {KEY}}}]",
        "  secondary:",
        f'    primaries: [{{address: "127.0.0.1:{primary_port}", key: {KEY}}}]',
        f"    catalogs: {catalogs}",
        f"    zones: {zones}",
    ]
    if metrics_port is not None:
        lines.append(f'  metrics: "127.0.0.1:{metrics_port}"')
    config = directory / "acnsd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config


@pytest.fixture
def fleet(tmp_path):
    """start(name, daemon_maker) registers every daemon started, stopped after the test."""
    started: list[Daemon] = []

    def run(daemon: Daemon) -> Daemon:
        started.append(daemon)
        return daemon

    yield run
    for daemon in started:
        kill(daemon)


def _primary(tmp_path: Path, fleet, secondary_port: int, **options) -> Daemon:
    notify = f'[{{address: "127.0.0.1:{secondary_port}", key: {KEY}}}]'
    (tmp_path / "primary").mkdir()
    return fleet(start_primary(tmp_path / "primary", unused_port(), notify=notify,
                               catalogs="{name: catalog.invalid, per_set: true}", **options))


def _secondary(tmp_path: Path, fleet, port: int, primary: Daemon, **options) -> Daemon:
    config = secondary_config(tmp_path / "secondary", port, primary.port, **options)
    return fleet(start_daemon(config, port))


def _metric(port: int, line: str) -> float:
    text = scrape("127.0.0.1", port)
    found = re.search(rf"^{re.escape(line)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _same(primary: Daemon, secondary: Daemon, zone: str) -> bool:
    try:
        return records(axfr(secondary, zone)) == records(axfr(primary, zone))
    except (dns.exception.DNSException, OSError):
        return False


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _answer(daemon: Daemon, qname: str, qtype: str) -> tuple:
    response = daemon.query(qname, qtype, use_edns=0, want_dnssec=False)
    return (response.rcode(), response.flags, response.answer, response.authority,
            response.additional)


def test_serves_its_sets_zones_as_the_primary_does(tmp_path, fleet) -> None:
    port = unused_port()
    primary = _primary(tmp_path, fleet, port)
    secondary = _secondary(tmp_path, fleet, port, primary)
    _wait(lambda: all(_same(primary, secondary, zone) for zone in SET1_ZONES), FIRST_SYNC,
          "the secondary does not serve set 1's zones as the primary")
    for qname, qtype in SAMPLES:
        assert _answer(secondary, qname, qtype) == _answer(primary, qname, qtype), qname
    # set 2's zone is no member of set 1's catalog (example.com's copy refers to it), and
    # the catalog is never served
    child = secondary.query("sub.example.com.", "SOA")
    assert child.rcode() == dns.rcode.NOERROR and not child.answer
    assert not child.flags & dns.flags.AA and child.authority[0].rdtype == dns.rdatatype.NS
    assert secondary.query(SET1 + ".", "SOA").rcode() == dns.rcode.REFUSED


def test_follows_api_changes_within_a_second(tmp_path, fleet) -> None:
    port, api_port, metrics_port = unused_port(), unused_port(), unused_port()
    primary = _primary(tmp_path, fleet, port, api_port=api_port)
    secondary = _secondary(tmp_path, fleet, port, primary, metrics_port=metrics_port,
                           catalogs="[catalog.invalid]")  # every zone: new ones are on none
    _wait(lambda: all(_same(primary, secondary, zone) for zone in SET1_ZONES), FIRST_SYNC,
          "no first sync")
    ixfr = 'acnsd_transfers_in_total{kind="ixfr",result="ok"}'
    before = _metric(metrics_port, ixfr)

    api(api_port, "POST", "/zones", {"name": "fresh.test", "account": {"id": ACCOUNT}})
    _wait(lambda: _same(primary, secondary, "fresh.test."), FOLLOWS,
          "a zone created is not served within 1 s")

    api(api_port, "POST", f"/zones/{zone_id('example.com')}/dns_records",
        {"type": "A", "name": "api", "content": "192.0.2.77", "ttl": 120})
    _wait(lambda: secondary.query("api.example.com.", "A").answer, FOLLOWS,
          "a record created is not served within 1 s")
    assert _same(primary, secondary, "example.com.")
    assert _metric(metrics_port, ixfr) > before  # the change came by IXFR, not AXFR
    assert _metric(metrics_port, "acnsd_secondary_lag_serials") == 0
    assert _metric(metrics_port, 'acnsd_secondary_zones{state="served"}') == 4
    promtool_check(scrape("127.0.0.1", metrics_port))

    api(api_port, "DELETE", f"/zones/{zone_id('fresh.test')}")
    _wait(lambda: secondary.query("fresh.test.", "SOA").rcode() == dns.rcode.REFUSED, FOLLOWS,
          "a zone deleted is still served after 1 s")


def test_serves_while_the_primary_is_down_and_after_kill_9(tmp_path, fleet) -> None:
    port = unused_port()
    primary = _primary(tmp_path, fleet, port)
    secondary = _secondary(tmp_path, fleet, port, primary)
    _wait(lambda: all(_same(primary, secondary, zone) for zone in SET1_ZONES), FIRST_SYNC,
          "no first sync")
    expected = [_answer(primary, qname, qtype) for qname, qtype in SAMPLES]
    primary.stop()
    assert _notify(port, "example.com.", KEYRING).rcode() == dns.rcode.NOERROR  # check now
    secondary.wait_log(r"event=secondary_soa_failed zone=example\.com ")
    assert [_answer(secondary, qname, qtype) for qname, qtype in SAMPLES] == expected
    secondary.process.send_signal(signal.SIGKILL)
    secondary.process.wait(10)
    again = fleet(start_daemon(secondary.config, port))  # the primary still down
    assert [_answer(again, qname, qtype) for qname, qtype in SAMPLES] == expected


def test_an_expired_copy_is_not_served(tmp_path, fleet) -> None:
    """A copy that no primary confirmed for longer than its SOA expire is not served at
    start (its time is the file's): SERVFAIL, as Knot DNS; a fresh one is served before
    any primary answers."""
    port, closed = unused_port(), unused_port()
    config = secondary_config(tmp_path, port, closed, catalogs="[]",
                              zones="[fresh.test, stale.test]")
    copies = tmp_path / "secondary"
    copies.mkdir()
    for name in ("fresh.test", "stale.test"):
        (copies / f"{name}.zone").write_text(
            f"$ORIGIN {name}.\n@ 300 IN SOA ns.{name}. h.{name}. 7 60 30 120 60\n"
            f"@ 300 IN NS ns.{name}.\nns 300 IN A 192.0.2.1\n")
    old = time.time() - 3600
    os.utime(copies / "stale.test.zone", (old, old))
    daemon = fleet(start_daemon(config, port))
    fresh = daemon.query("ns.fresh.test.", "A")
    assert fresh.rcode() == dns.rcode.NOERROR and fresh.flags & dns.flags.AA and fresh.answer
    assert daemon.query("ns.stale.test.", "A").rcode() == dns.rcode.SERVFAIL
    assert daemon.query("ns.other.test.", "A").rcode() == dns.rcode.REFUSED  # not followed


def test_a_wrong_key_transfers_nothing(tmp_path, fleet) -> None:
    port, metrics_port = unused_port(), unused_port()
    primary = _primary(tmp_path, fleet, port)
    secondary = _secondary(tmp_path, fleet, port, primary, secret=WRONG_SECRET,
                           metrics_port=metrics_port, zones="[example.com]")
    secondary.wait_log(rf"event=secondary_soa_failed zone={re.escape(SET1)}")
    secondary.wait_log(r"event=secondary_soa_failed zone=example.com ")
    assert secondary.query("example.com.", "SOA").rcode() == dns.rcode.SERVFAIL  # as Knot
    for kind in ("axfr", "ixfr"):
        assert _metric(metrics_port, f'acnsd_transfers_in_total{{kind="{kind}",result="ok"}}') == 0
    assert not list((tmp_path / "secondary" / "secondary").glob("*.zone"))
    assert _metric(metrics_port, 'acnsd_secondary_zones{state="pending"}') == 1


def _notify(port: int, zone: str, keyring=None) -> dns.message.Message:
    query = dns.message.make_query(zone, "SOA")
    query.flags = dns.flags.AA
    query.set_opcode(dns.opcode.NOTIFY)
    if keyring is not None:
        query.use_tsig(keyring)
    return dns.query.udp(query, "127.0.0.1", port=port, timeout=3)


def test_notify_is_answered_for_zones_followed_with_the_primarys_key(tmp_path, fleet) -> None:
    port = unused_port()
    primary = _primary(tmp_path, fleet, port)
    secondary = _secondary(tmp_path, fleet, port, primary, zones="[example.com]")
    other = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", WRONG_SECRET)})
    assert _notify(port, "example.com.", KEYRING).rcode() == dns.rcode.NOERROR
    assert _notify(port, "example.com.").rcode() == dns.rcode.NOTAUTH  # unsigned
    assert _notify(port, "sub.example.com.", KEYRING).rcode() == dns.rcode.NOTAUTH  # not ours
    with pytest.raises(dns.tsig.PeerBadSignature):
        _notify(port, "example.com.", other)
    # a server that is no secondary answers NOTAUTH, as before
    assert _notify(primary.port, "example.com.", KEYRING).rcode() == dns.rcode.NOTAUTH
    assert secondary.process.poll() is None


SHORT_ZONE = """\
$ORIGIN short.test.
@ 60 IN SOA ns.short.test. hostmaster.short.test. 1 1 1 3 60
@ 60 IN NS ns.short.test.
ns 60 IN A 192.0.2.53
"""


def test_a_knot_primary_down_past_the_soa_expire_makes_the_zone_servfail(tmp_path, fleet):
    """Refresh, retry and expire from the SOA (1, 1 and 3 s here), with Knot DNS as the
    primary: SERVFAIL (as Knot) once Knot has been down for longer than the expire;
    served again when it is back. (Served while the primary is down and not expired:
    test_serves_while_the_primary_is_down_and_after_kill_9.)"""
    knotd = require_tool("knotd")
    base = tmp_path / "knot"
    (base / "db").mkdir(parents=True)
    (base / "short.test.zone").write_text(SHORT_ZONE)
    knot_port, port = unused_port(), unused_port()
    (base / "knot.conf").write_text(f"""\
server:
    rundir: {base}
    listen: 127.0.0.1@{knot_port}
database:
    storage: {base / "db"}
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
acl:
  - id: transfer
    address: 127.0.0.1
    key: {KEY}
    action: transfer
zone:
  - domain: short.test.
    storage: {base}
    acl: transfer
""")

    def start_knot() -> subprocess.Popen:
        with open(base / "knotd.log", "ab") as log:
            return subprocess.Popen([knotd, "-c", str(base / "knot.conf")], stdout=log,
                                    stderr=subprocess.STDOUT)

    knot = start_knot()
    try:
        config = secondary_config(tmp_path / "secondary", port, knot_port, catalogs="[]",
                                  zones="[short.test]")
        secondary = fleet(start_daemon(config, port))
        _wait(lambda: secondary.query("ns.short.test.", "A").answer, FIRST_SYNC,
              "the zone is not transferred from Knot")
        stop_process(knot)
        _wait(lambda: secondary.query("ns.short.test.", "A").rcode() == dns.rcode.SERVFAIL,
              FIRST_SYNC, "the zone did not expire")
        secondary.wait_log(r"event=secondary_zone_expired zone=short\.test ")
        knot = start_knot()
        _wait(lambda: secondary.query("ns.short.test.", "A").answer, FIRST_SYNC,
              "the zone is not served again once Knot is back")
    finally:
        stop_process(knot)


def test_a_reload_adopts_the_zones_listed(tmp_path, fleet) -> None:
    port = unused_port()
    primary = _primary(tmp_path, fleet, port)
    secondary = _secondary(tmp_path, fleet, port, primary, catalogs="[]",
                           zones="[example.com]")
    _wait(lambda: _same(primary, secondary, "example.com."), FIRST_SYNC, "no first sync")
    assert secondary.query("other.org.", "SOA").rcode() == dns.rcode.REFUSED
    secondary_config(tmp_path / "secondary", port, primary.port, catalogs="[]",
                     zones="[other.org]")
    secondary.signal(signal.SIGHUP)
    _wait(lambda: _same(primary, secondary, "other.org."), FIRST_SYNC,
          "a zone listed by a reload is not served")
    _wait(lambda: secondary.query("example.com.", "SOA").rcode() == dns.rcode.REFUSED,
          FIRST_SYNC, "a zone no longer listed is still served")


def test_a_copy_that_cannot_be_written_is_served_all_the_same(tmp_path, fleet) -> None:
    port = unused_port()
    primary = _primary(tmp_path, fleet, port)
    config = secondary_config(tmp_path / "secondary", port, primary.port, catalogs="[]",
                              zones="[example.com]")
    (tmp_path / "secondary" / "blocked").write_text("a file where the directory would be\n")
    config.write_text(config.read_text() + "    dir: blocked/copies\n")
    secondary = fleet(start_daemon(config, port))
    _wait(lambda: _same(primary, secondary, "example.com."), FIRST_SYNC,
          "a zone whose copy cannot be written is not served")
    secondary.wait_log(r"event=secondary_copy_unwritable zone=example\.com ")
