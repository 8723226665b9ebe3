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
"""

from __future__ import annotations

from collections.abc import Callable

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
        self._limited = 0  # limited answers so far, for the slip
        self.dropped = 0
        self.slipped = 0

    def limit(self, queries: list[bytes], answers: list[bytes | None],
              address: Callable[[int], bytes], now: float,
              clients: Clients | None = None) -> None:
        """Limit a batch: each of `answers` (after its ID, None: none) to the query after
        its ID at the same index, whose client's address is address(i), becomes None when
        dropped or the truncated answer when slipped. `clients`: our cookie secrets and the
        time to check server cookies with (None: cookies are off)."""
        kinds, networks, buckets = self._kinds, self._networks, self._buckets
        size, rate = self._size, self.rate
        last = network = None  # the previous query's client and network: often the same
        mixed_network = 0
        for i, body in enumerate(answers):
            if body is None:
                continue
            known = kinds.get(body)
            if known is None:
                kind = _kind(body, queries[i])
                known = kind, hash(kind)
                if len(kinds) >= _KINDS:
                    kinds.clear()
                kinds[body] = known
            kind, mixed = known
            client = address(i)
            if client != last:
                last = client
                known_network = networks.get(client)
                if known_network is None:
                    network = self._network(client)
                    known_network = network, hash(network)
                    if len(networks) >= _NETWORKS:
                        networks.clear()
                    networks[client] = known_network
                network, mixed_network = known_network
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
                if not _proven(queries[i], client, clients):
                    answers[i] = self._limited_answer(body)

    def limit_one(self, query: bytes, response: bytes | None, address: bytes, now: float,
                  clients: Clients | None = None) -> bytes | None:
        """`limit` for one whole query and response (their ID first)."""
        if response is None or len(response) <= 12:
            return response
        body = response[2:]
        if self._take(self._network(address), _kind(body, query[2:]), now) or _proven(
                query[2:], address, clients):
            return response
        limited = self._limited_answer(body)
        return None if limited is None else response[:2] + limited

    def _network(self, address: bytes) -> bytes:
        """The client's network: its address cut to the prefix of its family."""
        prefix = self._prefixes.get(len(address), 0)
        whole, bits = divmod(prefix, 8)
        if not bits:
            return address[:whole]
        return address[:whole] + bytes([address[whole] & (0xFF00 >> bits) & 0xFF])

    def _take(self, network: bytes, kind: tuple[int, bytes], now: float) -> bool:
        """Take a token from the bucket of (network, kind): False when it has none (as
        `limit` does, for one answer)."""
        slot = (hash(kind) ^ hash(network)) % self._size
        bucket = self._buckets[slot]
        rate = self.rate
        if bucket is None or bucket[1] != kind or bucket[0] != network:  # a new key
            self._buckets[slot] = [network, kind, rate - 1.0, now]
            return True
        tokens = bucket[2] + (now - bucket[3]) * rate
        if tokens > rate:
            tokens = rate
        bucket[3] = now
        if tokens >= 1.0:
            bucket[2] = tokens - 1.0
            return True
        bucket[2] = tokens
        return False

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
