"""A zone's served content as bytes, the difference between two contents, and the chain of
differences that brings a secondary from its serial to ours (IXFR, RFC 1995 §4).

The rules owned here:

- **RR format** (content and differences alike): owner (uncompressed wire form, its case as
  served) · type u16 · class u16 · TTL u32 · rdlength u16 · rdata (the served octets, names
  uncompressed); integers big-endian. An RR *is* its bytes: two RRs are the same exactly
  when their bytes are, so a changed TTL or a name spelled in another case is a removal plus
  an addition.
- **Content**: the SOA RR first, then every other RR once, in canonical order (RFC 4034 §6.1
  owner order, then type, then the owner's spelling, class and TTL, then rdata octets), so
  equal content is equal bytes and each RRset's RRs are together. An RRset read back
  (`rrsets_of`) lists its RRs in that order, not in the zone file's.
- **Content as read** (`as_read`): the store may keep a zone's content as it was read
  instead: the octet 0xFF (no owner name starts with it), then the zone packed
  (dns/packed.py), its SOA's serial not the zone's. `stored_content` makes it content,
  given the zone's serial. A first start keeps every zone so, ordering none; a zone is
  ordered when it first changes, or when its content is read.
- **Difference** (`diff`): the old SOA, the removed RRs, the new SOA, the added RRs (the
  RFC 1995 §4 sequence). The SOA is never among the removed or added. It is empty when
  nothing served changed but the SOA serial; then the serial stays.
- **Serial** (`next_serial`): a change that is not empty is served as today's
  max(serial + 1, unix time) mod 2^32 when that is after the old serial in RFC 1982 serial
  arithmetic, else as serial + 1 mod 2^32 (so the serial increases across the wrap, and
  after 2038, when the time may be 2^31 or more ahead of a wrapped serial).
- **Chain** (`chain_start`): the journal's differences of a zone, oldest first, each
  starting at the serial the previous one ended at, the last at the current serial. A
  client at our serial, or after it (RFC 1995 §2), needs none; a client at a serial where
  no difference starts, or whose chain is broken, gets None: the caller answers with AXFR.
  When a serial starts two differences (serials wrap), the most recent one is taken.
- **Bounds** (`trimmed`): a zone keeps at most `max_depth` differences of at most
  `max_bytes` encoded bytes in all; the oldest go first, and a single difference larger
  than `max_bytes` leaves none.

A difference is stored as (version 1): u8 version · u32 serial_from · u32 serial_to ·
u32 n_removed · u32 n_added · SOA_from · removed RRs · SOA_to · added RRs.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import dns.rdatatype

from ..dns import packed
from ..dns.wire import WireName, WireRRset, wire_rrset

__all__ = [
    "RR",
    "Diff",
    "JournalFormatError",
    "as_read",
    "chain_start",
    "diff",
    "next_serial",
    "pack_content",
    "rrs_of",
    "rrsets_of",
    "serial_gt",
    "soa_serial",
    "split_soa",
    "stored_content",
    "trimmed",
    "unpack_content",
    "with_serial",
    "zone_content",
    "zone_rrs",
]

RR = bytes  # one resource record in the RR format above
DIFF_VERSION = 1
SERIAL_SPACE = 2**32
_HALF = 2**31
_SOA = dns.rdatatype.SOA
_RR_FIXED = struct.Struct(">HHIH")  # type, class, TTL, rdlength: what follows the owner
_DIFF_HEAD = struct.Struct(">BIIII")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_AS_READ = b"\xff"  # the first octet of a content as read


class JournalFormatError(ValueError):
    """Bytes that are not content or a difference in the formats above."""


# ---- RRs and content ----------------------------------------------------------------

def rrs_of(rrsets: Iterable[WireRRset]) -> list[RR]:
    """Every RR of these RRsets (as a zone plan holds them) in the RR format."""
    rrs = []
    for rrset in rrsets:
        rrs += _rrs(rrset.owner.wire + rrset.fixed, rrset.rdatas)
    return rrs


def _rrs(head: bytes, rdatas: Iterable[bytes | tuple]) -> list[RR]:
    """The RRs of one RRset: its owner, type, class and TTL (`head`) and each rdata."""
    rrs = []
    for rdata in rdatas:
        if rdata.__class__ is bytes:  # rdlength and rdata already
            rrs.append(head + rdata)
        else:
            raw = b"".join([p if p.__class__ is bytes else p.wire for p in rdata])
            rrs.append(head + _U16.pack(len(raw)) + raw)
    return rrs


def split_soa(rrs: Iterable[RR]) -> tuple[RR, list[RR]]:
    """A zone's one SOA RR, and its other RRs."""
    soas, others = [], []
    for rr in rrs:
        (soas if _rdtype(rr) == _SOA else others).append(rr)
    return _one_soa(soas), others


