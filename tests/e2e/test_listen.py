"""--listen replaces server.listen (DESIGN.md §5); IPv6 listen addresses in brackets."""

from __future__ import annotations

import socket
import subprocess

import dns.message
import dns.query
import pytest
from tooling import unused_port

from .e2e_daemon import daemon_env, serve_command, write_config


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
