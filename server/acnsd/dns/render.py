"""Writing a response once: the one encoder of the answering core.

The rule this module owns: name compression (RFC 1035 §4.1.4; every suffix of the
question's name is a pointer target, so an owner equal to the qname is `C0 0C` and
echoes the client's case), the size limit and TC (RFC 2181 §9: required data that does
not fit sets TC and the response keeps only the question and the OPT; optional additional
data that does not fit is left out silently), and the OPT RR (RFC 6891 §6.1.2) with its
Extended DNS Error option when an answer has one (RFC 8914).
"""

from __future__ import annotations

import functools
import struct

from .wire import HEADER_SIZE, Query, WireName, WireRRset

__all__ = [
    "EDE_NOT_AUTHORITATIVE", "EDE_PROHIBITED", "Additional", "Answer", "negative_tail", "opt_rr",
    "put_rrset", "render", "render_negative", "with_ede",
]  # fmt: skip

TC = 0x0200
_PACK_H = struct.Struct(">H").pack
_PACK_HEADER = struct.Struct(">HHHHHH").pack_into
_PACK_HEADER_BYTES = struct.Struct(">HHHHHH").pack
_PACK_OPT = struct.Struct(">HHIH").pack
_QNAME_POINTER = b"\xc0\x0c"
_EDE = 15  # RFC 8914 option code
EDE_PROHIBITED = 18  # RFC 8914 §4.19: e.g. a zone transfer refused
EDE_NOT_AUTHORITATIVE = 20  # RFC 8914 §4.21: the name is in no zone served here
NEGATIVE_TAILS = 32  # question lengths per zone whose negative SOA encoding is kept

Answer = list[tuple[WireName | None, WireRRset]]  # owner None: the qname itself
Additional = list[tuple[WireRRset, bool]]  # (RRset, mandatory)


def opt_rr(payload: int, ext_rcode: int, do: bool, nsid: bytes | None) -> bytes:
    """Our OPT pseudo-RR: payload size, upper rcode bits, version 0, DO echoed, NSID."""
    options = b"" if nsid is None else struct.pack(">HH", 3, len(nsid)) + nsid
    ttl = (ext_rcode << 24) | (0x8000 if do else 0)
    return b"\x00" + _PACK_OPT(41, payload, ttl, len(options)) + options


@functools.lru_cache(maxsize=64)  # our few OPT RRs (DO, NSID) × the few codes answered
def with_ede(opt: bytes, code: int) -> bytes:
    """Our OPT RR `opt` (opt_rr's) with an Extended DNS Error option of INFO-CODE `code`
    appended, without EXTRA-TEXT (as Knot DNS and NSD send it)."""
    rdlength = (opt[9] << 8) | opt[10]
    return opt[:9] + _PACK_H(rdlength + 6) + opt[11:] + struct.pack(">HHH", _EDE, 2, code)


def _put_name(out: bytearray, name: WireName, table: dict[bytes, int]) -> None:
    pos = len(out)
    key = name.key
    for start in name.offsets[:-1]:  # the root is never compressed: a pointer is longer
        pointer = table.get(key[start:])
        if pointer is not None:
            out += name.wire[:start]
            out += _PACK_H(0xC000 | pointer)
            return
        if pos + start < 0x4000:
            table[key[start:]] = pos + start
    out += name.wire


def _put_rrset(
    out: bytearray, owner: WireName | None, rrset: WireRRset, table: dict[bytes, int]
) -> int:
    fixed = rrset.fixed
    for rdata in rrset.rdatas:
        if owner is None:
            out += _QNAME_POINTER
        else:
            _put_name(out, owner, table)
        out += fixed
        if rdata.__class__ is bytes:
            out += rdata
        else:
            mark = len(out)
            out += b"\x00\x00"
            for part in rdata:
                if part.__class__ is bytes:
                    out += part
                else:
                    _put_name(out, part, table)
            out[mark : mark + 2] = _PACK_H(len(out) - mark - 2)
    return len(rrset.rdatas)


put_rrset = _put_rrset  # for the transfer messages (xfr/messages.py), which compress alike


def render(
    wire: bytes,
    query: Query,
    flags: int,
    answer: Answer,
    authority: list[WireRRset],
    additional: Additional,
    limit: int,
    opt: bytes | None,
) -> bytes:
    """The response to `wire` (whose question it copies): header with `flags` (rcode
    included), the three sections, then `opt`; within `limit` octets."""
    qend = query.question_end
    out = bytearray(wire[:qend])
    table = {}
    key = query.key
    for o in query.offsets[:-1]:
        table[key[o:]] = HEADER_SIZE + o
    budget = limit - (len(opt) if opt is not None else 0)
    an = ns = ar = 0
    truncated = False
    for owner, rrset in answer:
        an += _put_rrset(out, owner, rrset, table)
        if len(out) > budget:
            truncated = True
            break
    if not truncated:
        for rrset in authority:
            ns += _put_rrset(out, rrset.owner, rrset, table)
            if len(out) > budget:
                truncated = True
                break
    if not truncated:
        for rrset, mandatory in additional:
            mark = len(out)
            count = _put_rrset(out, rrset.owner, rrset, table)
            if len(out) > budget:
                if mandatory:
                    truncated = True
                else:
                    del out[mark:]
                break
            ar += count
    if truncated:
        del out[qend:]
        an = ns = ar = 0
        flags |= TC
    if opt is not None:
        out += opt
        ar += 1
    _PACK_HEADER(out, 0, (wire[0] << 8) | wire[1], flags, 1, an, ns, ar)
    return bytes(out)


def _negative_tail(soa: WireRRset, qend: int, apex_at: int) -> bytes:
    out = bytearray(qend)
    key = soa.owner.key
    table = {key[start:]: apex_at + start for start in soa.owner.offsets[:-1]}
    _put_rrset(out, soa.owner, soa, table)
    return bytes(out[qend:])


def negative_tail(soa: WireRRset, tails: dict[int, bytes], qend: int) -> bytes:
    """The negative SOA RR of a response whose question ends at `qend`, its names
    compressed against the apex at the end of the question; kept in `tails` (at most
    NEGATIVE_TAILS question ends per zone, so that memory stays flat under any flood)."""
    tail = tails.get(qend)
    if tail is None:
        tail = _negative_tail(soa, qend, qend - 4 - len(soa.owner.key))
        if len(tails) < NEGATIVE_TAILS:
            tails[qend] = tail
    return tail


def render_negative(
    wire: bytes,
    query: Query,
    flags: int,
    soa: WireRRset,
    tails: dict[int, bytes],
    limit: int,
    opt: bytes | None,
) -> bytes:
    """NXDOMAIN or NODATA with only the negative SOA (RFC 2308 §2): the SOA RR, its names
    compressed against the apex inside the question, depends only on where the question
    ends, so it is encoded once per question length (negative_tail)."""
    qend = query.question_end
    tail = negative_tail(soa, tails, qend)
    if opt is None:
        opt, ar = b"", 0
    else:
        ar = 1
    if qend + len(tail) + len(opt) > limit:
        return render(wire, query, flags, [], [soa], [], limit, opt or None)
    head = _PACK_HEADER_BYTES((wire[0] << 8) | wire[1], flags, 1, 0, 1, ar)
    return head + wire[HEADER_SIZE:qend] + tail + opt
