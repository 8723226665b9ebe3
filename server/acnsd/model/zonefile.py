"""A fast reader for the common subset of RFC 1035 master files, giving pre-encoded RRsets.

The rule this module owns: `parse` either returns exactly the RRsets that
`dns.zone.from_file(..., relativize=False, check_origin=False)` gives for the same text,
encoded as `wire.encode_rrset` encodes them, or None, and then the caller reads the file
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
record (_columns); any other file line by line (_Reader). Files in that form with absolute
names are also read several at a time, column by column over all their lines
(`parse_many`): what _columns does per file is then done once per group, and RRsets of
several lines are read so too (zonedata reads 64 files a group: a file of a few records
costs ~40 % less; larger groups, whose columns outgrow the CPU caches, cost more).
"""

from __future__ import annotations

import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, islice, repeat
from operator import add, attrgetter, eq, itemgetter, ne, not_, or_
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.ttl
from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.SOA import SOA

from ..dns.wire import WireName, WireRRset, encode_rdata, name_text, pack_fixed, wire_rrset

__all__ = ["RecordLimit", "TooManyRecords", "parse", "parse_many"]

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
_UNPACK_I = struct.Struct(">I").unpack_from

Rdata = bytes | tuple[bytes | WireName, ...]
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
    def __init__(self, origin: dns.name.Name, shared: dict[bytes, bytes]):
        self.zone_origin = WireName(origin.to_wire())
        self.zone_key = self.zone_origin.key
        # absolute names written with the zone's name as the file gives it (the common
        # case) are encoded as relative ones
        self.zone_text = name_text(origin)
        self.zone_suffix = "\n" if self.zone_key == b"\x00" else "." + self.zone_text
        self.origin = self.zone_origin
        self.origin_inside = True  # whether $ORIGIN is the zone's name or below it
        self.shared = shared
        self.fixed: dict[int, bytes] = {}  # by type << 32 | TTL
        self.names: dict[str, WireName] = {}  # by text, relative to self.origin
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

    def literal(self, raw: bytes) -> bytes:
        """rdlength and rdata, stored once however many zones repeat it (addresses are not
    looked up there: they seldom repeat)."""
        rdata = _PACK_H(len(raw)) + raw
        return self.shared.setdefault(rdata, rdata)

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
        shared = self.shared
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
                    fixed = pack_fixed(rdtype, ttl)
                    fixed = fixeds[rdtype << 32 | ttl] = shared.setdefault(fixed, fixed)
                if held.__class__ is tuple:
                    rdatas = (held[1],)
                else:
                    rdatas = tuple(held[1])
                append(wire_rrset(owner, rdtype, fixed, rdatas))
        return tuple(out)


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
    packed = r.shared.setdefault(packed, packed)  # one per preference, however many zones
    return (packed, name), packed + name.key


