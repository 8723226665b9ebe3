"""DNAME (RFC 6672): a name below a DNAME owner is answered with the DNAME and a CNAME
synthesized from it (owner the name, target the name with the owner replaced by the
DNAME's target, TTL the DNAME's), followed as any CNAME inside the data served here, with
the rcode of the last name; YXDOMAIN when the substitution is longer than a name may be;
data below a DNAME owner is occluded (never served). The answer is kept in the caches per
name, and in NXDOMAIN templates where the substitution's parent is a node of its zone
(test_dname_templates.py proves them). A hypothesis property compares
random names below and around a DNAME with an oracle that dnspython computes."""

import dns.message
import dns.name
import dns.rcode
import dns.zone
from acnsd.dns.core import Outcome, Transport, answer, respond
from acnsd.dns.lookup import MAX_CHAIN
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import ask, check, make_query, tables, zone

EXAMPLE = """
d 300 DNAME target.example.com.
x.d A 192.0.2.99
host.target A 192.0.2.5
mx.target MX 10 host.target
out DNAME other.org.
loop DNAME a.loop
self DNAME self.example.com.
long DNAME {long}.com.
www A 192.0.2.10
""".format(long=".".join(["a" * 63] * 3))
OTHER = "www A 198.51.100.1\n"
T = tables(zone("example.com.", EXAMPLE), zone("other.org.", OTHER))
DNAME = "d.example.com. 300 IN DNAME target.example.com."
SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"


def test_substitution_followed_to_data():
    check(ask(T, "host.d.example.com.", "A"), "NOERROR", True, [
        DNAME,
        "host.d.example.com. 300 IN CNAME host.target.example.com.",
        "host.target.example.com. 3600 IN A 192.0.2.5",
    ])


def test_substitution_to_a_missing_name_is_nxdomain_with_the_chain():
    check(ask(T, "a.b.d.example.com.", "TXT"), "NXDOMAIN", True, [
        DNAME, "a.b.d.example.com. 300 IN CNAME a.b.target.example.com.",
    ], [SOA])


def test_additional_data_of_the_last_rrset():
    r = ask(T, "mx.d.example.com.", "MX")
    assert [rrset.name.to_text() for rrset in r.additional] == ["host.target.example.com."]


def test_occluded_data_is_not_served():
    """RFC 6672 §2.4 (Knot DNS serves it when its semantic checks are soft; NSD refuses
    the zone; acnsd check warns)."""
    check(ask(T, "x.d.example.com.", "A"), "NXDOMAIN", True, [
        DNAME, "x.d.example.com. 300 IN CNAME x.target.example.com.",
    ], [SOA])


def test_the_owner_itself_is_not_substituted():
    check(ask(T, "d.example.com.", "DNAME"), "NOERROR", True, [DNAME])
    check(ask(T, "d.example.com.", "ANY"), "NOERROR", True, [DNAME])
    check(ask(T, "d.example.com.", "A"), "NOERROR", True, [], [SOA])


def test_qtype_cname_and_dname_below_the_owner():
    synthesized = "foo.d.example.com. 300 IN CNAME foo.target.example.com."
    check(ask(T, "foo.d.example.com.", "CNAME"), "NOERROR", True, [DNAME, synthesized])
    check(ask(T, "foo.d.example.com.", "DNAME"), "NXDOMAIN", True, [DNAME, synthesized], [SOA])


def test_into_another_zone_served_here():
    check(ask(T, "www.out.example.com.", "A"), "NOERROR", True, [
        "out.example.com. 3600 IN DNAME other.org.",
        "www.out.example.com. 3600 IN CNAME www.other.org.",
        "www.other.org. 3600 IN A 198.51.100.1",
    ])


def test_too_long_a_substitution_is_yxdomain():
    name = "a" * 62 + ".long.example.com."
    response, outcome, _ = respond(T, make_query(name, "A").to_wire(), Transport.UDP)
    assert outcome is Outcome.YXDOMAIN
    r = dns.message.from_wire(response)
    assert r.rcode() == dns.rcode.YXDOMAIN and r.flags & dns.flags.AA
    assert [rrset.name.to_text() for rrset in r.answer] == ["long.example.com."]
    fits = ask(T, "a.long.example.com.", "A")  # to a name no zone here holds: the chain ends
    assert fits.rcode() == dns.rcode.NOERROR and len(fits.answer) == 2


def test_chains_are_bounded_and_loops_cut():
    r = ask(T, "x.loop.example.com.", "A")
    assert r.rcode() == dns.rcode.NOERROR
    assert [rrset.rdtype for rrset in r.answer] == [dns.rdatatype.DNAME] + [
        dns.rdatatype.CNAME] * MAX_CHAIN
    check(ask(T, "x.self.example.com.", "A"), "NOERROR", True, [
        "self.example.com. 3600 IN DNAME self.example.com.",
        "x.self.example.com. 3600 IN CNAME x.self.example.com.",
    ])


def test_dname_at_the_apex():
    t = tables(zone("old.test.", "@ DNAME new.test.\nwww A 192.0.2.1"),
               zone("new.test.", "www A 192.0.2.2"))
    check(ask(t, "www.old.test.", "A"), "NOERROR", True, [
        "old.test. 3600 IN DNAME new.test.",
        "www.old.test. 3600 IN CNAME www.new.test.",
        "www.new.test. 3600 IN A 192.0.2.2",
    ])
    assert ask(t, "old.test.", "SOA").answer


