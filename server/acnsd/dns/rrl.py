"""Response rate limiting over UDP (RRL), with Knot DNS's semantics.

The rule this module owns: which UDP answers go out once they are made. Every answer is
accounted to a bucket keyed by its client's network (the address cut to `ipv4_prefix` or
`ipv6_prefix` bits), its class and a name, as Knot DNS's rrl module keys them:

    class      the answer                                   name
    error      an rcode other than NOERROR and NXDOMAIN     none: one per network
    nxdomain   NXDOMAIN                                     the zone (the SOA's owner)
    nodata     NOERROR, AA, no answer                       the zone (the SOA's owner)
    referral   NOERROR, not AA, no answer                   the cut (the NS owner)
    large      an answer larger than 1024 octets            the question's name
    normal     any other answer                             the question's name

so that a flood of random names below one zone or cut fills one bucket, not one each.
A bucket holds up to `rate` tokens and gains `rate` a second; each answer takes one. An
answer that finds none is limited: dropped, but every `slip`-th limited answer (none
with slip 0), which goes out truncated, the header with TC and the question alone, so
that a real client behind a spoofed network retries over TCP, which is never limited.
A query with a valid server cookie (RFC 7873, cookies.py) is never limited, as in Knot
DNS: the cookie proves its source address is not spoofed, so its answer reflects nothing
(it is checked only for an answer that is over the rate).
The buckets are a table of `table_size` slots found by the key's hash; a key whose slot
holds another takes it over, so memory is fixed whatever the flood (as Knot DNS's hash
table). Time is given in seconds, never read here.

The bucket step costs more than answering a cached query, so it is put off while it
cannot limit anything (the decisions are those of taking every token at once; tested
against that): each network also has a bound, a bucket of `rate` tokens like the others
that gives one for every answer to the network whatever its class, and starts empty
(true of any bucket). A bucket never holds fewer tokens than its network's bound, as it
loses one only when the bound does and both regain `rate` a second. So a batch whose
every network's bound has a token to spare beyond the batch's answers (one more, for
the rounding of floating point) is limited nowhere: its tokens are taken from the
buckets later, in order and at the times they were due, before a batch of the same
network that the bound does not clear, or when too many wait. A bound found a token
more than full (after a pause of the network) shows every bucket of the network full,
whatever the batches waiting would take from them: those are forgotten. A client that
stays below the rate, the usual case, costs a check per batch instead of a step per
answer. Where two keys share a slot, the take-over may happen at another time than
without the wait (the table's price, as a take-over already is).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from .core import Clients
from .wire import MalformedQuery, parse_query

__all__ = ["RateLimiter"]

_LARGE = 1024  # octets: a larger answer is of the class "large"
_TC = 0x02  # in the first octet of the flags
_AA = 0x04
_ERROR, _NXDOMAIN, _NODATA, _REFERRAL, _LARGE_CLASS, _NORMAL = range(6)
_OPT_HEAD = b"\x00\x00\x29"  # the root, type OPT
_NETWORKS = 16384  # client addresses whose network is kept
_KINDS = 16384  # answers whose class and name are kept (bounded: a flood churns it)
_DEFERRED = 16384  # answers of deferred batches held, beyond which they are accounted


class RateLimiter:
    """The buckets of one process, with the counts of limited answers (metrics.py)."""

    def __init__(self, rate: int, slip: int = 2, ipv4_prefix: int = 24, ipv6_prefix: int = 56,
                 table_size: int = 393241) -> None:
        self.settings = (rate, slip, ipv4_prefix, ipv6_prefix, table_size)
        self.rate = float(rate)
        self.slip = slip
        self._prefixes = {4: ipv4_prefix, 16: ipv6_prefix}  # by the address's length
        self._size = table_size
        # slot → [network, kind, tokens, when last taken]: one index per answer
        self._buckets: list[list | None] = [None] * table_size
        # an answer's kind, (class, name), and its hash, by the answer itself: a cached
        # answer is the same object every time, whose hash Python keeps (bounded: emptied
        # when full)
        self._kinds: dict[bytes, tuple[tuple[int, bytes], int]] = {}
        self._networks: dict[bytes, tuple[bytes, int]] = {}  # address → network and its hash
        # network → its bound (module doc): [tokens, when, deferred batches, their answers];
        # a deferred batch: (when, queries, answers, each answer's network or None: one)
        self._bounds: dict[bytes, list] = {}
        self._deferred = 0  # answers held in deferred batches, every network's together
        self._limited = 0  # limited answers so far, for the slip
        self.dropped = 0
        self.slipped = 0

    def limit(self, queries: list[bytes], answers: list[bytes | None],
              address: Callable[[int], bytes], now: float, clients: Clients | None = None,
              peers: Callable[[int], Sequence[bytes]] | None = None) -> None:
        """Limit a batch: each of `answers` (after its ID, None: none) to the query after
        its ID at the same index, whose client's address is address(i), becomes None when
        dropped or the truncated answer when slipped. `clients`: our cookie secrets and the
        time to check server cookies with (None: cookies are off); `peers`: when given,
        peers(n) is the addresses of the first n clients at once. The lists of a batch
        whose step waits are kept (never changed) until it is taken."""
        count = len(answers)
        if not count:
            return
        addresses = [address(i) for i in range(count)] if peers is None else peers(count)
        first = addresses[0]
        if addresses.count(first) == count:  # one client, the usual batch under load
            network = self._networks.get(first) or self._network_of(first)
            bound = self._bounds.get(network[0]) or self._bound(network[0], now)
            if self._spare(bound, count, now):  # the buckets can wait
                self._defer(bound, (now, queries, answers, None), count)
                return
            self._account(network, bound)
            self._take_all(queries, answers, addresses, self._kinds_of(queries, answers),
                           None, network, now, clients)
            return
        networks = list(map(self._networks.get, addresses))
        if None in networks:
            networks = [self._network_of(a) for a in addresses]
        counts = Counter(networks)
        if len(self._bounds) + len(counts) > _NETWORKS:  # bounded: every bound starts again
            self._account_deferred()
            self._bounds.clear()
        bounds = [self._bounds.get(n[0]) or self._bound(n[0], now) for n in counts]
        # every bound takes its network's answers, spare or not (a list, not all()'s stop)
        takes = zip(bounds, counts.values(), strict=True)
        spare = [self._spare(bound, taken, now) for bound, taken in takes]
        if all(spare):
            for bound in bounds:
                self._defer(bound, (now, queries, answers, networks), count)
            return
        for network, bound in zip(counts, bounds, strict=True):
            self._account(network, bound)
        self._take_all(queries, answers, addresses, self._kinds_of(queries, answers),
                       networks, None, now, clients)

    def limit_one(self, query: bytes, response: bytes | None, address: bytes, now: float,
                  clients: Clients | None = None) -> bytes | None:
        """`limit` for one whole query and response (their ID first)."""
        if response is None or len(response) <= 12:
            return response
        answers: list[bytes | None] = [response[2:]]
        self.limit([query[2:]], answers, lambda index: address, now, clients)
        limited = answers[0]
        return None if limited is None else response[:2] + limited

    def _kinds_of(self, queries: list[bytes], answers: list[bytes | None]
                  ) -> list[tuple[tuple[int, bytes], int] | None]:
        """Each answer's kind and its hash (None: no answer)."""
        kinds = self._kinds
        known = list(map(kinds.get, answers))
        if None not in known:
            return known
        for i, body in enumerate(answers):
            if known[i] is None and body is not None:
                kind = _kind(body, queries[i])
                if len(kinds) >= _KINDS:
                    kinds.clear()
                known[i] = kinds[body] = kind, hash(kind)
        return known

    def _network_of(self, address: bytes) -> tuple[bytes, int]:
        """The client's network and its hash."""
        known = self._networks.get(address)
        if known is None:
            network = self._network(address)
            if len(self._networks) >= _NETWORKS:
                self._networks.clear()
            known = self._networks[address] = network, hash(network)
        return known

    def _bound(self, network: bytes, now: float) -> list:
        """A new bound for `network`, empty: true of any bucket (bounded: when there are
        too many, every bound starts again)."""
        if len(self._bounds) >= _NETWORKS:
            self._account_deferred()
            self._bounds.clear()
        bound = self._bounds[network] = [0.0, now, [], 0]
        return bound

    def _spare(self, bound: list, taken: int, now: float) -> bool:
        """Whether a network's bound (module doc) has a token to spare beyond the `taken`
        answers of a batch: then none of them can be limited. Takes them from the bound; a
        bound found a token more than full forgets the network's deferred batches."""
        rate = self.rate
        tokens = bound[0] + (now - bound[1]) * rate
        if tokens >= rate + 1.0:  # every bucket of the network is full
            if bound[3]:
                self._deferred -= bound[3]
                bound[2], bound[3] = [], 0
            tokens = rate
        elif tokens > rate:
            tokens = rate
        bound[0] = tokens - taken if tokens > taken else 0.0
        bound[1] = now
        return tokens >= taken + 1.0

    def _defer(self, bound: list, batch: tuple, count: int) -> None:
        """Keep a batch of `count` answers whose tokens its network's bound has spared."""
        bound[2].append(batch)
        bound[3] += count
        self._deferred += count
        if self._deferred > _DEFERRED:
            self._account_deferred()

    def _account_deferred(self) -> None:
        """Take the tokens of every deferred batch from the buckets."""
        for network, bound in self._bounds.items():
            if bound[3]:
                self._account((network, hash(network)), bound)

    def _account(self, network: tuple[bytes, int], bound: list) -> None:
        """Take the tokens of the deferred batches of `network` from its buckets, in the
        order they came: none is limited (their bound said so)."""
        if not bound[3]:
            return
        name, mixed_network = network
        size = self._size
        for now, queries, answers, networks in bound[2]:
            for i, known in enumerate(self._kinds_of(queries, answers)):
                if known is not None and (networks is None or networks[i][0] == name):
                    self._take(name, known[0], (known[1] ^ mixed_network) % size, now)
        self._deferred -= bound[3]
        bound[2], bound[3] = [], 0

    def _take_all(self, queries: list[bytes], answers: list[bytes | None],
                  addresses: Sequence[bytes], kinds: list, networks: list | None,
                  one: tuple[bytes, int] | None, now: float, clients: Clients | None) -> None:
        """The bucket step for every answer of a batch, in order (`limit`); `networks`:
        each answer's network and its hash, or None: all are `one`."""
        buckets, size, rate = self._buckets, self._size, self.rate
        if networks is None:
            network, mixed_network = one  # type: ignore[misc]
        for i, known in enumerate(kinds):
            if known is None:
                continue
            kind, mixed = known
            if networks is not None:
                network, mixed_network = networks[i]
            # _take, written out: this loop runs for every answer of a batch
            slot = (mixed ^ mixed_network) % size
            bucket = buckets[slot]
            if bucket is None or bucket[1] != kind or bucket[0] != network:  # a new key, or
                buckets[slot] = [network, kind, rate - 1.0, now]  # one that took the slot
                continue
            tokens = bucket[2] + (now - bucket[3]) * rate
            if tokens > rate:
                tokens = rate
            bucket[3] = now
            if tokens >= 1.0:
                bucket[2] = tokens - 1.0
            else:
                bucket[2] = tokens
                if not _proven(queries[i], addresses[i], clients):
                    answers[i] = self._limited_answer(answers[i])  # type: ignore[arg-type]

    def _network(self, address: bytes) -> bytes:
        """The client's network: its address cut to the prefix of its family."""
        prefix = self._prefixes.get(len(address), 0)
        whole, bits = divmod(prefix, 8)
        if not bits:
            return address[:whole]
        return address[:whole] + bytes([address[whole] & (0xFF00 >> bits) & 0xFF])

    def _take(self, network: bytes, kind: tuple[int, bytes], slot: int, now: float) -> None:
        """Take a token from the bucket of (network, kind) at `slot`, as `_take_all` does
        for an answer, for one whose bound spared it (so it has one)."""
        bucket = self._buckets[slot]
        rate = self.rate
        if bucket is None or bucket[1] != kind or bucket[0] != network:  # a new key
            self._buckets[slot] = [network, kind, rate - 1.0, now]
            return
        tokens = bucket[2] + (now - bucket[3]) * rate
        if tokens > rate:
            tokens = rate
        bucket[2] = tokens - 1.0 if tokens >= 1.0 else tokens  # (always one, by the bound)
        bucket[3] = now

    def _limited_answer(self, body: bytes) -> bytes | None:
        """None (dropped), or every slip-th time the truncated answer: TC, the question
        alone."""
        self._limited += 1
        if not self.slip or self._limited % self.slip:
            self.dropped += 1
            return None
        self.slipped += 1
        end = _name_end(body)
        if end is None:  # no question: the header alone
            return bytes([body[0] | _TC, body[1]]) + bytes(8)
        return bytes([body[0] | _TC, body[1]]) + b"\x00\x01" + bytes(6) + body[10 : end + 4]


