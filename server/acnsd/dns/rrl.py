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
The buckets are a table of `table_size` slots found by the key's hash; a key whose slot
holds another takes it over, so memory is fixed whatever the flood (as Knot DNS's hash
table). Time is given in seconds, never read here.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RateLimiter"]

_LARGE = 1024  # octets: a larger answer is of the class "large"
_TC = 0x02  # in the first octet of the flags
_AA = 0x04
_ERROR, _NXDOMAIN, _NODATA, _REFERRAL, _LARGE_CLASS, _NORMAL = range(6)


class RateLimiter:
    """The buckets of one process, with the counts of limited answers (metrics.py)."""

    def __init__(self, rate: int, slip: int = 2, ipv4_prefix: int = 24, ipv6_prefix: int = 56,
                 table_size: int = 393241) -> None:
        self.settings = (rate, slip, ipv4_prefix, ipv6_prefix, table_size)
        self.rate = float(rate)
        self.slip = slip
        self._shift = {4: 32 - ipv4_prefix, 16: 128 - ipv6_prefix}
        self._size = table_size
        self._keys: list[object] = [None] * table_size
        self._tokens = [0.0] * table_size
        self._stamps = [0.0] * table_size
        self._limited = 0  # limited answers so far, for the slip
        self.dropped = 0
        self.slipped = 0

    def limit(self, queries: list[bytes], answers: list[bytes | None],
              address: Callable[[int], bytes], now: float) -> None:
        """Limit a batch: each of `answers` (after its ID, None: none) to the query after
        its ID at the same index, whose client's address is address(i), becomes None when
        dropped or the truncated answer when slipped."""
        for i, body in enumerate(answers):
            if body is not None and len(body) > 10:
                if not self._allowed(body, address(i), now):
                    answers[i] = self._limited_answer(body)

    def limit_one(self, response: bytes | None, address: bytes, now: float) -> bytes | None:
        """`limit` for one whole response (its ID first)."""
        if response is None or len(response) <= 12 or self._allowed(response[2:], address, now):
            return response
        limited = self._limited_answer(response[2:])
        return None if limited is None else response[:2] + limited

    def _allowed(self, body: bytes, address: bytes, now: float) -> bool:
        """Take a token from the bucket of this answer (after its ID)."""
        end = 10  # the question's name ends ...
        try:
            length = body[end]
            while length:
                end += length + 1
                length = body[end]
        except IndexError:
            return True  # no question to account it by: not one of our answers
        end += 1
        rcode = body[1] & 0x0F
        if rcode == 0:
            if body[4] or body[5]:
                cls = _LARGE_CLASS if len(body) > _LARGE else _NORMAL
                name = body[10:end].lower()
            else:
                cls = _NODATA if body[0] & _AA else _REFERRAL
                name = _authority_owner(body, end)
        elif rcode == 3:
            cls, name = _NXDOMAIN, _authority_owner(body, end)
        else:
            cls, name = _ERROR, b""
        network = int.from_bytes(address, "big") >> self._shift.get(len(address), 0)
        key = (network, len(address), cls, name)
        slot = hash(key) % self._size
        rate = self.rate
        if self._keys[slot] != key:  # a new key (or one that took its slot over)
            self._keys[slot] = key
            self._tokens[slot] = rate - 1.0
            self._stamps[slot] = now
            return True
        tokens = self._tokens[slot] + (now - self._stamps[slot]) * rate
        if tokens > rate:
            tokens = rate
        self._stamps[slot] = now
        if tokens >= 1.0:
            self._tokens[slot] = tokens - 1.0
            return True
        self._tokens[slot] = tokens
        return False

    def _limited_answer(self, body: bytes) -> bytes | None:
        """None (dropped), or every slip-th time the truncated answer: TC, the question
        alone."""
        self._limited += 1
        if not self.slip or self._limited % self.slip:
            self.dropped += 1
            return None
        self.slipped += 1
        end = 10
        while body[end]:
            end += body[end] + 1
        return bytes([body[0] | _TC, body[1]]) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + body[
            10 : end + 5]


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
