"""A zone's RRsets packed in one octet string: what a plan, the cache of zone files read and
the loaded configuration hold of each zone between loads (a zone of 9 records is ~350
octets so, against ~1.9 KiB as WireRRsets); the RRsets are decoded (`unpack_rrsets`) only
to compile a zone or build one anew.

The rule this module owns, the format: RRset after RRset, in the order given (the plan's
order is what the compiler and the answers follow: kept exactly),

    owner · type u16 · class u16 · TTL u32 · count u16 · count × (rdlength u16 · rdata)

with the owner in uncompressed wire form as spelled, or the one octet 0xC0 (a compression
pointer's tag, which no uncompressed name starts with) for the owner of the RRset before
it; rdata in wire form, names uncompressed; integers big-endian. An RR's octets in the
store's RR format (model/journal.py) are the owner, the 8 octets after it and one rdata
with its rdlength: the store reads a packed zone without decoding it (`rrsets`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

import dns.rdatatype

from .wire import WireName, WireRRset, wire_rrset

__all__ = ["LAYOUTS", "SAME_OWNER", "pack_rrsets", "rdata_parts", "rrsets", "unpack_rrsets"]

SAME_OWNER = 0xC0
_SAME_OWNER = b"\xc0"
_U16 = struct.Struct(">H")
_PACK_H = _U16.pack
_UNPACK_HH = struct.Struct(">H6xH").unpack_from  # type, then count after class and TTL
# RFC 3597 §4: the RFC 1035 types whose rdata names the renderer may compress, and how
# their rdata splits into names ("name") and fixed octets (a count), as WireRRset keeps it
# (wire.encode_rdata).
LAYOUTS: dict[int, tuple[str | int, ...]] = {
    **{t: ("name",) for t in (dns.rdatatype.NS, dns.rdatatype.MD, dns.rdatatype.MF,
                              dns.rdatatype.CNAME, dns.rdatatype.MB, dns.rdatatype.MG,
                              dns.rdatatype.MR, dns.rdatatype.PTR)},
    dns.rdatatype.SOA: ("name", "name", 20),
    dns.rdatatype.MX: (2, "name"),
    dns.rdatatype.MINFO: ("name", "name"),
}


def pack_rrsets(rrsets: Iterable[WireRRset]) -> tuple[bytes, int]:
    """The packed form of `rrsets`, and the number of RRs in them."""
    parts: list[bytes] = []
    append = parts.append
    last = None
    records = 0
    for rrset in rrsets:
        owner = rrset.owner.wire
        append(_SAME_OWNER if owner == last else owner)
        last = owner
        append(rrset.fixed)
        rdatas = rrset.rdatas
        append(_PACK_H(len(rdatas)))
        records += len(rdatas)
        for rdata in rdatas:
            if rdata.__class__ is bytes:  # rdlength and rdata already
                append(rdata)  # type: ignore[arg-type]
            else:
                raw = b"".join(p if p.__class__ is bytes else p.wire  # type: ignore[union-attr]
                               for p in rdata)
                append(_PACK_H(len(raw)))
                append(raw)
    return b"".join(parts), records


def rrsets(content: bytes) -> Iterator[tuple[bytes, bytes, list[bytes]]]:
    """Each packed RRset's owner (wire form as spelled), type, class and TTL (8 octets, as
    WireRRset.fixed) and rdatas (each with its rdlength), in order."""
    pos, end = 0, len(content)
    owner = b""
    while pos < end:
        if content[pos] == SAME_OWNER:
            pos += 1
        else:
            stop = _name_end(content, pos)
            owner = content[pos:stop]
            pos = stop
        fixed = content[pos : pos + 8]
        count = _U16.unpack_from(content, pos + 8)[0]
        pos += 10
        rdatas = []
        for _ in range(count):
            stop = pos + 2 + (content[pos] << 8 | content[pos + 1])
            rdatas.append(content[pos:stop])
            pos = stop
        yield owner, fixed, rdatas


def unpack_rrsets(content: bytes) -> tuple[WireRRset, ...]:
    """The RRsets `content` packs, in order (new objects: the caller may link them). One
    WireName per owner and rdata name spelling."""
    names: dict[bytes, WireName] = {}
    found = []
    pos, end = 0, len(content)
    owner = None
    while pos < end:
        if content[pos] == SAME_OWNER:
            pos += 1
        else:
            stop = _name_end(content, pos)
            owner = _name(content[pos:stop], names)
            pos = stop
        rdtype, count = _UNPACK_HH(content, pos)
        fixed = content[pos : pos + 8]
        pos += 10
        layout = LAYOUTS.get(rdtype)
        rdatas: list[bytes | tuple[bytes | WireName, ...]] = []
        for _ in range(count):
            stop = pos + 2 + (content[pos] << 8 | content[pos + 1])
            if layout is None:
                rdatas.append(content[pos:stop])
            else:
                rdatas.append(rdata_parts(layout, content, pos + 2, stop, names))
            pos = stop
        found.append(wire_rrset(owner, rdtype, fixed, tuple(rdatas)))  # type: ignore[arg-type]
    return tuple(found)


def rdata_parts(layout: tuple[str | int, ...], buf: bytes, pos: int, end: int,
                names: dict[bytes, WireName]) -> tuple[bytes | WireName, ...]:
    """The rdata in buf[pos:end] (a type of LAYOUTS, laid out as `layout`) as a WireRRset
    holds it: its names apart, one WireName per spelling in `names`. ValueError when it
    does not fill exactly its rdlength."""
    parts: list[bytes | WireName] = []
    for part in layout:
        if part == "name":
            stop = _name_end(buf, pos)
            parts.append(_name(buf[pos:stop], names))
        else:
            stop = pos + part  # type: ignore[operator]
            parts.append(buf[pos:stop])
        pos = stop
    if pos != end:
        raise ValueError("an rdata of the wrong length")
    return tuple(parts)


def _name(wire: bytes, names: dict[bytes, WireName]) -> WireName:
    name = names.get(wire)
    if name is None:
        name = names[wire] = WireName(wire)
    return name


def _name_end(buf: bytes, pos: int) -> int:
    """Where the uncompressed name starting at `pos` ends; ValueError for another."""
    try:
        while buf[pos]:
            if buf[pos] > 63:
                raise ValueError("a compressed or invalid name")
            pos += buf[pos] + 1
    except IndexError:
        raise ValueError("a name runs past the end") from None
    return pos + 1
