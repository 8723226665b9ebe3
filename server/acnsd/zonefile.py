"""A fast reader for the common subset of RFC 1035 master files, giving dnspython's RRsets.

The rule this module owns: `parse` either returns exactly the RRsets that
`dns.zone.from_file(..., relativize=False, check_origin=False)` gives for the same text, or
None, and then the caller reads the file with dnspython (which also words every error).
It handles one record per line; $TTL and $ORIGIN; relative, absolute and `@` owners, a
blank owner repeating the previous one; TTL and class in either order, each optional;
comments; quoted strings; the types A, AAAA, NS, CNAME, PTR, MX, SRV, TXT, CAA and SOA.
Anything else (parentheses, escapes, $INCLUDE, $GENERATE, other types or classes,
characters outside printable ASCII) and any error make it return None.

It is faster than dnspython's reader because it splits lines with str methods instead of a
character tokenizer, builds rdatas and names without dnspython's generic constructors (with
the same checks and canonical forms), parses a repeated name or TTL once, and hashes each
rdata once (into its RRset) instead of in every step of a transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from socket import AF_INET6, inet_ntop, inet_pton

import dns.ipv4
import dns.ipv6
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.ttl
from dns.rdtypes.ANY.CAA import CAA
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

__all__ = ["parse"]

# Characters that leave the subset anywhere in the file: anything but printable ASCII, tab
# and newline (so also CR: dnspython reads files with universal newlines), parentheses
# (records spanning lines) and backslashes (escapes).
_OUTSIDE = re.compile(r"[^\t\n -~]|[()\\]")
# The pieces of a line with quoted strings: blanks, a quoted string, a comment, a word.
_PIECE = re.compile(r'[ \t]+|"[^"]*"|;.*|[^ \t";]+')

_IN = dns.rdataclass.IN
_SOA = dns.rdatatype.SOA
_CNAME = dns.rdatatype.CNAME
_A, _AAAA, _MX = dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.MX
_SRV, _TXT = dns.rdatatype.SRV, dns.rdatatype.TXT
_SINGLETONS = (_SOA, _CNAME)  # a later record replaces the earlier one (dnspython)


_new = object.__new__
_set = object.__setattr__
_Parse = Callable[["_Reader", list[str]], dns.rdata.Rdata]


class _Outside(Exception):
    """The text is outside the subset, or has an error: dnspython reads it instead."""


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


class _Reader:
    def __init__(self, origin: dns.name.Name):
        self.zone_origin = origin
        self.origin = origin
        self.names: dict[str, dns.name.Name] = {}  # by text, relative to self.origin
        # owners by text, relative to self.origin: (name, key of its node, in the zone)
        self.owners: dict[str, tuple[dns.name.Name, bytes, bool]] = {}
        self.ttls: dict[str, int | None] = {}
        self.zone_key = b".".join(origin.labels).lower()
        self.last_owner = (origin, self.zone_key, True)
        self.last_ttl: int | None = None
        self.default_ttl: int | None = None
        self.default_ttl_from_soa = False
        # by node key (the lower-cased owner): the owner as first written, its rdatas by
        # type, in dnspython's order: owners as first seen, types as last added
        self.nodes: dict[bytes, tuple[dns.name.Name,
                                      dict[int, tuple[int, list[dns.rdata.Rdata]]]]] = {}

    def name(self, text: str) -> dns.name.Name:
        name = self.names.get(text)
        if name is None:
            name = self.names[text] = _name(text, self.origin)
        return name

    def owner(self, text: str) -> tuple[dns.name.Name, bytes, bool]:
        owner = self.owners.get(text)
        if owner is None:
            name = self.name(text)
            key = b".".join(name.labels).lower()
            owner = self.owners[text] = (name, key, key == self.zone_key
                                         or key.endswith(b"." + self.zone_key))
        return owner

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
            origin = self.name(words[1])
            if not origin.is_absolute():
                raise _Outside
            self.origin = origin
            self.names = {}
            self.owners = {}
        else:
            raise _Outside

    def record(self, words: list[str], blank_owner: bool) -> None:
        if not blank_owner:
            self.last_owner = self.owner(words[0])
            words = words[1:]
        owner, key, inside = self.last_owner
        if not inside:
            return  # dnspython skips records outside the zone
        ttl = self.ttl(words[0])
        i = 0 if ttl is None else 1
        if ttl is not None:
            self.last_ttl = ttl
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
        rdata = parse(self, words[i + 1:])
        if rdtype == _SOA:
            if owner != self.zone_origin:
                raise _Outside
            if self.default_ttl is None:
                self.default_ttl = rdata.minimum
                self.default_ttl_from_soa = True
                if ttl is None:
                    ttl = self.implicit_ttl()
        if ttl is None:
            raise _Outside
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = (owner, {})
        types = node[1]
        held = types.pop(rdtype, None)
        if held is None:
            types[rdtype] = (ttl, [rdata])
        else:
            held[1].append(rdata)
            types[rdtype] = (min(held[0], ttl), held[1])

    def rrsets(self) -> dict[tuple[dns.name.Name, int], dns.rrset.RRset]:
        data = {}
        for owner, types in self.nodes.values():
            if _CNAME in types and len(types) > 1:
                raise _Outside  # dnspython refuses a CNAME and other data
            for rdtype, (ttl, rdatas) in types.items():
                rrset = dns.rrset.RRset(owner, _IN, rdtype)
                rrset.ttl = ttl  # checked by dns.ttl.from_text
                if rdtype in _SINGLETONS:
                    rdatas = rdatas[-1:]
                items = rrset.items
                for rdata in rdatas:
                    items.setdefault(rdata)
                data[(owner, rdtype)] = rrset
        return data


def _name(text: str, origin: dns.name.Name) -> dns.name.Name:
    """dns.name.from_text for a name without escapes (this subset has none), built without
    Name's constructor but with its checks."""
    if text == "@":
        return origin
    if text == ".":
        return dns.name.root
    if text[0] == '"':
        raise _Outside
    if text[-1] == ".":
        body, tail = text[:-1], (b"",)
    else:
        body, tail = text, origin.labels
    labels = body.encode().split(b".")
    if b"" in labels or max(map(len, labels)) > 63:
        raise _Outside
    if len(body) + sum(map(len, tail)) + len(tail) + 1 > 255:
        raise _Outside
    name = _new(dns.name.Name)
    _set(name, "labels", (*labels, *tail))
    return name


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


