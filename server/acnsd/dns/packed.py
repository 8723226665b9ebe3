"""A zone's RRsets packed in one octet string: what a plan, the cache of zone files read and
the loaded configuration hold of each zone between loads (a zone of 9 records is ~350
octets so, against ~1.9 KiB as WireRRsets); the RRsets are decoded (`unpack_rrsets`) only
to compile a zone or build one anew.

The rule this module owns, the format: RRset after RRset, in the order given (the plan's
order is what the compiler and the answers follow: kept exactly),

    owner length u8 · owner · type u16 · class u16 · TTL u32 · size u32 ·
    rdatas: size octets of (rdlength u16 · rdata) each

with the owner in uncompressed wire form as spelled, or, its length 0 (no name is), none:
the owner of the RRset before it; rdata in wire form, names uncompressed; integers
big-endian. An RR's octets in the store's RR format (model/journal.py) are the owner, the
8 octets after it and one rdata with its rdlength: the store reads a packed zone without
decoding it (`rrsets`), and a walk over the RRsets skips each one's rdatas at once (the
tables check every zone's owners when it enters them: compiler.zone_problems). Packed
zones laid end to end are one packed zone.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

import dns.rdatatype

from .wire import WireName, WireRRset, wire_rrset

__all__ = ["LAYOUTS", "name_end", "owner_rrsets", "pack_rdata", "pack_rrsets", "rdata_parts",
           "rdatas", "rrsets", "unpack_rrsets"]

_SAME_OWNER = b"\x00"
_LENGTHS = [bytes([n]) for n in range(256)]
_PACK_H = struct.Struct(">H").pack
_PACK_I = struct.Struct(">I").pack
_UNPACK_I = struct.Struct(">I").unpack_from
_UNPACK_HEAD = struct.Struct(">H6xI").unpack_from  # type, then (after class and TTL) size
# RFC 3597 §4: the RFC 1035 types whose rdata names the renderer may compress, and how
# their rdata splits into names ("name") and fixed octets (a count), as WireRRset keeps it
# (wire.encode_rdata).
_ONE_NAME: tuple[str | int, ...] = ("name",)
_MX: tuple[str | int, ...] = (2, "name")
LAYOUTS: dict[int, tuple[str | int, ...]] = {
    **{t: _ONE_NAME for t in (dns.rdatatype.NS, dns.rdatatype.MD, dns.rdatatype.MF,
                              dns.rdatatype.CNAME, dns.rdatatype.MB, dns.rdatatype.MG,
                              dns.rdatatype.MR, dns.rdatatype.PTR)},
    dns.rdatatype.SOA: ("name", "name", 20),
    dns.rdatatype.MX: _MX,
    dns.rdatatype.MINFO: ("name", "name"),
}


def pack_rrsets(rrsets: Iterable[WireRRset], after: bytes | None = None) -> tuple[bytes, int]:
    """The packed form of `rrsets`, and the number of RRs in them; `after`: the owner of
    the packed RRset they are to follow, if any."""
    parts: list[bytes] = []
    append = parts.append
    last = after
    records = 0
    for rrset in rrsets:
        owner = rrset.owner.wire
        if owner == last:
            append(_SAME_OWNER)
        else:
            append(_LENGTHS[len(owner)])
            append(owner)
            last = owner
        append(rrset.fixed)
        rdatas = rrset.rdatas
        records += len(rdatas)
        if len(rdatas) == 1:  # (most RRsets)
            block = rdatas[0]
            if block.__class__ is not bytes:
                block = pack_rdata(block)  # type: ignore[arg-type]
        else:
            block = b"".join([rdata if rdata.__class__ is bytes else pack_rdata(rdata)
                              for rdata in rdatas])  # type: ignore[misc]
        append(_PACK_I(len(block)))  # type: ignore[arg-type]
        append(block)  # type: ignore[arg-type]
    return b"".join(parts), records


def pack_rdata(parts: tuple[bytes | WireName, ...]) -> bytes:
    """An rdata kept in parts (as a WireRRset keeps it), with its rdlength."""
    raw = b"".join([p if p.__class__ is bytes else p.wire for p in parts])  # type: ignore
    return _PACK_H(len(raw)) + raw


def rrsets(content: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """Each packed RRset's owner (wire form as spelled), type, class and TTL (8 octets, as
    WireRRset.fixed) and rdatas (each with its rdlength, laid end to end: `rdatas`), in
    order."""
    found = []
    pos, end = 0, len(content)
    owner = b""
    while pos < end:
        length = content[pos]
        if length:
            owner = content[pos + 1 : pos + 1 + length]
        pos += 1 + length
        start = pos + 12
        stop = start + _UNPACK_I(content, pos + 8)[0]
        found.append((owner, content[pos : pos + 8], content[start:stop]))
        pos = stop
    return found


def owner_rrsets(content: bytes, key: bytes) -> tuple[bytes, list[tuple[int, int, int]]]:
    """The packed RRsets whose owner is `key` (lower-cased wire form), when each owner's
    RRsets are together (as a zone file's are: the walk stops after them): the owner as
    spelled, and each one's type and where its octets after the owner field start and
    end, in order (none: b"", [])."""
    found: list[tuple[int, int, int]] = []
    pos, end = 0, len(content)
    at, owner = False, b""
    while pos < end:
        length = content[pos]
        if length:
            if found:
                break
            owner = content[pos + 1 : pos + 1 + length]
            at = owner.lower() == key
        pos += 1 + length
        stop = pos + 12 + _UNPACK_I(content, pos + 8)[0]
        if at:
            found.append((content[pos] << 8 | content[pos + 1], pos, stop))
        pos = stop
    return (owner, found) if found else (b"", found)


def rdatas(block: bytes) -> list[bytes]:
    """The rdatas (each with its rdlength) laid end to end in `block`."""
    found = []
    pos, end = 0, len(block)
    while pos < end:
        stop = pos + 2 + (block[pos] << 8 | block[pos + 1])
        found.append(block[pos:stop])
        pos = stop
    return found


def unpack_rrsets(content: bytes) -> tuple[WireRRset, ...]:
    """The RRsets `content` packs, in order (new objects: the caller may link them). One
    WireName per owner and rdata name spelling."""
    names: dict[bytes, WireName] = {}
    found = []
    pos, end = 0, len(content)
    owner = None
    while pos < end:
        length = content[pos]
        if length:
            owner = _name(content[pos + 1 : pos + 1 + length], names)
        pos += 1 + length
        rdtype, size = _UNPACK_HEAD(content, pos)
        fixed = content[pos : pos + 8]
        pos += 12
        block_end = pos + size
        layout = LAYOUTS.get(rdtype)
        rdatas: list[bytes | tuple[bytes | WireName, ...]] = []
        while pos < block_end:
            stop = pos + 2 + (content[pos] << 8 | content[pos + 1])
            if layout is None:
                rdatas.append(content[pos:stop])
            elif layout is _ONE_NAME:  # (packed from a valid name: no need to walk it)
                rdatas.append((_name(content[pos + 2 : stop], names),))
            elif layout is _MX:
                rdatas.append((content[pos + 2 : pos + 4], _name(content[pos + 4 : stop], names)))
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
            stop = name_end(buf, pos)
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


def name_end(buf: bytes, pos: int) -> int:
    """Where the uncompressed name starting at `pos` ends; ValueError for another."""
    try:
        while buf[pos]:
            if buf[pos] > 63:
                raise ValueError("a compressed or invalid name")
            pos += buf[pos] + 1
    except IndexError:
        raise ValueError("a name runs past the end") from None
    return pos + 1
