"""The edge policy table of acnsd.dns.core, row by row, with hand-made query octets."""

import logging
import struct

import dns.message
import dns.rcode
import pytest
from acnsd.dns import core
from acnsd.dns.core import Outcome, Transport, answer, respond

from .zonetext import make_query, tables, zone

T = tables(zone("example.com.", "www A 192.0.2.10"))
WWW = make_query("www.example.com.", "A", edns=None).to_wire()
QUESTION = WWW[12:]


def header(flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack(">HHHHHH", 0xBEEF, flags, qd, an, ns, ar)


DROP = [
    b"",
    b"\xbe",
    header()[:11],
    header(flags=0x8000) + QUESTION,  # QR set: a response
    header(flags=0x8400, qd=0),
]

# (query octets, outcome, question echoed)
ROWS = [
    (header(flags=0x0800) + QUESTION, Outcome.NOTIMP, True),  # IQUERY
    (header(flags=0x1000) + QUESTION, Outcome.NOTIMP, True),  # STATUS
    (header(flags=0x2000) + QUESTION, Outcome.NOTAUTH, True),  # NOTIFY: we are no secondary
    (header(flags=0x2800) + QUESTION[:-4] + b"\x00\x06\x00\x01", Outcome.NOTIMP, True),  # UPDATE
    (header(flags=0x2800, qd=0), Outcome.NOTIMP, False),
    (header(qd=0), Outcome.FORMERR, False),
    (header(qd=2) + QUESTION + QUESTION, Outcome.FORMERR, False),
    (header() + QUESTION[:-2], Outcome.FORMERR, False),  # no class
    (header() + b"\x03www\x07exam", Outcome.FORMERR, False),  # name runs out
    (header() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01", Outcome.FORMERR, False),
    (header() + b"\xc0\x0c\x00\x01\x00\x01", Outcome.FORMERR, False),  # pointer in question
    (header() + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
     Outcome.FORMERR, False),  # 257-octet name
    (header(an=1) + QUESTION + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x01\x02\x03\x04",
     Outcome.FORMERR, True),
    (header() + QUESTION + b"\x00", Outcome.FORMERR, True),  # trailing octets
    (header(ar=1) + QUESTION, Outcome.FORMERR, True),  # announced record missing
    (header() + QUESTION[:-4] + b"\x00\x29\x00\x01", Outcome.NODATA, True),  # qtype OPT
    (header() + QUESTION[:-4] + b"\x00\xfa\x00\x01", Outcome.NODATA, True),  # qtype TSIG
    (header() + QUESTION[:-4] + b"\x00\xf9\x00\x01", Outcome.NODATA, True),  # qtype TKEY
    (header() + QUESTION[:-4] + b"\x00\xfe\x00\x01", Outcome.NODATA, True),  # qtype MAILA
    (header() + QUESTION[:-4] + b"\x00\xfc\x00\x01", Outcome.NOTIMP, True),  # AXFR, UDP
    (header() + QUESTION[:-4] + b"\x00\xfb\x00\x01", Outcome.NOTIMP, True),  # IXFR, no primary
    (header() + QUESTION[:-4] + b"\x00\x01\x00\x03", Outcome.REFUSED, True),  # class CH
    (header() + QUESTION[:-4] + b"\x00\x01\x00\x04", Outcome.REFUSED, True),  # class HS
    (header() + QUESTION[:-4] + b"\x00\x01\x00\xff", Outcome.ANSWER, True),  # class ANY
    (header() + QUESTION[:-4] + b"\x00\x01\x00\xfe", Outcome.REFUSED, True),  # class NONE
    (header(flags=0x0200) + QUESTION, Outcome.ANSWER, True),  # TC in a query: ignored
    (header(flags=0x0040) + QUESTION, Outcome.ANSWER, True),  # Z bit: ignored
]  # fmt: skip


@pytest.mark.parametrize("wire", DROP)
def test_dropped(wire):
    assert answer(T, wire, Transport.UDP) is None
    assert respond(T, wire, Transport.TCP)[1] is Outcome.DROP


@pytest.mark.parametrize("wire,outcome,echoed", ROWS)
def test_edge_row(wire, outcome, echoed):
    response, got, _ = respond(T, wire, Transport.UDP)
    assert got is outcome
    assert response[:2] == wire[:2]
    assert response[2] & 0x80  # QR
    assert (response[2] & 0x78) == (wire[2] & 0x78)  # opcode echoed
    assert not response[3] & 0x80  # RA never set
    rcode = {Outcome.NOTIMP: 4, Outcome.FORMERR: 1, Outcome.REFUSED: 5, Outcome.ANSWER: 0,
             Outcome.NOTAUTH: 9, Outcome.NODATA: 0}
    assert response[3] & 0x0F == rcode[outcome]
    if echoed:
        assert response[4:6] == b"\x00\x01"
        assert response[12 : 12 + len(QUESTION)] == wire[12 : 12 + len(QUESTION)]
        assert dns.message.from_wire(response).question
    else:
        assert response[4:] == b"\x00" * 8
    if outcome in (Outcome.NOTIMP, Outcome.FORMERR):
        assert response[6:12] == b"\x00" * 6  # no records, no OPT


def test_internal_error_is_servfail_counted_and_logged(monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(core, "_lookup", broken)
    fresh = tables(zone("example.com.", "www A 192.0.2.10"))
    before = core.internal_errors()
    with caplog.at_level(logging.ERROR, logger="acnsd.core"):
        response, outcome, _ = respond(fresh, WWW, Transport.UDP)
    assert outcome is Outcome.SERVFAIL
    assert dns.message.from_wire(response).rcode() == dns.rcode.SERVFAIL
    assert response[:2] == WWW[:2]
    assert core.internal_errors() == before + 1
    assert any("internal error" in r.getMessage() for r in caplog.records)
    with_opt = make_query("www.example.com.", "A").to_wire()
    r = dns.message.from_wire(respond(fresh, with_opt, Transport.UDP)[0])
    assert r.rcode() == dns.rcode.SERVFAIL and r.edns == 0 and r.question  # RFC 6891 §7
    monkeypatch.undo()
    assert respond(fresh, WWW, Transport.UDP)[1] is Outcome.ANSWER  # and keeps answering
