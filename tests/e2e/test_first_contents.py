"""A first start answers before the zones' contents are in the store (recording.py,
FirstContents), end to end, and loses nothing to kill -9: the serials are recorded before
it answers, the contents after. The test holds the store's write lock from the moment
the serials are committed, so that the server answers while its contents wait; then it
kills the server (SIGKILL), or sends a change through the API; every serial and content
served survives the restart, and IXFR from the first serial is the exact difference of
the change."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
import pytest
from acnsd.model.store import Store
from acnsd.model.types import zone_id
from apikit import Client
from tooling import unused_port

from .e2e_daemon import (
    API_TOKEN,
    START_TIMEOUT,
    Daemon,
    daemon_env,
    kill,
    serve_command,
    start_daemon,
    write_config,
)

ZONES = ("example.com", "sub.example.com", "other.org")
ATTEMPTS = 5  # starts tried until the lock is taken between the two transactions
SERVER_LINES = (
    "  cookies: {enabled: false}",  # (its secret would be one more write before answering)
    "  snapshot: false",  # (a snapshot writer outlives a killed server, holding its pid file)
    "  allow_transfer: [{prefix: 127.0.0.0/8}]",
)


def _spawn(config: Path, port: int) -> Daemon:
    """`acnsd serve`, not waited for."""
    log_path = config.parent / f"acnsd-{port}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(serve_command(config), stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=daemon_env())
    return Daemon(process, log_path, port, config)


def _hold_between(store: Path, daemon: Daemon) -> sqlite3.Connection | None:
    """The store's write lock, taken once the start committed its serials (the store
    counts a generation) and before it wrote any content: the connection holding it; None
    when the contents were there first."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            pytest.fail(f"acnsd exited:\n{daemon.log()}")
        if store.exists():  # (created whole, then renamed into place)
            db = sqlite3.connect(store, isolation_level=None, timeout=START_TIMEOUT)
            try:
                if _generation(db) >= 1:
                    db.execute("BEGIN IMMEDIATE")
                    if db.execute("SELECT count(*) FROM zones WHERE content IS NOT NULL"
                                  ).fetchone() == (0,):
                        return db
                    db.execute("ROLLBACK")
                    db.close()
                    return None
            except BaseException:
                db.close()
                raise
            db.close()
        time.sleep(0.001)
    pytest.fail(f"no serials committed within {START_TIMEOUT} s:\n{daemon.log()}")