def _srv(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    priority, weight, port, target = _count(words, 4)
    name = r.name(target)
    fields = _PACK_HHH(_uint16(priority), _uint16(weight), _uint16(port))
    return r.literal(fields + name.wire), fields + name.key


def _txt(r: _Reader, words: list[str]) -> tuple[Rdata, bytes]:
    strings = [_string(w) for w in words]
    if not strings or max(map(len, strings)) > 255:
        raise _Outside
    rdata = r.literal(b"".join(bytes((len(s),)) + s for s in strings))
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
_KEY = attrgetter("key")


def _columns(text: str, reader: _Reader) -> tuple[WireRRset, ...] | None:
    """The RRsets of a file in the form zone exports have (dnspython's and BIND's
    output), built column by column: every line `owner TTL IN TYPE rdata`, the TTL in
    seconds, no comments, each owner's lines together and one record per owner and type.
    Then each line is an RRset, in the order of the file (dnspython's). None for any other
    file (the reader reads it line by line then)."""
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
    names = _owners(dict.fromkeys(owner_texts), reader)
    if names is None:
        return None
    # an owner's lines together, spelled in one way; an RRset of one RR each
    if (1 + sum(map(ne, owner_texts, islice(owner_texts, 1, None))) != len(names)
            or len(set(map(_KEY, names.values()))) != len(names)
            or len(set(zip(owner_texts, type_texts, strict=True))) != len(owner_texts)):
        return None
    if "CNAME" in types:  # a CNAME and other data: dnspython refuses the file
        for i in compress(range(len(owner_texts)), map(eq, type_texts, repeat("CNAME"))):
            if owner_texts[max(i - 1, 0) : i + 2].count(owner_texts[i]) > 1:
                return None
    if "SOA" in types and any(names[owner].key != reader.zone_key for owner, rdtype
                              in zip(owner_texts, type_texts, strict=True) if rdtype == "SOA"):
        return None
    if ttl_texts.count(ttl_texts[0]) == len(ttl_texts):  # the usual case: fixed by type
        fixed = _fixed(types, ttl_texts[0], reader.shared)
        fixeds = map(fixed.__getitem__, type_texts)
    else:
        fixed = {(rdtype, ttl): packed for ttl in set(ttl_texts)
                 for rdtype, packed in _fixed(types, ttl, reader.shared).items()}
        fixeds = map(fixed.__getitem__, zip(type_texts, ttl_texts, strict=True))
    owners = map(names.__getitem__, owner_texts)
    rdtypes = map(_TYPES.__getitem__, type_texts)
    rdatas = zip(_encode(types, type_texts, rdata_texts, reader))  # one rdata each
    rrsets = list(map(WireRRset, owners, rdtypes, fixeds, rdatas))
    if not _WITH_TARGETS.isdisjoint(types):
        for i in compress(range(len(rrsets)), map(_WITH_TARGETS.__contains__, type_texts)):
            rrset = rrsets[i]
            rrsets[i] = wire_rrset(rrset.owner, rrset.rdtype, rrset.fixed, rrset.rdatas)
    return tuple(rrsets)


def _fixed(types: set[str], ttl: str, shared: dict[bytes, bytes]) -> dict[str, bytes]:
    """The packed type, class and TTL of RRs of these types and TTL (digits), by type."""
    value = int(ttl)
    if value > 0xFFFFFFFF:
        raise _Outside
    packed = [pack_fixed(_TYPES[rdtype], value) for rdtype in types]
    return dict(zip(types, map(shared.setdefault, packed, packed), strict=True))


def _owners(texts: dict[str, None], reader: _Reader) -> dict[str, WireName] | None:
    """Owner names by their text; None when one is outside the zone or has a quote (the
    reader decides then). The usual ones, one label and the zone's name, are encoded
    together."""
    names = {}
    suffix, tail = reader.zone_suffix, reader.zone_origin.wire
    if texts.pop(reader.zone_text, False) is None:
        names[reader.zone_text] = reader.zone_origin
    ends = suffix + "\n"
    joined = "\n".join(texts) + "\n"
    if texts and joined.count(ends) == len(texts):  # each text ends with the suffix
        heads = joined.replace(ends, "\n")[:-1]
        labels = heads.encode().split(b"\n")
        lengths = list(map(len, labels))
        if ("." not in heads and '"' not in heads and min(lengths) > 0
                and max(lengths) <= min(63, 254 - len(tail))):
            wires = map(add, map(add, map(_OCTETS.__getitem__, lengths), labels), repeat(tail))
            names.update(zip(texts, map(WireName, wires), strict=True))
            return names
    for text in texts:
        name, inside = reader._name(text)
        if not inside or '"' in text:
            return None
        names[text] = name
    return names


_OCTETS = [bytes((n,)) for n in range(256)]
# a TXT rdata of one string: rdlength and the string's length octet, by that length
_TXT_HEADS = [_PACK_H(n + 1) + bytes((n,)) for n in range(256)]


def _encode(types: set[str], type_texts: Sequence[str], texts: Sequence[str],
            reader: _Reader) -> Iterator[Rdata]:
    """Each line's rdata, in the order of the lines: the lines of each type are encoded
    together (in C loops for the usual forms of A, AAAA and TXT)."""
    if len(types) == 1:
        return iter(_encode_group(type_texts[0], texts, reader))
    groups: dict[str, list[str]] = {rdtype: [] for rdtype in types}
    deque(map(list.append, map(groups.__getitem__, type_texts), texts), maxlen=0)
    encoded = {rdtype: iter(_encode_group(rdtype, group, reader))
               for rdtype, group in groups.items()}
    return map(next, map(encoded.__getitem__, type_texts))


def _encode_group(rdtype: str, group: Sequence[str], reader: _Reader) -> Iterable[Rdata]:
    """The rdatas of lines of one type."""
    if rdtype == "A":
        return map(add, repeat(b"\x00\x04"), map(inet_pton, repeat(AF_INET), group))
    if rdtype == "AAAA":  # inet_pton takes exactly the addresses dnspython takes (tested)
        return map(add, repeat(b"\x00\x10"), map(inet_pton, repeat(AF_INET6), group))
    if rdtype == "TXT" and all(map(eq, map(str.count, group, repeat('"')), repeat(2))) \
            and all(map(str.startswith, group, repeat('"'))) \
            and all(map(str.endswith, group, repeat('"'))):  # one quoted string each
        values = "\n".join(map(itemgetter(slice(1, -1)), group)).encode().split(b"\n")
        if max(map(len, values)) > 255:
            raise _Outside
        rdatas = list(map(add, map(_TXT_HEADS.__getitem__, map(len, values)), values))
        return map(reader.shared.setdefault, rdatas, rdatas)
    if rdtype in _ONE_NAME or rdtype == "MX":
        joined = "\n".join(group)
        if '"' in joined or "\t" in joined:
            return map(_ENCODERS[rdtype], repeat(reader), group)  # (refused there)
        if rdtype != "MX":
            if " " not in joined:  # one name each (_target)
                return zip(map(reader.name, group))
        else:
            parts = list(map(str.split, group))
            if sum(map(len, parts)) == 2 * len(parts):  # a preference and a name each (_mx)
                preferences, exchanges = zip(*parts, strict=True)
                if "".join(preferences).isdigit():
                    values = list(map(int, preferences))
                    if max(values) > 0xFFFF:
                        raise _Outside
                    packed = list(map(_PACK_H, values))
                    return zip(map(reader.shared.setdefault, packed, packed),
                               map(reader.name, exchanges), strict=True)
    return map(_ENCODERS[rdtype], repeat(reader), group)


_ONE_NAME = ("NS", "CNAME", "PTR")  # the types whose rdata is one name


def _encode_one(parse: _Parse) -> Callable[[_Reader, str], Rdata]:
    """What encodes one rdata's text (the rest of its line) with a type's reader."""
    strings = parse in (_txt, _caa)  # types with character strings, maybe quoted

    def encode(reader: _Reader, text: str) -> Rdata:
        words = _words(text) if strings else None if '"' in text else text.split()
        if words is None:
            raise _Outside  # e.g. a quoted name: dnspython reads the file
        return parse(reader, words)[0]
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


def parse_many(texts: Sequence[str], origins: Sequence[dns.name.Name],
               shared: dict[bytes, bytes]) -> list[tuple[WireRRset, ...] | None]:
    """What parse(text, origin, shared) gives for each text and origin (no limit: the
    caller gives only texts that cannot pass one). The files of fewer than _FEW_LINES lines
    in the form zone exports have with absolute names (every line `owner. TTL IN TYPE
    rdata`, each owner's lines together and each RRset's) are read together, column by
    column over all their lines (_columns_many); a file found not to be is read alone, and
    the others together again (a group that fails where no file is named is halved)."""
    out: list[tuple[WireRRset, ...] | None] = [None] * len(texts)
    together = []
    for i, (text, origin) in enumerate(zip(texts, origins, strict=True)):
        if (text and text[0] not in " $" and text[-1] != " " and len(origin) > 1
                and text.count("\n") < _FEW_LINES
                and not any(map(text.__contains__, _ALONE)) and text.isascii()
                and not text.encode().translate(None, _INSIDE)):
            together.append(i)
        else:
            out[i] = parse(text, origin, shared)

    groups = [together]
    while groups:
        group = groups.pop()
        if len(group) == 1:
            out[group[0]] = parse(texts[group[0]], origins[group[0]], shared)
        if len(group) <= 1:
            continue
        try:
            rrsets = _columns_many([texts[i] for i in group], [origins[i] for i in group],
                                   shared)
        except _Alone as alone:
            at = alone.file
            groups += [group[:at], group[at : at + 1], group[at + 1:]]
            continue
        except Exception:  # _Outside, or any error of the C library's: as parse
            rrsets = None
        if rrsets is None:
            groups += [group[: len(group) // 2], group[len(group) // 2 :]]
            continue
        for i, one in zip(group, rrsets, strict=True):
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


def _columns_many(texts: list[str], origins: list[dns.name.Name],
                  shared: dict[bytes, bytes]) -> list[tuple[WireRRset, ...]] | None:
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
    apexes = [WireName(origin.to_wire()) for origin in origins]
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
    owners = list(map(names.__getitem__, zip(files, owner_texts, strict=True)))
    # an owner's lines together, spelled in one way; the lines of an RRset together
    spelled = list(zip(files, owner_texts, strict=True))
    rrset_lines = list(zip(files, owner_texts, type_texts, strict=True))
    firsts = [True, *map(ne, rrset_lines, islice(rrset_lines, 1, None))]
    if sum(map(ne, spelled, islice(spelled, 1, None))) + 1 != len(names):
        raise _Alone(files[_first_apart(spelled)])
    if len(set(rrset_lines)) != sum(firsts):
        raise _Alone(files[_first_apart(rrset_lines)])
    if len(set(zip(files, map(_KEY, owners), strict=True))) != len(names):
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
    reader = _Reader(dns.name.root, shared)  # (every name read is absolute)
    # targets that are owners (an MX's mail.<zone>, a CNAME's <zone>) are those names
    reader.names = dict(zip(map(itemgetter(1), names), names.values(), strict=True))
    if ttl_texts.count(ttl_texts[0]) == len(ttl_texts):
        fixed = _fixed(types, ttl_texts[0], shared)
        fixeds = map(fixed.__getitem__, type_texts)
    else:
        fixed = {(rdtype, ttl): packed for ttl in set(ttl_texts)
                 for rdtype, packed in _fixed(types, ttl, shared).items()}
        fixeds = map(fixed.__getitem__, zip(type_texts, ttl_texts, strict=True))
    rdtypes = map(_TYPES.__getitem__, type_texts)
    rdatas = zip(_encode(types, type_texts, rdata_texts, reader))
    rrsets = list(map(WireRRset, owners, rdtypes, fixeds, rdatas))
    ends = list(accumulate(counts))  # of each file's lines
    if len(firsts) != sum(firsts):  # RRsets of several lines: each made one
        alone = _merge(rrsets, firsts, shared)
        if alone >= 0:
            raise _Alone(files[alone])
        kept = list(accumulate(firsts))
        ends = [kept[end - 1] for end in ends]
        rrsets = list(compress(rrsets, firsts))
    if not _WITH_TARGETS.isdisjoint(types):
        for i in compress(range(len(rrsets)), map(_LINKED.__contains__,
                                                  map(_RDTYPE, rrsets))):
            rrset = rrsets[i]
            rrsets[i] = wire_rrset(rrset.owner, rrset.rdtype, rrset.fixed, rrset.rdatas)
    return list(map(tuple, map(rrsets.__getitem__, map(slice, [0, *ends[:-1]], ends))))


def _merge(rrsets: list[WireRRset], firsts: list[bool], shared: dict[bytes, bytes]) -> int:
    """Make the RRs of each RRset's lines (together; each RR a WireRRset, `firsts` where
    each RRset starts) the first one's, as _Reader.record adds them: equal rdatas once,
    the least TTL. The line of a SOA or CNAME of several lines (the reader decides then),
    else -1."""
    starts = [i for i, first in enumerate(firsts) if first]
    for start, end in zip(starts, [*starts[1:], len(rrsets)], strict=True):
        if end - start == 1:
            continue
        group = rrsets[start:end]
        rdtype = group[0].rdtype
        if rdtype in _SINGLETONS:
            return start
        key = _RDATA_KEYS.get(rdtype, _same_rdata)
        rdatas = {}
        for rrset in group:
            rdatas.setdefault(key(rrset.rdatas[0]), rrset.rdatas[0])
        ttl = min(rrset.ttl for rrset in group)
        fixed = pack_fixed(rdtype, ttl)
        rrsets[start] = WireRRset(group[0].owner, rdtype, shared.setdefault(fixed, fixed),
                                  tuple(rdatas.values()))
    return -1


def _same_rdata(rdata: Rdata) -> Rdata:
    return rdata


# The canonical form (RFC 4034 §6.2: names lower-cased) by which equal rdatas are collapsed,
# of the types whose rdatas hold names (the others': the rdata itself)
_RDATA_KEYS: dict[int, Callable[[Any], Any]] = {
    dns.rdatatype.NS: lambda rdata: rdata[0].key,
    dns.rdatatype.PTR: lambda rdata: rdata[0].key,
    dns.rdatatype.MX: lambda rdata: rdata[0] + rdata[1].key,
    # rdlength, priority, weight and port, then the target's wire form (whose length
    # octets, below 64, no lower-casing changes)
    dns.rdatatype.SRV: lambda rdata: rdata[:8] + rdata[8:].lower(),
}
_RDTYPE = attrgetter("rdtype")
_LINKED = frozenset(map(_TYPES.__getitem__, _WITH_TARGETS))


def _owners_many(texts: Sequence[str], at_apex: list[bool], suffixes: list[str],
                 files: list[int], apexes: list[WireName]
                 ) -> dict[tuple[int, str], WireName] | None:
    """The owner names of lines of several files (their texts absolute, in their file's
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
    tails = [apexes[file].wire for file, _ in below]
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
    names.update(zip(below, map(WireName, map(add, wires, tails)), strict=True))
    return names


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` one at a time (str.split would make them all at once)."""
    start = 0
    find = text.find
    while (end := find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def parse(text: str, origin: dns.name.Name, shared: dict[bytes, bytes] | None = None,
          limit: RecordLimit | None = None) -> tuple[WireRRset, ...] | None:
    """The RRsets of a zone file's text, pre-encoded, owners absolute, in dnspython's
    order; None when the text is outside the subset or has an error (read it with
    dnspython then). Equal rdatas (but addresses, which seldom repeat) and TTLs are stored
    once in `shared`, when given. TooManyRecords when the records read pass `limit`.

    A text of no more lines than the limit cannot pass it (one record a line at most): it
    is read as fast as it can be. Any other is read line by line, counting, so that one
    over the limit costs no more than the lines up to it."""
    if not text.isascii() or text.encode().translate(None, _INSIDE):
        return None  # a character outside the subset
    reader = _Reader(origin, {} if shared is None else shared)
    most = limit.count if limit is not None else None
    counted = most is not None and text.count("\n") >= most
    try:
        rrsets = _columns(text, reader) if text and not counted else None
        if rrsets is not None:
            return rrsets
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
        return reader.rrsets()
    except TooManyRecords:
        raise
    except Exception:  # _Outside, or any error of dnspython's or the C library's
        return None
