"""NXDOMAIN templates change no answer: for random first labels (any octets, any case,
up to the 255-octet limit) below every kind of parent (apex, empty non-terminal, leaf,
wildcard parent, zone cut and below, CNAME owner, a name that does not exist, a long
name, another zone's apex, a view's extra name), random types, classes, header flags,
EDNS shapes, transports and addresses, the warm tables answer byte for byte what tables
without cache or templates answer. Templates are made only where they may be, used, and
bounded."""

from __future__ import annotations

import logging
import struct

import dns.message
import dns.name
import dns.rcode
import pytest
from acnsd.dns import core
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Transport, answer, answer_after_id, respond
from acnsd.dns.plan import ServePlan, View
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import zone

LONG = f"{'x' * 63}.{'y' * 63}.{'z' * 50}.long"  # 197 octets with example.com.
BIG = f"{'p' * 60}.bigsoa.test."  # its negative answers pass 512 octets
MNAME, RNAME = (f"{c * 63}.{c * 63}.{c * 63}.{c}.example." for c in "mn")  # written in full
ZONES = (
    zone(
        "example.com.",
        f"""
www A 192.0.2.10
alias CNAME nothere
*.wild TXT "wild"
deleg NS ns.deleg
ns.deleg A 192.0.2.53
a.b.c A 192.0.2.9
{LONG} A 192.0.2.11
""",
    ),
    zone("sub.example.com.", "www A 192.0.2.20"),
    zone("other.org.", "host A 192.0.2.30"),
    zone(
        BIG,
        f"""
$TTL 300
@ SOA {MNAME} {RNAME} 1 2 3 4 5
@ NS ns
ns A 192.0.2.40
""",
        soa=False,
    ),
)
SUB, EXTRA = "127.53.1.2", "127.53.1.3"
PLAN = ServePlan(
    zones=ZONES,
    views=(
        View(SUB, frozenset({dns.name.from_text("sub.example.com.")})),
        View(
            EXTRA,
            frozenset({dns.name.from_text("example.com.")}),
            frozenset(
                {dns.name.from_text("sub.example.com."), dns.name.from_text("host.other.org.")}
            ),
        ),
    ),
)
PARENTS = [
    "example.com.", "b.c.example.com.", "a.b.c.example.com.", "wild.example.com.",
    "deleg.example.com.", "x.deleg.example.com.", "www.example.com.", "alias.example.com.",
    "nothere.example.com.", f"{LONG}.example.com.", "sub.example.com.",
    "www.sub.example.com.", "other.org.", BIG, f"ns.{BIG}", "com.", "org.",
]  # fmt: skip
LABELS = [b"www", b"WwW", b"sub", b"SUB", b"a", b"b", b"*", b"x", b"ns", b"host", b"wild"]
LABELS += [b"q" * 57, b"Q" * 58, b"q" * 63, b"q" * 64]  # below LONG: fits, then too long
QTYPES = [1, 28, 16, 43, 255, 2, 6, 5, 15, 41, 252]  # A AAAA TXT DS ANY NS SOA CNAME MX OPT AXFR
FLAGS = [0x0000, 0x0100, 0x0010, 0x0110, 0x0120, 0x8100, 0x2900]  # RD, CD, AD, QR, opcode 5

WARM = compile_plan(PLAN)
COLD = compile_plan(PLAN, cache_entries=0)  # no cache, no templates: every query in full


def labels_of(text: str) -> list[bytes]:
    return [label for label in dns.name.from_text(text).labels if label]


def query_wire(
    labels: list[bytes],
    qtype: int,
    *,
    qid: int = 0x1234,
    flags: int = 0x0100,
    qclass: int = 1,
    edns: tuple[int, bool, int] | None = None,
) -> bytes:
    """A query built by hand (a name over 255 octets included); `edns` is (payload, DO,
    version) of an OPT without options."""
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    head = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0 if edns is None else 1)
    wire = head + name + struct.pack(">HH", qtype, qclass)
    if edns is not None:
        payload, do, version = edns
        wire += b"\x00" + struct.pack(">HHIH", 41, payload, version << 16 | do << 15, 0)
    return wire


