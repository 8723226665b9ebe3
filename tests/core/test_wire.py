"""The hand-written query decoder agrees with dnspython on every query dnspython writes,
and takes a query put together part by part (or damaged) exactly when dnspython reads it."""

import struct

import dns.edns
import dns.flags
import dns.message
import dns.name
from acnsd.dns.wire import HEADER_SIZE, MalformedQuery, name_text, parse_query
from hypothesis import given, settings
from hypothesis import strategies as st

label = st.binary(min_size=1, max_size=20) | st.text(
    alphabet="abcXYZ019-_*", min_size=1, max_size=12
).map(str.encode)
names = st.lists(label, min_size=0, max_size=6).map(lambda labels: dns.name.Name([*labels, b""]))


@st.composite
def queries(draw):
    q = dns.message.make_query(
        draw(names),
        draw(st.integers(1, 65535).filter(lambda t: t not in (41, 249, 250))),
        draw(st.integers(1, 65535)),
    )
    q.id = draw(st.integers(0, 65535))
    q.flags = dns.flags.Flag(draw(st.sampled_from([0, 0x0100, 0x0010, 0x0110])))
    edns = draw(st.sampled_from([None, 0, 0, 1, 255]))
    if edns is not None:
        options = []
        if draw(st.booleans()):
            options.append(dns.edns.GenericOption(dns.edns.NSID, b""))
        if draw(st.booleans()):
            options.append(dns.edns.GenericOption(draw(st.integers(4, 65000)), draw(st.binary())))
        q.use_edns(
            edns,
            ednsflags=dns.flags.DO if draw(st.booleans()) else 0,
            payload=draw(st.integers(0, 65535)),
            options=options,
        )
    return q


@settings(max_examples=300, deadline=None)
@given(queries())
def test_decoder_matches_dnspython(q):
    parsed = parse_query(q.to_wire())
    name = q.question[0].name
    assert parsed.qname == name.to_wire()
    assert parsed.key == name.to_wire().lower()
    assert dns.name.from_wire(parsed.key, 0)[0] == name
    assert [parsed.key[o:] for o in parsed.offsets] == [
        name.split(i)[1].to_wire().lower() for i in range(len(name), 0, -1)
    ]
    assert parsed.qtype == q.question[0].rdtype
    assert parsed.qclass == q.question[0].rdclass
    assert parsed.flags == q.flags
    assert parsed.question_end == HEADER_SIZE + len(parsed.qname) + 4
    if q.edns < 0:
        assert parsed.edns is None
        assert parsed.plain
    else:
        assert parsed.edns.version == q.edns
        assert parsed.edns.payload == q.payload
        assert parsed.edns.do == bool(q.ednsflags & dns.flags.DO)
        assert parsed.edns.nsid == any(o.otype == dns.edns.NSID for o in q.options)
        assert parsed.plain == (not q.options)


text_label = st.text(alphabet='abcXYZ019-_*/."();\\@$ \x01\x7f', min_size=1, max_size=8).map(
    str.encode) | label


@settings(max_examples=500)
@given(st.lists(text_label, min_size=0, max_size=5), st.booleans())
def test_name_text_is_dnspythons(labels, absolute):
    """name_text writes a plain name without dnspython, and every name as dnspython does."""
    name = dns.name.Name([*labels, b""] if absolute else labels)
    assert name_text(name) == name.to_text()


def _rr(owner: bytes, rdtype: int, rdclass: int, ttl: int, rdata: bytes, rdlength: int) -> bytes:
    return owner + struct.pack(">HHIH", rdtype, rdclass, ttl, rdlength) + rdata


@st.composite
def built_queries(draw):
    """(query octets, whether its question name is compressed): a query put together part
    by part, then maybe damaged, so that dnspython rejects some and reads others."""
    qname = dns.name.Name([*draw(st.lists(label, max_size=4)), b""]).to_wire()
    compressed = draw(st.integers(0, 7)) == 0  # a name ending in a pointer (to the header)
    if compressed:
        qname = qname[:-1] + struct.pack(">H", 0xC000 | draw(st.integers(0, 11)))
    root_at = HEADER_SIZE + len(qname) - 1  # the question name's root octet, if it has one
    question = qname + struct.pack(">HH", draw(st.sampled_from([1, 28, 16, 255])), 1)
    records = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["opt", "opt", "opt", "a"]))
        if kind == "a":
            records.append(_rr(b"\x00", 1, 1, 0, b"\x7f\x00\x00\x01", 4))
            continue
        owner = draw(st.sampled_from(
            [b"\x00", b"\x00", b"\x01x\x00", struct.pack(">H", 0xC000 | root_at)]
        ))  # fmt: skip
        options = b"".join(
            struct.pack(">HH", code, len(data)) + data
            for code, data in draw(st.lists(
                st.tuples(st.sampled_from([3, 65001, 65280]), st.binary(max_size=6)), max_size=2
            ))
        )  # fmt: skip
        rdlength = len(options) if draw(st.integers(0, 4)) else draw(st.integers(0, 12))
        ttl = draw(st.sampled_from([0, 0x8000, 1 << 16])) | draw(st.sampled_from([0, 1, 0x7FFF]))
        payload = draw(st.sampled_from([0, 512, 4096]))
        records.append(_rr(owner, 41, payload, ttl, options, rdlength))
    arcount = len(records) if draw(st.integers(0, 5)) else draw(st.integers(0, 4))
    head = struct.pack(">HHHHHH", draw(st.integers(0, 65535)), 0x0100, 1, 0, 0, arcount)
    wire = head + question + b"".join(records)
    if draw(st.integers(0, 5)) == 0:
        wire = wire[: draw(st.integers(HEADER_SIZE, len(wire)))]
    return wire, compressed


@settings(max_examples=500, deadline=None)
@given(built_queries())
def test_decoder_accepts_what_dnspython_reads(case):
    """Counts, names (an OPT owner compressed to the root included), OPT RRs and their
    lengths: the decoder takes a query exactly when dnspython reads it, but that it
    refuses a compressed question name (core.py: FORMERR)."""
    wire, compressed = case
    try:
        q = dns.message.from_wire(wire)
    except Exception:
        q = None
    try:
        parsed = parse_query(wire)
    except MalformedQuery:
        parsed = None
    if compressed:
        assert parsed is None
        return
    assert (parsed is None) == (q is None), (wire.hex(), q)
    if parsed is not None:
        assert parsed.qname == q.question[0].name.to_wire()
        assert (parsed.edns is None) == (q.edns < 0)
        if parsed.edns is not None:
            assert parsed.edns.version == q.edns and parsed.edns.payload == q.payload
            assert parsed.edns.do == bool(q.ednsflags & dns.flags.DO)
            assert parsed.edns.nsid == any(o.otype == dns.edns.NSID for o in q.options)
