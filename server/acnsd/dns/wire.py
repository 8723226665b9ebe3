"""The DNS wire format as the hot path sees it (RFC 1035 §4, RFC 6891 §6).

The rule this module owns: a query is decoded by hand, and only as far as answering needs,
header, the one question and the OPT pseudo-RR; anything malformed on the way raises
MalformedQuery (FORMERR). On the output side it owns the pre-encoded forms the renderer
writes: names with their lower-cased key and label offsets (for lookups and compression),
and RRsets with the fixed part of every RR and rdata split into literal bytes and
compressible names (RFC 3597 §4: only the RFC 1035 types' embedded names may be
compressed; SRV targets and the like are written whole).
"""

from __future__ import annotations

import ipaddress
import struct

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = [
    "HEADER_SIZE",
    "Edns",
    "MalformedQuery",
    "Query",
    "WireName",
    "LinkedRRset",
    "WireRRset",
    "decode_rrset",
    "encode_rdata",
    "encode_rrset",
    "message_edns",
    "NAME_TEXT_SPECIAL",
    "name_text",
    "pack_fixed",
    "parse_query",
    "rdata_targets",
    "read_question_name",
    "wire_name",
    "wire_rrset",
]

HEADER_SIZE = 12
OPT = 41
TSIG = 250
SOA = dns.rdatatype.SOA
IXFR = dns.rdatatype.IXFR
NSID = 3  # RFC 5001 option code
COOKIE = 10  # RFC 7873 option code
IN = dns.rdataclass.IN
_MAX_NAME = 255
_UNPACK_HEADER = struct.Struct(">HHHHHH").unpack_from
_UNPACK_HH = struct.Struct(">HH").unpack_from
_UNPACK_RR = struct.Struct(">HHIH").unpack_from
_PACK_RR_FIXED = struct.Struct(">HHI").pack
_PACK_H = struct.Struct(">H").pack
_PACK_I = struct.Struct(">I").pack
_UNPACK_I = struct.Struct(">I").unpack_from
_UNPACK_FIXED = struct.Struct(">HHI").unpack
_PLAIN_OPT_HEAD = b"\x00\x00\x29"  # root owner, type OPT
_COOKIE_CODE = b"\x00\x0a"  # the COOKIE option's code, packed
_PLAIN_OPTS: dict[bytes, Edns] = {}  # decoded option-less OPT RRs, by their 11 octets

# The types whose targets' addresses go in the additional section (RFC 1035 §3.3.9,
# §3.3.11; RFC 2782).
_WITH_TARGETS = frozenset({dns.rdatatype.NS, dns.rdatatype.MX, dns.rdatatype.SRV})
# RFC 3597 §4: the RR types of RFC 1035 whose rdata names may be compressed.
_COMPRESSIBLE = frozenset(
    {
        dns.rdatatype.NS,
        dns.rdatatype.MD,
        dns.rdatatype.MF,
        dns.rdatatype.CNAME,
        dns.rdatatype.SOA,
        dns.rdatatype.MB,
        dns.rdatatype.MG,
        dns.rdatatype.MR,
        dns.rdatatype.PTR,
        dns.rdatatype.MINFO,
        dns.rdatatype.MX,
    }
)


class MalformedQuery(Exception):
    """The query cannot be decoded; the answer is FORMERR (RFC 1035 §4.1.1)."""


class Edns:
    """The query's OPT pseudo-RR (RFC 6891 §6.1.3), as far as answering needs it.
    Shared between queries: never modified."""

    __slots__ = ("payload", "version", "do", "nsid", "cookie")

    def __init__(self, payload: int, version: int, do: bool, nsid: bool,
                 cookie: bytes | None = None):
        self.payload = payload  # requestor's UDP payload size
        self.version = version
        self.do = do  # RFC 3225 DNSSEC OK, echoed
        self.nsid = nsid  # RFC 5001: the client asked for our NSID
        # RFC 7873: the COOKIE option's data (b"" when there are several: malformed)
        self.cookie = cookie


