"""Every answer to a query with a valid OPT carries OPT (RFC 6891 §7), error answers
included; REFUSED for a name in no zone served here carries EDE 20 Not Authoritative
(RFC 8914 §4.21); QCLASS * (ANY) is answered with the IN data; an IXFR query (its SOA in
the authority section) is NOTIMP, not FORMERR. Byte for byte what Knot DNS 3.2 sends
where it says the same (tests/test_reference_knot.py compares with a running knotd)."""

import struct

import dns.edns
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import pytest
from acnsd.dns.core import Outcome, Transport, answer, respond
from acnsd.dns.plan import View
from acnsd.dns.render import EDE_PROHIBITED, opt_rr, with_ede

from .zonetext import ask, check, make_query, tables, zone

T = tables(zone("example.com.", "www A 192.0.2.10"))
OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # Knot's and ours: 1232, no flags
OPT_DO = b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00"
A_RR = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\x01\x02\x03\x04"


def header(flags: int = 0, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack(">HHHHHH", 0xBEEF, flags, qd, an, ns, ar)


def question(name: str, qtype: int = 1, qclass: int = 1) -> bytes:
    return dns.name.from_text(name).to_wire() + struct.pack(">HH", qtype, qclass)


def soa_rr(serial: int) -> bytes:
    rdata = b"\x00\x00" + struct.pack(">IIIII", serial, 0, 0, 0, 0)
    return question("example.com.", 6)[:-4] + struct.pack(">HHIH", 6, 1, 0, len(rdata)) + rdata


WWW = question("www.example.com.")
IXFR = header(ns=1, ar=1) + question("example.com.", 251) + soa_rr(5) + OPT


def test_refused_outside_every_zone_is_knots_octets():
    """The octets knotd 3.2 (and nsd 4.6) send: OPT with EDE 20, no EXTRA-TEXT, DO echoed."""
    net = question("example.net.")
    for opt in (OPT, OPT_DO):
        response = answer(T, header(ar=1) + net + opt, Transport.UDP)
        ede = opt[:9] + b"\x00\x06" + b"\x00\x0f\x00\x02\x00\x14"
        assert response == header(0x8005, ar=1) + net + ede
    assert answer(T, header() + net, Transport.UDP) == header(0x8005) + net  # no OPT: none


def test_ede_is_cached_with_the_answer():
    wire = make_query("example.net.", "A").to_wire()
    first = answer(T, wire, Transport.UDP)
    assert answer(T, wire, Transport.UDP) == answer(T, wire, Transport.UDP) == first
    assert [o.code for o in dns.message.from_wire(first).options] == [20]


def test_a_view_refusing_a_zone_says_not_authoritative():
    t = tables(zone("example.com.", "www A 192.0.2.10"),
               views=(View("127.53.1.1", frozenset()),))
    r = ask(t, "www.example.com.", "A", local="127.53.1.1")
    assert r.rcode() == dns.rcode.REFUSED
    assert [(o.otype, o.code) for o in r.options] == [(dns.edns.EDE, 20)]


def test_other_classes_are_refused_without_ede():
    """Knot DNS refuses class CH (unless a CHAOS name), HS and NONE without EDE."""
    for qclass in (3, 4, 254):
        response = answer(T, header(ar=1) + question("www.example.com.", 1, qclass) + OPT,
                          Transport.UDP)
        assert response == header(0x8005, ar=1) + question("www.example.com.", 1, qclass) + OPT


def test_ede_helper_appends_to_nsid():
    opt = opt_rr(1232, 0, True, b"ns1")
    r = dns.message.from_wire(header(0x8005, ar=1) + WWW + with_ede(opt, EDE_PROHIBITED))
    assert [(o.otype, o.to_wire()) for o in r.options] == [
        (dns.edns.NSID, b"ns1"), (dns.edns.EDE, b"\x00\x12")]
    assert r.ednsflags & dns.flags.DO


# (query octets, outcome, the answer's octets after the ID): with OPT as Knot DNS
ERRORS = [
    ("QDCOUNT 0", header(qd=0, ar=1) + OPT, Outcome.FORMERR, header(0x8001, qd=0, ar=1) + OPT),
    ("answer record", header(an=1, ar=1) + WWW + A_RR + OPT, Outcome.FORMERR,
     header(0x8001, ar=1) + WWW + OPT),
    ("authority record", header(ns=1, ar=1) + WWW + A_RR + OPT, Outcome.FORMERR,
     header(0x8001, ar=1) + WWW + OPT),
    ("DO echoed", header(qd=0, ar=1) + OPT_DO, Outcome.FORMERR, header(0x8001, qd=0, ar=1)
     + OPT_DO),
    ("IQUERY", header(0x0800, ar=1) + WWW + OPT, Outcome.NOTIMP, header(0x8804, ar=1) + WWW + OPT),
    ("opcode 3", header(0x1800, ar=1) + WWW + OPT, Outcome.NOTIMP, header(0x9804, ar=1) + WWW
     + OPT),
    ("UPDATE with records", header(0x2800, an=1, ns=1, ar=1) + WWW + A_RR + A_RR + OPT,
     Outcome.NOTIMP, header(0xA804, ar=1) + WWW + OPT),
    ("AXFR over UDP", header(ar=1) + question("example.com.", 252) + OPT, Outcome.NOTIMP,
     header(0x8004, ar=1) + question("example.com.", 252) + OPT),
    ("IXFR with its SOA", IXFR, Outcome.NOTIMP,
     header(0x8004, ar=1) + question("example.com.", 251) + OPT),
    ("IXFR without EDNS", header(ns=1) + question("example.com.", 251) + soa_rr(5),
     Outcome.NOTIMP, header(0x8004) + question("example.com.", 251)),
    # a bad OPT, or a message that does not read to its end: FORMERR without OPT (Knot)
    ("two OPT", header(ar=2) + WWW + OPT + OPT, Outcome.FORMERR, header(0x8001) + WWW),
    ("OPT not at the root", header(ar=1) + WWW + b"\x01a" + OPT, Outcome.FORMERR,
     header(0x8001) + WWW),
    ("OPT in the answer section", header(an=1) + WWW + OPT, Outcome.FORMERR,
     header(0x8001) + WWW),
    ("trailing octets", header(ar=1) + WWW + OPT + b"\x00", Outcome.FORMERR,
     header(0x8001) + WWW),
    ("record missing", header(ar=2) + WWW + OPT, Outcome.FORMERR, header(0x8001) + WWW),
    ("truncated option", header(ar=1) + WWW + OPT[:-2] + b"\x00\x02\x00\x03", Outcome.FORMERR,
     header(0x8001) + WWW),
    ("IXFR with an A in authority", header(ns=1, ar=1) + question("example.com.", 251) + A_RR
     + OPT, Outcome.FORMERR, header(0x8001, ar=1) + question("example.com.", 251) + OPT),
]  # fmt: skip


@pytest.mark.parametrize("name,wire,outcome,expected", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_answers_carry_opt_when_the_query_has_a_valid_one(name, wire, outcome, expected):
    for transport in Transport:
        response, got, _ = respond(T, wire, transport)
        assert got is outcome
        assert response == expected


def test_ixfr_notimp_is_answered_over_tcp_too():
    response, outcome, _ = respond(T, IXFR, Transport.TCP)
    assert outcome is Outcome.NOTIMP
    assert dns.message.from_wire(response).rcode() == dns.rcode.NOTIMP


@pytest.mark.parametrize("qtype", [41, 249, 250, 253, 254, 128])  # OPT TKEY TSIG MAILB MAILA
def test_meta_types_are_nodata_as_knot(qtype):
    """Knot DNS and NSD answer them NODATA with the SOA (never data), with our OPT."""
    r = dns.message.from_wire(answer(T, header(ar=1) + question("www.example.com.", qtype)
                                     + OPT, Transport.UDP))
    check(r, "NOERROR", True, [], ["example.com. 1800 IN SOA ns1.example.com. "
                                   "hostmaster.example.com. 1 10000 2400 604800 1800"])
    assert r.edns == 0


def test_class_any_is_answered_with_the_in_data():
    """As Knot DNS: the question's class as asked (*), the RRs' class IN, AA set."""
    r = ask(T, "www.example.com.", "A", rdclass="ANY")
    assert r.question[0].rdclass == dns.rdataclass.ANY
    check(r, "NOERROR", True, ["www.example.com. 3600 IN A 192.0.2.10"])
    nx = ask(T, "nx.example.com.", "A", rdclass="ANY")
    check(nx, "NXDOMAIN", True, [], ["example.com. 1800 IN SOA ns1.example.com. "
                                     "hostmaster.example.com. 1 10000 2400 604800 1800"])
    assert nx.question[0].rdclass == dns.rdataclass.ANY
    net = ask(T, "example.net.", "A", rdclass="ANY")
    assert net.rcode() == dns.rcode.REFUSED and [o.code for o in net.options] == [20]
