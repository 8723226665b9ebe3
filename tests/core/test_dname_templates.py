"""NXDOMAIN templates below a DNAME (dname_templates.py) change no answer: for random first
labels (any octets, any case, up to the 255-octet limit and past the substitution's) below
DNAMEs into the same zone, another zone, a zone not served here, a cut, a wildcard parent,
another DNAME and a long target, a DNAME at an apex and one to an ancestor of its zone,
names that exist on either side (nodes, zones, the views' extra names, the names a
substitution may compress to), CNAME chains, random types, classes, flags, EDNS shapes,
cookies, transports and addresses, the warm tables answer byte for byte what tables
without cache or templates answer, each label asked after a fresh one of its length. A
random name below a DNAME is answered from a template once one name of its length was;
each name the proof excludes is answered by the full path (one case per check); and a
change to either zone drops the template (delta.py)."""

from __future__ import annotations

import struct

import dns.edns
import dns.message
import dns.name
import dns.rcode
import pytest
from acnsd.dns import core
from acnsd.dns.compiler import compile_plan
from acnsd.dns.cookies import ServerCookies
from acnsd.dns.core import Clients, Transport, answer_after_id, respond
from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
from acnsd.dns.plan import ServePlan, View
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import zone

LONG = ".".join(["l" * 63, "l" * 63, "l" * 60])  # a target that leaves X few octets
SOURCE = f"""
d DNAME tgt.test.
x.d A 192.0.2.1
s DNAME in.src.test.
a.in A 192.0.2.2
o DNAME other.org.
n DNAME nowhere.example.
c DNAME deleg.tgt.test.
w DNAME w.tgt.test.
e DNAME e.tgt.test.
l DNAME {LONG}.tgt.test.
dd DNAME deep.tgt.test.
a.cp CNAME b.cp
b.cp CNAME r.www.src.test.
www A 192.0.2.9
"""
TARGET = f"""
www A 192.0.2.10
a.b A 192.0.2.11
*.w TXT "w"
deleg NS ns.deleg
ns.deleg A 192.0.2.53
e DNAME src.test.
www.{LONG} A 192.0.2.12
www.q A 192.0.2.13
www.deep A 192.0.2.14
"""
ZONES = (
    zone("src.test.", SOURCE),
    zone("tgt.test.", TARGET),  # SOA ns1.tgt.test. hostmaster.tgt.test.: twins below d
    zone("other.org.", "host A 192.0.2.30"),
    zone("q.d.src.test.", "www A 192.0.2.40"),  # a zone below the DNAME's owner
    zone("sub.tgt.test.", "www A 192.0.2.41"),  # a zone where a substitution may land
    zone("apex.test.", "@ DNAME tgt.test."),  # a DNAME at an apex
    zone("deep.tgt.test.", "www A 192.0.2.42"),  # not delegated, served at ALONE only
    zone("zz.d.src.test.", "www A 192.0.2.43"),
    zone("pz.", ""),  # a DNAME to an ancestor of its own zone: b.d.a.b.pz. → b.pz. is a
    zone("a.b.pz.", "d DNAME pz."),  # name of the question, which the CNAME points to
)
BOTH, ALONE = "127.53.1.2", "127.53.1.3"
ORIGINS = ("src.test.", "tgt.test.", "apex.test.")
EXTRA = ("sub.tgt.test.", "ex.deep.tgt.test.", "ex.q.d.src.test.")
PLAN = ServePlan(
    zones=ZONES,
    views=(  # both sides served, with extra names (R8) in zones not served there; the
        # source alone
        View(BOTH, frozenset(map(dns.name.from_text, ORIGINS)),
             frozenset(map(dns.name.from_text, EXTRA))),
        View(ALONE, frozenset(map(dns.name.from_text, ("src.test.", "deep.tgt.test.")))),
    ),
)  # fmt: skip
PARENTS = [
    "d.src.test.", "b.d.src.test.", "x.d.src.test.", "deleg.d.src.test.", "e.d.src.test.",
    "s.src.test.", "o.src.test.", "n.src.test.", "c.src.test.", "w.src.test.", "l.src.test.",
    "apex.test.", "b.apex.test.", "src.test.", "www.src.test.", "dd.src.test.",
    "q.d.src.test.", "d.a.b.pz.", "cp.src.test.",
]  # fmt: skip
LABELS = [b"www", b"WwW", b"a", b"b", b"x", b"e", b"q", b"Q", b"sub", b"ns1", b"hostmaster",
          b"HostMaster", b"deleg", b"*", b"w", b"in", b"ex", b"EX", b"l" * 63, b"r" * 63,
          b"s" * 20]  # fmt: skip
