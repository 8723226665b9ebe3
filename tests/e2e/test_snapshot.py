"""The compiled snapshot (daemon/snapshot.py), end to end: a restart with unchanged data
serves from it, byte for byte the answers of the start that wrote it; a restart after a
zone file changed loads the new data (and writes a new snapshot)."""

from __future__ import annotations

import socket

import dns.message
import pytest
from tooling import unused_port

from .e2e_daemon import kill, start_daemon, write_config

QUESTIONS = [("example.com", "SOA"), ("example.com", "NS"), ("www.example.com", "A"),
             ("sub.example.com", "NS"), ("ns1.example.com", "A"), ("nothing.example.com", "A"),
             ("other.org", "SOA")]


def _answers(port: int) -> list[bytes]:
    """The raw answers to QUESTIONS over UDP (each query with the same ID)."""
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(3)
        for name, rdtype in QUESTIONS:
            query = dns.message.make_query(name, rdtype, use_edns=0)
            query.id = 4242
            udp.sendto(query.to_wire(), ("127.0.0.1", port))
            out.append(udp.recv(65535))
    return out


def _serve(config, port: int, expect: str, started: list):
    """Start the daemon (added to `started`); `expect` in its log before it was ready (how
    it got its data)."""
    daemon = start_daemon(config, port)
    started.append(daemon)
    before_ready = daemon.log().split("event=ready")[0]
    assert expect in before_ready, daemon.log()
    return daemon


@pytest.fixture
def daemons():
    """The daemons a test started (`_serve`), each killed at its end."""
    started: list = []
    yield started
    for daemon in started:
        kill(daemon)


def _first_start(directory, daemons: list):
    """A first start of the e2e configuration in `directory`, once it wrote its snapshot:
    (config, port, snapshot path, daemon)."""
    port = unused_port()
    config = write_config(directory, port)
    daemon = _serve(config, port, "event=loaded", daemons)
    daemon.wait_log(r"event=snapshot_written")
    return config, port, directory / "acnsd.yaml.snapshot", daemon


def test_a_restart_serves_the_snapshot_until_a_zone_file_changes(tmp_path, daemons):
    config, port, snapshot, daemon = _first_start(tmp_path, daemons)
    first = _answers(port)
    assert daemon.stop() == 0

    daemon = _serve(config, port, "event=snapshot_used", daemons)
    assert _answers(port) == first
    assert daemon.stop() == 0

    written = snapshot.stat().st_mtime_ns
    write_config(tmp_path, port, www="192.0.2.11")  # example.com's file changes
    daemon = _serve(config, port, "event=snapshot_ignored", daemons)
    assert "example.com.zone changed" in daemon.log()
    www = daemon.query("www.example.com", "A")
    assert {r.to_text() for rrset in www.answer for r in rrset} == {"192.0.2.11"}
    changed = _answers(port)
    assert changed[2] != first[2] and changed[0] != first[0]  # the A and the serial
    daemon.wait_log(r"event=snapshot_written")
    assert snapshot.stat().st_mtime_ns != written
    assert daemon.stop() == 0

    daemon = _serve(config, port, "event=snapshot_used", daemons)
    assert _answers(port) == changed
    assert daemon.stop() == 0


def test_snapshot_false_writes_none_and_removes_an_old_one(tmp_path, daemons):
    config, port, snapshot, daemon = _first_start(tmp_path, daemons)
    assert daemon.stop() == 0
    assert snapshot.exists()

    write_config(tmp_path, port, server_lines=("  snapshot: false",))
    daemon = _serve(config, port, "event=snapshot_removed", daemons)
    assert not snapshot.exists()
    assert daemon.query("www.example.com", "A").answer
    assert daemon.stop() == 0
    assert "event=snapshot_written" not in daemon.log()
    assert not snapshot.exists()
