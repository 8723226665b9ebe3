"""A fast reader for the common subset of RFC 1035 master files, giving packed RRsets.

The rule this module owns: `parse` either returns exactly the RRsets that
`dns.zone.from_file(..., relativize=False, check_origin=False)` gives for the same text,
encoded as `wire.encode_rrset` encodes them and packed as `packed.pack_rrsets` packs them
(dns/packed.py), with the number of records in them, or None, and then the caller reads the file
with dnspython (which also words every error). It handles one record per line; $TTL and
$ORIGIN; relative, absolute and `@` owners, a blank owner repeating the previous one; TTL
and class in either order, each optional; comments; quoted strings; the types A, AAAA, NS,
CNAME, PTR, MX, SRV, TXT, CAA and SOA. Anything else (parentheses, escapes, $INCLUDE,
$GENERATE, other types or classes, characters outside printable ASCII) and any error make
it return None. Given a RecordLimit, it raises TooManyRecords at the line where the records
read pass it, without splitting the rest of the text.

It is faster than dnspython's reader, and its result smaller, because it splits lines
with str methods instead of a character tokenizer, encodes each rdata straight to the wire
form the answering core writes (no dnspython object per record), parses a repeated name or
TTL once, and collapses duplicate rdatas by their canonical form (RFC 4034 §6.2: names
lower-cased) as dnspython's RRsets do. Files in the form zone exports have (every line
`owner TTL IN TYPE rdata`, each owner's lines together, one record per type) are read
column by column, in C loops (map, zip) over all their lines instead of Python code per
record, straight to the packed form: no object per RRset (_columns); any other file line by
line (_Reader), its RRsets then packed. Files in that form with absolute
names are also read several at a time, column by column over all their lines
(`parse_many`): what _columns does per file is then done once per group, and RRsets of
several lines are read so too (zonedata reads 64 files a group: a file of a few records
costs ~40 % less; larger groups, whose columns outgrow the CPU caches, cost more).

Before all of these, a file in the plainest form of exports (`owner TTL IN TYPE rdata`,
each owner's lines together, each RRset's, no SOA or CAA) is read in one pass by the C
reader `_zonefast.columns` (_zonefast.c; ~25 times faster than the column readers), where
the package was installed with a C compiler; it gives exactly what the Python readers give,
or None and leaves the file to them (tested with and without it).
"""

from __future__ import annotations

import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, eq, getitem, itemgetter, ne, not_, or_
from socket import AF_INET, AF_INET6, inet_pton

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.ttl
from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.SOA import SOA

from ..dns.packed import pack_rdata, pack_rrsets
from ..dns.wire import WireName, WireRRset, encode_rdata, name_text, pack_fixed, wire_rrset

try:  # the C reader of the plainest files (_zonefast.c), when it could be compiled
    from ._zonefast import columns as _fast
except ImportError:
    _fast = None

__all__ = ["Packed", "RecordLimit", "TooManyRecords", "parse", "parse_many"]

# The characters of the subset: printable ASCII and tab and newline (so not CR: dnspython
# reads files with universal newlines), but parentheses (records spanning lines) and
# backslashes (escapes).
_INSIDE = bytes([9, 10, *range(0x20, 0x7F)]).translate(None, b"()\\")
# The pieces of a line with quoted strings: blanks, a quoted string, a comment, a word.
_PIECE = re.compile(r'[ \t]+|"[^"]*"|;.*|[^ \t";]+')

_IN = dns.rdataclass.IN
_SOA = dns.rdatatype.SOA
_CNAME = dns.rdatatype.CNAME
_SINGLETONS = (_SOA, _CNAME)  # a later record replaces the earlier one (dnspython)
_WITH_TARGETS = frozenset({"NS", "MX", "SRV"})  # the types of LinkedRRsets (wire_rrset)
_ROOT = WireName(b"\x00")
_PACK_H = struct.Struct(">H").pack
_PACK_HHH = struct.Struct(">HHH").pack
_PACK_I = struct.Struct(">I").pack
_UNPACK_I = struct.Struct(">I").unpack_from

Rdata = bytes | tuple[bytes | WireName, ...]
Packed = tuple[bytes, int]  # RRsets packed (dns/packed.py), and the records (rdatas) in them
# A type's reader: the rdata as a WireRRset holds it, and the key by which equal rdatas
# (dnspython's equality: the canonical wire form) are collapsed into one.
_Parse = Callable[["_Reader", list[str]], tuple[Rdata, bytes]]


class _Outside(Exception):
    """The text is outside the subset, or has an error: dnspython reads it instead."""


@dataclass(frozen=True)
class RecordLimit:
    """At most `count` records may be read; `message` says which limit that is, and
    `total` whether it is what is left of the limit of all the zones together."""

    count: int
    message: str
    total: bool = False


class TooManyRecords(Exception):
    """More records than a RecordLimit allows: reading stopped at `line` of `file` (the
    zone file when None; dnspython's reader may be in a file it includes)."""

    def __init__(self, limit: RecordLimit, line: int | None, file: str | None = None):
        super().__init__(limit.message)
        self.limit, self.line, self.file = limit, line, file


def _words(line: str) -> list[str] | None:
    """A line's words, quoted strings kept with their quotes; None for a quoted string not
    closed on the line or touching a neighbouring word."""
    if '"' not in line:
        return line.partition(";")[0].split()
    words: list[str] = []
    pos, after_blank = 0, True
    for match in _PIECE.finditer(line):
        if match.start() != pos:
            return None
        pos = match.end()
        piece = match.group()
        if piece[0] in " \t":
            after_blank = True
        elif piece[0] == ";":
            break
        elif not after_blank:
            return None
        else:
            words.append(piece)
            after_blank = False
    else:
        if pos != len(line):
            return None
    return words