def _generation(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(row[0]) if row else 0


def _started_held(tmp_path: Path) -> tuple[Path, Daemon, sqlite3.Connection, int]:
    """A first start whose contents wait for the lock this test holds: (config, daemon,
    the connection holding the lock, the API's port)."""
    port, api_port = unused_port(), unused_port()
    config = write_config(tmp_path, port, api_port=api_port, server_lines=SERVER_LINES)
    store = tmp_path / "acnsd.state.db"
    for _ in range(ATTEMPTS):
        daemon = _spawn(config, port)
        held = _hold_between(store, daemon)
        if held is not None:
            return config, daemon, held, api_port
        kill(daemon)
        for path in tmp_path.glob("acnsd.state.db*"):
            path.unlink()
    pytest.fail(f"the contents were written before the lock could be taken, {ATTEMPTS} times")


def _serials(port: int) -> dict[str, int]:
    """The SOA serial each zone is served with (the server answers: retried until then)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return {zone: dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1",
                                        port=port, timeout=1).answer[0][0].serial
                    for zone in ZONES}
        except (dns.exception.Timeout, OSError):
            if time.monotonic() > deadline:
                raise


def _axfr(port: int, zone: str) -> set[tuple[str, int, int, str]]:
    messages = dns.query.xfr("127.0.0.1", zone, port=port, timeout=5, relativize=False)
    return {(rrset.name.to_text(), rrset.rdtype, rrset.ttl, rdata.to_text())
            for message in messages for rrset in message.answer for rdata in rrset}


def _ixfr(port: int, zone: str, serial: int) -> list[tuple[int, int, int]]:
    """IXFR from `serial`: each record as (type, TTL, SOA serial or 0), in order."""
    messages = dns.query.xfr("127.0.0.1", zone, rdtype="IXFR", serial=serial, port=port,
                             timeout=5, relativize=False)
    return [(rrset.rdtype, rrset.ttl,
             rdata.serial if rrset.rdtype == dns.rdatatype.SOA else 0)
            for message in messages for rrset in message.answer for rdata in rrset]


def _stored(store: Path) -> dict[str, tuple[int | None, bool]]:
    with Store.open(store, readonly=True) as opened:
        return {r.name: (r.serial, r.served) for r in opened.zone_records()}


def _change_ttl(api_port: int, zone: str, ttl: int) -> tuple[int, dict]:
    return Client("127.0.0.1", api_port, API_TOKEN).call(
        "PATCH", f"/zones/{zone_id(zone)}/dns_settings", {"ns_ttl": ttl})


def _exact(port: int, zone: str, before: int, after: int, ttls: tuple[int, int]) -> None:
    """IXFR from `before` is the one difference that changed the apex NS TTL (RFC 1995 §4:
    new SOA, old SOA, the NS removed, new SOA, the NS added, new SOA)."""
    ns, soa = dns.rdatatype.NS, dns.rdatatype.SOA
    soa_ttl = 3600
    assert _ixfr(port, zone, before) == [
        (soa, soa_ttl, after), (soa, soa_ttl, before), (ns, ttls[0], 0), (ns, ttls[0], 0),
        (soa, soa_ttl, after), (ns, ttls[1], 0), (ns, ttls[1], 0), (soa, soa_ttl, after)]


def test_kill_9_before_the_first_contents_are_written_loses_nothing(tmp_path: Path) -> None:
    config, daemon, held, api_port = _started_held(tmp_path)
    store = tmp_path / "acnsd.state.db"
    try:
        served = _serials(daemon.port)  # it answers, its contents not written
        content = {zone: _axfr(daemon.port, zone) for zone in ZONES}
        daemon.process.kill()
        daemon.process.wait(START_TIMEOUT)
    finally:
        held.rollback()
        held.close()
        kill(daemon)
    assert _stored(store) == {zone: (serial, False) for zone, serial in served.items()}

    daemon = start_daemon(config, daemon.port)
    try:
        assert _serials(daemon.port) == served
        assert {zone: _axfr(daemon.port, zone) for zone in ZONES} == content
        daemon.wait_log(r"event=first_contents_written zones=3 ")
        assert _stored(store) == {zone: (serial, True) for zone, serial in served.items()}
        assert _change_ttl(api_port, "other.org", 900)[0] == 200
        after = _serials(daemon.port)["other.org"]
        _exact(daemon.port, "other.org", served["other.org"], after, (86400, 900))
    finally:
        assert daemon.stop() == 0


def test_a_change_before_the_first_contents_are_written_waits_for_them(
        tmp_path: Path) -> None:
    """An API change sent while the contents wait is made after them (its 200 comes once
    they are written), journalled as the exact difference from the serial served, and
    kept across kill -9."""
    config, daemon, held, api_port = _started_held(tmp_path)
    made: list[tuple[int, dict]] = []
    try:
        served = _serials(daemon.port)
        daemon.wait_log(r"event=api_listening")
        change = threading.Thread(target=lambda: made.append(_change_ttl(api_port, "other.org",
                                                                         900)))
        change.start()
        change.join(0.5)
        assert change.is_alive() and not made  # it waits for the contents
    finally:
        held.rollback()
        held.close()
    try:
        change.join(START_TIMEOUT)
        assert made and made[0][0] == 200, made
        daemon.wait_log(r"event=first_contents_written zones=3 ")
        after = _serials(daemon.port)["other.org"]
        assert after != served["other.org"]
        _exact(daemon.port, "other.org", served["other.org"], after, (86400, 900))
        daemon.process.kill()
        daemon.process.wait(START_TIMEOUT)
    finally:
        kill(daemon)
    daemon = start_daemon(config, daemon.port)
    try:
        assert _serials(daemon.port) == {**served, "other.org": after}
        _exact(daemon.port, "other.org", served["other.org"], after, (86400, 900))
    finally:
        assert daemon.stop() == 0
