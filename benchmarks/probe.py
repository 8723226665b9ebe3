"""What the scale suite asks a server over DNS: does it answer every zone yet, does an
answer show a change yet, and how steadily does it answer a paced stream of queries.

Plain UDP to 127.0.0.1, one socket per call, from the calling thread. Every call is bounded
by a deadline or a duration given by the caller; none waits beyond it.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

__all__ = ["answering", "paced", "shows"]

HOST = "127.0.0.1"
_BATCH = 64  # queries in flight while waiting for zones to answer
_ROUND = 0.05  # seconds to wait for the answers of one batch


def _socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect((HOST, port))
    sock.setblocking(False)
    return sock


def _authoritative_soa(wire: bytes) -> int | None:
    """The id of an authoritative NOERROR answer holding a SOA, else None."""
    try:
        reply = dns.message.from_wire(wire)
    except dns.exception.DNSException:
        return None
    ok = (reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA
          and any(rrset.rdtype == dns.rdatatype.SOA for rrset in reply.answer))
    return reply.id if ok else None


def answering(port: int, zones: list[str], deadline: float,
              tick: Callable[[], None] = lambda: None) -> float | None:
    """Wait until every zone of `zones` (at most 65,536) has had an authoritative answer to
    its SOA; return the time.monotonic() of the last such answer, or None at `deadline`.

    Queries go in batches of 64, the unanswered again in the next round. `tick` is called
    once per round: a memory guard raises from it.
    """
    queries = {}
    for qid, zone in enumerate(zones):
        query = dns.message.make_query(zone, "SOA")
        query.id = qid
        queries[qid] = query.to_wire()
    pending = dict.fromkeys(queries)  # ordered: a batch is the first unanswered ones
    last = time.monotonic()
    with _socket(port) as sock:
        while pending:
            if time.monotonic() > deadline:
                return None
            tick()
            batch = list(pending)[:_BATCH]
            for qid in batch:
                try:
                    sock.send(queries[qid])
                except OSError:  # nothing listens yet (ICMP port unreachable)
                    break
            round_end = time.monotonic() + _ROUND
            while any(qid in pending for qid in batch):
                left = round_end - time.monotonic()
                if left <= 0 or not select.select([sock], [], [], left)[0]:
                    break
                try:
                    qid = _authoritative_soa(sock.recv(65535))
                except OSError:
                    break
                if qid in pending:
                    del pending[qid]
                    last = time.monotonic()
            if any(qid in pending for qid in batch):
                time.sleep(max(0.0, round_end - time.monotonic()))
    return last


def shows(port: int, name: str, rdtype: str, expected: Callable[[dns.message.Message], bool],
          deadline: float, interval: float = 0.001,
          give_up: Callable[[], bool] = lambda: False) -> float | None:
    """Ask `name` `rdtype` every `interval` seconds until an answer satisfies `expected`;
    return the time.monotonic() that answer came, or None at `deadline` or as soon as
    `give_up()` is true."""
    query = dns.message.make_query(name, rdtype)
    with _socket(port) as sock:
        while True:
            query.id = (query.id + 1) & 0xFFFF
            sent = time.monotonic()
            if sent > deadline or give_up():
                return None
            try:
                sock.send(query.to_wire())
            except OSError:
                pass
            wait_until = sent + max(interval, 0.05)  # a slow answer still counts
            while (left := wait_until - time.monotonic()) > 0:
                if not select.select([sock], [], [], left)[0]:
                    break
                try:
                    reply = dns.message.from_wire(sock.recv(65535))
                except (OSError, dns.exception.DNSException):
                    continue
                if reply.id == query.id:
                    if expected(reply):
                        return time.monotonic()
                    break
            time.sleep(max(0.0, sent + interval - time.monotonic()))


def paced(port: int, questions: list[tuple[str, str]], seconds: float,
          interval: float = 0.001) -> dict[str, Any]:
    """Send one question every `interval` seconds for `seconds` (an open loop: a stalled
    server does not slow the sender), then listen one more second. Returns the longest
    gap between two answers (and the next longest; the start of sending and, when the
    answers stopped before it, the end count as answers), answer latency p50/p99/max, and
    what was sent and answered. A stalled server shows as a long gap and lost queries."""
    wires = [dns.message.make_query(name, rdtype).to_wire() for name, rdtype in questions]
    sent_at: dict[int, float] = {}
    arrivals: list[tuple[float, int]] = []
    sent = 0
    with _socket(port) as sock:
        poller = select.epoll()
        poller.register(sock, select.EPOLLIN)
        began = time.monotonic()
        next_send, end = began, began + seconds
        while (now := time.monotonic()) < end + 1.0:
            if now >= next_send and now < end:
                wire = bytearray(wires[sent % len(wires)])
                wire[0:2] = (sent & 0xFFFF).to_bytes(2, "big")
                sent_at[sent & 0xFFFF] = now
                try:
                    sock.send(wire)
                except OSError:
                    pass
                sent += 1
                # after a stall of the sender itself, go on from now instead of bursting
                next_send = max(next_send + interval, now - 10 * interval)
            wait = (next_send if now < end else end + 1.0) - time.monotonic()
            if poller.poll(max(wait, 0.0)):
                while True:
                    try:
                        data = sock.recv(65535)
                    except OSError:
                        break
                    arrivals.append((time.monotonic(), int.from_bytes(data[:2], "big")))
        poller.close()
    times = [began] + [at for at, _ in arrivals]  # a silence from the start counts
    if times[-1] < end:
        times.append(end)  # so does one that lasts to the end of sending
    gaps = sorted((b - a for a, b in zip(times, times[1:], strict=False)), reverse=True)
    latencies = sorted(at - sent_at[qid] for at, qid in arrivals if qid in sent_at)

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "seconds": seconds, "interval_ms": interval * 1000, "sent": sent,
        "answered": len(arrivals), "lost": max(sent - len(arrivals), 0),
        "longest_gap_ms": ms(gaps[0]) if gaps else None,
        "next_gaps_ms": [ms(gap) for gap in gaps[1:5]],
        "latency_ms_p50": ms(latencies[len(latencies) // 2]) if latencies else None,
        "latency_ms_p99": ms(latencies[int(len(latencies) * 0.99)]) if latencies else None,
        "latency_ms_max": ms(latencies[-1]) if latencies else None,
    }
