"""NXDOMAIN templates answer queries with a DNS Cookie too (cookies on): a random name
below a parent that has a template is answered byte for byte as the full path answers
it, ending with the client's own fresh cookie; cookies required and no valid server
cookie is still BADCOOKIE, and a cookie of another shape takes the full path."""

import ipaddress

import dns.edns
import dns.message
import dns.rcode
from acnsd.dns import core
from acnsd.dns.compiler import compile_plan
from acnsd.dns.cookies import ServerCookies
from acnsd.dns.core import Clients, Transport, answer, answer_after_id
from acnsd.dns.plan import ServePlan
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import zone

SECRET = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
NOW = 1_700_000_000
PLAN = ServePlan(zones=(zone("example.com.", "www A 192.0.2.10\na.b A 192.0.2.11"),))
COLD = compile_plan(PLAN, cache_entries=0)  # no cache, no templates: every query in full
HERE, THERE = (ipaddress.ip_address(a).packed for a in ("198.51.100.7", "2001:db8::53"))
CLIENT = bytes.fromhex("2464c4abcf10c957")


def cookie_query(qname: str, data: bytes, payload: int = 1232, do: bool = False) -> bytes:
    q = dns.message.make_query(qname, "A", use_edns=0, payload=payload, want_dnssec=do)
    q.use_edns(0, dns.flags.DO if do else 0, payload,
               options=[dns.edns.GenericOption(dns.edns.COOKIE, data)])
    return q.to_wire()


def clients(address: bytes, require: bool = False) -> Clients:
    return Clients(ServerCookies(SECRET, None, require), NOW, lambda index: address)


def ours(address: bytes) -> bytes:
    """A valid server cookie of ours for CLIENT at `address` (what a client echoes)."""
    return ServerCookies(SECRET).option(CLIENT, address, NOW - 10)[4:]


def test_a_template_answers_the_next_random_name_with_a_cookie(monkeypatch):
    t = compile_plan(PLAN)
    who = clients(HERE)
    first = cookie_query("r1.b.example.com.", CLIENT)
    assert answer(t, first, Transport.UDP, None, None, who) == answer(
        COLD, first, Transport.UDP, None, None, who)
    assert t.cache.templates == 1
    wires = [cookie_query(f"{label}.b.example.com.", data)
             for label in ("r2", "R3", "x" * 63) for data in (CLIENT, ours(HERE))]
    expected = [answer(COLD, wire, Transport.UDP, None, None, who) for wire in wires]
    monkeypatch.setattr(core, "_respond", None)  # the full path would fail now
    for wire, response in zip(wires, expected, strict=True):
        assert answer(t, wire, Transport.UDP, None, None, who) == response
        message = dns.message.from_wire(response)
        assert message.rcode() == dns.rcode.NXDOMAIN
        cookie = next(o for o in message.options if o.otype == dns.edns.COOKIE).to_wire()
        assert cookie[:8] == CLIENT and ServerCookies(SECRET).valid(cookie, HERE, NOW)
    bodies = [wire[2:] for wire in wires]  # a batch, each query its own client's cookie
    assert answer_after_id(t, bodies, Transport.UDP, None, None, who) == [
        e[2:] for e in expected]


shapes = st.tuples(
    st.sampled_from([CLIENT, ours(HERE), ours(THERE), CLIENT + bytes(8), CLIENT + bytes(32),
                     CLIENT[:7]]),  # alone, ours, another's, other lengths, malformed
    st.sampled_from([512, 1232, 4096]),
    st.booleans(),  # DO
    st.booleans(),  # cookies required
    st.sampled_from([HERE, THERE]),
    st.sampled_from(list(Transport)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(shapes, st.sampled_from(["r1", "R2", "www", "WWW", "a", "q" * 63]),
                          st.sampled_from(["b.example.com.", "example.com.", "www.example.com."])),
                min_size=1, max_size=8))
def test_templates_change_no_cookie_answer(cases):
    t = compile_plan(PLAN)
    for (data, payload, do, require, address, transport), label, parent in cases:
        wire = cookie_query(f"{label}.{parent}", data, payload, do)
        who = clients(address, require)
        expected = answer(COLD, wire, transport, None, None, who)
        for _ in range(2):  # the first may make the template, the second uses it
            assert answer(t, wire, transport, None, None, who) == expected