class Query:
    """A decoded query: header flags, the one question, and the OPT if any.

    `qname` is the name exactly as received (its case is echoed, 0x20); `key` is the same
    wire name lower-cased, the form every table is keyed by; `offsets` are the positions
    in `key` where each suffix starts, from the full name down to the root. `plain` says
    nothing follows the question but an option-less OPT: a shape the cache may keep.
    `cookie_at`, for a query whose one record is an OPT holding only a COOKIE option, is
    where that OPT's RDLENGTH is: what comes before it is the query as the cache keys it
    (core.py), 0 for any other query.
    Plain slots, not a frozen dataclass: one is built per query on the slow path.
    """

    __slots__ = (
        "flags",
        "qname",
        "key",
        "offsets",
        "qtype",
        "qclass",
        "edns",
        "plain",
        "question_end",
        "signed",
        "cookie_at",
    )

    def __init__(
        self,
        flags: int,
        qname: bytes,
        offsets: tuple[int, ...],
        qtype: int,
        qclass: int,
        edns: Edns | None,
        plain: bool,
        signed: bool = False,
        cookie_at: int = 0,
    ):
        self.flags = flags
        self.qname = qname
        self.key = qname.lower()  # length octets are below 64: only letters change
        self.offsets = offsets
        self.qtype = qtype
        self.qclass = qclass
        self.edns = edns
        self.plain = plain
        self.question_end = HEADER_SIZE + len(qname) + 4
        self.signed = signed  # a TSIG RR ends the additional section (RFC 8945)
        self.cookie_at = cookie_at


def read_question_name(wire: bytes) -> tuple[bytes, tuple[int, ...]]:
    """The question's name, uncompressed (a pointer here could only point backwards into the
    header), with the offsets of its suffixes relative to its first octet."""
    pos = HEADER_SIZE
    offsets = []
    append = offsets.append
    try:
        length = wire[pos]
        while length:
            if length > 63:
                raise MalformedQuery("compressed or extended label in the question")
            append(pos - HEADER_SIZE)
            pos += length + 1
            length = wire[pos]
    except IndexError:
        raise MalformedQuery("question name runs past the message") from None
    append(pos - HEADER_SIZE)
    pos += 1
    if pos - HEADER_SIZE > _MAX_NAME:
        raise MalformedQuery("question name longer than 255 octets")
    return wire[HEADER_SIZE:pos], tuple(offsets)


def _skip_name(wire: bytes, pos: int) -> tuple[int, bool]:
    """Position after a (possibly compressed) name in an RR, and whether it is the root:
    a zero octet, or a pointer to one (RFC 1035 §4.1.4 lets any name be one; Knot DNS
    takes it as an OPT owner too)."""
    end = len(wire)
    first = pos
    while True:
        if pos >= end:
            raise MalformedQuery("name runs past the message")
        length = wire[pos]
        if length == 0:
            return pos + 1, pos == first
        if length & 0xC0 == 0xC0:
            if pos + 2 > end:
                raise MalformedQuery("truncated compression pointer")
            return pos + 2, pos == first and _points_to_root(wire, pos)
        if length > 63:
            raise MalformedQuery("unknown label type")
        pos += length + 1


def _points_to_root(wire: bytes, pos: int) -> bool:
    """Whether the compression pointer at `pos` leads to the root name, through pointers
    each to an earlier octet (so the walk ends)."""
    while True:
        target = ((wire[pos] & 0x3F) << 8) | wire[pos + 1]
        if target >= pos:
            return False
        if wire[target] == 0:
            return True
        if wire[target] & 0xC0 != 0xC0:
            return False
        pos = target  # a pointer to a pointer: both octets lie before the first one


def _parse_opt(wire: bytes, rdclass: int, ttl: int, start: int, end: int) -> Edns:
    nsid = False
    cookie = None
    pos = start
    while pos < end:
        if pos + 4 > end:
            raise MalformedQuery("truncated EDNS option")
        code, length = _UNPACK_HH(wire, pos)
        pos += 4 + length
        if pos > end:
            raise MalformedQuery("EDNS option runs past the OPT RR")
        if code == NSID:
            nsid = True
        elif code == COOKIE:
            cookie = wire[pos - length : pos] if cookie is None else b""
    return Edns(rdclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), nsid, cookie)


