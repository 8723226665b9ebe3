"""TSIG (RFC 8945) on the primary side: a signed query checked, its answers signed.

The rules owned here: a query's TSIG RR is checked with dnspython against the configured
keys (§5.2): an unknown key or algorithm is BADKEY, a MAC that does not verify is BADSIG,
a time outside the fudge is BADTIME; the response to a failed check is NOTAUTH with a
TSIG RR carrying the error, unsigned (empty MAC) for BADKEY and BADSIG, signed for
BADTIME with our time in its other data (§5.2.3). Every message of an answer is signed;
the first digests the query's MAC, each next one the previous message's MAC (§5.3.1,
dnspython's multi-message context). The TSIG RR's owner is written uncompressed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

from ..model.types import TsigKey

__all__ = ["FUDGE", "Checked", "Keyring", "Signer", "check", "keyring", "notauth", "strip"]

FUDGE = 300  # seconds of clock difference allowed (RFC 8945 §10: 300 recommended)
Keyring = dict[dns.name.Name, dns.tsig.Key]
_TSIG_FIXED = struct.Struct(">HHIH")
_UNPACK_H = struct.Struct(">H").unpack_from
_PACK_H = struct.Struct(">H").pack


def keyring(keys: Iterable[TsigKey]) -> Keyring:
    """The configured keys, by their name as the TSIG RR's owner."""
    ring = {}
    for key in keys:
        name = dns.name.from_text(key.name)
        ring[name] = dns.tsig.Key(name, key.secret, dns.name.from_text(key.algorithm))
    return ring


@dataclass
class Signer:
    """Signs the messages of one answer with the query's key (RFC 8945 §5.3)."""

    key: dns.tsig.Key
    request_mac: bytes
    original_id: int
    _ctx: Any = field(default=None, repr=False)

    def sign(self, wire: bytes, now: int, error: int = 0, other: bytes = b"",
             time_signed: int | None = None) -> bytes:
        """`wire` with its TSIG RR added; each call continues the previous one's digest."""
        rdata = dns.rdtypes.ANY.TSIG.TSIG(
            dns.rdataclass.ANY, dns.rdatatype.TSIG, self.key.algorithm,
            now if time_signed is None else time_signed, FUDGE, b"", self.original_id,
            error, other)  # fmt: skip
        first = self._ctx is None
        signed, self._ctx = dns.tsig.sign(wire, self.key, rdata, rdata.time_signed,
                                          self.request_mac if first else None, self._ctx,
                                          True)
        return _with_tsig(wire, self.key.name, signed)


@dataclass(frozen=True)
class Checked:
    """A query as read by dnspython (`message`: read without its key, so that responses
    made from it are signed here, not by dnspython): `error` 0 and `signer` set when it
    was signed with a configured key and verified; `error` a TSIG error (BADKEY, BADSIG,
    BADTIME) when the check failed; neither for an unsigned query."""

    message: dns.message.Message
    key_name: str | None = None  # the TSIG RR's owner, as text
    signer: Signer | None = None
    error: int = 0
    time_signed: int = 0  # the query's, for a BADTIME answer


def check(wire: bytes, ring: Keyring) -> Checked:
    """Read `wire` and check its TSIG RR, if any (RFC 8945 §5.2). Raises
    dns.exception.DNSException for a query dnspython cannot read (FORMERR)."""
    message = dns.message.from_wire(wire, keyring=False)
    if not message.had_tsig:
        return Checked(message)
    owner = message.keyname
    rdata = message.tsig[0]  # type: ignore[index]
    name = owner.to_text()
    key = ring.get(owner)
    if key is None or key.algorithm != rdata.algorithm:
        return Checked(message, name, error=dns.rcode.BADKEY, time_signed=rdata.time_signed)
    signer = Signer(key, rdata.mac, rdata.original_id)
    try:
        dns.message.from_wire(wire, keyring=key)
    except dns.tsig.BadTime:
        return Checked(message, name, signer, dns.rcode.BADTIME, rdata.time_signed)
    except (dns.tsig.BadSignature, dns.tsig.BadKey, dns.tsig.BadAlgorithm):
        return Checked(message, name, error=dns.rcode.BADSIG, time_signed=rdata.time_signed)
    return Checked(message, name, signer)


def notauth(checked: Checked, now: int) -> bytes:
    """The NOTAUTH response to a query whose TSIG check failed, with the TSIG error
    (§5.2): signed for BADTIME, else with an empty MAC."""
    response = dns.message.make_response(checked.message)
    response.set_rcode(dns.rcode.NOTAUTH)
    wire = response.to_wire()
    query_rdata = checked.message.tsig[0]  # type: ignore[index]
    if checked.error == dns.rcode.BADTIME and checked.signer is not None:
        return checked.signer.sign(wire, now, dns.rcode.BADTIME, struct.pack(">Q", now)[2:],
                                   checked.time_signed)
    rdata = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY, dns.rdatatype.TSIG, query_rdata.algorithm, now, FUDGE, b"",
        query_rdata.original_id, checked.error, b"")  # fmt: skip
    return _with_tsig(wire, checked.message.keyname, rdata)


def strip(wire: bytes) -> bytes:
    """The query without its TSIG RR (the last record; ARCOUNT one less)."""
    counts = [_UNPACK_H(wire, offset)[0] for offset in (4, 6, 8, 10)]
    pos = 12
    for _ in range(counts[0]):
        pos = _skip_name(wire, pos) + 4
    last = pos
    for _ in range(sum(counts[1:])):
        last = pos
        pos = _skip_name(wire, pos)
        pos += 10 + _UNPACK_H(wire, pos + 8)[0]
    return wire[:10] + _PACK_H(counts[3] - 1) + wire[12:last]


def _skip_name(wire: bytes, pos: int) -> int:
    while True:
        length = wire[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0:
            return pos + 2
        pos += length + 1


def _with_tsig(wire: bytes, owner: dns.name.Name, rdata: dns.rdtypes.ANY.TSIG.TSIG) -> bytes:
    data = rdata.to_wire()
    record = owner.to_wire() + _TSIG_FIXED.pack(dns.rdatatype.TSIG, dns.rdataclass.ANY, 0,
                                                len(data)) + data  # type: ignore[operator]
    arcount = _UNPACK_H(wire, 10)[0] + 1
    return wire[:10] + _PACK_H(arcount) + wire[12:] + record