def _uint(word: str) -> int:
    if not word.isdigit():
        raise _Outside
    return int(word)


def _string(word: str) -> bytes:
    """A TXT or CAA character string: a quoted string or a bare word."""
    if word[0] == '"':
        return word[1:-1].encode()
    return word.encode()


def _is_at_or_below(key: bytes, zone_key: bytes) -> bool:
    """Whether the lower-cased wire name `key` is `zone_key` or below it."""
    boundary = len(key) - len(zone_key)
    if boundary < 0 or not key.endswith(zone_key):
        return False
    pos = 0
    while pos < boundary:
        pos += key[pos] + 1
    return pos == boundary


class _Reader:
    def __init__(self, origin: dns.name.Name):
        self.zone_origin = WireName(origin.to_wire())
        self.zone_key = self.zone_origin.key
        # absolute names written with the zone's name as the file gives it (the common
        # case) are encoded as relative ones
        self.zone_text = name_text(origin)
        self.zone_suffix = "\n" if self.zone_key == b"\x00" else "." + self.zone_text
        self.origin = self.zone_origin
        self.origin_inside = True  # whether $ORIGIN is the zone's name or below it
        self.fixed: dict[int, bytes] = {}  # by type << 32 | TTL
        self.names: dict[str, WireName] = {}  # by text, relative to self.origin
        # wire forms of names by text (the column readers': no $ORIGIN), owners' among them
        self.wires: dict[str, bytes] = {}
        # the owners' fields (length octet and wire form) by text (_columns): their wire
        # forms, when asked, without encoding them again
        self.fields: dict[str, bytes] = {}
        # owners by text, relative to self.origin: (name, whether in the zone)
        self.owners: dict[str, tuple[WireName, bool]] = {}
        self.ttls: dict[str, int | None] = {}
        self.last_owner = (self.zone_origin, True)
        self.last_ttl: int | None = None
        self.default_ttl: int | None = None
        self.default_ttl_from_soa = False
        self.records = 0  # records read in the zone
        # by node key (the lower-cased owner): the owner as first written, and by type in
        # dnspython's order (owners as first seen, types as last added): (TTL, rdata, key)
        # for one rdata, [TTL, rdatas, keys] for more (`key`: see _Parse)
        self.nodes: dict[bytes, tuple[WireName, dict[int, tuple | list]]] = {}

    def name(self, text: str) -> WireName:
        name = self.names.get(text)
        if name is None:
            name = self.names[text] = self._name(text)[0]
        return name

    def wire(self, text: str) -> bytes:
        wire = self.wires.get(text)
        if wire is None:
            field = self.fields.get(text)
            wire = self.wires[text] = self.name(text).wire if field is None else field[1:]
        return wire

    def owner(self, text: str) -> tuple[WireName, bool]:
        owner = self.owners.get(text)
        if owner is None:
            owner = self.owners[text] = self._name(text)
            self.names.setdefault(text, owner[0])
        return owner

    def _name(self, text: str) -> tuple[WireName, bool]:
        """dns.name.from_text for a name without escapes (this subset has none), encoded
        straight to the wire form, with dnspython's checks; and whether it is in the zone."""
        if text[-1] == ".":
            if text.endswith(self.zone_suffix):
                head, tail, inside = text[:-len(self.zone_suffix)], self.zone_origin, True
            elif text == self.zone_text:
                return self.zone_origin, True
            elif text == ".":
                return _ROOT, False
            else:
                head, tail, inside = text[:-1], _ROOT, None
        elif text == "@":
            return self.origin, self.origin_inside
        else:
            head, tail, inside = text, self.origin, self.origin_inside or None
        if head[0] == '"':
            raise _Outside
        if "." in head:
            labels = head.encode().split(b".")
            if b"" in labels or max(map(len, labels)) > 63:
                raise _Outside
            wire = b"".join([bytes((len(label),)) + label for label in labels]) + tail.wire
        else:
            label = head.encode()
            if len(label) > 63:
                raise _Outside
            wire = bytes((len(label),)) + label + tail.wire
        if len(wire) > 255:
            raise _Outside
        name = WireName(wire)
        if inside is None:
            inside = _is_at_or_below(name.key, self.zone_key)
        return name, inside

    def ttl(self, text: str) -> int | None:
        """The TTL a word gives, None when it is not one."""
        try:
            return self.ttls[text]
        except KeyError:
            try:
                value: int | None = dns.ttl.from_text(text)
            except dns.ttl.BadTTL:
                value = None
            self.ttls[text] = value
            return value

    def implicit_ttl(self) -> int | None:
        """dnspython's TTL for a record without one (RFC 2308 mode): $TTL, else the last
        TTL given, else the SOA's minimum."""
        if self.last_ttl is not None and (self.default_ttl is None
                                          or self.default_ttl_from_soa):
            return self.last_ttl
        return self.default_ttl

    def directive(self, words: list[str]) -> None:
        keyword = words[0].upper()
        if len(words) != 2:
            raise _Outside
        if keyword == "$TTL":
            self.default_ttl = dns.ttl.from_text(words[1])
            self.default_ttl_from_soa = False
        elif keyword == "$ORIGIN":
            self.origin, self.origin_inside = self._name(words[1])
            self.names = {}
            self.owners = {}
        else:
            raise _Outside

    def record(self, words: list[str], blank_owner: bool) -> None:
        if blank_owner:
            i = 0
        else:
            owner = self.owners.get(words[0])
            self.last_owner = owner if owner is not None else self.owner(words[0])
            i = 1
        owner, inside = self.last_owner
        if not inside:
            return  # dnspython skips records outside the zone
        self.records += 1
        ttls = self.ttls
        word = words[i]
        ttl = ttls[word] if word in ttls else self.ttl(word)
        if ttl is not None:
            self.last_ttl = ttl
            i += 1
        if words[i].upper() == "IN":
            i += 1
        if ttl is None:
            ttl = self.ttl(words[i])
            if ttl is None:
                ttl = self.implicit_ttl()
            else:
                self.last_ttl = ttl
                i += 1
        kind = _PARSERS.get(words[i].upper())
        if kind is None:
            raise _Outside
        rdtype, parse = kind
        rdata, key = parse(self, words[i + 1:])
        if rdtype == _SOA:
            if owner.key != self.zone_key:
                raise _Outside
            if self.default_ttl is None:
                self.default_ttl = _UNPACK_I(rdata[-1], 16)[0]  # the SOA's MINIMUM
                self.default_ttl_from_soa = True
                if ttl is None:
                    ttl = self.implicit_ttl()
        if ttl is None:
            raise _Outside
        node = self.nodes.get(owner.key)
        if node is None:
            self.nodes[owner.key] = (owner, {rdtype: (ttl, rdata, key)})
            return
        types = node[1]
        held = types.pop(rdtype, None)
        if held is None:
            types[rdtype] = (ttl, rdata, key)
            return
        if held.__class__ is tuple:
            held = [held[0], [held[1]], [held[2]]]
        types[rdtype] = held
        if ttl < held[0]:
            held[0] = ttl
        if rdtype in _SINGLETONS:
            held[1:] = [[rdata], [key]]
        elif key not in held[2]:
            held[1].append(rdata)
            held[2].append(key)

    def rrsets(self) -> tuple[WireRRset, ...]:
        fixeds = self.fixed
        out = []
        append = out.append
        for owner, types in self.nodes.values():
            if _CNAME in types and len(types) > 1:
                raise _Outside  # dnspython refuses a CNAME and other data
            for rdtype, held in types.items():
                ttl = held[0]
                fixed = fixeds.get(rdtype << 32 | ttl)
                if fixed is None:  # the TTL was checked by dns.ttl.from_text
                    fixed = fixeds[rdtype << 32 | ttl] = pack_fixed(rdtype, ttl)
                if held.__class__ is tuple:
                    rdatas = (held[1],)
                else:
                    rdatas = tuple(held[1])
                append(wire_rrset(owner, rdtype, fixed, rdatas))
        return tuple(out)