QTYPES = [1, 28, 16, 5, 43, 255, 15, 39]  # A AAAA TXT CNAME DS ANY MX DNAME
SECRET = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
NOW = 1_700_000_000
CLIENT = bytes.fromhex("2464c4abcf10c957")
HERE = bytes([198, 51, 100, 7])
OURS = ServerCookies(SECRET).option(CLIENT, HERE, NOW - 10)[4:]  # what a client echoes

COLD = compile_plan(PLAN, cache_entries=0)  # no cache, no templates: every query in full


def labels_of(text: str) -> list[bytes]:
    return [label for label in dns.name.from_text(text).labels if label]


def query_wire(
    labels: list[bytes],
    qtype: int = 1,
    *,
    flags: int = 0,
    qclass: int = 1,
    edns: tuple[int, bool, int] | None = None,
    cookie: bytes | None = None,
) -> bytes:
    """A query built by hand; `edns` is (payload, DO, version) of an OPT holding `cookie`
    when given (a COOKIE option), else no option."""
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    head = struct.pack(">HHHHHH", 0x1234, flags, 1, 0, 0, 0 if edns is None else 1)
    wire = head + name + struct.pack(">HH", qtype, qclass)
    if edns is not None:
        payload, do, version = edns
        options = b"" if cookie is None else struct.pack(">HH", 10, len(cookie)) + cookie
        ttl = version << 16 | do << 15
        wire += b"\x00" + struct.pack(">HHIH", 41, payload, ttl, len(options)) + options
    return wire


def test_hand_built_cookie_queries_are_what_dnspython_builds():
    wire = query_wire([b"www", b"d", b"src", b"test"], edns=(1232, True, 0), cookie=CLIENT)
    q = dns.message.make_query("www.d.src.test.", "A", use_edns=0, payload=1232,
                               want_dnssec=True,
                               options=[dns.edns.GenericOption(dns.edns.COOKIE, CLIENT)])
    q.id, q.flags = 0x1234, 0
    assert wire == q.to_wire()


def clients(require: bool) -> Clients:
    return Clients(ServerCookies(SECRET, None, require), NOW, lambda index: HERE)


class FullPath:
    """Counts the queries answered by the full path (not from a cache or template)."""

    def __init__(self, monkeypatch):
        self.count = 0
        full = core._respond

        def counted(*args):
            self.count += 1
            return full(*args)

        monkeypatch.setattr(core, "_respond", counted)