def zone_rrs(content: bytes) -> tuple[RR, list[RR]]:
    """`split_soa` of the RRs of a packed zone (dns/packed.py, a plan's content), the SOA
    told apart by its RRset's type rather than by reading each RR."""
    soas: list[RR] = []
    rrs: list[RR] = []
    for owner, fixed, block in packed.rrsets(content):
        head = owner + fixed
        (soas if _rdtype_at(fixed, 0) == _SOA else rrs).extend(
            [head + r for r in packed.rdatas(block)])
    return _one_soa(soas), rrs


def zone_content(content: bytes) -> tuple[RR, bytes]:
    """A packed zone's (dns/packed.py, a plan's content) SOA RR, and what follows it in its
    content: `(soa, pack_content(soa, rrs)[len(soa):])` for `(soa, rrs) =
    zone_rrs(content)`. Sorted RRset by RRset (their owner's labels, type, and owner
    spelling, class and TTL: the canonical order's key of each of their RRs), then each
    RRset's RRs by rdata; one key per RRset rather than one per RR. A zone as it is read
    (_content_by_places) has its order found for all its RRsets together."""
    found = packed.rrsets(content)
    by_places = _content_by_places(found)
    if by_places is not None:
        return by_places
    soas: list[RR] = []
    rrsets_: list[tuple[list[bytes], int, bytes, list[RR]]] = []  # key, RRs
    owners: dict[bytes, list[bytes]] = {}  # each owner's `_owner_labels`
    for owner, fixed, block in found:
        head = owner + fixed
        rdtype = _rdtype_at(fixed, 0)
        if len(block) == 2 + (block[0] << 8 | block[1]):  # one RR (most RRsets)
            rdatas = [block]
        else:
            rdatas = packed.rdatas(block)
        if rdtype == _SOA:
            soas += [head + rdata for rdata in rdatas]
            continue
        labels = owners.get(owner)
        if labels is None:
            labels = owners[owner] = _owner_labels(owner)[0]
        rrsets_.append((labels, rdtype, head, [head + rdata for rdata in rdatas]))
    rrsets_.sort()
    body: list[RR] = []
    start, last = 0, b""
    for _, _, head, rrs in rrsets_:
        if head == last:  # the same RRset again, or another part of it: merged
            rrs = body[start:] + rrs
            del body[start:]
        start, last = len(body), head
        body += _by_rdata(head, rrs)
    return _one_soa(soas), b"".join(body)


def _content_by_places(found: Sequence[tuple[bytes, bytes, bytes]]
                       ) -> tuple[RR, bytes] | None:
    """zone_content of a zone as it is read (`found`: its packed RRsets, packed.rrsets):
    one SOA RR, every other RRset the only one of its owner and type, all at or below the
    SOA's owner. Each RRset's place in the content is one number, its owner's rank
    (_owner_ranks) and its type. None for any other zone."""
    soas = [(owner, block) for owner, fixed, block in found if _rdtype_at(fixed, 0) == _SOA]
    if len(soas) != 1 or len(soas[0][1]) != 2 + (soas[0][1][0] << 8 | soas[0][1][1]):
        return None
    apex = soas[0][0].lower()
    keys = {owner: owner.lower() for owner, _, _ in found}
    ranks = _owner_ranks(set(keys.values()), apex)
    if ranks is None:
        return None
    rrs: dict[int, bytes] = {}  # by place
    for owner, fixed, block in found:
        head = owner + fixed
        if len(block) == 2 + (block[0] << 8 | block[1]):  # one RR: the usual
            rr = head + block
        else:
            rr = b"".join(_by_rdata(head, [head + rdata for rdata in packed.rdatas(block)]))
        rrs[ranks[keys[owner]] + _rdtype_at(fixed, 0)] = rr
    if len(rrs) != len(found):  # an owner and type in two RRsets
        return None
    soa = rrs.pop(ranks[apex] + _SOA)
    return soa, b"".join(map(rrs.__getitem__, sorted(rrs)))


