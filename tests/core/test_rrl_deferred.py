"""Response rate limiting puts the bucket step off while a network's bound shows that
nothing can be limited (dns/rrl.py): its decisions are those of the limiter that takes
every answer's token at once, over any sequence of batches, clients and times."""

import ipaddress

from acnsd.dns.core import Transport, answer_after_id
from acnsd.dns.rrl import RateLimiter
from hypothesis import given, settings
from hypothesis import strategies as st

from .zonetext import make_query, tables, zone

T = tables(zone("example.com.", "www A 192.0.2.10\nmail A 192.0.2.11\nsub NS ns.elsewhere.net."))
# an answer of each class: normal (two names), NXDOMAIN (two names, one bucket), NODATA,
# referral, error (REFUSED)
QUESTIONS = [("www.example.com.", "A"), ("mail.example.com.", "A"), ("r1.example.com.", "A"),
             ("r2.example.com.", "A"), ("www.example.com.", "TXT"), ("x.sub.example.com.", "A"),
             ("example.net.", "A")]
QUERIES = [make_query(name, qtype).to_wire()[2:] for name, qtype in QUESTIONS]
ANSWERS = answer_after_id(T, QUERIES, Transport.UDP)
CLIENTS = [ipaddress.ip_address(a).packed for a in (
    "198.51.100.7", "198.51.100.8", "198.51.101.7", "203.0.113.1", "2001:db8::1",
    "2001:db8:0:ff::2")]  # three IPv4 networks (two clients in one), one IPv6 network


class Exact(RateLimiter):
    """The bucket step for every answer of every batch, as it is made: nothing waits."""

    def _spare(self, bound, taken, now):
        super()._spare(bound, taken, now)
        return False


def collision_free_size(limiter: type[RateLimiter]) -> int:
    """A table size where no two keys of these clients and answers share a slot."""
    probe = limiter(1)
    keys = {(probe._network_of(c), kind) for c in CLIENTS
            for kind in probe._kinds_of(QUERIES, list(ANSWERS))}
    size = 1009
    while len({(kind[1] ^ net[1]) % size for net, kind in keys}) < len(keys):
        size += 2
    return size


SIZE = collision_free_size(RateLimiter)
batches = st.lists(
    st.tuples(
        st.one_of(st.sampled_from([0.0, 1e-3, 0.05, 0.2, 0.5, 0.999, 1.0, 1.5, 3.0]),
                  st.floats(0, 2)),  # seconds since the batch before
        st.lists(st.tuples(st.integers(0, len(CLIENTS) - 1) | st.just(0),
                           st.integers(0, len(QUERIES) - 1) | st.just(0),
                           st.booleans()),  # client, question, no answer (dropped)
                 min_size=1, max_size=12),
        st.booleans()),  # the addresses at once (peers) or one by one
    max_size=40)


@settings(max_examples=300, deadline=None)
@given(rate=st.integers(1, 6), slip=st.integers(0, 3), sequence=batches)
def test_deferred_decisions_are_those_of_the_exact_step(rate, slip, sequence):
    deferring, exact = RateLimiter(rate, slip, table_size=SIZE), Exact(rate, slip, table_size=SIZE)
    now = 1000.0
    for pause, entries, at_once in sequence:
        now += pause
        queries = [QUERIES[q] for _, q, _ in entries]
        addresses = [CLIENTS[c] for c, _, _ in entries]
        peers = (lambda n, every=tuple(addresses): every[:n]) if at_once else None
        outcomes = []
        for limiter in (deferring, exact):
            answers = [None if none else ANSWERS[q] for _, q, none in entries]
            limiter.limit(queries, answers, addresses.__getitem__, now, None, peers)
            outcomes.append(answers)
        assert outcomes[0] == outcomes[1]
    assert (deferring.dropped, deferring.slipped) == (exact.dropped, exact.slipped)


def run(limiter: RateLimiter, now: float, count: int) -> int:
    """`count` answers to www.example.com. for one client; how many were limited."""
    answers = [ANSWERS[0]] * count
    limiter.limit([QUERIES[0]] * count, answers, lambda i: CLIENTS[0], now)
    return answers.count(None)


def test_a_deferred_batch_takes_its_tokens_before_the_next():
    """Five answers wait (the bound has ten tokens), five more find the bound short and
    are taken after them, emptying the bucket: the next answer is limited."""
    limiter = RateLimiter(10, slip=0)
    assert run(limiter, 0.0, 1) == 0  # the bound starts empty: taken at once
    assert run(limiter, 2.0, 5) == 0 and limiter._deferred == 5
    assert run(limiter, 2.0, 5) == 0 and limiter._deferred == 0
    assert run(limiter, 2.0, 1) == 1


def test_a_pause_forgets_what_waited_and_too_many_waiting_are_taken():
    limiter = RateLimiter(1000, slip=0)
    run(limiter, 0.0, 1)
    run(limiter, 5.0, 10)
    assert limiter._deferred == 10
    run(limiter, 10.0, 10)  # every bucket of the network is full again: the ten are moot
    assert limiter._deferred == 10
    many = RateLimiter(10**9, slip=0)
    run(many, 0.0, 1)
    for i in range(600):  # waiting answers are bounded
        run(many, 1.0 + i * 1e-9, 128)
    assert many._deferred <= 16384 + 128
