"""A zone's served content: its zone file plus what acnsd manages (rules R8, R9, R10).

- R8: the A/AAAA of nameserver names provided by this zone are part of its data,
  read-only, with the zone's `ns_ttl`; a zone file record of the same name and type is an
  error.
- R9: the apex NS RRset is synthesized from the assigned nameservers with TTL `ns_ttl`;
  apex NS records in the zone file are ignored with a warning unless `multi_provider`, in
  which case both are served.
- R10: the SOA is managed (mname = first nameserver, rname = hostmaster.<zone>, timers
  from dns_settings.soa), and its serial increases whenever the served content changes.

Zone files are read within `server.limits`: a zone file must be a regular file of at most
max_zone_file_bytes (its $INCLUDEs counted in, includes.py), and reading stops, with an
error at that line, where the records read pass max_records_per_zone or, all zones
together, max_records_total.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import stat
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import dns.exception
import dns.grange
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.zone
import dns.zonefile

from ..dns.packed import owner_rrsets, pack_rrsets, unpack_rrsets
from ..dns.packed import rdatas as packed_rdatas
from ..dns.packed import rrsets as packed_rrsets
from ..dns.plan import ZonePlan, zone_plan
from ..dns.wire import (
    WireName,
    WireRRset,
    decode_rrset,
    encode_rrset,
    pack_fixed,
    rdata_targets,
    wire_rrset,
)
from ..errors import Problem
from ..gcpause import gc_paused
from . import includes, zonefile
from .journal import next_serial
from .occlusion import occluded_warnings
from .state import SerialEntry, State
from .types import Limits, ResolvedZone, ServerConfig
from .zonefile import Packed, RecordLimit, TooManyRecords

__all__ = ["ReadFiles", "ZoneFile", "ZoneFileData", "adopt_read_files", "build_zone",
           "file_stamp", "file_unchanged", "read_files", "read_zone_file", "read_zone_files",
           "record_limit_is_total", "served_as", "with_serial", "zone_errors", "zone_files"]

ZoneFileData = tuple[WireRRset, ...]  # a zone file's RRsets, in dnspython's order
_IN = dns.rdataclass.IN
_SOA, _NS, _CNAME = dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.CNAME
_SOA_TYPE = _SOA.to_bytes(2, "big")  # an RRset's type, packed
# a DNAME RRset's type and class, packed: a packed zone file without them has no DNAME
_DNAME_IN = pack_fixed(dns.rdatatype.DNAME, 0)[:4]
_U32 = struct.Struct(">I").pack
Locate = Callable[[str, str, str | None], Problem]

_INCLUDE = re.compile(rb"\$include", re.IGNORECASE)


# The per-zone objects kept between loads have slots: a dataclass without them keeps its
# fields in a separate array (~40 bytes more each), and a cached_property in a dict (~100).


@dataclass(frozen=True, slots=True)
class ZoneFile:
    """A parsed zone file: its RRsets packed in one octet string (dns/packed.py), as the
    readers give them, shared by every load that finds the file unchanged; `sha256` is the
    SHA-256 of its bytes, 32 octets (None when it has a $INCLUDE: the included files are
    not covered, so such a file is neither cached nor digested by its bytes); `count`, the
    records (rdatas) in it, equal ones once (counted once per file read: a reload finds
    most files unchanged). A zone is built of the packed form (build_zone): a first start
    decodes the RRsets of none but the files whose apex SOA or NS it replaces."""

    content: bytes
    sha256: bytes | None  # (as 64 hex digits: ~50 bytes more, one per zone)
    count: int

    @property
    def digest(self) -> str | None:
        """The SHA-256 of its bytes as 64 hex digits (what a serial's digest covers)."""
        return None if self.sha256 is None else self.sha256.hex()

    @property
    def records(self) -> ZoneFileData:
        """The file's RRsets, in dnspython's order (decoded: new objects, which the caller
        may keep)."""
        return unpack_rrsets(self.content)


_PACKED_STAMP = struct.Struct(">qQQq")  # mtime_ns, size, inode, read_at


@dataclass(frozen=True, slots=True)
class _Cached:
    """A zone file's content as read for a zone, with its path, its (mtime_ns, size,
    inode) then and when it was read (time.time_ns()), packed in one octet string: four
    ints would be four more objects per zone (~120 bytes)."""

    path: str  # (the zone's own string: ResolvedZone.file)
    packed: bytes
    content: ZoneFile

    @classmethod
    def of(cls, path: str, stamp: tuple[int, int, int], read_at: int,
           content: ZoneFile) -> _Cached:
        return cls(path, _PACKED_STAMP.pack(*stamp, read_at), content)

    @property
    def stamp(self) -> tuple[int, int, int]:
        mtime_ns, size, inode, _ = _PACKED_STAMP.unpack(self.packed)
        return mtime_ns, size, inode

    @property
    def read_at(self) -> int:
        return _PACKED_STAMP.unpack(self.packed)[3]

    def vouches(self, stamp: tuple[int, int, int]) -> bool:
        """Whether a file whose stat is `stamp` now holds this content without being read:
        its stat as when read, and modified long enough before it was read."""
        return self.stamp == stamp and stamp[0] < self.read_at - _SETTLED_NS


# Parsed zone files by zone name, each with its path (a zone reads one file: a key of
# (path, name) was a tuple more a zone, ~64 bytes): a reload or a management change
# re-parses only the files that changed. Holds only the files of the last configuration
# loaded (read_zone_files drops the others, and the built zones of the others).
_cache: dict[str, _Cached] = {}
# A file whose (mtime, size, inode) is unchanged is taken as unchanged without reading it
# only if it was last modified this long before it was read: a file rewritten within the
# file system's timestamp granularity keeps its mtime, so a recent one is read again and
# compared by its digest ("racy git").
_SETTLED_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class _Built:
    """What build_zone made of a zone, and from what."""

    zone: ResolvedZone
    file: ZoneFile
    auto: Mapping[str, tuple[str | None, str | None]]  # _NO_AUTO when empty (most zones)
    # the zone's state entry after the build: the state's own (an entry is replaced, never
    # changed in place: state.py)
    serial: SerialEntry | None
    plan: ZonePlan
    warnings: tuple[Problem, ...]


# `auto` of every zone built without automatic A/AAAA (most): one dict, never changed (a
# test checks; a mappingproxy would say so itself, but a snapshot cannot pickle one)
_NO_AUTO: Mapping[str, tuple[str | None, str | None]] = {}
# The last zones built, by name (only those of the last configuration loaded).
_built: dict[str, _Built] = {}


def read_zone_files(zones: Sequence[ResolvedZone], server: ServerConfig,
                    locate: Locate) -> tuple[dict[str, ZoneFile], list[Problem]]:
    """Every zone's file by zone name (those that could not be read are absent, with their
    problems): `zone_files`, collected."""
    files: dict[str, ZoneFile] = {}
    problems: list[Problem] = []
    for zone, content, errs in zone_files(zones, server, locate):
        problems += errs
        if content is not None:
            files[zone.name] = content
    return files, problems


def zone_files(zones: Sequence[ResolvedZone], server: ServerConfig, locate: Locate
               ) -> Iterator[tuple[ResolvedZone, ZoneFile | None, list[Problem]]]:
    """Each zone's file (None when it could not be read) and its problems, zone after
    zone, from the cache when unchanged since it was last read; within `server.limits`
    (once the records of all the zones pass max_records_total, the other zones' files are
    not read). The cache then holds only the files of `zones` (and the zones built of
    them): iterate to the end.

    A caller that builds each zone as it comes lets go of what the reader made of a file
    before the next files are read: the memory is used again, not left in holes between
    what stays (the reader's RRsets of 100,000 files alive at once left ~40 MiB so).

    The cyclic garbage collector is paused meanwhile: parsing creates millions of objects
    without reference cycles, and each collection would walk every one alive. The files
    not read before are read _AHEAD at a time, and parsed together (_read_ahead)."""
    read: set[str] = set()
    earlier = list(_cache)  # (those read now are of `zones`: none at a first load)
    records = 0
    ahead: dict[tuple[str, str], _Ahead] = {}
    with gc_paused():
        for i, zone in enumerate(zones):
            if i % _AHEAD == 0:
                ahead = _read_ahead(zones[i : i + _AHEAD], server)
            content, errs, stop = _read_counted(zone, server, locate, records, ahead)
            if stop:
                if errs:
                    yield zone, None, errs
                break
            if content is not None:
                read.add(zone.name)
                records += content.count
            yield zone, content, errs
    if earlier:
        keep = {zone.name: str(zone.file) for zone in zones}
        for name in [n for n in earlier if keep.get(n) != _cache[n].path]:
            _cache.pop(name, None)
    for name in [n for n in _built if n not in read]:
        _built.pop(name, None)


# Zone files read ahead of their turn, and parsed together (zonefile.parse_many: a file of a
# few records costs ~40 % less so; more at a time cost more, their columns outgrowing the
# CPU caches)
_AHEAD = 64


class _Ahead(NamedTuple):
    """A zone file read ahead: its stat and when it was read (time.time_ns(), before the
    stat), its bytes (ASCII), newlines in them and what zonefile.parse gives for them when
    given no limit."""

    st: os.stat_result
    read_at: int
    raw: bytes
    newlines: int
    data: Packed | None


def _read_ahead(zones: Sequence[ResolvedZone], server: ServerConfig,
                ) -> dict[tuple[str, str], _Ahead]:
    """The files of `zones` not read before that are read as the fast reader reads them,
    within the limits (regular files, ASCII, no larger than max_zone_file_bytes, fewer
    lines than max_records_per_zone: no file's records can pass it), by (path, zone name),
    parsed together. A file that is not, or cannot be read, is left out: its turn reads it
    (and words what keeps it from being read)."""
    most = server.limits.max_zone_file_bytes
    read: dict[tuple[str, str], tuple[os.stat_result, int, bytes, int]] = {}
    texts, origins = [], []
    for zone in zones:
        key = (str(zone.file), zone.name)
        if _cached(*key) is not None or key in read:
            continue
        try:
            read_at = time.time_ns()
            st = os.stat(key[0])
            if not stat.S_ISREG(st.st_mode) or st.st_size > most:
                continue
            raw = _read_bytes(key[0], st.st_size, most)
        except OSError:
            continue
        if len(raw) > most or not raw.isascii():
            continue
        text = raw.decode("ascii")
        newlines = text.count("\n")
        if newlines >= server.limits.max_records_per_zone:
            continue
        read[key] = (st, read_at, raw, newlines)
        texts.append(text)
        origins.append(_origin(zone.name))
    parsed = zonefile.parse_many(texts, origins)
    return {key: _Ahead(*fields, data)
            for (key, fields), data in zip(read.items(), parsed, strict=True)}


def file_unchanged(path: str | os.PathLike[str], zone: str) -> bool:
    """Whether the zone file `path` of zone `zone` is as it was when last read for it,
    without reading it: its (mtime, size, inode) as then, and settled when read; or, not
    settled when read, with the same stat and the same bytes now (read and hashed, not
    parsed). A file not read yet, or with $INCLUDEs (whose included files no stamp
    covers), is taken as changed."""
    cached = _cached(str(path), zone)
    if cached is None:
        return False
    try:
        read_at = time.time_ns()
        st = os.stat(path)
    except OSError:
        return False
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    if cached.vouches(stamp):
        return True
    # modified too shortly before it was read for its stat to vouch for it ("racy git"):
    # its bytes do, when they are the same, as a read would find them (_read_zone_file)
    # without parsing or committing it again
    if cached.stamp != stamp or cached.content.sha256 is None:
        return False
    try:
        raw = _read_bytes(cached.path, st.st_size, st.st_size)
    except OSError:
        return False
    return (len(raw) == st.st_size
            and _renewed(zone, cached, stamp, read_at, hashlib.sha256(raw).digest()))


def _cached(path: str, zone: str) -> _Cached | None:
    """The file `path` as cached for `zone`, if it is the file cached for it."""
    cached = _cache.get(zone)
    return cached if cached is not None and cached.path == path else None


def _renewed(zone: str, cached: _Cached, stamp: tuple[int, int, int],
             read_at: int, sha256: bytes) -> bool:
    """Whether the file's bytes read at `read_at` with the stat `stamp`, whose SHA-256 is
    `sha256`, are those `cached` holds for `zone`: then that content is cached with this
    read's stamp (which vouches for it once settled)."""
    if cached.content.sha256 != sha256:
        return False
    _cache[zone] = _Cached.of(cached.path, stamp, read_at, cached.content)
    return True


def file_stamp(path: str | os.PathLike[str], zone: str) -> tuple[int, int, int, str, int] | None:
    """What the zone file `path` of zone `zone` was when last read for it: (mtime_ns, size,
    inode, SHA-256 of its bytes, time.time_ns() when read); None when it was not read, or
    has $INCLUDEs (whose included files no stamp covers)."""
    cached = _cached(str(path), zone)
    if cached is None or cached.content.digest is None:
        return None
    return (*cached.stamp, cached.content.digest, cached.read_at)


# What read_zone_files keeps between loads: the parsed files and the zones built of them
ReadFiles = tuple[dict[str, _Cached], dict[str, _Built]]


def read_files() -> ReadFiles:
    """The zone files read and the zones built of them (a compiled snapshot keeps them, so
    that a start from it reloads as the start that made it would)."""
    return _cache, _built


def adopt_read_files(files: ReadFiles) -> None:
    """Take `files` (read_files() of the start that made a snapshot) as read and built."""
    _cache.clear()
    _cache.update(files[0])
    _built.clear()
    _built.update(files[1])


def read_zone_file(zone: ResolvedZone, server: ServerConfig, locate: Locate,
                   records: int) -> tuple[ZoneFile | None, list[Problem]]:
    """One zone's file as read_zone_files reads it when the zones before it hold `records`
    records (the cache of the others is kept)."""
    content, problems, _ = _read_counted(zone, server, locate, records, {})
    return content, problems


def _read_counted(zone: ResolvedZone, server: ServerConfig, locate: Locate, records: int,
                  ahead: dict[tuple[str, str], _Ahead]
                  ) -> tuple[ZoneFile | None, list[Problem], bool]:
    """A zone's file within the limits, `records` records having been read before it (the
    file perhaps read `ahead`); and whether reading stops there (max_records_total
    passed)."""
    limit = _record_limit(zone, server.limits, records)
    try:
        content, problems = _read_zone_file(zone, locate, server, limit,
                                            ahead.pop((str(zone.file), zone.name), None))
    except TooManyRecords as exc:
        # (the total is the server's: no account is told which zones passed it)
        return None, [Problem(str(exc), file=exc.file or str(zone.file), line=exc.line,
                              accounts=() if limit.total else (zone.account,))], limit.total
    return content, problems, False


def record_limit_is_total(zone: ResolvedZone, limits: Limits, records: int) -> bool:
    """Whether the records `zone`'s files may hold, after `records`, are bounded by
    max_records_total rather than max_records_per_zone."""
    return _record_limit(zone, limits, records).total


def _record_limit(zone: ResolvedZone, limits: Limits, records: int) -> RecordLimit:
    """The records `zone`'s files may hold, `records` having been read before them."""
    left = limits.max_records_total - records
    if left < limits.max_records_per_zone:
        return RecordLimit(left, f"zone {zone.name}: more than {left:,} records, which "
                           "would make the zones read so far hold more than "
                           f"{limits.max_records_total:,} (the limit, "
                           "server.limits.max_records_total); reading stopped here and "
                           "the zones after it were not read", total=True)
    return RecordLimit(limits.max_records_per_zone, f"zone {zone.name}: more than "
                       f"{limits.max_records_per_zone:,} records (the limit, "
                       "server.limits.max_records_per_zone); reading stopped here")


def _read_zone_file(zone: ResolvedZone, locate: Locate, server: ServerConfig,
                    limit: RecordLimit, ahead: _Ahead | None = None
                    ) -> tuple[ZoneFile | None, list[Problem]]:
    """Parse a zone's RFC 1035 master file: with the fast reader when the file is in its
    subset, else (and for every error) with dnspython's. TooManyRecords when its records
    pass `limit`. `ahead`: the file as _read_ahead read it. (The zone's name is made a
    dns.name only to parse: a file found unchanged needs none.)"""
    path = str(zone.file)
    most = server.limits.max_zone_file_bytes
    try:
        if ahead is None:
            read_at = time.time_ns()
            st = os.stat(path)
        else:
            read_at, st = ahead.read_at, ahead.st
        problem = _not_readable(zone, st, most)
        if problem is not None:
            return None, [problem]
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = _cached(path, zone.name)
        if cached is not None and cached.vouches(stamp):
            return _within(cached.content, limit)
        raw = _read_bytes(path, st.st_size, most) if ahead is None else ahead.raw
        if len(raw) > most:
            return None, [_too_large(zone, most)]
        digest = hashlib.sha256(raw).digest()
        if cached is not None and _renewed(zone.name, cached, stamp, read_at, digest):
            return _within(cached.content, limit)
        if ahead is not None and ahead.newlines < limit.count:  # parse would not count
            data = ahead.data
        else:
            data = (zonefile.parse(raw.decode("ascii"), _origin(zone.name), limit)
                    if raw.isascii() else None)
        if data is None:
            with includes.confined(zone.file, server.zones_dir, most - len(raw), most):
                data = pack_rrsets(_read_with_dnspython(raw, path, _origin(zone.name), limit))
    except FileNotFoundError:
        return None, [locate(f"{zone.path}.file", f"zone file {zone.file} of zone "
                             f"{zone.name} does not exist", None)]
    except OSError as exc:
        return None, [locate(f"{zone.path}.file", f"cannot read zone file {zone.file}: "
                             f"{exc.strerror}", None)]
    except UnicodeDecodeError as exc:
        return None, [Problem(f"zone {zone.name}: the zone file is not UTF-8 text (byte "
                              f"{exc.start}: {exc.reason})", file=path,
                              accounts=(zone.account,))]
    except includes.IncludeError as exc:
        return None, [Problem(f"zone {zone.name}: {exc}", file=exc.file, line=exc.line,
                              accounts=(zone.account,))]
    except dns.exception.DNSException as exc:
        return None, [_zone_file_problem(zone, exc)]
    if b"$" in raw and _INCLUDE.search(raw):  # (a single byte is much the faster to find)
        return ZoneFile(data[0], None, data[1]), []
    content = ZoneFile(data[0], digest, data[1])
    _cache[zone.name] = _Cached.of(path, stamp, read_at, content)
    return content, []


def _not_readable(zone: ResolvedZone, st: os.stat_result, most: int) -> Problem | None:
    """Why a zone file is not read at all: not a regular file (a FIFO would stall the
    load, a device never end), or larger than the limit; else None."""
    if not stat.S_ISREG(st.st_mode):
        return Problem(f"zone {zone.name}: the zone file is not a regular file",
                       file=str(zone.file), accounts=(zone.account,))
    if st.st_size > most:
        return _too_large(zone, most)
    return None


def _too_large(zone: ResolvedZone, most: int) -> Problem:
    return Problem(f"zone {zone.name}: the zone file is larger than {most:,} bytes (the "
                   "limit, server.limits.max_zone_file_bytes); it was not read",
                   file=str(zone.file), accounts=(zone.account,))


def _within(content: ZoneFile, limit: RecordLimit) -> tuple[ZoneFile, list[Problem]]:
    """A file read before, if its records are within the limit now (it may be lower)."""
    if content.count > limit.count:
        raise TooManyRecords(limit, None)
    return content, []


def _read_bytes(path: str, size: int, most: int) -> bytes:
    """A file's bytes, `size` its size when looked at, at most `most` + 1 of them (see
    includes.read_capped), without the buffered file object `open` makes."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        return includes.read_capped(fd, size, most)
    finally:
        os.close(fd)


def _read_with_dnspython(raw: bytes, path: str, origin: dns.name.Name,
                         limit: RecordLimit | None = None) -> ZoneFileData:
    """What dns.zone.from_file reads (relativize=False, check_origin=False), or the
    errors of _ZoneReader."""
    parsed = dns.zone.Zone(origin, _IN, relativize=False)
    with parsed.writer(True) as txn:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
        _ZoneReader(dns.tokenizer.Tokenizer(text, path), txn, limit).read()
    data: dict[tuple[dns.name.Name, int], WireRRset] = {}
    for name, node in parsed.nodes.items():
        owner = WireName(name.to_wire())
        for rdataset in node.rdatasets:
            rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
            rrset.update(rdataset)
            data[(name, rdataset.rdtype)] = encode_rrset(rrset, owner=owner)
    return tuple(data.values())


class _ZoneReader(dns.zonefile.Reader):
    """dnspython's zone file reader ($INCLUDE allowed, within includes.py's rule), with
    its refusals located at the file and line being read: an IncludeError, and
    TooManyRecords where the records added pass `limit`. A $GENERATE line whose range
    alone would pass the limit is refused before it generates any (a two-line file can
    ask for 10⁸ records)."""

    def __init__(self, tok: dns.tokenizer.Tokenizer, txn: Any, limit: RecordLimit | None):
        super().__init__(tok, _IN, txn, allow_include=True)
        self.limit = limit
        self.left = limit.count if limit is not None else -1
        if limit is not None:
            add = txn.add

            def counted(*args: Any) -> None:
                self.left -= 1
                if self.left < 0:
                    raise TooManyRecords(limit, *self._where(line_read=True))
                add(*args)

            txn.add = counted

    def read(self) -> None:
        try:
            super().read()
        except includes.IncludeError as exc:  # raised where the $INCLUDE line was read
            exc.line, exc.file = self._where(line_read=True)
            raise

    def _generate_line(self) -> None:
        if self.limit is not None:
            token = self.tok.get()
            self.tok.unget(token)
            try:
                start, stop, step = dns.grange.from_text(token.value)
            except Exception:  # dnspython's own reading words the error
                pass
            else:
                if (stop - start) // step + 1 > self.left:
                    raise TooManyRecords(self.limit, *self._where(line_read=False))
        super()._generate_line()

    def _where(self, line_read: bool) -> tuple[int, str]:
        """The line and file being read; `line_read`: up to its end (past its newline)."""
        file, line = self.tok.where()
        return line - (line_read and not self.tok.eof), file


def _zone_file_problem(zone: ResolvedZone, exc: Exception) -> Problem:
    text = str(exc)
    file, line = str(zone.file), None
    head, sep, rest = text.partition(": ")
    if sep and head.rpartition(":")[2].isdigit():
        file, _, number = head.rpartition(":")
        line, text = int(number), rest
    return Problem(f"zone {zone.name}: {text}", file=file, line=line,
                   accounts=(zone.account,))


def build_zone(zone: ResolvedZone, file: ZoneFile,
               auto: dict[str, tuple[str | None, str | None]], state: State,
               locate: Locate) -> tuple[ZonePlan, list[Problem], list[Problem]]:
    """Merge the managed records into the file's; returns (plan, errors, warnings).

    `auto` maps each nameserver name whose A/AAAA this zone serves to (ipv4, ipv6). A zone
    built before from the same inputs (the same parsed file, settings, addresses and
    recorded serial) is not built again: its plan is the same.
    """
    done = _built.get(zone.name)
    if (done is not None and done.file is file and done.zone == zone and done.auto == auto
            and state.serials.get(zone.name) == done.serial):
        return done.plan, [], list(done.warnings)
    plan, errors, warnings = _build_zone(zone, file, auto, state, locate)
    if errors:
        _built.pop(zone.name, None)
    else:
        serial = state.serials.get(zone.name)
        _built[zone.name] = _Built(zone, file, dict(auto) if auto else _NO_AUTO, serial,
                                   plan, tuple(warnings))
    return plan, errors, warnings


def served_as(name: str, built: ZonePlan, served: ZonePlan, serial: SerialEntry) -> None:
    """The zone `name`, built as `built`, is recorded and served as `served`: with the
    serial the store decided (R10; `serial`, its state entry now). A later load that
    builds it from the same inputs then finds it built so, rather than building it again,
    and the zones built hold the plans served, not a copy of each with another serial."""
    done = _built.get(name)
    if done is not None and done.plan is built:  # (dataclasses.replace: ~3x the time)
        _built[name] = _Built(done.zone, done.file, done.auto, serial, served, done.warnings)


def with_serial(plan: ZonePlan, serial: int) -> ZonePlan:
    """The plan with another SOA serial (the store's, R10): build_zone puts the SOA last,
    so its content ends with the SOA's serial and four timers."""
    own = plan.own  # (the SOA is in the part built: a few RRsets)
    last = packed_rrsets(own)[-1:]
    if not last or last[0][1][:2] != _SOA_TYPE or len(packed_rdatas(last[0][2])) != 1:
        raise ValueError(f"zone {plan.origin}: its plan does not end with its SOA")
    # (every field named: dataclasses.replace costs ~3x, once per zone at a first start)
    return ZonePlan(origin=plan.origin, own=own[:-20] + _U32(serial) + own[-16:],
                    records=plan.records, nameservers=plan.nameservers, file=plan.file,
                    servable=plan.servable)


def zone_errors(zone: ResolvedZone, file: ZoneFile,
                auto: dict[str, tuple[str | None, str | None]], locate: Locate) -> list[Problem]:
    """What keeps a zone from being served as configured: a CNAME at the apex (R9), zone
    file data where acnsd serves a nameserver name's A/AAAA or that would hide them (R8),
    a default SOA rname longer than a DNS name may be (R10). build_zone refuses a zone
    with any of them; a scoped check (acnsd.control) asks the zones a change touches."""
    apex_key = _origin(zone.name).to_wire().lower()
    at_apex = [rdtype for rdtype, _, _ in owner_rrsets(file.content, apex_key)[1]]
    return _zone_errors(zone, file, at_apex, auto, locate)


def _zone_errors(zone: ResolvedZone, file: ZoneFile, at_apex: list[int],
                 auto: dict[str, tuple[str | None, str | None]],
                 locate: Locate) -> list[Problem]:
    """zone_errors, `at_apex` the types of the file's RRsets at the apex."""
    errors: list[Problem] = []
    origin = _origin(zone.name)
    if _CNAME in at_apex:
        errors.append(Problem(f"zone {zone.name}: the zone file has a CNAME at the apex, "
                              "where acnsd serves the SOA and NS; a CNAME cannot have other "
                              "data beside it (RFC 1034 §3.6.2)", file=str(zone.file),
                              accounts=(zone.account,),
                              rule="R9"))
    held = {(owner.lower(), int.from_bytes(fixed[:2], "big"))
            for owner, fixed, _ in packed_rrsets(file.content)} if auto else set()
    for name, (v4, v6) in sorted(auto.items()):
        owner = dns.name.from_text(name)
        hidden = _hidden_by(owner, origin, held)
        if hidden:
            errors.append(Problem(f"zone {zone.name}: {name} is a nameserver name whose A/AAAA "
                                  f"acnsd serves in this zone, but the zone file has {hidden};"
                                  " remove it from the zone file", file=str(zone.file),
                                  accounts=(zone.account,),
                                  rule="R8"))
            continue
        for rdtype, value in (("A", v4), ("AAAA", v6)):
            if value is not None and (owner.to_wire().lower(),
                                      dns.rdatatype.from_text(rdtype)) in held:
                errors.append(Problem(f"zone {zone.name}: the zone file has {rdtype} records "
                                      f"for {name}, whose {rdtype} is managed by acnsd "
                                      f"(assigned {value}); remove them from the zone file",
                                      file=str(zone.file), rule="R8",
                                      accounts=(zone.account,)))
    if zone.soa.rname is None and len(f"hostmaster.{zone.name}") > 253:
        errors.append(locate(zone.path, f"zone {zone.name}: the default SOA rname "
                             f"hostmaster.{zone.name} is longer than a DNS name may be; set "
                             "dns_settings.soa.rname", "R10"))
    return errors


def _build_zone(zone: ResolvedZone, file: ZoneFile,
                auto: dict[str, tuple[str | None, str | None]], state: State,
                locate: Locate) -> tuple[ZonePlan, list[Problem], list[Problem]]:
    origin = _origin(zone.name)
    apex = WireName(origin.to_wire())
    spelled, at_apex = owner_rrsets(file.content, apex.key)
    types = [rdtype for rdtype, _, _ in at_apex]
    errors = _zone_errors(zone, file, types, auto, locate)
    if errors:
        return ZonePlan(origin, file.content, file.count), errors, []
    warnings = (occluded_warnings(zone.name, origin, str(zone.file), zone.account,
                                  file.records) if _DNAME_IN in file.content else [])
    # the file's RRsets served, packed: all of them but its apex SOA and NS (R9, R10)
    content, count, after = file.content, file.count, None
    file_soa = file_ns = None
    if _SOA in types or _NS in types:
        field = bytes((len(spelled),)) + spelled
        given = {rdtype: unpack_rrsets(field + content[start:end])[0]
                 for rdtype, start, end in at_apex if rdtype in (_SOA, _NS)}
        file_soa, file_ns = given.get(_SOA), given.get(_NS)
        kept = [content[start:end] for rdtype, start, end in at_apex if rdtype not in given]
        block = (at_apex[0][1] - len(field), at_apex[-1][2])
        content = (content[: block[0]] + (field + b"\x00".join(kept) if kept else b"")
                   + content[block[1]:])
        count -= sum(len(rrset.rdatas) for rrset in given.values())
        if kept and block[1] == len(file.content):  # what our RRsets follow: the apex
            after = spelled
    records: list[WireRRset] = []  # what acnsd adds
    managed = {}  # the presentation text of each RRset acnsd adds, for the serial's digest

    rdatas, ns_texts, targets = ours = _nameservers(zone.nameservers)
    if file_ns is not None:
        decoded = decode_rrset(file_ns)
        if zone.multi_provider:  # ours, then the file's, duplicates collapsed (RFC 4034 §6.2)
            seen = {rdata[0].key for rdata in rdatas}
            for rdata, rd in zip(file_ns.rdatas, decoded, strict=True):
                if rdata[0].key not in seen:
                    seen.add(rdata[0].key)
                    rdatas += (rdata,)
                    ns_texts += (rd.target.to_text(),)
        else:
            listed = ", ".join(sorted(str(rd.target) for rd in decoded))
            warnings.append(Problem(f"zone {zone.name}: the NS records at the apex ({listed}) "
                                    "are ignored; the apex NS are the zone's assigned "
                                    "nameservers (set multi_provider: true to serve both)",
                                    file=str(zone.file), rule="R9",
                                    accounts=(zone.account,)))
    if rdatas is not ours[0]:  # the file's NS added (multi_provider)
        targets = rdata_targets(_NS, rdatas)
    records.append(wire_rrset(apex, _NS, _fixed(_NS, zone.ns_ttl), rdatas, targets))
    managed[(origin, _NS)] = "\n".join(f"{zone.name}. {zone.ns_ttl} IN NS {target}"
                                       for target in ns_texts)  # origin.to_text()

    for name, (v4, v6) in sorted(auto.items()):  # (zone_errors: none is hidden or held)
        owner = dns.name.from_text(name)
        for rdtype, value in (("A", v4), ("AAAA", v6)):
            if value is None:
                continue
            rrset = dns.rrset.from_rdata(owner, zone.ns_ttl, _rdata(rdtype, value))
            records.append(encode_rrset(rrset))
            managed[(owner, dns.rdatatype.from_text(rdtype))] = rrset.to_text()

    if file.digest is None:  # digested by its records' text instead of its bytes
        for rrset in unpack_rrsets(content):
            decoded = decode_rrset(rrset)
            managed.setdefault((decoded.name, rrset.rdtype), decoded.to_text())
    soa = _managed_soa(zone, apex, managed, file, state)
    if file_soa is not None:
        given, served = decode_rrset(file_soa)[0], decode_rrset(soa)[0]
        if _soa_fields(given) != _soa_fields(served):
            warnings.append(Problem(f"zone {zone.name}: the zone file's SOA ({given}) is "
                                    f"replaced by the managed SOA ({served})",
                                    file=str(zone.file), rule="R10",
                                    accounts=(zone.account,)))
    records.append(soa)
    nameservers = _nameserver_names(zone.nameservers)
    if content is file.content:  # the file's RRsets all served, first: its content shared
        plan = zone_plan(origin, records, nameservers, (content, count), servable=True)
    else:  # (as zone_plan would pack the file's RRsets served and ours, in one)
        own, added = pack_rrsets(records, after)
        plan = ZonePlan(origin, content + own, count + added, nameservers, servable=True)
    return plan, errors, warnings


def _hidden_by(owner: dns.name.Name, origin: dns.name.Name,
               held: set[tuple[bytes, int]]) -> str | None:
    """What in the zone file (`held`: its owners and types) would make A/AAAA at `owner`
    invalid or unreachable: a CNAME at the name (RFC 1034 §3.6.2), or a delegation or
    DNAME between it and the apex."""
    if (owner.to_wire().lower(), _CNAME) in held:
        return f"a CNAME at {owner}"
    name = owner
    while name != origin and name.is_subdomain(origin):
        key = name.to_wire().lower()
        if (key, _NS) in held:
            return f"a delegation (NS records) at {name}"
        if name != owner and (key, dns.rdatatype.DNAME) in held:
            return f"a DNAME at {name}"
        name = name.parent()
    return None


# (a load reads a zone's file at most _AHEAD zones before it builds the zone: zone_files;
# a bound of 10^5 zones kept ~90 bytes a zone, the cache's own, for as long as it ran)
@functools.lru_cache(maxsize=1024)
def _origin(zone_name: str) -> dns.name.Name:
    """A zone's name (checked by the schema: plain ASCII presentation form, no escapes, so
    its labels are its dot-separated parts), without dns.name.from_text's parsing; made
    once for the reading of its file and the building of its plan (names are immutable),
    its labels but the first shared with the other zones' names (`_label`)."""
    first, *rest = zone_name.encode().split(b".")
    return dns.name.Name([first, *map(_label, rest), b""])


@functools.lru_cache(maxsize=4096)
def _label(label: bytes) -> bytes:
    """One object for a label that many zone names end with (`test` in 10^5 names: ~40
    bytes each)."""
    return label


@functools.lru_cache(maxsize=4096)
def _name(text: str) -> dns.name.Name:
    """A zone, nameserver or SOA name of the configuration (valid, plain; names are
    immutable)."""
    return dns.name.from_text(text)


@functools.lru_cache(maxsize=4096)
def _wire_name(text: str) -> WireName:
    """A nameserver name of the configuration, encoded once for all the zones it serves."""
    return WireName(_name(text).to_wire())


@functools.lru_cache(maxsize=1024)
def _nameservers(names: tuple[str, ...]) -> tuple[tuple[tuple[WireName], ...],
                                                  tuple[str, ...], tuple[WireName, ...]]:
    """The rdatas of an apex NS RRset of `names`, duplicates collapsed, their text and
    their targets; shared by the zones on the same nameservers."""
    found = {}
    for name in names:
        target = _wire_name(name)
        found.setdefault(target.key, ((target,), _name(name).to_text()))
    rdatas = tuple(rdata for rdata, _ in found.values())
    return (rdatas, tuple(text for _, text in found.values()),
            rdata_targets(_NS, rdatas))


@functools.lru_cache(maxsize=1024)
def _nameserver_names(names: tuple[str, ...]) -> tuple[dns.name.Name, ...]:
    """A ZonePlan's nameservers, shared by the zones on the same ones."""
    return tuple(_name(n) for n in names)


@functools.lru_cache(maxsize=1024)
def _fixed(rdtype: int, ttl: int) -> bytes:
    return pack_fixed(rdtype, ttl)


def _rdata(rdtype: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)


def _soa_fields(rd: dns.rdata.Rdata) -> tuple[object, ...]:
    return (rd.mname, rd.rname, rd.refresh, rd.retry, rd.expire, rd.minimum)


def _managed_soa(zone: ResolvedZone, apex: WireName,
                 managed: dict[tuple[dns.name.Name, int], str], file: ZoneFile,
                 state: State) -> WireRRset:
    """The SOA of R10, with a serial bumped whenever the content digest changes.

    The digest covers the SOA fields and every served RRset: the file's by the digest of
    its bytes when it has one (an edit that changes no record still bumps the serial, which
    is harmless), the managed ones (apex NS, R8 A/AAAA) by their text (`managed`; with the
    file's records too when the file has no digest)."""
    s = zone.soa
    mname = s.mname or (zone.nameservers[0] if zone.nameservers else zone.name)
    rname = s.rname or f"hostmaster.{zone.name}"
    rname_wire = (b"\nhostmaster" + apex.wire if s.rname is None
                  else dns.name.from_text(f"{rname}.").to_wire())
    fields = f"{mname}. {rname}. {{serial}} {s.refresh} {s.retry} {s.expire} {s.min_ttl}"
    digest = hashlib.sha256(f"{fields} {s.ttl}".encode())
    if file.digest is not None:
        digest.update(f" file {file.digest}".encode())
    for _, text in sorted(managed.items(), key=itemgetter(0)):  # by key, not hashed again
        digest.update(text.encode())
    octets = digest.digest()
    recorded = state.serials.get(zone.name)
    if recorded and recorded.digest_is(octets):
        serial = recorded.serial
    else:
        previous = recorded.serial if recorded else 0
        now = int(time.time())
        serial = next_serial(previous, now) if recorded else now % 2**32
        state.serials[zone.name] = SerialEntry.of_digest(serial, octets)
    timers = struct.pack(">IIIII", serial, s.refresh, s.retry, s.expire, s.min_ttl)
    rdata = (_wire_name(f"{mname}."), WireName(rname_wire), timers)
    return WireRRset(apex, _SOA, _fixed(_SOA, s.ttl), (rdata,))