def _owner_ranks(keys: Collection[bytes], apex: bytes) -> dict[bytes, int] | None:
    """Each of these lower-cased names at or below the lower-cased name `apex` by its rank
    in the canonical order (their labels, the root's side first) times 2^16, room for a
    type; None when one is not at or below the apex. Names one label below the apex are
    ranked by that label."""
    by_label = {}  # names one label below the apex (the usual zone) by that label
    for key in keys:
        if not key.endswith(apex):
            return None
        head = key[: len(key) - len(apex)]
        if head and head[0] + 1 != len(head):
            break
        by_label[head[1:]] = key
    else:
        return {by_label[label]: rank << 16 for rank, label in enumerate(sorted(by_label))}
    apex_labels = _owner_labels(apex)[0]
    labels = []
    for key in keys:
        found = _owner_labels(key)[0]
        if found[: len(apex_labels)] != apex_labels:
            return None
        labels.append((found, key))
    return {key: rank << 16 for rank, (_, key) in enumerate(sorted(labels))}


def _by_rdata(head: bytes, rrs: list[RR]) -> list[RR]:
    """The RRs of one RRset (`head`: see _rrs) once each, ordered by rdata."""
    if len(rrs) < 2:
        return rrs
    cut = len(head) + 2  # the rdata, after its length
    return sorted(set(rrs), key=lambda rr: rr[cut:])


def _owner_labels(wire: bytes) -> tuple[list[bytes], int]:
    """The labels of the uncompressed name `wire` starts with, lower-cased, the root's
    side first; and where its root label is."""
    labels, pos = [], 0
    while wire[pos]:
        labels.append(wire[pos + 1 : pos + 1 + wire[pos]].lower())
        pos += wire[pos] + 1
    return labels[::-1], pos


def _one_soa(soas: list[RR]) -> RR:
    if len(soas) != 1:
        raise ValueError(f"a zone's content needs exactly one SOA record, not {len(soas)}")
    return soas[0]


def pack_content(soa: RR, rrs: Iterable[RR]) -> bytes:
    """A zone's content: its SOA RR, then the other RRs, once each, in canonical order."""
    return soa + b"".join(_canonical(set(rrs)))


def as_read(zone: bytes) -> bytes:
    """The content as read of a packed zone (dns/packed.py, a plan's content)."""
    return _AS_READ + zone


def stored_content(stored: bytes, serial: int) -> bytes:
    """The content of a content or of a content as read, the zone's serial `serial`."""
    if not stored.startswith(_AS_READ):
        return stored
    try:
        soa, rest = zone_content(stored[1:])
    except (ValueError, IndexError, struct.error) as exc:
        raise JournalFormatError(f"a zone's content as read is not a packed zone ({exc})") \
            from exc
    return with_serial(soa, serial) + rest


def unpack_content(content: bytes) -> list[RR]:
    """The RRs of a content, its SOA first."""
    rrs = list(_split(content))
    if not rrs or _rdtype(rrs[0]) != _SOA:
        raise JournalFormatError("a zone's content does not start with its SOA record")
    return rrs


