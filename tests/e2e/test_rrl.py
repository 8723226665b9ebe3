"""Response rate limiting against the running daemon: a flood with spoofed sources (many
addresses of one loopback /24, each socket bound to its own) is cut to the configured
rate, while a client of another /24 gets its answers directly and one inside the
flooded /24 gets them over TCP after a truncated answer (TC); TCP is never limited."""

from __future__ import annotations

import selectors
import socket
import time
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest
from tooling import unused_port

RATE = 5
FLOOD = 300  # queries, from 100 addresses of 127.0.9.0/24
SOURCES = [f"127.0.9.{i}" for i in range(2, 102)]


def flood(port: int) -> tuple[int, int, float]:
    """Send the flood as fast as the sockets go, and collect what comes back for a second
    after: (full answers, truncated answers, seconds the sending took)."""
    sockets = []
    for address in SOURCES:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, 0))
        s.setblocking(False)
        sockets.append(s)
    wire = dns.message.make_query("www.example.com.", "A").to_wire()
    selector = selectors.DefaultSelector()
    for s in sockets:
        selector.register(s, selectors.EVENT_READ)
    full = truncated = 0
    try:
        began = time.monotonic()
        for i in range(FLOOD):
            sockets[i % len(sockets)].sendto(wire, ("127.0.0.1", port))
        took = time.monotonic() - began
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            for key, _ in selector.select(0.1):
                try:
                    data = key.fileobj.recv(65535)
                except BlockingIOError:
                    continue
                if data[2] & 0x02:
                    truncated += 1
                else:
                    full += 1
    finally:
        selector.close()
        for s in sockets:
            s.close()
    return full, truncated, took


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name)))


@pytest.mark.parametrize("metrics", [False, True])  # a batch at once, or query by query
def test_a_spoofed_flood_is_cut_to_the_rate(daemon_factory, metrics):
    metrics_port = unused_port() if metrics else None
    daemon = daemon_factory(metrics_port=metrics_port,
                            server_lines=(f"  rrl: {{rate: {RATE}, slip: 2}}",))
    full, truncated, took = flood(daemon.port)
    allowed = RATE * (took + 2)  # the bucket's first `rate`, the refill while sending, slack
    assert 1 <= full <= allowed, (full, truncated, took)
    limited = FLOOD - full
    assert abs(truncated - limited / 2) <= 2, (full, truncated)  # every second one
    # a client of another /24 is answered directly
    direct = dns.query.udp(dns.message.make_query("www.example.com.", "A"), "127.0.0.1",
                           port=daemon.port, timeout=3, source="127.0.10.1")
    assert direct.rcode() == dns.rcode.NOERROR and direct.answer
    # one inside the flooded /24, while it is limited: TC, then TCP, which is never limited
    # (or, every other time, no answer: a real client asks again)
    drain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    drain.bind(("127.0.9.3", 0))
    for _ in range(20):
        for _ in range(2 * RATE):
            drain.sendto(dns.message.make_query("www.example.com.", "A").to_wire(),
                         ("127.0.0.1", daemon.port))
        try:
            response, tcp = dns.query.udp_with_fallback(
                dns.message.make_query("www.example.com.", "A"), "127.0.0.1", port=daemon.port,
                timeout=0.5, source="127.0.9.200")
        except dns.exception.Timeout:
            continue  # dropped: a real client retries
        if tcp:
            break
    drain.close()
    assert tcp and response.answer
    if metrics:
        assert metric(metrics_port, "acnsd_rrl_dropped_total") >= limited / 2 - 2
        assert metric(metrics_port, "acnsd_rrl_slipped_total") >= limited / 2 - 2
