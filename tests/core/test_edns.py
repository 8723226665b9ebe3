"""EDNS(0) (RFC 6891): OPT echoed with our payload size, version above 0 → BADVERS, more
than one OPT → FORMERR, unknown options ignored, DO echoed, NSID when asked and configured
(RFC 5001); no OPT in the query, none in the response."""

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import pytest
from acnsd.dns.core import Transport, answer
from acnsd.dns.plan import ServerOptions

from .zonetext import ask, make_query, tables, zone

Z = zone("example.com.", "www A 192.0.2.10")
T = tables(Z)
T_NSID = tables(Z, options=ServerOptions(nsid=b"acnsd-a", edns_udp_size=1400))


@pytest.mark.parametrize("qname", ["www.example.com.", "nx.example.com.", "example.net."])
@pytest.mark.parametrize("payload", [512, 1232, 4096])
def test_opt_is_echoed_with_our_payload(qname, payload):
    r = ask(T, qname, "A", payload=payload)
    assert r.edns == 0 and r.payload == 1232
    assert bool(r.options) == (qname == "example.net.")  # EDE 20 (test_errors_edns.py)
    assert not r.ednsflags & dns.flags.DO


def test_configured_payload_size():
    assert ask(T_NSID, "www.example.com.", "A").payload == 1400


def test_no_opt_without_edns():
    assert ask(T, "www.example.com.", "A", edns=None).edns == -1


def test_do_bit_is_echoed():
    r = ask(T, "www.example.com.", "A", do=True)
    assert r.ednsflags & dns.flags.DO


def test_badvers():
    r = ask(T, "www.example.com.", "A", edns=1)
    assert r.rcode() == dns.rcode.BADVERS
    assert r.edns == 0 and not r.answer
    assert r.question[0].name.to_text() == "www.example.com."


def test_nsid_when_asked_and_configured():
    r = ask(T_NSID, "www.example.com.", "A", nsid=True)
    assert [(o.otype, o.to_wire()) for o in r.options] == [(dns.edns.NSID, b"acnsd-a")]
    assert not ask(T_NSID, "www.example.com.", "A").options
    assert not ask(T, "www.example.com.", "A", nsid=True).options


def test_unknown_options_are_ignored():
    q = make_query("www.example.com.", "A")
    q.use_edns(
        0, options=[dns.edns.GenericOption(65001, b"xyz"), dns.edns.GenericOption(10, b"12345678")]
    )
    r = dns.message.from_wire(answer(T, q.to_wire(), Transport.UDP))
    assert r.rcode() == 0 and len(r.answer) == 1 and not r.options


def _opt(owner: bytes = b"\x00") -> bytes:
    return owner + struct.pack(">HHIH", 41, 1232, 0, 0)


def _with_additional(records: list[bytes]) -> bytes:
    wire = bytearray(make_query("www.example.com.", "A", edns=None).to_wire())
    wire[10:12] = struct.pack(">H", len(records))
    return bytes(wire) + b"".join(records)


def test_two_opts_are_formerr():
    r = dns.message.from_wire(answer(T, _with_additional([_opt(), _opt()]), Transport.UDP))
    assert r.rcode() == dns.rcode.FORMERR


def test_opt_with_a_non_root_owner_is_formerr():
    wire = _with_additional([_opt(b"\x01a\x00")])
    assert dns.message.from_wire(answer(T, wire, Transport.UDP)).rcode() == dns.rcode.FORMERR


def test_opt_owner_may_be_a_pointer_to_the_root():
    # RFC 1035 §4.1.4: any name may be compressed; Knot DNS answers as for a plain owner
    root_at = 12 + len(dns.name.from_text("www.example.com.").to_wire()) - 1
    pointer = struct.pack(">H", 0xC000 | root_at)
    other = pointer + struct.pack(">HHIHB", 16, 1, 0, 1, 0)  # a TXT record of one empty string
    chained = struct.pack(">H", 0xC000 | len(_with_additional([])))  # to `other`'s owner
    for records, plain in (
        ([_opt(pointer)], [_opt()]),
        ([other, _opt(chained)], [other, _opt()]),  # through a chain of two pointers
    ):
        response = answer(T, _with_additional(records), Transport.UDP)
        assert response[2:] == answer(T, _with_additional(plain), Transport.UDP)[2:]
        assert dns.message.from_wire(response).edns == 0


@pytest.mark.parametrize(
    "owner",
    [
        struct.pack(">H", 0xC000 | 12),  # to the question name: not the root
        struct.pack(">H", 0xC000 | 4000),  # past the message
        b"\xc0",  # cut short
    ],
)
def test_opt_owner_pointing_elsewhere_is_formerr(owner):
    wire = _with_additional([_opt(owner)])
    assert dns.message.from_wire(answer(T, wire, Transport.UDP)).rcode() == dns.rcode.FORMERR


def test_truncated_option_is_formerr():
    bad = b"\x00" + struct.pack(">HHIH", 41, 1232, 0, 3) + b"\x00\x03\x00"
    wire = _with_additional([bad])
    assert dns.message.from_wire(answer(T, wire, Transport.UDP)).rcode() == dns.rcode.FORMERR