def parse_query(wire: bytes) -> Query:
    """Decode header, question and additional section of a query whose header was checked
    (at least 12 octets, QR clear, opcode QUERY). Raises MalformedQuery (FORMERR). The one
    record a query may have outside the additional section is an IXFR's SOA in the
    authority section (RFC 1995 §3): checked and skipped here (transfers read it)."""
    _, flags, qdcount, ancount, nscount, arcount = _UNPACK_HEADER(wire, 0)
    if qdcount != 1:
        raise MalformedQuery("QDCOUNT is not 1")
    qname, offsets = read_question_name(wire)
    pos = HEADER_SIZE + len(qname)
    end = len(wire)
    if pos + 4 > end:
        raise MalformedQuery("question without type and class")
    qtype, qclass = _UNPACK_HH(wire, pos)
    pos += 4
    if ancount or nscount:
        if ancount or nscount != 1 or qtype != IXFR:
            raise MalformedQuery("a query with answer or authority records")
    elif arcount == 0:
        if pos != end:
            raise MalformedQuery("trailing octets after the question")
        return Query(flags, qname, offsets, qtype, qclass, None, True)
    elif arcount == 1 and end == pos + 11:  # the usual shape: one OPT without options
        opt = wire[pos:]
        edns = _PLAIN_OPTS.get(opt)
        if edns is None and opt[:3] == _PLAIN_OPT_HEAD and opt[9:] == b"\x00\x00":
            _, rdclass, ttl, _ = _UNPACK_RR(opt, 1)
            edns = Edns(rdclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), False)
            if len(_PLAIN_OPTS) < 1024:  # bounded: payload sizes and flags clients send
                _PLAIN_OPTS[opt] = edns
        if edns is not None:
            return Query(flags, qname, offsets, qtype, qclass, edns, True)
    elif arcount == 1 and wire[pos : pos + 3] == _PLAIN_OPT_HEAD and wire[pos + 11 : pos + 13] == (
        _COOKIE_CODE
    ):  # one OPT with one COOKIE option: the cache keeps their answers too (core.py)
        _, rdclass, ttl, rdlength = _UNPACK_RR(wire, pos + 1)
        if (pos + 11 + rdlength == end and rdlength >= 4
                and (wire[pos + 13] << 8 | wire[pos + 14]) == rdlength - 4):
            edns = Edns(rdclass, (ttl >> 16) & 0xFF, bool(ttl & 0x8000), False, wire[pos + 15 :])
            return Query(flags, qname, offsets, qtype, qclass, edns, False, False, pos + 9)
    edns = None
    signed = False
    for index in range(nscount + arcount):
        pos, root = _skip_name(wire, pos)
        if pos + 10 > end:
            raise MalformedQuery("truncated record")
        rdtype, rdclass, ttl, rdlength = _UNPACK_RR(wire, pos)
        rdata_start = pos + 10
        pos = rdata_start + rdlength
        if pos > end:
            raise MalformedQuery("rdata runs past the message")
        if index < nscount:  # the IXFR's SOA (the primary side, xfr/, reads it)
            if rdtype != SOA:
                raise MalformedQuery("an IXFR query's authority record is not its SOA")
            _check_rdata(wire, rdclass, rdtype, rdata_start, rdlength)
        elif rdtype == OPT:
            if edns is not None:
                raise MalformedQuery("more than one OPT RR (RFC 6891 §6.1.1)")
            if not root:
                raise MalformedQuery("OPT owner is not the root")
            edns = _parse_opt(wire, rdclass, ttl, rdata_start, pos)
        else:  # another record (TSIG, SIG(0), ...; rare in a query): well formed at least
            _check_rdata(wire, rdclass, rdtype, rdata_start, rdlength)
            signed = rdtype == TSIG and index == nscount + arcount - 1
    if pos != end:
        raise MalformedQuery("trailing octets after the last record")
    return Query(flags, qname, offsets, qtype, qclass, edns, False, signed)


def message_edns(wire: bytes) -> Edns | None:
    """The OPT of a message that parse_query refuses or does not read (another opcode, no
    or several questions, records where a query has none), when it has one that is valid
    (RFC 6891 §7: the error answer then carries OPT): every section reads as RRs to the
    last octet, and the additional section holds one OPT, owned by the root. None
    otherwise (such an error answer has no OPT, as Knot DNS's)."""
    try:
        _, _, qdcount, ancount, nscount, arcount = _UNPACK_HEADER(wire, 0)
        pos = HEADER_SIZE
        for _ in range(qdcount):
            pos, _ = _skip_name(wire, pos)
            pos += 4
        edns = None
        records = ancount + nscount
        for i in range(records + arcount):
            pos, root = _skip_name(wire, pos)
            if pos + 10 > len(wire):
                return None
            rdtype, rdclass, ttl, rdlength = _UNPACK_RR(wire, pos)
            pos += 10 + rdlength
            if rdtype == OPT:
                if i < records or edns is not None or not root or pos > len(wire):
                    return None
                edns = _parse_opt(wire, rdclass, ttl, pos - rdlength, pos)
        return edns if pos == len(wire) else None
    except MalformedQuery:
        return None