# Rdatas are built without their constructors, whose generic checks (an immutability
# context, enum and type conversions) cost several times the parsing: each value below is
# checked and canonicalized as the constructor does (tested against dnspython's reader).
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                   r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def _rdata(cls: type[dns.rdata.Rdata], rdtype: int, **fields: object) -> dns.rdata.Rdata:
    rdata = _new(cls)
    _set(rdata, "rdclass", _IN)
    _set(rdata, "rdtype", rdtype)
    _set(rdata, "rdcomment", None)
    for name, value in fields.items():
        _set(rdata, name, value)
    return rdata


def _a(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    address = _one(words)
    if not _IPV4.fullmatch(address):  # dnspython accepts only the canonical form
        address = dns.ipv4.canonicalize(address)
    return _rdata(A, _A, address=address)


def _aaaa(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    address = _one(words)
    try:  # already canonical (the C library formats as dnspython does: BIND's rules)?
        canonical = "." not in address and inet_ntop(AF_INET6,
                                                     inet_pton(AF_INET6, address)) == address
    except OSError:
        canonical = False
    if not canonical:
        address = dns.ipv6.canonicalize(address)
    return _rdata(AAAA, _AAAA, address=address)


def _target(cls: type[dns.rdata.Rdata], rdtype: int) -> _Parse:
    return lambda r, words: _rdata(cls, rdtype, target=r.name(_one(words)))


def _mx(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    preference, exchange = _count(words, 2)
    return _rdata(MX, _MX, preference=_uint16(preference), exchange=r.name(exchange))


def _srv(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    priority, weight, port, target = _count(words, 4)
    return _rdata(SRV, _SRV, priority=_uint16(priority), weight=_uint16(weight),
                  port=_uint16(port), target=r.name(target))


def _txt(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    strings = tuple(_string(w) for w in words)
    if not strings or max(map(len, strings)) > 255:
        raise _Outside
    return _rdata(TXT, _TXT, strings=strings)


def _caa(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    flags, tag, value = _count(words, 3)
    return CAA(_IN, dns.rdatatype.CAA, _uint(flags), _string(tag), _string(value))


def _soa(r: _Reader, words: list[str]) -> dns.rdata.Rdata:
    mname, rname, serial, *timers = _count(words, 7)
    values = [dns.ttl.from_text(t) for t in timers]
    return SOA(_IN, _SOA, r.name(mname), r.name(rname), _uint(serial), *values)


_PARSERS: dict[str, tuple[int, _Parse]] = {
    "A": (_A, _a),
    "AAAA": (_AAAA, _aaaa),
    "NS": (dns.rdatatype.NS, _target(NS, dns.rdatatype.NS)),
    "CNAME": (_CNAME, _target(CNAME, _CNAME)),
    "PTR": (dns.rdatatype.PTR, _target(PTR, dns.rdatatype.PTR)),
    "MX": (_MX, _mx),
    "SRV": (_SRV, _srv),
    "TXT": (_TXT, _txt),
    "CAA": (dns.rdatatype.CAA, _caa),
    "SOA": (_SOA, _soa),
}


def parse(text: str, origin: dns.name.Name) -> dict[tuple[dns.name.Name, int],
                                                     dns.rrset.RRset] | None:
    """The RRsets of a zone file's text by (owner, type), owners absolute; None when the
    text is outside the subset or has an error (read it with dnspython then)."""
    if _OUTSIDE.search(text):
        return None
    reader = _Reader(origin)
    try:
        for line in text.split("\n"):
            words = _words(line)
            if words is None:
                return None
            if not words:
                continue
            if line[0] == "$":
                reader.directive(words)
            else:
                reader.record(words, line[0] in " \t")
        return reader.rrsets()
    except Exception:  # _Outside, or any error of dnspython's on the record
        return None
