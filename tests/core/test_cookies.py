"""DNS Cookies (RFC 7873, server cookies of RFC 9018): the option's forms, our server
cookie (RFC 9018's test vector), malformed → FORMERR with OPT, BADCOOKIE only when
required over UDP, answers cached without giving one client's cookie to another."""

import ipaddress

import dns.edns
import dns.message
import dns.rcode
import pytest
from acnsd.dns.cookies import ServerCookies
from acnsd.dns.core import Clients, Transport, answer, answer_after_id
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import make_query, tables, zone

SECRET = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
OTHER = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
NOW = 1559731985
Z = zone("example.com.", "www A 192.0.2.10\n*.wild TXT hello")


def packed(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


def clients(address: str = "198.51.100.100", now: int = NOW,
            cookies: ServerCookies | None = None) -> Clients:
    return Clients(cookies or ServerCookies(SECRET), now, lambda i: packed(address))


def cookie_query(qname: str, data: bytes, qtype: str = "A") -> bytes:
    q = make_query(qname, qtype)
    q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, data)])
    return q.to_wire()


def ask(t, wire: bytes, transport=Transport.UDP, who=None) -> dns.message.Message:
    return dns.message.from_wire(answer(t, wire, transport, None, None, who or clients()))


def our_cookie(response: dns.message.Message) -> bytes:
    found = [o.to_wire() for o in response.options if o.otype == dns.edns.COOKIE]
    assert len(found) == 1
    return found[0]


def test_rfc9018_test_vector():
    """RFC 9018 Appendix A.1: the server cookie of a client cookie from 198.51.100.100."""
    option = ServerCookies(SECRET).option(bytes.fromhex("2464c4abcf10c957"),
                                          packed("198.51.100.100"), NOW)
    assert option[4:].hex() == "2464c4abcf10c957" "010000005cf79f111f8130c3eee29480"


def test_validity_freshness_address_and_rotation():
    client = bytes.fromhex("2464c4abcf10c957")
    here = packed("198.51.100.100")
    data = ServerCookies(SECRET).option(client, here, NOW)[4:]
    current = ServerCookies(SECRET)
    assert current.valid(data, here, NOW)
    assert current.valid(data, here, NOW + 3600) and not current.valid(data, here, NOW + 3601)
    assert current.valid(data, here, NOW - 300) and not current.valid(data, here, NOW - 301)
    assert not current.valid(data, packed("198.51.100.101"), NOW)
    assert not current.valid(data[:8], here, NOW)  # a client cookie alone
    assert not ServerCookies(OTHER).valid(data, here, NOW)
    assert ServerCookies(OTHER, previous=SECRET).valid(data, here, NOW)  # rotated


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
def test_a_client_cookie_gets_ours_and_the_answer(transport):
    client = b"\x01" * 8
    r = ask(tables(Z), cookie_query("www.example.com.", client), transport)
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    data = our_cookie(r)
    assert data[:8] == client and len(data) == 24
    assert ServerCookies(SECRET).valid(data, packed("198.51.100.100"), NOW)


def test_a_valid_server_cookie_gets_a_fresh_one():
    t = tables(Z)
    first = our_cookie(ask(t, cookie_query("www.example.com.", b"\x02" * 8)))
    again = our_cookie(ask(t, cookie_query("www.example.com.", first), who=clients(now=NOW + 60)))
    assert again[:8] == first[:8] and again != first
    assert ServerCookies(SECRET).valid(again, packed("198.51.100.100"), NOW + 60)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=48))
def test_malformed_cookies_are_formerr_with_opt(data):
    r = ask(tables(Z), cookie_query("www.example.com.", data))
    malformed = not (len(data) == 8 or 16 <= len(data) <= 40)
    assert (r.rcode() == dns.rcode.FORMERR) == malformed
    assert r.edns == 0
    if malformed:
        assert not r.answer and not [o for o in r.options if o.otype == dns.edns.COOKIE]


def test_two_cookie_options_are_malformed():
    q = make_query("www.example.com.", "A")
    cookie = dns.edns.GenericOption(dns.edns.COOKIE, b"\x03" * 8)
    q.use_edns(0, 0, 1232, options=[cookie, cookie])
    assert ask(tables(Z), q.to_wire()).rcode() == dns.rcode.FORMERR