def _check_rdata(wire: bytes, rdclass: int, rdtype: int, start: int, length: int) -> None:
    """MalformedQuery unless the rdata reads as its type's (dnspython's parser: this path
    is not hot)."""
    try:
        dns.rdata.from_wire(rdclass, rdtype, wire, start, length)
    except Exception:
        raise MalformedQuery(f"malformed {dns.rdatatype.to_text(rdtype)} rdata in the "
                             "additional section") from None


class WireName:
    """A name pre-encoded for the renderer: its wire form (case kept), the lower-cased key
    (the same object when the name is lower-case already), and the offsets where each
    suffix starts, the root's last (worked out on first use: most owner names never need
    them, and large zones have millions)."""

    __slots__ = ("wire", "key", "_offsets")

    def __init__(self, wire: bytes):
        self.wire = wire
        key = wire.lower()
        self.key = wire if key == wire else key
        self._offsets: tuple[int, ...] | None = None

    @property
    def offsets(self) -> tuple[int, ...]:
        offsets = self._offsets
        if offsets is None:
            wire = self.wire
            found = []
            pos = 0
            while wire[pos]:
                found.append(pos)
                pos += wire[pos] + 1
            found.append(pos)
            offsets = self._offsets = tuple(found)
        return offsets

    def __repr__(self) -> str:
        return f"WireName({dns.name.from_wire(self.wire, 0)[0]})"


def wire_name(name: dns.name.Name) -> WireName:
    return WireName(name.to_wire())


# what dnspython reads in a name's text otherwise than as a label's own octet ("@",
# escapes) or writes escaped (besides control characters, space and non-ASCII text)
NAME_TEXT_SPECIAL = '"();@\\$'
# the octets dnspython writes in a name's text as they are (not escaped), and the dot
# between labels
_PLAIN_TEXT = bytes(c for c in range(0x21, 0x7F) if chr(c) not in NAME_TEXT_SPECIAL)


def name_text(name: dns.name.Name) -> str:
    """`name.to_text()`, without dnspython's octet by octet escaping for an absolute name
    whose labels need none (the usual zone names)."""
    labels = name.labels
    text = b".".join(labels)
    if (len(labels) > 1 and not labels[-1] and text.count(b".") == len(labels) - 1
            and not text.translate(None, _PLAIN_TEXT)):
        return text.decode()
    return name.to_text()


def pack_fixed(rdtype: int, ttl: int, rdclass: int = IN) -> bytes:
    """TYPE, CLASS and TTL of an RR, packed: what follows the owner name of each RR."""
    return _PACK_RR_FIXED(rdtype, rdclass, ttl)


Rdatas = tuple[bytes | tuple[bytes | WireName, ...], ...]


class WireRRset:
    """An RRset pre-encoded: owner, the packed type/class/TTL shared by its RRs, and each
    rdata as literal bytes (rdlength included) or as parts to compress at render time.

    Shared by every load that finds its zone file unchanged, and by the tables compiled
    from them: never modified once built. NS, MX and SRV RRsets are LinkedRRsets (see
    `wire_rrset`); the others have neither targets nor extra data, and no slots for them
    (large zones have millions of RRsets)."""

    __slots__ = ("owner", "rdtype", "fixed", "rdatas")
    targets: tuple[WireName, ...] = ()  # names whose addresses go in the additional section
    # (mandatory, owner key, A/AAAA RRset of the same zone) per target, linked by the
    # compiler; RRset None: the target is elsewhere, its addresses are looked up when
    # answering (compiler.py)
    extra: tuple[tuple[bool, bytes, WireRRset | None], ...] = ()

    def __init__(self, owner: WireName, rdtype: int, fixed: bytes, rdatas: Rdatas):
        self.owner = owner
        self.rdtype = rdtype
        self.fixed = fixed  # pack_fixed(rdtype, ttl, rdclass)
        self.rdatas = rdatas

    @property
    def ttl(self) -> int:
        return _UNPACK_I(self.fixed, 4)[0]

    def __len__(self) -> int:
        """The number of RRs."""
        return len(self.rdatas)

    def copy(self, owner: WireName | None = None, ttl: int | None = None) -> WireRRset:
        """The same RRs, unlinked (`extra` empty), with another owner (of the same key) or
        TTL when given."""
        fixed = self.fixed if ttl is None else self.fixed[:4] + _PACK_I(ttl)
        return wire_rrset(owner or self.owner, self.rdtype, fixed, self.rdatas, self.targets)

    def __repr__(self) -> str:
        return f"WireRRset({self.owner!r} {dns.rdatatype.to_text(self.rdtype)})"


