"""The reload gap: the longest time acnsd stops answering while it reloads under load.

A small UDP client loop keeps a window of queries outstanding against the server and
timestamps every answer. After `settle` seconds a marker record is added to a zone file
and the server is sent SIGHUP; the loop goes on until the marker is answered (the
reload is done) plus `settle` seconds. The result is the longest gap between two
answers from the SIGHUP on, the longest before it (the noise floor of the machine and
the client), and how long the reload took from SIGHUP to the marker being served.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from pathlib import Path
from typing import Any

import dns.message

__all__ = ["reload_gap"]

_WINDOW = 32  # queries outstanding
_STALL = 0.2  # seconds without an answer after which the window is refilled


def _wire(name: str, rdtype: str) -> bytearray:
    return bytearray(dns.message.make_query(name, rdtype).to_wire())


def reload_gap(pid: int, port: int, questions: list[tuple[str, str]], zone_file: Path,
               zone: str, timeout: float, settle: float = 1.0) -> dict[str, Any]:
    """Measure under load how long SIGHUP to `pid` interrupts answers; see module doc.

    `settle` is the time under load before the SIGHUP and after the reload is seen.
    """
    token = f"reload-{os.getpid()}-{time.time_ns()}"
    marker = f"reload-marker.{zone}."
    queries = [_wire(name, rdtype) for name, rdtype in questions] or [_wire(zone, "SOA")]
    marker_query = _wire(marker, "TXT")
    original = zone_file.read_text()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    began = time.monotonic()
    last_answer = began
    gaps = {"before": (0.0, 0.0), "after": (0.0, 0.0)}  # (longest gap, when it ended)
    sent = answered = outstanding = 0
    hup_at = done_at = None

    def note_gap(now: float) -> None:
        phase = "before" if hup_at is None else "after"
        if now - last_answer > gaps[phase][0]:
            gaps[phase] = (now - last_answer, now - began)

    try:
        while True:
            now = time.monotonic()
            if hup_at is None and now - began >= settle:
                note_gap(now)
                last_answer = now  # a gap that spans the SIGHUP counts from here, after it
                zone_file.write_text(original + f'{marker} 60 IN TXT "{token}"\n')
                os.kill(pid, signal.SIGHUP)
                hup_at = now
            if (done_at is not None and now - done_at >= settle) or now - began > timeout:
                break
            if now - last_answer > _STALL:
                outstanding = 0  # answers were lost: refill the window
            while outstanding < _WINDOW:
                query = marker_query if hup_at and sent % 64 == 0 else queries[sent % len(queries)]
                query[0:2] = (sent & 0xFFFF).to_bytes(2, "big")
                try:
                    sock.send(query)
                except OSError:  # full buffer, or ICMP unreachable from a dead server
                    break
                sent += 1
                outstanding += 1
            if not poller.poll(10):
                continue
            while True:
                try:
                    reply = sock.recv(4096)
                except OSError:
                    break
                now = time.monotonic()
                note_gap(now)
                last_answer = now
                answered += 1
                outstanding = max(outstanding - 1, 0)
                if done_at is None and hup_at and token.encode() in reply:
                    done_at = now
        end = time.monotonic()
        note_gap(end)
    finally:
        sock.close()
        zone_file.write_text(original)
    return {
        "longest_gap_ms": round(gaps["after"][0] * 1000, 2),  # from the SIGHUP on
        "gap_ends_at_s": round(gaps["after"][1], 3),
        "hup_at_s": round((hup_at or end) - began, 3),
        "longest_gap_before_hup_ms": round(gaps["before"][0] * 1000, 2),
        "reload_seconds": round(done_at - hup_at, 3) if done_at and hup_at else None,
        "reloaded": done_at is not None,
        "sent": sent,
        "answered": answered,
        "answers_per_second": round(answered / (end - began), 1),
        "duration_s": round(end - began, 2),
    }