def test_cookies_off_ignore_the_option():
    t = tables(Z)
    r = dns.message.from_wire(answer(t, cookie_query("www.example.com.", b"\x01" * 3),
                                     Transport.UDP))
    assert r.rcode() == dns.rcode.NOERROR and r.answer and not r.options


@pytest.mark.parametrize("data", [b"\x04" * 8, b"\x04" * 8 + b"\x01" + b"\0" * 15])
def test_required_cookies_badcookie_over_udp_only(data):
    """Required: a UDP query without a valid server cookie gets BADCOOKIE and our cookie
    (RFC 7873 §5.2.3-4), which then gets the answer; TCP is answered anyway."""
    strict = clients(cookies=ServerCookies(SECRET, require=True))
    t = tables(Z)
    r = ask(t, cookie_query("www.example.com.", data), who=strict)
    assert r.rcode() == dns.rcode.BADCOOKIE and not r.answer
    assert str(r.question[0].name) == "www.example.com."
    fresh = our_cookie(r)
    assert ask(t, cookie_query("www.example.com.", fresh), who=strict).answer
    assert ask(t, cookie_query("www.example.com.", data), Transport.TCP, strict).answer
    plain = dns.message.from_wire(answer(t, make_query("www.example.com.").to_wire(),
                                         Transport.UDP, None, None, strict))
    assert plain.answer  # a client without cookies is answered


@pytest.mark.parametrize("qname", ["www.example.com.", "WwW.ExAmple.com.", "nx.example.com.",
                                   "a.wild.example.com.", "example.net."])
def test_cached_answers_carry_each_clients_own_cookie(qname):
    """The answers to cookie queries are cached (keyed without the cookie; a name that
    does not exist, by an NXDOMAIN template of its parent), and a hit carries the asking
    client's cookie: equal to the uncached answer but for it."""
    t = tables(Z)
    for i in range(4):  # past the doorkeeper for the names that do not exist
        who = clients(f"192.0.2.{i}", NOW + i)
        client = bytes([i]) * 8
        wire = cookie_query(qname, client)
        r = ask(t, wire, who=who)
        data = our_cookie(r)
        assert data[:8] == client
        assert ServerCookies(SECRET).valid(data, packed(f"192.0.2.{i}"), NOW + i)
        assert str(r.question[0].name) == qname
        fresh = dns.message.from_wire(answer(tables(Z), wire, Transport.UDP, None, None, who))
        assert r.to_wire() == fresh.to_wire()
    assert any(key.endswith(b"\xff\xff") for key in (*t.default.udp_cache, *t.default.negative))


def test_a_batch_answers_each_query_with_its_clients_cookie():
    t = tables(Z)
    addresses = ["192.0.2.1", "192.0.2.2", "2001:db8::1"]
    queries = [cookie_query("www.example.com.", bytes([i]) * 8)[2:] for i in range(3)] * 2
    who = Clients(ServerCookies(SECRET), NOW, lambda i: packed(addresses[i % 3]))
    answers = answer_after_id(t, queries, Transport.UDP, None, None, who)
    for i, body in enumerate(answers):
        data = our_cookie(dns.message.from_wire(b"\0\0" + body))
        assert data[:8] == bytes([i % 3]) * 8
        assert ServerCookies(SECRET).valid(data, packed(addresses[i % 3]), NOW)


@pytest.mark.parametrize("rdata", [b"\x00\x0a", b"\x00\x0a\x00", b"\x00\x0a\x00\x09" + b"\1" * 8])
def test_a_cut_cookie_option_is_formerr(rdata):
    """An OPT whose COOKIE option is cut short or runs past it (RFC 6891 §6.1.2)."""
    wire = make_query("www.example.com.", "A", edns=None).to_wire()
    wire = wire[:11] + b"\x01" + wire[12:] + b"\x00\x00\x29\x04\xd0\0\0\0\0" + bytes(
        [0, len(rdata)]) + rdata
    assert ask(tables(Z), wire).rcode() == dns.rcode.FORMERR