def rrsets_of(content: bytes, shared: dict | None = None) -> list[WireRRset]:
    """The RRsets of a content, as a zone plan holds them (for the compiler). Consecutive
    RRs of one owner spelling, type, class and TTL make one RRset. `shared`, kept across
    calls, stores equal rdata names and octet strings once (the zones' NS targets...)."""
    shared = {} if shared is None else shared
    groups: list[tuple[WireName, bytes, list]] = []  # owner, type/class/TTL, rdatas
    owner = None
    pos, end = 0, len(content)
    while pos < end:
        if owner is None or not content.startswith(owner.wire, pos):  # the same name
            owner = WireName(content[pos : _owner_end(content, pos)])
        cut = pos + len(owner.wire)
        if cut + 10 > end:
            raise JournalFormatError("a record is cut short")
        rdtype, _, _, rdlength = _RR_FIXED.unpack_from(content, cut)
        pos = cut + 10 + rdlength
        if pos > end:
            raise JournalFormatError("a record's rdata is cut short")
        fixed = content[cut : cut + 8]
        if not groups or groups[-1][0] is not owner or groups[-1][1] != fixed:
            groups.append((owner, shared.setdefault(fixed, fixed), []))
        groups[-1][2].append(_rdata_parts(rdtype, content[cut + 8 : pos], shared))
    if not groups or _rdtype_at(groups[0][1], 0) != _SOA:
        raise JournalFormatError("a zone's content does not start with its SOA record")
    return [wire_rrset(owner, _rdtype_at(fixed, 0), fixed, tuple(rdatas))
            for owner, fixed, rdatas in groups]


def soa_serial(soa: RR) -> int:
    """The serial of an SOA RR (the first of the five numbers ending its rdata)."""
    return _U32.unpack_from(soa, len(soa) - 20)[0]


def with_serial(soa: RR, serial: int) -> RR:
    """The SOA RR with another serial."""
    return soa[:-20] + _U32.pack(serial) + soa[-16:]


def _rdata_parts(rdtype: int, rdata: bytes,
                 shared: dict) -> bytes | tuple[bytes | WireName, ...]:
    """An rdata (rdlength first) as a WireRRset holds it: literal bytes, or for the
    compressible types, its names apart (`wire.encode_rdata`); stored once in `shared`
    (an rdata's bytes never equal a name's: a name of 2 to 255 octets would have to start
    with its own length minus two)."""
    layout = packed.LAYOUTS.get(rdtype)
    if layout is None:
        return shared.setdefault(rdata, rdata)
    try:
        return packed.rdata_parts(layout, rdata, 2, len(rdata), shared)
    except ValueError as error:
        raise JournalFormatError(f"a {dns.rdatatype.to_text(rdtype)} rdata: {error}") from None


def _owner_end(buf: bytes, pos: int) -> int:
    """Where the uncompressed name starting at `pos` ends (packed.name_end)."""
    try:
        return packed.name_end(buf, pos)
    except ValueError as error:
        raise JournalFormatError(str(error)) from None


def _rdtype_at(rr: bytes, owner_end: int) -> int:
    return _U16.unpack_from(rr, owner_end)[0]


def _rdtype(rr: RR) -> int:
    return _rdtype_at(rr, _owner_end(rr, 0))


def _split(buf: bytes, pos: int = 0, end: int | None = None) -> Iterator[RR]:
    """The RRs laid end to end in buf[pos:end]."""
    end = len(buf) if end is None else end
    while pos < end:
        cut = _owner_end(buf, pos)
        if cut + 10 > end:
            raise JournalFormatError("a record is cut short")
        stop = cut + 10 + _RR_FIXED.unpack_from(buf, cut)[3]
        if stop > end:
            raise JournalFormatError("a record's rdata is cut short")
        yield buf[pos:stop]
        pos = stop


def _canonical(rrs: Iterable[RR]) -> list[RR]:
    """RFC 4034 §6.1 owner order (labels compared lower-cased from the root), then type,
    then (so that each RRset's RRs stay together and the order is total) the owner's
    spelling, class and TTL, then rdata octets."""

    def key(rr: RR) -> tuple:
        labels, pos = _owner_labels(rr)
        return (labels, _rdtype_at(rr, pos + 1), rr[: pos + 9], rr[pos + 11 :])

    return sorted(rrs, key=key)


# ---- serials (RFC 1982) ---------------------------------------------------------------

def serial_gt(a: int, b: int) -> bool:
    """Whether serial `a` comes after serial `b` (RFC 1982 §3.2, SERIAL_BITS 32)."""
    return (a < b and b - a > _HALF) or (a > b and a - b < _HALF)