def _literal(raw: bytes) -> bytes:
    """An rdata with its rdlength."""
    return _PACK_H(len(raw)) + raw


def _one(words: list[str]) -> str:
    if len(words) != 1 or words[0][0] == '"':
        raise _Outside
    return words[0]


def _count(words: list[str], n: int) -> list[str]:
    if len(words) != n:
        raise _Outside
    return words


def _uint16(word: str) -> int:
    value = _uint(word)
    if value > 0xFFFF:
        raise _Outside
    return value


# Each value below is checked and canonicalized as dnspython's constructors do (tested
# against dnspython's reader), and encoded as wire.encode_rdata encodes dnspython's rdata.


def _a(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    # the C library takes exactly what dnspython does: four decimal numbers of at most 255,
    # without leading zeros (an error raises OSError: dnspython reads the file)
    rdata = b"\x00\x04" + inet_pton(AF_INET, _one(words))
    return rdata, rdata


def _aaaa(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    # the C library takes exactly the addresses dnspython takes, in every text form of
    # RFC 4291 §2.2 (tested): an error raises OSError, and dnspython reads the file
    rdata = b"\x00\x10" + inet_pton(AF_INET6, _one(words))
    return rdata, rdata


def _target(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    name = r.name(_one(words))
    return (name,), name.key


def _mx(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    preference, exchange = _count(words, 2)
    name = r.name(exchange)
    packed = _PACK_H(_uint16(preference))
    return (packed, name), packed + name.key


def _srv(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    priority, weight, port, target = _count(words, 4)
    name = r.name(target)
    fields = _PACK_HHH(_uint16(priority), _uint16(weight), _uint16(port))
    return _literal(fields + name.wire), fields + name.key


def _txt(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    strings = [_string(w) for w in words]
    if not strings or max(map(len, strings)) > 255:
        raise _Outside
    rdata = _literal(b"".join(bytes((len(s),)) + s for s in strings))
    return rdata, rdata


def _caa(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    flags, tag, value = _count(words, 3)
    rdata = encode_rdata(CAA(_IN, dns.rdatatype.CAA, _uint(flags), _string(tag),
                             _string(value)))
    return rdata, rdata


def _soa(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    mname, rname, serial, *timers = _count(words, 7)
    values = [dns.ttl.from_text(t) for t in timers]
    SOA(_IN, _SOA, dns.name.root, dns.name.root, _uint(serial), *values)  # checks the values
    fields = struct.pack(">IIIII", int(serial), *values)
    return (r.name(mname), r.name(rname), fields), b""  # a singleton: no key needed


_PARSERS: dict[str, tuple[int, _Parse]] = {
    "A": (dns.rdatatype.A, _a),
    "AAAA": (dns.rdatatype.AAAA, _aaaa),
    "NS": (dns.rdatatype.NS, _target),
    "CNAME": (_CNAME, _target),
    "PTR": (dns.rdatatype.PTR, _target),
    "MX": (dns.rdatatype.MX, _mx),
    "SRV": (dns.rdatatype.SRV, _srv),
    "TXT": (dns.rdatatype.TXT, _txt),
    "CAA": (dns.rdatatype.CAA, _caa),
    "SOA": (_SOA, _soa),
}


_TYPES = {text: rdtype for text, (rdtype, _) in _PARSERS.items()}


def _columns(text: str, reader: _Reader) -> Packed | None:
    """The RRsets of a file in the form zone exports have (dnspython's and BIND's
    output), packed column by column: every line `owner TTL IN TYPE rdata`, the TTL in
    seconds, no comments, each owner's lines together and each RRset's. Then the RRsets
    are in the order of the file (dnspython's), the RRs of several lines made one as
    _Reader.record makes them (_merge). None for any other file (the reader reads it line
    by line then)."""
    # (single characters are looked for first: a search for one is much the faster)
    tabs = "\t" in text
    if (";" in text or text[0] in " \t$" or "\n " in text or tabs and "\n\t" in text
            or "$" in text and "\n$" in text):
        return None  # comments, blank owners, directives
    # words apart by one space each (the usual case): split at each space, which is faster
    blank = None if tabs or "  " in text else " "
    rows = list(map(str.split, text.splitlines(), repeat(blank), repeat(4)))
    if sum(map(len, rows)) != 5 * len(rows):
        return None
    owner_texts, ttl_texts, classes, type_texts, rdata_texts = zip(*rows, strict=True)
    if " \n" in text or tabs and "\t\n" in text or text[-1] in " \t":
        rdata_texts = tuple(map(str.rstrip, rdata_texts))
    types = set(type_texts)
    if (classes.count("IN") != len(classes) or not "".join(ttl_texts).isdigit()
            or not _TYPES.keys() >= types):
        return None
    names = _owners(dict.fromkeys(owner_texts), reader)  # their owner fields
    if names is None:
        return None
    # an owner's lines together, spelled in one way; the lines of an RRset together
    news = [True, *map(ne, owner_texts, islice(owner_texts, 1, None))]  # an owner's first
    firsts = [True, *map(or_, islice(news, 1, None),  # an RRset's first
                         map(ne, type_texts, islice(type_texts, 1, None)))]
    if (sum(news) != len(names) or len(set(map(bytes.lower, names.values()))) != len(names)
            or len(set(zip(owner_texts, type_texts, strict=True))) != sum(firsts)):
        return None
    if "CNAME" in types:  # a CNAME and other data: dnspython refuses the file
        for i in compress(range(len(owner_texts)), map(eq, type_texts, repeat("CNAME"))):
            if owner_texts[max(i - 1, 0) : i + 2].count(owner_texts[i]) > 1:
                return None
    if "SOA" in types and any(names[owner][1:].lower() != reader.zone_key for owner, rdtype
                              in zip(owner_texts, type_texts, strict=True) if rdtype == "SOA"):
        return None
    reader.fields = names  # (targets that are owners: an MX's mail, a CNAME's @)
    if len(firsts) == sum(firsts) and ttl_texts.count(ttl_texts[0]) == len(ttl_texts):
        # the usual case, each RRset one line and one TTL: each line's type, class, TTL,
        # size and rdata encoded together, after its owner field
        bodies = _encode(types, type_texts, rdata_texts, reader, _fixed(types, ttl_texts[0]))
        owners = map(names.__getitem__, owner_texts)
        owner_fields = map(getitem, zip(repeat(_SAME_OWNER), owners), news)
        pieces = chain.from_iterable(zip(owner_fields, bodies, strict=True))
        return b"".join(pieces), len(owner_texts)
    rdatas = list(_encode(types, type_texts, rdata_texts, reader))  # one rdata each
    fixeds = list(_fixeds(types, type_texts, ttl_texts))
    records = [len(rdatas)]
    if len(firsts) != sum(firsts):  # RRsets of several lines: each made one
        if _merge(firsts, type_texts, ttl_texts, fixeds, rdatas, [0] * len(firsts),
                  records) >= 0:
            return None
        owner_texts, news, fixeds, rdatas = (list(compress(column, firsts)) for column
                                             in (owner_texts, news, fixeds, rdatas))
    pieces = _pieces(map(names.__getitem__, owner_texts), news, fixeds, rdatas)
    return b"".join(pieces), records[0]


def _pieces(owners: Iterable[bytes], news: Iterable[bool], fixeds: Iterable[bytes],
            rdatas: list[bytes]) -> Iterator[bytes]:
    """The packed form (dns/packed.py) of RRsets, in pieces, given each one's owner field
    (its length and wire form), whether its owner is not the one of the RRset before it
    (else the owner field is b"\\x00"), its type, class and TTL, and its rdatas (each with
    its rdlength) laid end to end."""
    owner_fields = map(getitem, zip(repeat(_SAME_OWNER), owners), news)
    sizes = map(_PACK_I, map(len, rdatas))
    return chain.from_iterable(zip(owner_fields, fixeds, sizes, rdatas, strict=True))


def _fixeds(types: set[str], type_texts: Sequence[str], ttl_texts: Sequence[str]
            ) -> Iterator[bytes]:
    """The packed type, class and TTL of each line (their TTLs in digits)."""
    if ttl_texts.count(ttl_texts[0]) == len(ttl_texts):  # the usual case: fixed by type
        fixed = _fixed(types, ttl_texts[0])
        return map(fixed.__getitem__, type_texts)
    by_ttl = {(rdtype, ttl): packed for ttl in set(ttl_texts)
              for rdtype, packed in _fixed(types, ttl).items()}
    return map(by_ttl.__getitem__, zip(type_texts, ttl_texts, strict=True))


def _fixed(types: set[str], ttl: str) -> dict[str, bytes]:
    """The packed type, class and TTL of RRs of these types and TTL (digits), by type."""
    value = int(ttl)
    if value > 0xFFFFFFFF:
        raise _Outside
    return {rdtype: pack_fixed(_TYPES[rdtype], value) for rdtype in types}


def _owners(texts: dict[str, None], reader: _Reader) -> dict[str, bytes] | None:
    """Owner names' fields in the packed form (their length octet and wire form) by their
    text; None when one is outside the zone or has a quote (the reader decides then). The
    usual ones, one label and the zone's name, are encoded together."""
    fields = {}
    suffix, tail = reader.zone_suffix, reader.zone_origin.wire
    if texts.pop(reader.zone_text, False) is None:
        fields[reader.zone_text] = _OCTETS[len(tail)] + tail
    ends = suffix + "\n"
    joined = "\n".join(texts) + "\n"
    if texts and joined.count(ends) == len(texts):  # each text ends with the suffix
        heads = joined.replace(ends, "\n")[:-1]
        labels = heads.encode().split(b"\n")
        lengths = list(map(len, labels))
        if ("." not in heads and '"' not in heads and min(lengths) > 0
                and max(lengths) <= min(63, 254 - len(tail))):
            octets = _label_octets(len(tail))
            fields.update(zip(texts, map(add, map(add, map(octets.__getitem__, lengths),
                                                           labels), repeat(tail)), strict=True))
            return fields
    for text in texts:
        name, inside = reader._name(text)
        if not inside or '"' in text:
            return None
        fields[text] = _OCTETS[len(name.wire)] + name.wire
    return fields


def _label_octets(tail: int) -> list[bytes]:
    """The octets before a label of each length (0..63) in the field of a name of that one
    label above a name of `tail` octets: the name's length, the label's."""
    octets = _LABEL_OCTETS.get(tail)
    if octets is None:
        octets = _LABEL_OCTETS[tail] = [bytes((min(n + 1 + tail, 255), n)) for n in range(64)]
    return octets


_LABEL_OCTETS: dict[int, list[bytes]] = {}  # by the tail's length (at most 255 entries)
_OCTETS = [bytes((n,)) for n in range(256)]
_SAME_OWNER = b"\x00"  # the owner field of an RRset of the owner of the one before it
# a TXT rdata of one string: rdlength and the string's length octet, by that length
_TXT_HEADS = [_PACK_H(n + 1) + bytes((n,)) for n in range(256)]


def _encode(types: set[str], type_texts: Sequence[str], texts: Sequence[str],
            reader: _Reader, fixed: dict[str, bytes] | None = None) -> Iterator[bytes]:
    """Each line's rdata with its rdlength, in the order of the lines; given `fixed` (the
    packed type, class and TTL by type), each after its type's and its size: the line's
    RRset packed, but for its owner field. The lines of each type are encoded together (in
    C loops for the usual forms of A, AAAA, TXT, and of the types whose rdata is a
    name)."""
    if len(types) == 1:
        return iter(_encode_group(type_texts[0], texts, reader,
                                  None if fixed is None else fixed[type_texts[0]]))
    groups: dict[str, list[str]] = {rdtype: [] for rdtype in types}
    deque(map(list.append, map(groups.__getitem__, type_texts), texts), maxlen=0)
    encoded = {rdtype: iter(_encode_group(rdtype, group, reader,
                                          None if fixed is None else fixed[rdtype]))
               for rdtype, group in groups.items()}
    return map(next, map(encoded.__getitem__, type_texts))


def _encode_group(rdtype: str, group: Sequence[str], reader: _Reader,
                  fixed: bytes | None = None) -> Iterable[bytes]:
    """The rdatas of lines of one type, each with its rdlength; given `fixed` (their
    packed type, class and TTL), each after it and its size."""
    if rdtype == "A":
        return map(add, repeat(_head(fixed, 4)), map(inet_pton, repeat(AF_INET), group))
    if rdtype == "AAAA":  # inet_pton takes exactly the addresses dnspython takes (tested)
        return map(add, repeat(_head(fixed, 16)), map(inet_pton, repeat(AF_INET6), group))
    if rdtype == "TXT" and _quoted(group):  # one quoted string each
        values = "\n".join(map(itemgetter(slice(1, -1)), group)).encode().split(b"\n")
        if max(map(len, values)) > 255:
            raise _Outside
        return map(add, map(_txt_heads(fixed).__getitem__, map(len, values)), values)
    if rdtype in _ONE_NAME or rdtype == "MX":
        joined = "\n".join(group)
        if '"' in joined or "\t" in joined:
            return _sized(map(_ENCODERS[rdtype], repeat(reader), group), fixed)  # (refused)
        if rdtype != "MX":
            if " " not in joined:  # one name each (_target)
                return _sized(_with_rdlength(map(reader.wire, group)), fixed)
        else:
            parts = list(map(str.split, group))
            if sum(map(len, parts)) == 2 * len(parts):  # a preference and a name each (_mx)
                preferences, exchanges = zip(*parts, strict=True)
                if "".join(preferences).isdigit():
                    values = list(map(int, preferences))
                    if max(values) > 0xFFFF:
                        raise _Outside
                    return _sized(_with_rdlength(map(add, map(_PACK_H, values),
                                                     map(reader.wire, exchanges))), fixed)
    return _sized(map(_ENCODERS[rdtype], repeat(reader), group), fixed)


def _quoted(texts: Sequence[str]) -> bool:
    """Whether each text (without a newline) is one quoted string: starts and ends with a
    quote, and has no other. (Joined, of two characters at least each: every newline
    between two quotes, the first and last character quotes, two quotes a text.)"""
    joined = "\n".join(texts)
    return (joined[:1] == '"' == joined[-1:] and min(map(len, texts)) > 1
            and joined.count('"\n"') == len(texts) - 1 and joined.count('"') == 2 * len(texts))


def _head(fixed: bytes | None, rdlength: int) -> bytes:
    """What comes before an rdata of `rdlength` octets: its rdlength, after `fixed` and
    the size of the RRset's rdatas when given `fixed`."""
    return _PACK_H(rdlength) if fixed is None else fixed + _PACK_I(rdlength + 2) + \
        _PACK_H(rdlength)


def _txt_heads(fixed: bytes | None) -> list[bytes]:
    """_head of a TXT rdata of one string, and the string's length octet, by that length."""
    if fixed is None:
        return _TXT_HEADS
    heads = _TXT_HEADS_AFTER.get(fixed)
    if heads is None:
        if len(_TXT_HEADS_AFTER) >= 16:  # (TTLs seldom vary; the cache stays small)
            _TXT_HEADS_AFTER.clear()
        heads = _TXT_HEADS_AFTER[fixed] = [fixed + _PACK_I(n + 3) + head
                                           for n, head in enumerate(_TXT_HEADS)]
    return heads


_TXT_HEADS_AFTER: dict[bytes, list[bytes]] = {}  # _txt_heads by `fixed`


def _sized(rdatas: Iterable[bytes], fixed: bytes | None) -> Iterable[bytes]:
    """Rdatas (each with its rdlength), each after `fixed` and its size when given."""
    if fixed is None:
        return rdatas
    rdatas = list(rdatas)
    return map(add, map(add, repeat(fixed), map(_PACK_I, map(len, rdatas))), rdatas)


def _with_rdlength(raws: Iterable[bytes]) -> Iterator[bytes]:
    """Each rdata with its rdlength before it."""
    raws = list(raws)
    return map(add, map(_PACK_H, map(len, raws)), raws)


_ONE_NAME = ("NS", "CNAME", "PTR")  # the types whose rdata is one name


def _encode_one(parse: _Parse) -> Callable[[_Reader, str], bytes]:
    """What encodes one rdata's text (the rest of its line) with a type's reader."""
    strings = parse in (_txt, _caa)  # types with character strings, maybe quoted

    def encode(reader: _Reader, text: str) -> bytes:
        words = _words(text) if strings else None if '"' in text else text.split()
        if words is None:
            raise _Outside  # e.g. a quoted name: dnspython reads the file
        rdata = parse(reader, words)[0]
        return rdata if rdata.__class__ is bytes else pack_rdata(rdata)  # type: ignore
    return encode


_ENCODERS = {text: _encode_one(parse) for text, (_, parse) in _PARSERS.items()}


# What keeps a file from being read with others (parse_many): comments, blank owners,
# directives, tabs, blanks at the end of a line; the file is then read alone.
_ALONE = (";", "\n ", "\t", "\n$", " \n")
# Files of fewer lines are read together (parse_many): a larger file costs less alone, its
# own columns costing less than its lines' share of the group's (~0.4 µs a line more), which
# then outweighs what reading it alone costs more (~15 µs a file)
_FEW_LINES = 32
# The types whose rdatas hold names (parse_many takes only absolute ones)
_NAMED = frozenset({"NS", "CNAME", "PTR", "MX", "SRV", "SOA"})


def parse_many(texts: Sequence[str], origins: Sequence[dns.name.Name]
               ) -> list[Packed | None]:
    """What parse(text, origin) gives for each text and origin (no limit: the
    caller gives only texts that cannot pass one). The C reader reads each file it takes
    alone (it costs less so). Of the others, the files of fewer than _FEW_LINES lines
    in the form zone exports have with absolute names (every line `owner. TTL IN TYPE
    rdata`, each owner's lines together and each RRset's) are read together, column by
    column over all their lines (_columns_many); a file found not to be is read alone, and
    the others together again (a group that fails where no file is named is halved)."""
    out: list[Packed | None] = [None] * len(texts)
    together = []
    for i, (text, origin) in enumerate(zip(texts, origins, strict=True)):
        if _fast is not None and (packed := _fast(text, origin.to_wire())) is not None:
            out[i] = packed
        elif (text and text[0] not in " $" and text[-1] != " " and len(origin) > 1
                and text.count("\n") < _FEW_LINES
                and not any(map(text.__contains__, _ALONE)) and text.isascii()
                and not text.encode().translate(None, _INSIDE)):
            together.append(i)
        else:
            out[i] = parse(text, origin)

    groups = [together]
    while groups:
        group = groups.pop()
        if len(group) == 1:
            out[group[0]] = parse(texts[group[0]], origins[group[0]])
        if len(group) <= 1:
            continue
        try:
            packed = _columns_many([texts[i] for i in group], [origins[i] for i in group])
        except _Alone as alone:
            at = alone.file
            groups += [group[:at], group[at : at + 1], group[at + 1:]]
            continue
        except Exception:  # _Outside, or any error of the C library's: as parse
            packed = None
        if packed is None:
            groups += [group[: len(group) // 2], group[len(group) // 2 :]]
            continue
        for i, one in zip(group, packed, strict=True):
            out[i] = one
    return out


class _Alone(Exception):
    """The `file`-th of the files read together is not in the form they share."""

    def __init__(self, file: int):
        super().__init__(file)
        self.file = file


def _first_apart(keys: Sequence[object]) -> int:
    """The first line whose key was met before, but not on the line before it."""
    seen = set()
    for i, key in enumerate(keys):
        if i and key == keys[i - 1]:
            continue
        if key in seen:
            return i
        seen.add(key)
    return -1


def _columns_many(texts: list[str], origins: list[dns.name.Name]) -> list[Packed] | None:
    """_columns of each text, over all their lines at once: None unless every file is in
    the form zone exports have, with absolute names (owners in their file's zone as it
    spells its name, targets), printable ASCII without tabs, comments, directives or
    blank owners (parse_many checks those). _Alone names a file that is not, where a check
    of a line finds it."""
    per_file = list(map(str.splitlines, texts))
    counts = list(map(len, per_file))
    lines = list(chain.from_iterable(per_file))
    files = list(chain.from_iterable(map(repeat, range(len(texts)), counts)))  # of each line
    rows = list(map(str.split, lines, repeat(None), repeat(4)))
    if sum(map(len, rows)) != 5 * len(rows):
        raise _Alone(next(compress(files, map(ne, map(len, rows), repeat(5)))))
    owner_texts, ttl_texts, classes, type_texts, rdata_texts = zip(*rows, strict=True)
    types = set(type_texts)
    if (classes.count("IN") != len(classes) or not "".join(ttl_texts).isdigit()
            or not _TYPES.keys() >= types):
        raise _Alone(next(file for file, cls, ttl, rdtype
                          in zip(files, classes, ttl_texts, type_texts, strict=True)
                          if cls != "IN" or not ttl.isdigit() or rdtype not in _TYPES))
    # its zone's name (text, wire) and the suffix of names below it
    zone_texts = [name_text(origin) for origin in origins]
    apexes = [origin.to_wire() for origin in origins]
    suffixes = list(map(add, repeat("."), zone_texts))
    line_zones = list(map(zone_texts.__getitem__, files))
    line_suffixes = list(map(suffixes.__getitem__, files))
    at_apex = list(map(eq, owner_texts, line_zones))
    below = list(map(str.endswith, owner_texts, line_suffixes))
    if sum(at_apex) + sum(below) != len(lines):  # an owner outside its file's zone, or not
        raise _Alone(next(compress(files, map(not_, map(or_, at_apex, below)))))  # absolute
    names = _owners_many(owner_texts, at_apex, line_suffixes, files, apexes)
    if names is None:
        return None
    # an owner's lines together, spelled in one way; the lines of an RRset together
    spelled = list(zip(files, owner_texts, strict=True))
    rrset_lines = list(zip(files, owner_texts, type_texts, strict=True))
    firsts = [True, *map(ne, rrset_lines, islice(rrset_lines, 1, None))]
    if sum(map(ne, spelled, islice(spelled, 1, None))) + 1 != len(names):
        raise _Alone(files[_first_apart(spelled)])
    if len(set(rrset_lines)) != sum(firsts):
        raise _Alone(files[_first_apart(rrset_lines)])
    if len(set(zip(map(itemgetter(0), names), map(bytes.lower, names.values()), strict=True))
           ) != len(names):
        return None  # (rare: a name spelled in two ways)
    if "CNAME" in types:  # a CNAME and other data: dnspython refuses the file
        for i in compress(range(len(lines)), map(eq, type_texts, repeat("CNAME"))):
            if spelled[max(i - 1, 0) : i + 2].count(spelled[i]) > 1:
                raise _Alone(files[i])
    if not _NAMED.isdisjoint(types):
        for i in compress(range(len(lines)), map(_NAMED.__contains__, type_texts)):
            if type_texts[i] == "SOA":
                if not at_apex[i] or not all(w[-1] == "." for w in rdata_texts[i].split()[:2]):
                    raise _Alone(files[i])
            elif rdata_texts[i][-1] != ".":
                raise _Alone(files[i])  # a relative target: relative to its file's $ORIGIN
    reader = _Reader(dns.name.root)  # (every name read is absolute)
    # targets that are owners (an MX's mail.<zone>, a CNAME's <zone>) are those names
    reader.wires = dict(zip(map(itemgetter(1), names), names.values(), strict=True))
    fixeds = list(_fixeds(types, type_texts, ttl_texts))
    rdatas = list(_encode(types, type_texts, rdata_texts, reader))
    records = list(counts)  # of each file
    ends = list(accumulate(counts))  # of each file's lines
    if len(firsts) != sum(firsts):  # RRsets of several lines: each made one
        alone = _merge(firsts, type_texts, ttl_texts, fixeds, rdatas, files, records)
        if alone >= 0:
            raise _Alone(files[alone])
        kept = list(accumulate(firsts))
        ends = [kept[end - 1] for end in ends]
        spelled, fixeds, rdatas = (list(compress(column, firsts))
                                   for column in (spelled, fixeds, rdatas))
    fields = {key: _OCTETS[len(wire)] + wire for key, wire in names.items()}
    news = [True, *map(ne, spelled, islice(spelled, 1, None))]  # an owner's first RRset
    pieces = list(_pieces(map(fields.__getitem__, spelled), news, fixeds, rdatas))
    return [(b"".join(pieces[4 * start : 4 * end]), count)  # (four pieces an RRset)
            for start, end, count in zip([0, *ends[:-1]], ends, records, strict=True)]


def _merge(firsts: list[bool], type_texts: Sequence[str], ttl_texts: Sequence[str],
           fixeds: list[bytes], rdatas: list[bytes], files: list[int], records: list[int]
           ) -> int:
    """Make the RRs of each RRset's lines (together; `firsts` where each RRset starts) its
    first line's, as _Reader.record adds them: equal rdatas once (by their canonical form,
    RFC 4034 §6.2: names lower-cased), the least TTL; `records` (by file) counts the RRs
    so. The line of a SOA or CNAME of several lines (the reader decides then), else -1."""
    starts = [i for i, first in enumerate(firsts) if first]
    for start, end in zip(starts, [*starts[1:], len(firsts)], strict=True):
        if end - start == 1:
            continue
        rdtype = _TYPES[type_texts[start]]
        if rdtype in _SINGLETONS:
            return start
        names_at = _NAMES_AT.get(rdtype)
        unique: dict[bytes, bytes] = {}
        for rdata in rdatas[start:end]:
            key = rdata if names_at is None else rdata[:names_at] + rdata[names_at:].lower()
            unique.setdefault(key, rdata)
        fixeds[start] = pack_fixed(rdtype, min(map(int, ttl_texts[start:end])))
        rdatas[start] = b"".join(unique.values())
        records[files[start]] -= end - start - len(unique)
    return -1


# Where the names start in the rdatas (rdlength included) of the types whose rdatas hold
# names, the octets before them fixed: lower-cased, they are the canonical form (their
# length octets, below 64, no lower-casing changes)
_NAMES_AT = {dns.rdatatype.NS: 2, dns.rdatatype.PTR: 2, dns.rdatatype.MX: 4,
             dns.rdatatype.SRV: 8}


def _owners_many(texts: Sequence[str], at_apex: list[bool], suffixes: list[str],
                 files: list[int], apexes: list[bytes]
                 ) -> dict[tuple[int, str], bytes] | None:
    """The owner names' wire forms of lines of several files (their texts absolute, in their file's
    zone, `suffixes` the zone's name after a dot) by (file, text); None when one has a
    quote or a label that is empty or too long. The usual ones, one label and the zone's
    name, are encoded together."""
    keys = list(zip(files, texts, strict=True))
    names = dict(zip(compress(keys, at_apex), map(apexes.__getitem__, compress(files, at_apex)),
                     strict=True))
    others = list(map(not_, at_apex))
    # the labels above the zone's name, by (file, text)
    below = dict(zip(compress(keys, others), map(str.removesuffix, compress(texts, others),
                                                  compress(suffixes, others)), strict=True))
    if not below:
        return names
    heads = "\n".join(below.values())
    tails = [apexes[file] for file, _ in below]
    if '"' in heads:
        return None  # left to the reader alone
    if "." in heads:  # names of several labels: each label its length octet
        parts = [head.encode().split(b".") for head in below.values()]
        labels = list(chain.from_iterable(parts))
        lengths = list(map(len, labels))
        wires = [b"".join(map(add, map(_OCTETS.__getitem__, map(len, part)), part))
                 for part in parts]
    else:
        labels = heads.encode().split(b"\n")
        lengths = list(map(len, labels))
        wires = list(map(add, map(_OCTETS.__getitem__, lengths), labels))
    if (min(lengths) == 0 or max(lengths) > 63
            or max(map(add, map(len, wires), map(len, tails))) > 255):
        return None  # an empty label or one too long, a name too long: as _Reader._name
    names.update(zip(below, map(add, wires, tails), strict=True))
    return names


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` one at a time (str.split would make them all at once)."""
    start = 0
    find = text.find
    while (end := find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def parse(text: str, origin: dns.name.Name, limit: RecordLimit | None = None
          ) -> Packed | None:
    """The RRsets of a zone file's text, owners absolute, in dnspython's order, packed
    (dns/packed.py), and the records in them; None when the text is outside the subset or
    has an error (read it with dnspython then). TooManyRecords when the records read pass
    `limit`.

    A text of no more lines than the limit cannot pass it (one record a line at most): it
    is read as fast as it can be. Any other is read line by line, counting, so that one
    over the limit costs no more than the lines up to it."""
    most = limit.count if limit is not None else None
    counted = most is not None and text.count("\n") >= most
    if _fast is not None and not counted:
        packed = _fast(text, origin.to_wire())
        if packed is not None:
            return packed
    if not text.isascii() or text.encode().translate(None, _INSIDE):
        return None  # a character outside the subset
    reader = _Reader(origin)
    try:
        packed = _columns(text, reader) if text and not counted else None
        if packed is not None:
            return packed
        for number, line in enumerate(_lines(text) if counted else text.split("\n"), 1):
            if '"' in line:
                words = _words(line)
                if words is None:
                    return None
            elif ";" in line:
                words = line.partition(";")[0].split()
            else:
                words = line.split()
            if not words:
                continue
            if line[0] == "$":
                reader.directive(words)
            else:
                reader.record(words, line[0] in " \t")
                if counted and reader.records > most:
                    raise TooManyRecords(limit, number)
        return pack_rrsets(reader.rrsets())
    except TooManyRecords:
        raise
    except Exception:  # _Outside, or any error of dnspython's or the C library's
        return None
