"""The resolver's rules: a truncated answer over UDP is asked again over TCP; a server
answering neither authoritatively nor with a referral is lame; a run asks the roots about
a zone cut once. Fake servers on 127.0.0.x (threads, UDP and TCP), stopped at the end of
each test."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable

import dns.flags
import dns.message
import dns.rrset
import pytest
from acnsd.verify.resolver import Resolver
from tooling import unused_port

Answer = Callable[[dns.message.Message, str], dns.message.Message]


@pytest.fixture
def fake_server():
    """serve(answer, address, port) -> port: `answer(query, transport)` answers each query
    on address (127.0.0.1 by default) at port (a free one by default)."""
    stop = threading.Event()
    threads, sockets = [], []

    def serve(answer: Answer, address: str = "127.0.0.1", port: int | None = None) -> int:
        port = port or unused_port()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((address, port))
        udp.settimeout(0.1)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((address, port))
        tcp.listen()
        tcp.settimeout(0.1)
        sockets.extend((udp, tcp))

        def run_udp() -> None:
            while not stop.is_set():
                try:
                    data, peer = udp.recvfrom(4096)
                except TimeoutError:
                    continue
                udp.sendto(answer(dns.message.from_wire(data), "udp").to_wire(), peer)

        def run_tcp() -> None:
            while not stop.is_set():
                try:
                    conn, _ = tcp.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(2)
                    size = struct.unpack("!H", conn.recv(2))[0]
                    query = dns.message.from_wire(conn.recv(size))
                    wire = answer(query, "tcp").to_wire()
                    conn.sendall(struct.pack("!H", len(wire)) + wire)

        for target in (run_udp, run_tcp):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            threads.append(thread)
        return port

    yield serve
    stop.set()
    for thread in threads:
        thread.join(5)
    for sock in sockets:
        sock.close()


def test_a_truncated_answer_is_asked_again_over_tcp(fake_server) -> None:
    seen = []

    def answer(query: dns.message.Message, transport: str) -> dns.message.Message:
        seen.append((transport, bool(query.flags & dns.flags.RD)))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if transport == "udp":
            response.flags |= dns.flags.TC
        else:
            response.answer.append(dns.rrset.from_text("ns1.example.test.", 300, "IN", "A",
                                                       "192.0.2.1"))
        return response

    port = fake_server(answer)
    walk = Resolver(("127.0.0.1",), port, timeout=2).walk("ns1.example.test", "A")
    assert walk.answer is not None and walk.server == "127.0.0.1"
    assert [rr.to_text() for rr in walk.answer.answer[0]] == ["192.0.2.1"]
    assert seen == [("udp", False), ("tcp", False)]  # iterative: RD clear


def test_a_server_that_answers_nothing_is_lame(fake_server) -> None:
    def answer(query: dns.message.Message, transport: str) -> dns.message.Message:
        return dns.message.make_response(query)  # no AA, no referral

    port = fake_server(answer)
    walk = Resolver(("127.0.0.1",), port, timeout=2).walk("example.test", "NS")
    assert walk.answer is None
    assert [(x.server, x.zone, x.why) for x in walk.lame] == [
        ("127.0.0.1", ".", "not authoritative (no AA, no referral)")]


def test_a_run_asks_the_root_about_a_zone_cut_once(fake_server) -> None:
    """The root (127.0.0.1) refers test. to 127.0.0.2, which answers: a second walk below
    test. starts at 127.0.0.2."""
    asked = []

    def root(query: dns.message.Message, transport: str) -> dns.message.Message:
        asked.append(query.question[0].name.to_text())
        response = dns.message.make_response(query)
        response.authority.append(dns.rrset.from_text("test.", 300, "IN", "NS", "ns.test."))
        response.additional.append(dns.rrset.from_text("ns.test.", 300, "IN", "A",
                                                       "127.0.0.2"))
        return response

    def tld(query: dns.message.Message, transport: str) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        return response

    port = fake_server(root)
    fake_server(tld, "127.0.0.2", port)
    resolver = Resolver(("127.0.0.1",), port, timeout=2)
    first = resolver.walk("a.test", "A")
    second = resolver.walk("b.test", "A")
    assert first.server == second.server == "127.0.0.2"
    assert asked == ["a.test."]
    assert [d.zone for d in second.referrals] == ["test"]  # the referral it started from
    assert resolver.walk("test", "NS", stop_at="test").referrals == first.referrals
    assert asked == ["a.test."]
