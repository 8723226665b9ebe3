"""--listen replaces server.listen (DESIGN.md §5); IPv6 listen addresses in brackets."""

from __future__ import annotations

import signal
import socket
import subprocess

import dns.message
import dns.query
import pytest
from tooling import unused_port

from .e2e_daemon import daemon_env, kill, serve_command, start_daemon, write_config


def www(address: str, port: int, send=dns.query.udp) -> set[str]:
    query = dns.message.make_query("www.example.com", "A")
    response = send(query, address, port=port, timeout=3)
    return {r.to_text() for rrset in response.answer for r in rrset}


def test_listen_option_replaces_the_configured_addresses(daemon_factory):
    port = unused_port()
    daemon = daemon_factory("--listen", f"127.0.0.2:{port}")
    assert www("127.0.0.2", port) == www("127.0.0.2", port, dns.query.tcp) == {"192.0.2.10"}
    assert f"address=127.0.0.2:{port} zones=all" in daemon.log()
    assert f"address=127.0.0.1:{daemon.port}" not in daemon.log()
    with pytest.raises(OSError):
        www("127.0.0.1", daemon.port, dns.query.tcp)  # server.listen is not bound
    assert daemon.query("example.com", "NS", address="127.53.1.1").answer  # views still are


def test_ipv6_listen_address(daemon_factory):
    port = unused_port()
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", port))
    except OSError:
        pytest.skip("::1 cannot be bound on this host")
    daemon = daemon_factory("--listen", f"[::1]:{port}")
    assert f"address=[::1]:{port} zones=all" in daemon.log()
    assert www("::1", port) == www("::1", port, dns.query.tcp) == {"192.0.2.10"}


def test_malformed_listen_is_refused(tmp_path):
    config = write_config(tmp_path, unused_port())
    result = subprocess.run(
        serve_command(config, "--listen", "::1:53"),
        capture_output=True,
        text=True,
        timeout=30,
        env=daemon_env(),
    )
    assert result.returncode == 2
    assert "event=bad_listen" in result.stderr and "[::1]:5353" in result.stderr


def test_a_wildcard_mdns_socket_on_the_port_does_not_stop_the_server(tmp_path):
    """Issue 20: avahi-daemon binds 0.0.0.0:5353 (mDNS) with SO_REUSEADDR on most desktops,
    and `make run` (127.0.0.1:5353) failed with "Address already in use". A specific
    address binds beside such a socket, and its datagrams come to us."""
    port = unused_port()
    mdns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mdns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mdns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    mdns.bind(("0.0.0.0", port))
    try:
        daemon = start_daemon(write_config(tmp_path, port), port)
        try:
            assert www("127.0.0.1", port) == www("127.0.0.1", port, dns.query.tcp) == {
                "192.0.2.10"}
            assert daemon.stop() == 0
        finally:
            kill(daemon)
    finally:
        mdns.close()


def test_a_port_in_use_is_refused_with_a_hint(tmp_path):
    port = unused_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        done = subprocess.run(serve_command(write_config(tmp_path, port)), env=daemon_env(),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"127.0.0.1:{port}: Address already in use" in done.stderr
    assert "--listen ADDR:PORT" in done.stderr and "avahi" in done.stderr


def test_addresses_that_cannot_be_bound_are_logged_once_not_at_every_reload(daemon_factory):
    """Issue 20: the IPv6 ACNS addresses not on this host were logged again at every reload
    and API change."""
    daemon = daemon_factory()
    before = daemon.log().count("event=skipped ")
    assert before > 0 and daemon.log().count("event=addresses_skipped") == 1
    for reloads in (1, 2):  # (nothing changed: the generation stays)
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(r"event=reload result=ok ", count=reloads)
    assert daemon.log().count("event=skipped ") == before
    assert daemon.log().count("event=addresses_skipped") == 1
    assert daemon.stop() == 0
