"""No input makes the core raise: random octets and mutations of valid queries always end
in a response that dnspython parses, echoes the ID (and the question when it has one),
fits the size limit; or in a drop. An internal error (SERVFAIL) never happens. A UDP
batch's path (`answer_after_id`, given the query after its ID) answers the same after
the ID."""

import struct

import dns.message
import dns.opcode
import dns.rcode
from acnsd.dns import core
from acnsd.dns.core import Outcome, Transport, answer_after_id, respond
from acnsd.dns.plan import ServerOptions
from acnsd.dns.wire import MalformedQuery, message_edns, parse_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_wire import queries
from .zonetext import tables, zone

T = tables(
    zone(
        "example.com.",
        """
www A 192.0.2.10
alias CNAME www
*.wild TXT "wild"
deleg NS ns.deleg
ns.deleg A 192.0.2.53
"""
        + "".join(f'big TXT "{c * 200}"\n' for c in "abcd"),
    ),
    options=ServerOptions(nsid=b"fuzz", chaos=(("version.bind", "acnsd"),)),
)
POOL = ["www.example.com.", "alias.example.com.", "x.wild.example.com.", "a.deleg.example.com.",
        "big.example.com.", "nx.example.com.", "example.com.", "version.bind."]  # fmt: skip


def _check(wire: bytes, transport: Transport) -> None:
    before = core.internal_errors()
    response, outcome, _ = respond(T, wire, transport)
    assert core.internal_errors() == before
    assert outcome is not Outcome.SERVFAIL
    after_id = answer_after_id(T, [wire[2:]], transport)[0]
    assert after_id == (None if response is None else response[2:])
    if response is None:
        assert outcome is Outcome.DROP
        return
    assert response[:2] == wire[:2]
    if (response[2] >> 3) & 0xF == dns.opcode.UPDATE:  # dnspython reads its zone section as
        assert outcome is Outcome.NOTIMP and response[3] & 0xF == dns.rcode.NOTIMP  # an SOA
        return
    parsed = dns.message.from_wire(response)
    assert parsed.rcode() == {
        Outcome.FORMERR: dns.rcode.FORMERR,
        Outcome.NOTIMP: dns.rcode.NOTIMP,
        Outcome.REFUSED: dns.rcode.REFUSED,
        Outcome.BADVERS: dns.rcode.BADVERS,
        Outcome.NXDOMAIN: dns.rcode.NXDOMAIN,
        Outcome.NOTAUTH: dns.rcode.NOTAUTH,
    }.get(outcome, dns.rcode.NOERROR)
    if struct.unpack(">H", response[4:6])[0]:
        end = 12 + len(parsed.question[0].name.to_wire()) + 4
        assert response[12:end] == wire[12:end]
    if transport is Transport.UDP:
        limit = 512
        if parsed.edns >= 0:
            try:
                edns = parse_query(wire).edns
            except MalformedQuery:  # an error answer (FORMERR) carries OPT after this read
                edns = message_edns(wire)
            limit = max(512, min(edns.payload, 1232))
        assert len(response) <= limit
    else:
        assert len(response) <= 65535


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(list(Transport)))
def test_random_octets(wire, transport):
    _check(wire, transport)


@st.composite
def mutated(draw):
    q = draw(queries())
    if draw(st.booleans()):
        q.question[0].name = dns.name.from_text(draw(st.sampled_from(POOL)))
    wire = bytearray(q.to_wire())
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "set"]))
        pos = draw(st.integers(0, max(0, len(wire) - 1)))
        if kind == "flip" and wire:
            wire[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            wire[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete":
            del wire[pos : pos + draw(st.integers(1, 4))]
        elif kind == "truncate":
            del wire[pos:]
        elif kind == "set" and wire:
            wire[pos] = draw(st.integers(0, 255))
    return bytes(wire)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(list(Transport)))
def test_mutated_queries(wire, transport):
    _check(wire, transport)