def test_hand_built_queries_are_what_dnspython_builds():
    for edns in (None, (1232, True, 0)):
        wire = query_wire([b"wWw", b"example", b"com"], 28, qid=7, edns=edns)
        expected = dns.message.make_query(
            "wWw.example.com.", "AAAA", use_edns=False if edns is None else 0,
            payload=1232, want_dnssec=edns is not None,
        )  # fmt: skip
        expected.id = 7
        assert wire == expected.to_wire()


shapes = st.tuples(  # what a template is keyed by besides the parent
    st.sampled_from(QTYPES),
    st.sampled_from(FLAGS),
    st.sampled_from([1, 1, 1, 3, 4]),
    st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from([0, 512, 600, 1232, 4096, 65535]),
            st.booleans(),
            st.sampled_from([0, 0, 0, 1]),
        ),
    ),
)
cases = st.tuples(
    st.integers(0, 2),  # which of the example's shapes
    st.one_of(st.sampled_from(LABELS), st.binary(min_size=1, max_size=63)),
    st.sampled_from(PARENTS),
    st.integers(0, 65535),
    st.sampled_from(list(Transport)),
    st.sampled_from([None, SUB, EXTRA]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(shapes, min_size=3, max_size=3), st.lists(cases, min_size=1, max_size=10))
def test_templates_change_no_answer(shapes, cases):
    batch = []
    for shape, label, parent, qid, transport, local in cases:
        qtype, flags, qclass, edns = shapes[shape]
        wire = query_wire(
            [label, *labels_of(parent)], qtype, qid=qid, flags=flags, qclass=qclass, edns=edns
        )
        batch.append(wire)
        expected = respond(COLD, wire, transport, local)
        for _ in range(2):  # the first may make the template, the second uses it
            assert respond(WARM, wire, transport, local) == expected
            assert answer(WARM, wire, transport, local) == expected[0]
    for transport in Transport:
        for local in (None, SUB, EXTRA):
            expected_batch = [answer(COLD, wire, transport, local) for wire in batch]
            after_id = answer_after_id(WARM, [wire[2:] for wire in batch], transport, local)
            assert after_id == [a if a is None else a[2:] for a in expected_batch]


def test_names_too_long_or_with_bad_labels_are_formerr_with_a_template():
    t = fresh()
    long = labels_of(f"{LONG}.example.com.")
    for label in (b"a", b"q" * 57, b"q" * 58, b"q" * 63, b"q" * 64):  # 64: not a label
        wire = query_wire([label, *long], 1)
        assert answer(t, wire, Transport.UDP) == answer(COLD, wire, Transport.UDP)
    longest = dns.message.from_wire(answer(t, query_wire([b"q" * 57, *long], 1), Transport.UDP))
    assert longest.rcode() == dns.rcode.NXDOMAIN  # 255 octets: the longest name
    too_long = dns.message.from_wire(answer(t, query_wire([b"q" * 58, *long], 1), Transport.UDP))
    assert too_long.rcode() == dns.rcode.FORMERR
    assert t.default.negative


def fresh():
    return compile_plan(PLAN)


def test_a_template_answers_the_next_random_name(monkeypatch):
    t = fresh()
    first = query_wire([b"r1", *labels_of("b.c.example.com.")], 1, edns=(1232, False, 0))
    assert answer(t, first, Transport.UDP) == answer(COLD, first, Transport.UDP)
    assert len(t.default.negative) == t.cache.templates == 1
    names = [b"r2", b"R3", b"\x00\xff.", b"q" * 63]
    wires = [
        query_wire([n, *labels_of("b.c.example.com.")], 1, edns=(1232, False, 0)) for n in names
    ]
    expected = [answer(COLD, wire, Transport.UDP) for wire in wires]
    monkeypatch.setattr(core, "_respond", None)  # the full path would fail now
    for label, wire, response in zip(names, wires, expected, strict=True):
        assert answer(t, wire, Transport.UDP) == response
        message = dns.message.from_wire(response)
        assert message.rcode() == dns.rcode.NXDOMAIN
        assert message.question[0].name.labels[0] == label  # the query's own case
        assert message.authority[0].name == dns.name.from_text("example.com.")


def test_a_batch_is_answered_from_templates_in_one_pass(monkeypatch, caplog):
    t = fresh()
    parent = labels_of("b.c.example.com.")
    answer(t, query_wire([b"r1", *parent], 1), Transport.UDP)  # makes the template
    names = [b"r2", b"www", b"R4", b"x" * 63]  # www.b.c.example.com. does not exist either
    bodies = [query_wire([n, *parent], 1)[2:] for n in names] + [b"\x01"]  # and no question
    expected = [answer(COLD, b"\0\0" + body, Transport.UDP) for body in bodies]
    passes = []

    def counted(*args):
        passes.append(args[2][:])  # the answers when the pass began
        return from_templates(*args)

    from_templates = core._from_templates
    monkeypatch.setattr(core, "_from_templates", counted)
    assert answer_after_id(t, bodies, Transport.UDP) == [e and e[2:] for e in expected]
    assert passes == [[b""] * len(bodies)]  # one pass for the batch's misses
    # a pass that fails is an internal error, and the full path answers its queries
    monkeypatch.setattr(core, "_from_templates", None)
    before = core.internal_errors()
    with caplog.at_level(logging.ERROR, logger="acnsd.core"):
        assert answer_after_id(t, bodies, Transport.UDP) == [e and e[2:] for e in expected]
    assert core.internal_errors() == before + 1
    assert any("NXDOMAIN templates" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("parent", ["example.com.", "b.c.example.com.", "other.org.", BIG])
def test_a_template_hides_no_name_that_exists(parent):
    """Every name right below a template's parent (nodes, empty non-terminals, zones and
    view names served there), in any case, gets what it gets without templates."""
    t = fresh()
    for local in (None, SUB, EXTRA):
        view = t.views.get(local, t.default)
        keys = {key for apex in COLD.zones for key in COLD.zone(apex).nodes}
        keys |= {*t.zones, *view.names}
        parent_key = dns.name.from_text(parent).to_wire()
        below = {key[: key[0] + 1] for key in keys if key[key[0] + 1 :] == parent_key}
        made = query_wire([b"nothere-at-all", *labels_of(parent)], 1)
        answer(t, made, Transport.UDP, local)
        for first in below:
            for label in (first[1:], first[1:].upper()):
                wire = query_wire([label, *labels_of(parent)], 1)
                expected = answer(COLD, wire, Transport.UDP, local)
                assert answer(t, wire, Transport.UDP, local) == expected, (local, label)
    assert t.default.negative or parent != "example.com."


def test_a_zone_served_right_below_an_apex_is_not_hidden_by_its_template():
    # no name of example.net. has a first label of six octets: only the zone deeper.
    plan = ServePlan(zones=(zone("example.net.", "www A 192.0.2.1"),
                            zone("deeper.example.net.", "www A 192.0.2.2")))  # fmt: skip
    t, cold = compile_plan(plan), compile_plan(plan, cache_entries=0)
    answer(t, query_wire([b"nothere", *labels_of("example.net.")], 1), Transport.UDP)
    assert t.default.negative
    for label in (b"deeper", b"DeePer", b"deepe"):
        wire = query_wire([label, *labels_of("example.net.")], 1)
        assert answer(t, wire, Transport.UDP) == answer(cold, wire, Transport.UDP)
    message = dns.message.from_wire(answer(t, query_wire([b"deeper", b"example", b"net"], 6),
                                           Transport.UDP))  # fmt: skip
    assert message.rcode() == dns.rcode.NOERROR and message.answer  # its SOA


@pytest.mark.parametrize(
    "parent",
    ["wild.example.com.", "deleg.example.com.", "x.deleg.example.com.", "nothere.example.com.",
     "com.", "org."],
)  # fmt: skip
def test_no_template_where_a_name_may_exist_or_is_not_ours(parent):
    t = fresh()
    for i in range(3):
        for qtype in (1, 43):
            answer(t, query_wire([b"r%d" % i, *labels_of(parent)], qtype), Transport.UDP)
    assert not t.default.negative and t.cache.templates == 0


def test_no_template_for_ds_or_queries_with_options():
    t = fresh()
    answer(t, query_wire([b"r1", *labels_of("example.com.")], 43), Transport.UDP)
    nsid = dns.message.make_query(
        "r2.example.com.", "A", use_edns=0, options=[dns.edns.GenericOption(3, b"")]
    )
    answer(t, nsid.to_wire(), Transport.UDP)
    assert t.cache.templates == 0


def test_templates_are_bounded():
    t = compile_plan(PLAN, cache_entries=1000)
    limit = t.cache.template_limit
    parent = labels_of("www.example.com.")
    for payload in range(512, 512 + 2 * limit):  # a new query shape each time
        answer(t, query_wire([b"r", *parent], 1, edns=(payload, False, 0)), Transport.UDP)
    assert len(t.default.negative) == t.cache.templates == limit
    assert not t.default.udp_cache  # no NXDOMAIN entered the response cache either
    assert not fresh().cache.templates


def test_bad_labels_and_served_zones_below_a_template():
    t = fresh()
    apex = labels_of("example.com.")
    for label in (b"r1", b"q" * 64, b"sub", b"SuB", b"www"):  # 64: not a label length
        for local in (None, EXTRA):
            wire = query_wire([label, *apex], 1)
            assert answer(t, wire, Transport.UDP, local) == answer(COLD, wire, Transport.UDP, local)
    assert t.default.negative and t.views[EXTRA].negative
    rcode = dns.message.from_wire(answer(t, query_wire([b"sub", *apex], 6), Transport.UDP)).rcode()
    assert rcode == dns.rcode.NOERROR  # the apex of the zone sub.example.com.


def test_templates_are_per_view():
    t = fresh()
    wire = query_wire([b"r1", *labels_of("example.com.")], 1)
    answer(t, wire, Transport.UDP, EXTRA)
    assert len(t.views[EXTRA].negative) == 1 and not t.default.negative
    sub = query_wire([b"sub", *labels_of("example.com.")], 1)
    assert answer(t, sub, Transport.UDP, EXTRA) == answer(COLD, sub, Transport.UDP, EXTRA)
    assert dns.message.from_wire(answer(t, sub, Transport.UDP, EXTRA)).rcode() == dns.rcode.NOERROR


def test_no_template_below_a_view_name_in_a_zone_the_view_does_not_serve():
    # gone.other.org. is an extra name of the view (R8) but no node of other.org., which
    # the view does not serve: NXDOMAIN, and its siblings stay REFUSED
    plan = ServePlan(
        zones=ZONES,
        views=(View(EXTRA, frozenset({dns.name.from_text("example.com.")}),
                    frozenset({dns.name.from_text("gone.other.org.")})),),
    )  # fmt: skip
    warm, cold = compile_plan(plan), compile_plan(plan, cache_entries=0)
    parent = labels_of("other.org.")
    for label in (b"gone", b"zzz", b"gone", b"yyy"):
        wire = query_wire([label, *parent], 1)
        assert answer(warm, wire, Transport.UDP, EXTRA) == answer(cold, wire, Transport.UDP, EXTRA)
        assert answer_after_id(warm, [wire[2:]], Transport.UDP, EXTRA) == [
            answer(cold, wire, Transport.UDP, EXTRA)[2:]
        ]
    assert not warm.views[EXTRA].negative