def next_serial(serial: int, now: int) -> int:
    """The serial of a change after `serial`, made at unix time `now`."""
    candidate = max(serial + 1, now) % SERIAL_SPACE
    return candidate if serial_gt(candidate, serial) else (serial + 1) % SERIAL_SPACE


# ---- differences -----------------------------------------------------------------------

@dataclass(frozen=True)
class Diff:
    """One change of a zone (RFC 1995 §4): old SOA, removed RRs, new SOA, added RRs."""

    soa_from: RR
    removed: tuple[RR, ...]
    soa_to: RR
    added: tuple[RR, ...]

    @property
    def serial_from(self) -> int:
        return soa_serial(self.soa_from)

    @property
    def serial_to(self) -> int:
        return soa_serial(self.soa_to)

    @property
    def empty(self) -> bool:
        """Whether nothing served changed but (perhaps) the SOA serial."""
        return (not self.removed and not self.added
                and with_serial(self.soa_to, 0) == with_serial(self.soa_from, 0))

    def encode(self) -> bytes:
        head = _DIFF_HEAD.pack(DIFF_VERSION, self.serial_from, self.serial_to,
                               len(self.removed), len(self.added))
        return b"".join((head, self.soa_from, *self.removed, self.soa_to, *self.added))

    @classmethod
    def decode(cls, blob: bytes) -> Diff:
        if len(blob) < _DIFF_HEAD.size or blob[0] != DIFF_VERSION:
            raise JournalFormatError(f"not a difference of version {DIFF_VERSION}")
        _, serial_from, serial_to, n_removed, n_added = _DIFF_HEAD.unpack_from(blob)
        rrs = list(_split(blob, _DIFF_HEAD.size))
        if len(rrs) != 2 + n_removed + n_added:
            raise JournalFormatError("a difference whose record counts do not add up")
        decoded = cls(rrs[0], tuple(rrs[1 : 1 + n_removed]), rrs[1 + n_removed],
                      tuple(rrs[2 + n_removed :]))
        if (decoded.serial_from, decoded.serial_to) != (serial_from, serial_to) or any(
                _rdtype(rr) == _SOA for rr in decoded.removed + decoded.added):
            raise JournalFormatError("a difference whose SOA records are out of place")
        return decoded


def diff(old_content: Collection[RR], new_content: Collection[RR], old_soa: RR,
         new_soa: RR) -> Diff:
    """What changes `old_content` into `new_content` (RRs; an SOA among them is ignored:
    the SOAs are given apart). Removed and added RRs are in canonical order."""
    old = set(old_content)
    new = set(new_content)
    old.discard(old_soa)
    new.discard(new_soa)
    return Diff(old_soa, tuple(_canonical(old - new)), new_soa, tuple(_canonical(new - old)))


# ---- the journal of a zone --------------------------------------------------------------

def chain_start(links: Sequence[tuple[int, int]], current: int, client: int) -> int | None:
    """Where the chain from serial `client` to `current` starts in a zone's journal, given
    as (serial_from, serial_to) per difference, oldest first: `len(links)` when the client
    needs no difference, None when the journal cannot bring it to `current` (AXFR)."""
    if client == current or serial_gt(client, current):
        return len(links)
    if not serial_gt(current, client):  # 2^31 apart: not comparable (RFC 1982 §3.2)
        return None
    start = next((i for i in range(len(links) - 1, -1, -1) if links[i][0] == client), None)
    if start is None:
        return None
    ends = [to for _, to in links[start:]]
    starts = [frm for frm, _ in links[start + 1 :]] + [current]
    return start if ends == starts else None


def trimmed(sizes: Sequence[int], max_depth: int, max_bytes: int) -> int:
    """How many of a zone's differences (their encoded sizes, oldest first) to drop, oldest
    first, so that at most `max_depth` of at most `max_bytes` in all remain."""
    keep, total = 0, 0
    for size in reversed(sizes):
        if keep == max_depth or total + size > max_bytes:
            break
        keep, total = keep + 1, total + size
    return len(sizes) - keep