def _proven(query: bytes, address: bytes, clients: Clients | None) -> bool:
    """Whether `query` (after its ID) holds a valid server cookie for `address`."""
    if clients is None or b"\x00\x0a" not in query:  # no COOKIE option code, no cookie
        return False
    try:
        edns = parse_query(b"\0\0" + query).edns
    except MalformedQuery:
        return False
    cookie = None if edns is None else edns.cookie
    return cookie is not None and clients.cookies.valid(cookie, address, clients.now)


def _name_end(body: bytes) -> int | None:
    """Where the question's name ends in an answer after its ID; None: no question."""
    end = 10
    try:
        length = body[end]
        while length:
            end += length + 1
            length = body[end]
    except IndexError:
        return None
    return end + 1 if end + 5 <= len(body) else None


def _kind(body: bytes, query: bytes) -> tuple[int, bytes]:
    """An answer's (class, name) (module doc); the answer and its query are after their
    ID. The question's name ends where it ends in the query: before its type and class
    at the query's end, or before those and an option-less OPT (the usual shapes, found
    without reading the name's labels)."""
    size = len(query)
    if query[8:10] == b"\x00\x00":
        end = size - 4
    elif query[8:10] == b"\x00\x01" and query[size - 11 : size - 8] == _OPT_HEAD and query[
            size - 2 :] == b"\x00\x00":
        end = size - 15
    else:
        end = _name_end(body)
    if end is None or end < 11 or body[end - 1] or body[10:end] != query[10:end]:
        end = _name_end(body)  # not the usual shape after all
    if end is None or len(body) < 12:
        return _ERROR, b""
    rcode = body[1] & 0x0F
    if rcode == 0:
        if body[4] or body[5]:
            return (_LARGE_CLASS if len(body) > _LARGE else _NORMAL), body[10:end].lower()
        return (_NODATA if body[0] & _AA else _REFERRAL), _authority_owner(body, end)
    if rcode == 3:
        return _NXDOMAIN, _authority_owner(body, end)
    return _ERROR, b""


def _authority_owner(body: bytes, end: int) -> bytes:
    """The owner of the first authority record (the SOA of a negative answer, the NS of a
    referral), lower-cased, when it is written as a pointer into the question as we write
    it; else the question's name. `end` is where the question's name ends."""
    at = end + 4  # the first record after the question
    if at + 1 < len(body) and body[at] >= 0xC0:
        start = ((body[at] & 0x3F) << 8 | body[at + 1]) - 2  # the message's offset → body's
        if 10 <= start < end:
            return body[start:end].lower()
    return body[10:end].lower()
