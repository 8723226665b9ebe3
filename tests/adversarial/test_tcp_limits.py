"""DNS over TCP against hostile clients (issue 15, resource limits), on the real daemon.

Clients that pipeline thousands of queries and never read the answers must not grow the
server's memory (it grew by ~5 MB per connection, ~260 MB for 50), and clients that
trickle their frames one octet at a time must not hold every TCP slot (with 64 of them
against a cap of 16, real TCP queries were refused for as long as they kept at it).
Meanwhile a real client is answered, and resets are no tracebacks in the log.
Everything is on 127.0.0.1, bounded in count and time, and every process is stopped.
"""

from __future__ import annotations

import json
import selectors
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from e2e.e2e_daemon import BIG_TXT, Daemon, kill, start_daemon, write_config
from tooling import require_tool, unused_port

SLOW_READERS = 50
PIPELINED = 10_000  # queries per slow reader, ~1.4 kB answers each (big.example.com TXT)
RSS_GROWTH_LIMIT = 100 * 1024 * 1024

CAP = 16  # server.tcp_max_connections in the trickle test
TRICKLERS = 64
TRICKLE_INTERVAL = 4.0  # seconds between two octets of a trickler
REAL_QUERIES = 5  # asked one after the other while the tricklers go on
STOP_CHECK = 0.1  # seconds between two looks at whether the tricklers must stop


@pytest.fixture
def daemon_with(tmp_path):
    """daemon_with(**server keys): the e2e daemon with these keys added under `server`."""
    started: list[Daemon] = []

    def start(**server: object) -> Daemon:
        port = unused_port()
        config = write_config(tmp_path, port)
        extra = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in server.items())
        config.write_text(config.read_text().replace("server:\n", "server:\n" + extra, 1))
        started.append(start_daemon(config, port))
        return started[-1]

    yield start
    for daemon in started:
        kill(daemon)


def framed(qname: str, qtype: str) -> bytes:
    wire = dns.message.make_query(qname, qtype).to_wire()
    return len(wire).to_bytes(2, "big") + wire


def rss(pid: int) -> int:
    """The resident set size of process `pid`, in octets."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def reset(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0) rather than a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def answered_over_tcp(daemon: Daemon) -> bool:
    response = daemon.query("big.example.com", "TXT", tcp=True)
    return response.rcode() == dns.rcode.NOERROR and len(response.answer[0]) == BIG_TXT


def test_clients_that_never_read_their_answers_do_not_grow_memory(daemon_with):
    daemon = daemon_with()
    assert answered_over_tcp(daemon)
    before = rss(daemon.process.pid)
    stream = framed("big.example.com", "TXT") * PIPELINED
    readers = []
    try:
        for _ in range(SLOW_READERS):
            sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
            sock.setblocking(False)
            readers.append((sock, [0]))
        deadline = time.monotonic() + 3.0
        peak = before
        while time.monotonic() < deadline:  # send what the server takes, read nothing
            for sock, sent in readers:
                try:
                    sent[0] += sock.send(stream[sent[0] : sent[0] + 65536])
                except (BlockingIOError, ConnectionError):
                    pass
            peak = max(peak, rss(daemon.process.pid))
            time.sleep(0.02)
        assert answered_over_tcp(daemon)  # a client that reads is answered meanwhile
        peak = max(peak, rss(daemon.process.pid))
    finally:
        for sock, _ in readers:
            reset(sock)
    growth = peak - before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 2**20:.0f} MB"
    assert answered_over_tcp(daemon)
    assert "Traceback" not in daemon.log()
    assert daemon.stop() == 0


class Tricklers:
    """`count` clients that each send one octet of a real query every `interval` seconds
    and, when the server closes their connection, connect again at once: together they
    would hold every TCP slot for as long as they run."""

    def __init__(self, port: int, count: int, interval: float) -> None:
        self.port = port
        self.count = count
        self.interval = interval
        self.connects = 0
        self._frame = framed("www.example.com", "A")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Tricklers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()

    def _connect(self, selector: selectors.BaseSelector) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, [0])  # data: octets sent
        self.connects += 1

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            for _ in range(self.count):
                self._connect(selector)
            next_octet = time.monotonic()
            while not self._stop.is_set():
                wait = min(STOP_CHECK, max(0.0, next_octet - time.monotonic()))
                for key, _ in selector.select(wait):
                    self._replace(selector, key)  # readable: closed by the server
                if time.monotonic() >= next_octet:
                    for key in list(selector.get_map().values()):
                        self._send_octet(selector, key)
                    next_octet += self.interval
            for key in list(selector.get_map().values()):
                selector.unregister(key.fileobj)
                key.fileobj.close()

    def _send_octet(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        position = key.data[0] % len(self._frame)
        try:
            key.fileobj.send(self._frame[position : position + 1])
            key.data[0] += 1
        except OSError:
            self._replace(selector, key)

    def _replace(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        selector.unregister(key.fileobj)
        key.fileobj.close()
        if not self._stop.is_set():
            self._connect(selector)


def test_trickling_clients_do_not_hold_every_slot(daemon_with):
    """64 clients trickle one octet every 4 s against a cap of 16 connections, and
    reconnect at once when closed; meanwhile dnspython and dig get their answers over
    TCP, each within 3 s."""
    dig = require_tool("dig")
    daemon = daemon_with(tcp_max_connections=CAP)
    with Tricklers(daemon.port, TRICKLERS, TRICKLE_INTERVAL) as tricklers:
        time.sleep(1.0)  # every slot is taken, with a first octet sent on each
        for _ in range(REAL_QUERIES):
            message = dns.message.make_query("www.example.com", "A")
            response = dns.query.tcp(message, "127.0.0.1", port=daemon.port, timeout=3)
            assert response.rcode() == dns.rcode.NOERROR and response.answer
        result = subprocess.run(
            [dig, "@127.0.0.1", "-p", str(daemon.port), "+tcp", "+time=3", "+tries=1",
             "www.example.com", "A"],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0 and "status: NOERROR" in result.stdout, result.stdout
    assert tricklers.connects > TRICKLERS  # the server did close tricklers
    assert "Traceback" not in daemon.log()
    assert daemon.stop() == 0
