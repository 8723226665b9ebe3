"""Response rate limiting (dns/rrl.py, Knot DNS's semantics): per network and response
class, `rate` answers a second, the limited ones dropped but every slip-th sent
truncated; random names below one zone share a bucket; memory is a fixed table."""

import ipaddress

import dns.edns
import dns.flags
import dns.message
import dns.rcode
from acnsd.dns.cookies import ServerCookies
from acnsd.dns.core import Clients, Transport, answer_after_id
from acnsd.dns.rrl import RateLimiter

from .zonetext import make_query, tables, zone

Z = zone("example.com.", "www A 192.0.2.10\nsub NS ns.elsewhere.net.")
T = tables(Z)
NOW = 1_700_000_000


def bodies(qnames: list[str], qtype: str = "A") -> tuple[list[bytes], list[bytes | None]]:
    queries = [make_query(q, qtype).to_wire()[2:] for q in qnames]
    return queries, answer_after_id(T, queries, Transport.UDP)


def at(address: str):
    packed = ipaddress.ip_address(address).packed
    return lambda i: packed


def run(limiter: RateLimiter, qnames: list[str], address: str, now: float, qtype: str = "A"):
    queries, answers = bodies(qnames, qtype)
    limiter.limit(queries, answers, at(address), now)
    full = [a for a in answers if a is not None and not a[0] & 0x02]
    truncated = [a for a in answers if a is not None and a[0] & 0x02]
    return full, truncated


def test_a_flood_is_cut_to_the_rate_and_every_slipth_is_truncated():
    limiter = RateLimiter(10, slip=2)
    full, truncated = run(limiter, ["www.example.com."] * 100, "198.51.100.7", 1000.0)
    assert len(full) == 10 and len(truncated) == 45
    assert (limiter.dropped, limiter.slipped) == (45, 45)
    tc = dns.message.from_wire(b"\0\0" + truncated[0])
    assert tc.flags & dns.flags.TC and not tc.answer and not tc.authority
    assert str(tc.question[0].name) == "www.example.com."
    # the same network, another address: the same bucket; half a second later, 5 more
    full, _ = run(limiter, ["www.example.com."] * 100, "198.51.100.200", 1000.5)
    assert len(full) == 5
    # another network is not limited
    full, truncated = run(limiter, ["www.example.com."] * 10, "198.51.101.7", 1000.5)
    assert len(full) == 10 and not truncated


def test_slip_zero_drops_all_and_one_truncates_all():
    for slip, expected in ((0, (90, 0)), (1, (0, 90))):
        limiter = RateLimiter(10, slip=slip)
        run(limiter, ["www.example.com."] * 100, "198.51.100.7", 0.0)
        assert (limiter.dropped, limiter.slipped) == expected


def test_random_names_of_a_zone_share_a_bucket_apart_from_answers():
    """NXDOMAIN for random names counts against the zone; answers are another class."""
    limiter = RateLimiter(10, slip=0)
    names = [f"r{i}.example.com." for i in range(50)]
    full, _ = run(limiter, names, "198.51.100.7", 0.0)
    assert len(full) == 10
    assert all(dns.message.from_wire(b"\0\0" + a).rcode() == dns.rcode.NXDOMAIN for a in full)
    full, _ = run(limiter, ["www.example.com."] * 5, "198.51.100.7", 0.0)
    assert len(full) == 5
    full, _ = run(limiter, [f"r{i}.sub.example.com." for i in range(20)], "198.51.100.7", 0.0)
    assert len(full) == 10  # referrals below one cut: one bucket
    full, _ = run(limiter, [f"r{i}.example.net." for i in range(20)], "198.51.100.7", 0.0)
    assert len(full) == 10  # errors (REFUSED): one bucket per network


def test_ipv6_networks_are_56_bits():
    limiter = RateLimiter(10, slip=0)
    full, _ = run(limiter, ["www.example.com."] * 20, "2001:db8:0:1::1", 0.0)
    assert len(full) == 10
    full, _ = run(limiter, ["www.example.com."] * 20, "2001:db8:0:ff::2", 0.0)
    assert len(full) == 0  # the same /56
    full, _ = run(limiter, ["www.example.com."] * 20, "2001:db8:0:100::1", 0.0)
    assert len(full) == 10


def test_the_table_is_fixed_whatever_the_flood():
    limiter = RateLimiter(1, slip=0, table_size=64)
    for n in range(10):
        run(limiter, [f"w{n}.example.com."] * 3, f"10.{n}.0.1", 0.0, "TXT")
    assert len(limiter._buckets) == 64


def test_limit_one_keeps_the_id():
    limiter = RateLimiter(1, slip=1)
    query = make_query("www.example.com.")
    queries, answers = bodies(["www.example.com."])
    response = query.to_wire()[:2] + answers[0]
    address = ipaddress.ip_address("192.0.2.1").packed
    wire = query.to_wire()
    assert limiter.limit_one(wire, response, address, 0.0) == response
    truncated = limiter.limit_one(wire, response, address, 0.0)
    assert truncated[:2] == response[:2] and dns.message.from_wire(truncated).flags & dns.flags.TC


def test_a_valid_server_cookie_is_never_limited():
    """As Knot DNS: the cookie proves the source, so the answer reflects nothing; a client
    cookie alone or another client's server cookie proves nothing."""
    secrets = ServerCookies(bytes(16))
    here = ipaddress.ip_address("198.51.100.7").packed
    option = secrets.option(b"\x07" * 8, here, NOW)

    def with_cookie(data: bytes) -> bytes:
        q = make_query("www.example.com.")
        q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, data)])
        return q.to_wire()[2:]

    for data, limited in ((option[4:], 0), (option[4:12], 10),
                          (secrets.option(b"\x07" * 8, b"\1\2\3\4", NOW)[4:], 10)):
        limiter = RateLimiter(10, slip=0)
        queries = [with_cookie(data)] * 20
        answers = answer_after_id(T, queries, Transport.UDP)
        limiter.limit(queries, answers, at("198.51.100.7"), 0.0,
                      Clients(secrets, NOW, at("198.51.100.7")))
        assert answers.count(None) == limited
