"""The hand-written query decoder agrees with dnspython on every query dnspython writes."""

import dns.edns
import dns.flags
import dns.message
import dns.name
from acnsd.wire import HEADER_SIZE, name_text, parse_query
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