def test_cached_answers_are_per_name_and_case():
    """Asked in several spellings, again and again: each answer is the uncached one of
    fresh tables, with the query's own question."""
    t = tables(zone("example.com.", EXAMPLE), zone("other.org.", OTHER))
    for _ in range(3):
        for name in ("host.d.example.com.", "HoSt.D.example.com.", "other.d.example.com.",
                     "OTHER.d.EXAMPLE.com."):
            wire = make_query(name, "A").to_wire()
            fresh = tables(zone("example.com.", EXAMPLE), zone("other.org.", OTHER))
            assert answer(t, wire, Transport.UDP) == answer(fresh, wire, Transport.UDP)
    assert t.cache.size > 0


def test_nxdomain_templates_below_a_dname_only_where_the_target_parent_is_a_node():
    t = tables(zone("example.com.", EXAMPLE), zone("other.org.", OTHER))
    for i in range(3):  # target.example.com. is a node; x.target.example.com. is none
        for name in (f"r{i}.d.example.com.", f"r{i}.x.d.example.com."):
            r = dns.message.from_wire(answer(t, make_query(name, "A").to_wire(), Transport.UDP))
            assert r.answer[0].to_text() == DNAME
            assert r.rcode() == dns.rcode.NXDOMAIN
    assert list(t.default.negative) == [make_query("d.example.com.", "A").to_wire()[2:]]


# the property: random names below and around a DNAME, with an oracle from dnspython

SOURCE = dns.name.from_text("src.test.")
TARGET = dns.name.from_text("tgt.test.")
TARGETS = ["tgt.test.", "deep.tgt.test.", "w.tgt.test.", "src.test.", "x.src.test.", "org."]
TARGET_TEXT = 'www A 192.0.2.2\na.b A 192.0.2.3\n*.w TXT "w"\n'
labels = st.sampled_from(["www", "a", "b", "x", "w", "d", "Www", "q" * 40, "z" * 63])


def _exists(name: dns.name.Name, origin: dns.name.Name, text: str) -> bool:
    """Whether `name` (in the zone of `origin` with records `text`, no DNAME) is a node,
    an empty non-terminal, or matched by a wildcard (RFC 4592)."""
    z = dns.zone.from_text("$TTL 3600\n" + text, origin=origin, relativize=False,
                           check_origin=False)
    if any(n.is_subdomain(name) for n in z.nodes) or name == origin:
        return True
    encloser = name.parent()
    while not any(n.is_subdomain(encloser) for n in z.nodes) and encloser != origin:
        encloser = encloser.parent()
    return dns.name.from_text("*", encloser) in z.nodes


def _oracle(qname: dns.name.Name, owner: dns.name.Name, target: dns.name.Name,
            source_text: str) -> tuple[str | None, list[str]]:
    """(the rcode, or None when the chain goes on; the answer's first two RRs) as RFC 6672
    §3.2 says, computed with dnspython's names."""
    try:
        new = qname.relativize(owner).concatenate(target)
    except dns.name.NameTooLong:
        return "YXDOMAIN", [f"{owner} 3600 IN DNAME {target}"]
    lines = [f"{owner} 3600 IN DNAME {target}", f"{qname} 3600 IN CNAME {new}"]
    if new == owner:
        return "NOERROR", lines  # the DNAME's owner: NODATA
    if new.is_subdomain(owner):
        return None, lines  # substituted again
    if new.is_subdomain(TARGET):
        return ("NOERROR" if _exists(new, TARGET, TARGET_TEXT) else "NXDOMAIN"), lines
    if new.is_subdomain(SOURCE):
        return ("NOERROR" if _exists(new, SOURCE, source_text) else "NXDOMAIN"), lines
    return "NOERROR", lines  # in no zone served here: the chain ends


@settings(max_examples=200, deadline=None)
@given(st.lists(labels, min_size=1, max_size=4), st.sampled_from(TARGETS),
       st.sampled_from(["d", "@"]))
def test_random_names_below_a_dname(prefix, target, owner_label):
    owner = dns.name.from_text(owner_label, SOURCE)
    source_text = f"{owner_label} DNAME {target}\nwww A 192.0.2.9\n"
    t = tables(zone("src.test.", source_text), zone("tgt.test.", TARGET_TEXT))
    try:
        qname = dns.name.Name([label.lower().encode() for label in prefix]).concatenate(owner)
    except dns.name.NameTooLong:
        return
    rcode, first = _oracle(qname, owner, dns.name.from_text(target), source_text.replace(
        f"{owner_label} DNAME {target}\n", "") if owner_label == "d" else "")
    r = dns.message.from_wire(answer(t, make_query(qname.to_text(), "A").to_wire(),
                                     Transport.TCP))  # (long chains do not fit over UDP)
    got = [line for rrset in r.answer[:2] for line in rrset.to_text().splitlines()]
    assert got[: len(first)] == first
    if rcode is not None:
        assert dns.rcode.to_text(r.rcode()) == rcode


@settings(max_examples=100, deadline=None)
@given(st.lists(labels, max_size=3))
def test_random_names_around_a_dname_are_not_substituted(prefix):
    """Names beside or above the DNAME's owner, and the owner itself, answer as without it."""
    with_dname = tables(zone("src.test.", "x.d DNAME tgt.test.\nwww.d A 192.0.2.9\n"))
    without = tables(zone("src.test.", "www.d A 192.0.2.9\n"))
    qname = dns.name.Name([label.lower().encode() for label in prefix]).concatenate(
        dns.name.from_text("d.src.test."))
    if qname.is_subdomain(dns.name.from_text("x.d.src.test.")):
        return
    wire = make_query(qname.to_text(), "A").to_wire()
    assert answer(with_dname, wire, Transport.UDP) == answer(without, wire, Transport.UDP)
