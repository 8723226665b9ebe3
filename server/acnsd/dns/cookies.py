"""DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018.

The rule this module owns: what a COOKIE option in a query may hold and what ours says.
A query's option is a client cookie of 8 octets, optionally followed by a server cookie
of 8 to 32 (RFC 7873 §4): any other length is malformed (FORMERR, §5.2.2). Our server
cookie is RFC 9018's: version 1, three reserved octets, a 32-bit timestamp in seconds
and the SipHash-2-4, under our 16-octet secret, of the client cookie, those 8 octets and
the client's IP address (§4.4). A server cookie is valid when it has that form, its hash
matches under the current secret or the previous one (so that a rotation loses no
client), and its timestamp is at most an hour old and at most five minutes ahead
(§4.3). Time is given, never read: this module imports no clock.
"""

from __future__ import annotations

import struct

from siphash24 import siphash24

__all__ = ["COOKIE", "OUR_OPTION_SIZE", "SECRET_SIZE", "ServerCookies", "is_malformed"]

COOKIE = 10  # the EDNS option code (RFC 7873 §4)
SECRET_SIZE = 16  # SipHash-2-4's key
CLIENT_SIZE = 8
_VERSION = b"\x01\x00\x00\x00"  # version 1, reserved (RFC 9018 §4.2)
_LIFETIME = 3600  # a server cookie older than this is not valid (RFC 9018 §4.3)
_AHEAD = 300  # nor one this far in the future
_PACK_TIME = struct.Struct(">I").pack
_UNPACK_TIME = struct.Struct(">I").unpack_from
_OPTION_HEAD = struct.pack(">HH", COOKIE, CLIENT_SIZE + 16)
OUR_OPTION_SIZE = len(_OPTION_HEAD) + CLIENT_SIZE + 16  # the option we append: 28 octets


def is_malformed(data: bytes) -> bool:
    """Whether a query's COOKIE option data is malformed (RFC 7873 §5.2.2): not a client
    cookie alone (8 octets) nor one followed by a server cookie of 8 to 32 octets."""
    return len(data) != CLIENT_SIZE and not CLIENT_SIZE + 8 <= len(data) <= CLIENT_SIZE + 32


class ServerCookies:
    """Our secrets: the current one makes server cookies, the previous one (after a
    rotation) still validates those it made."""

    __slots__ = ("secret", "previous", "require")

    def __init__(self, secret: bytes, previous: bytes | None = None, require: bool = False):
        if len(secret) != SECRET_SIZE or previous is not None and len(previous) != SECRET_SIZE:
            raise ValueError(f"a cookie secret has {SECRET_SIZE} octets")
        self.secret = secret
        self.previous = previous
        # BADCOOKIE over UDP to a client without a valid server cookie (RFC 7873 §5.2.3)
        self.require = require

    def option(self, data: bytes, address: bytes, now: int) -> bytes:
        """Our COOKIE option in answer to the query's `data` from `address` (packed IP):
        its client cookie and a fresh server cookie stamped `now`."""
        client = data[:CLIENT_SIZE]
        head = client + _VERSION + _PACK_TIME(now & 0xFFFFFFFF)
        return _OPTION_HEAD + head + siphash24(head + address, key=self.secret).digest()

    def valid(self, data: bytes, address: bytes, now: int) -> bool:
        """Whether the query's COOKIE option `data` holds a server cookie we made for this
        client cookie and `address`, still fresh at `now`."""
        if len(data) != CLIENT_SIZE + 16 or data[8:12] != _VERSION:
            return False
        age = (now - _UNPACK_TIME(data, 12)[0]) & 0xFFFFFFFF  # serial arithmetic (RFC 1982)
        if age > _LIFETIME and age < 0x1_0000_0000 - _AHEAD:
            return False
        head, digest = data[:16], data[16:]
        if siphash24(head + address, key=self.secret).digest() == digest:
            return True
        previous = self.previous
        return previous is not None and siphash24(head + address, key=previous).digest() == digest
