"""Hostile clients do not stop the daemon: garbage datagrams, half TCP frames, slow
TCP clients (RFC 7766 §6.2.3: the server protects itself, the others are still served)."""

from __future__ import annotations

import os
import socket
import time

import dns.message
import dns.rcode

GARBAGE = [
    b"",
    b"\x00",
    b"\x12\x34",  # shorter than a header
    b"\x12\x34\x81\x00" + b"\x00" * 8,  # QR set: a response, dropped
    b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example",  # question cut short
    b"\xff" * 12 + b"\x3f" * 300,  # a label that overruns the message
]


def wire(qname: str, qtype: str = "A") -> bytes:
    return dns.message.make_query(qname, qtype).to_wire()


def test_garbage_datagrams_then_still_answers(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in GARBAGE + [os.urandom(n) for n in (12, 40, 512, 1400)]:
            sock.sendto(payload, ("127.0.0.1", server.port))
    assert server.query("www.example.com").rcode() == dns.rcode.NOERROR
    assert server.query("www.example.com", tcp=True).rcode() == dns.rcode.NOERROR


def test_half_frames_and_slow_clients_do_not_block_others(server):
    query = wire("www.example.com")
    framed = len(query).to_bytes(2, "big") + query
    half_length = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    half_message = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        half_length.sendall(framed[:1])  # one octet of the length, then silence
        half_message.sendall(framed[: len(framed) // 2])  # half the message, then silence
        for octet in framed[:-1]:  # the slow client: one octet at a time
            slow.sendall(bytes([octet]))
            time.sleep(0.01)
            # meanwhile others are served, over both transports
        assert server.query("www.example.com").rcode() == dns.rcode.NOERROR
        assert server.query("www.example.com", tcp=True).rcode() == dns.rcode.NOERROR
        slow.sendall(framed[-1:])
        length = int.from_bytes(recv_exactly(slow, 2), "big")
        response = dns.message.from_wire(recv_exactly(slow, length))
        assert response.rcode() == dns.rcode.NOERROR and response.answer
    finally:
        for sock in (half_length, half_message, slow):
            sock.close()


def test_garbage_tcp_frame_then_next_query_on_same_connection(server):
    query = wire("example.com", "NS")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        garbage = bytes([query[0] ^ 0xFF]) + os.urandom(29)  # never the query's ID
        sock.sendall(len(garbage).to_bytes(2, "big") + garbage)
        sock.sendall(len(query).to_bytes(2, "big") + query)
        answers = []
        while True:  # the garbage frame may get FORMERR or nothing; then the real answer
            length = int.from_bytes(recv_exactly(sock, 2), "big")
            answers.append(recv_exactly(sock, length))
            if answers[-1][:2] == query[:2]:
                break
        assert dns.message.from_wire(answers[-1]).rcode() == dns.rcode.NOERROR


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data