class LinkedRRset(WireRRset):
    """An NS, MX or SRV RRset: its targets, and the A/AAAA of them that the compiler links
    (`extra`) on its own copy of the RRset (`copy`), so that what a load shares with
    tables compiled earlier never changes."""

    __slots__ = ("targets", "extra")

    def __init__(self, owner: WireName, rdtype: int, fixed: bytes, rdatas: Rdatas,
                 targets: tuple[WireName, ...]):
        super().__init__(owner, rdtype, fixed, rdatas)
        self.targets = targets
        self.extra = ()


def wire_rrset(owner: WireName, rdtype: int, fixed: bytes, rdatas: Rdatas,
               targets: tuple[WireName, ...] | None = None) -> WireRRset:
    """A WireRRset, or a LinkedRRset for the types with targets (worked out from `rdatas`
    unless given)."""
    if rdtype not in _WITH_TARGETS:
        return WireRRset(owner, rdtype, fixed, rdatas)
    if targets is None:
        targets = rdata_targets(rdtype, rdatas)
    return LinkedRRset(owner, rdtype, fixed, rdatas, targets)


def encode_rdata(rdata: dns.rdata.Rdata) -> bytes | tuple[bytes | WireName, ...]:
    """One rdata as a WireRRset holds it: rdlength and rdata as literal bytes, or the parts
    of a type whose names may be compressed."""
    t = rdata.rdtype
    if t not in _COMPRESSIBLE:
        if t == dns.rdatatype.A:  # dnspython keeps the address as validated dotted text
            raw = bytes(map(int, rdata.address.split(".")))
        elif t == dns.rdatatype.AAAA:
            raw = ipaddress.IPv6Address(rdata.address).packed
        else:
            raw = rdata.to_wire()
        return _PACK_H(len(raw)) + raw
    if t == dns.rdatatype.SOA:
        tail = struct.pack(
            ">IIIII", rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum
        )
        return (wire_name(rdata.mname), wire_name(rdata.rname), tail)
    if t == dns.rdatatype.MX:
        return (_PACK_H(rdata.preference), wire_name(rdata.exchange))
    if t == dns.rdatatype.MINFO:
        return (wire_name(rdata.rmailbx), wire_name(rdata.emailbx))
    return (wire_name(rdata.target),)  # NS, CNAME, PTR, MD, MF, MB, MG, MR


def rdata_targets(rdtype: int, rdatas: Rdatas) -> tuple[WireName, ...]:
    """The names whose addresses go in the additional section (RFC 1035 §3.3.9, §3.3.11;
    RFC 2782): the NS, MX and SRV targets but the root."""
    if rdtype in (dns.rdatatype.NS, dns.rdatatype.MX):
        names = [rdata[-1] for rdata in rdatas]
    elif rdtype == dns.rdatatype.SRV:
        names = [WireName(rdata[8:]) for rdata in rdatas]  # rdlength, 3 × 16 bits, target
    else:
        return ()
    return tuple(name for name in names if name.wire != b"\x00")


def encode_rrset(
    rrset: dns.rrset.RRset,
    ttl: int | None = None,
    owner: WireName | None = None,
    shared: dict[bytes, bytes] | None = None,
) -> WireRRset:
    """Pre-encode an RRset (names absolute); `ttl` overrides the RRset's own TTL; `owner`
    shares an already encoded owner name; equal octet strings are stored once in `shared`."""
    rdatas = []
    for rdata in rrset:
        encoded = encode_rdata(rdata)
        if shared is not None and encoded.__class__ is bytes:
            encoded = shared.setdefault(encoded, encoded)
        rdatas.append(encoded)
    fixed = pack_fixed(rrset.rdtype, rrset.ttl if ttl is None else ttl, rrset.rdclass)
    if shared is not None:
        fixed = shared.setdefault(fixed, fixed)
    return wire_rrset(owner or wire_name(rrset.name), rrset.rdtype, fixed, tuple(rdatas))


def decode_rrset(rrset: WireRRset) -> dns.rrset.RRset:
    """The dnspython RRset a WireRRset encodes (for messages, digests and tests)."""
    rdtype, rdclass, ttl = _UNPACK_FIXED(rrset.fixed)
    decoded = dns.rrset.RRset(dns.name.from_wire(rrset.owner.wire, 0)[0], rdclass, rdtype)
    decoded.update_ttl(ttl)
    for rdata in rrset.rdatas:
        if rdata.__class__ is bytes:
            raw = rdata[2:]
        else:
            raw = b"".join(p if p.__class__ is bytes else p.wire for p in rdata)
        decoded.add(dns.rdata.from_wire(rdclass, rdtype, raw, 0, len(raw)))
    return decoded