shapes = st.tuples(
    st.sampled_from(QTYPES),
    st.sampled_from([0x0000, 0x0100, 0x0010]),  # RD, CD
    st.sampled_from([1, 1, 1, 255, 3]),  # IN, ANY, CH
    st.one_of(st.none(), st.tuples(st.sampled_from([512, 1232, 4096]), st.booleans(),
                                   st.sampled_from([0, 0, 0, 1]))),
    st.sampled_from([None, None, CLIENT, CLIENT + OURS, CLIENT[:5]]),  # ours, malformed
    st.sampled_from([None, False, True]),  # cookies off, on, required
)
cases = st.tuples(
    st.integers(0, 2),  # which of the example's shapes
    st.one_of(st.sampled_from(LABELS), st.binary(min_size=1, max_size=63)),
    st.sampled_from(PARENTS),
    st.sampled_from(list(Transport)),  # the first label's
    st.sampled_from(list(Transport)),  # a fresh label's of the same length, asked before
    st.sampled_from([None, BOTH, ALONE]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(shapes, min_size=3, max_size=3), st.lists(cases, min_size=1, max_size=12))
def test_templates_below_a_dname_change_no_answer(shapes, cases):
    """Each label is asked after a fresh label of its length (no name, no twin), which
    may make the template's layout of that length, over either transport."""
    warm = compile_plan(PLAN)
    for shape, label, parent, transport, before, local in cases:
        qtype, flags, qclass, edns, cookie, require = shapes[shape]
        who = None if require is None else clients(require)
        for first, over in ((b"\xfe" * len(label), before), (label, transport), (label, transport)):
            wire = query_wire([first, *labels_of(parent)], qtype, flags=flags, qclass=qclass,
                              edns=edns, cookie=cookie if edns is not None else None)
            expected = respond(COLD, wire, over, local, None, who)
            assert respond(warm, wire, over, local, None, who) == expected


fresh = st.builds(  # first labels that are no name on either side, nor a twin
    lambda head, tail: b"r" + head + tail, st.sampled_from([b"", b"R", b"-"]),
    st.binary(max_size=61),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(fresh, min_size=2, max_size=6),
       st.sampled_from(["d.src.test.", "D.Src.test.", "b.d.src.test.", "s.src.test.",
                        "apex.test.", "b.apex.test."]),
       st.sampled_from([None, (1232, False, 0), (512, True, 0)]),
       st.sampled_from([None, CLIENT]), st.sampled_from(list(Transport)),
       st.sampled_from([None, BOTH]))  # fmt: skip
def test_random_names_below_a_dname_are_answered_from_templates(
    labels, parent, edns, cookie, transport, local
):
    """The plain case: each name after the first of its length below the parent (that fits
    the client's size) is answered from the template."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        full = FullPath(monkeypatch)
        ask_fresh_names(full, labels, parent, edns, cookie, transport, local)


def ask_fresh_names(full: FullPath, labels, parent, edns, cookie, transport, local) -> None:
    warm = compile_plan(PLAN)
    who = None if cookie is None else clients(False)
    lengths: set[int] = set()
    for label in labels:
        wire = query_wire([label, *labels_of(parent)], 1, edns=edns,
                          cookie=cookie if edns is not None else None)
        before = full.count
        response = respond(warm, wire, transport, local, None, who)
        answered_in_full = full.count > before
        assert response == respond(COLD, wire, transport, local, None, who)
        assert dns.message.from_wire(response[0]).rcode() == dns.rcode.NXDOMAIN
        if len(label) in lengths and not response[0][2] & 0x02:  # (TC: the full path)
            assert not answered_in_full  # a template answered it
        lengths.add(len(label))


UDP, TCP = Transport.UDP, Transport.TCP


@pytest.mark.parametrize(
    ("parent", "first", "label", "over", "local", "hit"),
    [
        ("d.src.test.", b"r" * 5, b"SsSsS", UDP, None, True),  # 0x20
        ("d.src.test.", b"r", b"x", UDP, None, True),  # a node below the DNAME: occluded
        ("d.src.test.", b"r" * 10, b"hostmaster", UDP, None, False),  # twins: the SOA's
        ("d.src.test.", b"r" * 3, b"NS1", UDP, None, False),  # names compress to X.P'
        ("d.src.test.", b"r" * 3, b"www", UDP, None, False),  # X.P' exists
        ("d.src.test.", b"rr", b"zz", UDP, None, False),  # X.P is a zone
        ("d.src.test.", b"r" * 3, b"sub", UDP, None, False),  # X.P' is a zone
        ("d.src.test.", b"r" * 3, b"sss", UDP, ALONE, False),  # T not served there
        ("b.d.src.test.", b"rr", b"ss", UDP, None, True),
        ("b.d.src.test.", b"r", b"a", UDP, None, False),
        ("x.d.src.test.", b"rr", b"ss", UDP, None, False),  # x.tgt.test. is no node
        ("dd.src.test.", b"rr", b"ss", UDP, BOTH, True),
        ("dd.src.test.", b"rr", b"ex", UDP, BOTH, False),  # X.P' is an extra name there
        ("q.d.src.test.", b"rr", b"ss", UDP, BOTH, True),
        ("q.d.src.test.", b"rr", b"ex", UDP, BOTH, False),  # X.P is an extra name there
        ("l.src.test.", b"r" * 3, b"s" * 3, TCP, None, True),
        ("l.src.test.", b"r" * 20, b"s" * 20, TCP, None, False),  # over 512 octets: TC
        ("apex.test.", b"rr", b"ss", UDP, None, True),  # a DNAME at an apex
        ("apex.test.", b"rr", b"ns1", UDP, None, False),
        ("d.a.b.pz.", b"c", b"b", UDP, None, False),  # a twin: b.pz. is in the question
        ("d.a.b.pz.", b"c", b"e", UDP, None, True),
        ("cp.src.test.", b"a", b"z", UDP, None, False),  # a CNAME chain makes none
    ],
)
def test_which_names_a_template_answers(monkeypatch, parent, first, label, over, local, hit):
    """A fresh label (over `over`) makes the layout of its length; then `label` over UDP
    without EDNS is answered from the template, or (`hit` False) by the full path."""
    full = FullPath(monkeypatch)
    warm = compile_plan(PLAN)
    for name, transport in ((first, over), (label, UDP)):
        wire = query_wire([name, *labels_of(parent)])
        before = full.count
        response = respond(warm, wire, transport, local)
        answered_in_full = full.count > before
        assert response == respond(COLD, wire, transport, local)
    assert answered_in_full is not hit


def _key(origin: str) -> bytes:
    return dns.name.from_text(origin).to_wire().lower()


def _changed(origin: str, text: str) -> tuple[ServePlan, Delta]:
    """PLAN with the zone `origin` holding `text` instead, and the delta to it."""
    new = zone(origin, text)
    zones = tuple(new if z.origin == new.origin else z for z in ZONES)
    plan = ServePlan(zones=zones, views=PLAN.views)
    return plan, Delta(generation=1, zones=(ZoneDelta(_key(origin), new),))


def test_a_change_to_either_zone_drops_the_template():
    """Adding the substitution's name to the target zone, or removing the DNAME from its
    zone, makes the next answer the changed tables' own (delta.py invalidates both)."""
    added = _changed("tgt.test.", TARGET + "r3 A 192.0.2.99\n")
    removed = _changed("src.test.", SOURCE.replace("d DNAME tgt.test.\n", ""))
    for plan, delta in (added, removed):
        tables = compile_plan(PLAN)
        for label in (b"r1", b"r2"):  # r1 makes the template, r2 is answered from it
            wire = query_wire([label, b"d", b"src", b"test"], edns=(1232, False, 0))
            assert respond(tables, wire, Transport.UDP) == respond(COLD, wire, Transport.UDP)
        (key, old), = tables.default.negative.items()
        tables, invalid = apply_delta(tables, delta)
        tables.cache.invalidate(invalid)
        cold = compile_plan(plan, cache_entries=0)
        for label in (b"r3", b"r4"):
            wire = query_wire([label, b"d", b"src", b"test"], edns=(1232, False, 0))
            assert respond(tables, wire, Transport.UDP) == respond(cold, wire, Transport.UDP)
        assert tables.default.negative[key] is not old  # (r4 made a new one)


def test_a_batch_below_a_dname_is_answered_from_the_template(monkeypatch):
    """The UDP listener's batches (answer_after_id): after one name of each length, a
    batch of random names below the DNAME takes no full path, byte for byte as without."""
    full = FullPath(monkeypatch)
    warm = compile_plan(PLAN)
    parent = labels_of("D.src.test.")
    for label in (b"r1", b"r22"):
        respond(warm, query_wire([label, *parent], edns=(1232, True, 0)), UDP)
    batch = [query_wire([label, *parent], edns=(1232, True, 0))[2:]
             for label in (b"s1", b"S2", b"t33", b"x1", b"q\xff")]
    before = full.count
    answers = answer_after_id(warm, batch, UDP)
    assert full.count == before
    assert answers == answer_after_id(COLD, batch, UDP)
