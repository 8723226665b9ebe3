"""Loading zone files fast: the cache of parsed files across loads, the R10 digest of a
file's bytes, the fast reader.

- an unchanged file is not parsed again: a second load serves the very same RRsets;
- a file rewritten with other content is parsed again, even with the same size and mtime;
- the cache holds only the files of the configuration last loaded;
- a zone's serial stays put across loads and restarts while its file is unchanged, and
  increases when the file or an included file changes (R10);
- the fast reader gives exactly dnspython's RRsets (owners, types, TTLs, rdatas, order),
  encoded exactly as wire.encode_rrset encodes dnspython's, or leaves the file to
  dnspython: for every file of its subset, and mutated ones;
- files read together (zonefile.parse_many, as zonedata reads them) give what each read
  alone gives, and dnspython.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import socket
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager

import acnsd.model.config as loading
import dns.exception
import dns.ipv6
import dns.name
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from acnsd.dns import compiler
from acnsd.dns.packed import pack_rrsets, unpack_rrsets
from acnsd.dns.wire import WireName, WireRRset, decode_rrset
from acnsd.model import zonedata, zonefile
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from modelkit import DEFAULT_ZONE, account, config, rrsets, two_sets, zone

SETTLED = time.time_ns() - 3_600 * 10**9  # an mtime long before any load of the test


def _cfg(*names: str) -> dict:
    return config(account(two_sets(), [zone(n, "custom.account") for n in names]))


def _serial(loaded, name: str) -> int:
    return rrsets(loaded, name)[(name, "SOA")][0].serial


def _age(path, mtime_ns: int = SETTLED) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


@contextmanager
def _python_readers() -> Iterator[None]:
    """zonefile without its C reader (_zonefast), as where it could not be compiled."""
    fast, zonefile._fast = zonefile._fast, None
    try:
        yield
    finally:
        zonefile._fast = fast


def _parse(text: str, origin: dns.name.Name, limit: zonefile.RecordLimit | None = None):
    """zonefile.parse, which must give the same with its C reader and without it."""
    got = zonefile.parse(text, origin, limit)
    with _python_readers():
        assert zonefile.parse(text, origin, limit) == got
    return got


def _parse_many(texts: list[str], origins: list[dns.name.Name]):
    """zonefile.parse_many, which must give the same with its C reader and without it."""
    got = zonefile.parse_many(texts, origins)
    with _python_readers():
        assert zonefile.parse_many(texts, origins) == got
    return got


def test_an_unchanged_file_is_not_parsed_again(env):
    cfg = _cfg("example.com")
    env.write(cfg)
    _age(env.root / "zones" / "example.com.zone")
    first, second = env.load(), env.load()

    def file(loaded) -> bytes:  # the packed zone file, which the plan shares
        return next(p for p in loaded.plan.zones if p.origin.to_text() == "example.com.").file

    assert file(second) is file(first) and file(first)
    assert _serial(env.load(), "example.com") == _serial(first, "example.com")


def test_a_zone_recorded_with_another_serial_is_not_built_again(env, monkeypatch):
    # the store decides the serial at its own second (R10): a load after the first start
    # takes the zone as built, with the store's serial, and holds one plan of it, not two
    cfg = _cfg("example.com")
    env.write(cfg)
    _age(env.root / "zones" / "example.com.zone")
    seconds = iter(range(1_800_000_000, 1_900_000_000, 7))
    monkeypatch.setattr(time, "time", lambda: next(seconds))  # each reading a later second

    def plan(loaded):
        return next(p for p in loaded.plan.zones if p.origin.to_text() == "example.com.")

    first = env.load()
    assert zonedata._built["example.com"].plan is plan(first)
    second = env.load()
    assert plan(second) is plan(first)
    assert _serial(second, "example.com") == _serial(first, "example.com")


def test_a_rewritten_file_is_read_again_with_the_same_size_and_mtime(env):
    cfg = _cfg("example.com")
    path = env.root / "zones" / "example.com.zone"
    for settled in (False, True):
        env.write(cfg, {"example.com": DEFAULT_ZONE})
        stamp = path.stat().st_mtime_ns if not settled else SETTLED
        _age(path, stamp)
        before = env.load()
        edited = DEFAULT_ZONE.replace("192.0.2.2", "192.0.2.3")
        assert len(edited) == len(DEFAULT_ZONE)
        path.write_text(edited, encoding="utf-8")
        if not settled:  # rewritten within the timestamp granularity: the mtime is kept
            _age(path, stamp)
        after = env.load()
        assert [rd.address for rd in rrsets(after, "example.com")[("www.example.com", "A")]] \
            == ["192.0.2.3"]
        assert _serial(after, "example.com") > _serial(before, "example.com")


def test_a_loaded_zone_is_held_packed(env):
    """Between loads, the plans, the cache of files read and the zones built hold each
    zone's RRsets packed in one octet string (dns/packed.py), not as WireRRset objects
    (~1.9 KiB for 9 records): the compiler decodes them."""
    loaded = env.load(_cfg("example.com", "other.org"))
    seen, stack, held = set(), [loaded.plan, zonedata.read_files()], []
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type | types.ModuleType):
            continue
        seen.add(id(item))
        held += [item] if isinstance(item, WireRRset | WireName) else []
        stack += gc.get_referents(item)
    assert len(loaded.plan.zones) == 2 and held == []
    files = {name: cached.content.content for name, cached in zonedata._cache.items()}
    assert {p.origin.to_text(): p.file for p in loaded.plan.zones} == {
        "example.com.": files["example.com"], "other.org.": files["other.org"]}
    assert all(p.file is files[p.origin.to_text()[:-1]] for p in loaded.plan.zones)
    # built: taken by the tables without a walk over their RRsets, which would find nothing
    assert all(p.servable and compiler.zone_problems(p, p.origin.to_wire().lower()) == []
               for p in loaded.plan.zones)


def test_each_zone_is_built_before_the_next_files_are_read(env, monkeypatch):
    """A load builds each zone as its file comes (zonedata.zone_files), so that what the
    reader made of a file is let go before the next files are read: the RRsets of 100,000
    files alive at once left ~100 MiB of holes in the allocator's pools after a load."""
    names = [f"z{i}.test" for i in range(zonedata._AHEAD + 2)]
    built: list[str] = []
    built_when_read: list[int] = []  # zones built when each batch of files is read ahead
    read_ahead, build_zone = zonedata._read_ahead, loading.build_zone

    def reading(zones, *args):
        built_when_read.append(len(built))
        return read_ahead(zones, *args)

    def building(zone, *args):
        built.append(zone.name)
        return build_zone(zone, *args)

    monkeypatch.setattr(zonedata, "_read_ahead", reading)
    monkeypatch.setattr(loading, "build_zone", building)
    env.load(_cfg(*names))
    assert built_when_read == [0, zonedata._AHEAD] and sorted(built) == sorted(names)


def test_the_cache_holds_only_the_configured_files(env):
    env.load(_cfg("example.com", "other.org"))
    cached = {name: cached.path for name, cached in zonedata._cache.items()}
    assert cached["other.org"] == str(env.root / "zones" / "other.org.zone")
    env.load(_cfg("example.com"))
    assert {name: cached.path for name, cached in zonedata._cache.items()} == {
        "example.com": str(env.root / "zones" / "example.com.zone")}


def test_a_zone_given_another_file_is_cached_with_that_file_only(env):
    """The cache holds a zone's file by the zone's name, with its path (memory: no key
    tuple a zone): a zone that reads another file reads it, and the old one is let go."""
    cfg = _cfg("example.com")
    edited = DEFAULT_ZONE.replace("192.0.2.2", "192.0.2.9")
    env.write(cfg, {"other": edited})  # (a file of no zone: other.zone)
    env.load()
    cfg["accounts"][0]["zones"][0]["file"] = "other.zone"
    loaded = env.load(cfg)
    assert [rd.address for rd in rrsets(loaded, "example.com")[("www.example.com", "A")]] \
        == ["192.0.2.9"]
    assert {name: cached.path for name, cached in zonedata._cache.items()} == {
        "example.com": str(env.root / "zones" / "other.zone")}
    assert zonedata.file_stamp(env.root / "zones" / "example.com.zone", "example.com") is None
    assert not zonedata.file_unchanged(env.root / "zones" / "example.com.zone", "example.com")


def test_a_cached_file_keeps_the_sha256_of_its_bytes_as_octets(env):
    """A zone file's SHA-256 is held as its 32 octets (memory: ~50 bytes less a zone than
    its 64 hex digits), and spelled as those digits where a digest is asked for."""
    env.load(_cfg("example.com"))
    path = env.root / "zones" / "example.com.zone"
    content = zonedata._cache["example.com"].content
    assert content.sha256 == hashlib.sha256(path.read_bytes()).digest()
    assert content.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    stamp = zonedata.file_stamp(path, "example.com")
    assert stamp is not None and stamp[3] == content.digest
    assert zonedata.ZoneFile(b"", None, 0).digest is None


def test_the_zones_names_share_their_common_labels(env):
    """A zone's name (its plan's origin) shares its labels but the first with the other
    zones' names (memory: 10^5 names ending in `test` held one `test` each), and the
    cache of names made is bounded (it held every zone's)."""
    loaded = env.load(_cfg("a.example.test", "b.example.test", "c.test"))
    origins = {p.origin.to_text(): p.origin.labels for p in loaded.plan.zones}
    a, b, c = (origins[n] for n in ("a.example.test.", "b.example.test.", "c.test."))
    assert a[1] is b[1] and a[2] is b[2] is c[1]
    assert zonedata._origin.cache_info().maxsize <= 4096


def test_zones_without_automatic_addresses_share_one_empty_auto_left_empty(env):
    """A zone built without automatic A/AAAA keeps the one shared empty `auto` (memory):
    loads that build zones with and without them leave it empty."""
    env.load(_cfg("example.com", "other.org"))
    assert zonedata._built["example.com"].auto  # ns1/ns2.example.com
    assert zonedata._built["other.org"].auto is zonedata._NO_AUTO
    env.load(_cfg("other.org", "example.com", "third.net"))
    assert zonedata._built["third.net"].auto is zonedata._NO_AUTO
    assert zonedata._NO_AUTO == {}


@given(st.integers(-2**63, 2**63 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1),
       st.integers(-2**63, 2**63 - 1))
def test_a_cached_file_keeps_its_stamp_whole(mtime_ns, size, inode, read_at):
    """A cached file's stamp is packed in one octet string (memory): every value stat and
    time.time_ns() can give comes back as it went in."""
    content = zonedata.ZoneFile(b"", None, 0)
    cached = zonedata._Cached.of("a.zone", (mtime_ns, size, inode), read_at, content)
    assert (cached.stamp, cached.read_at, cached.content) == ((mtime_ns, size, inode),
                                                              read_at, content)


def test_the_serial_survives_a_restart_and_follows_included_files(env):
    included = env.root / "zones" / "hosts.inc"
    included.parent.mkdir(parents=True, exist_ok=True)
    included.write_text("db IN A 192.0.2.7\n", encoding="utf-8")
    cfg = _cfg("example.com", "other.org")
    files = {"example.com": DEFAULT_ZONE + f"$INCLUDE {included}\n"}
    serials = {n: _serial(env.load(cfg, files), n) for n in ("example.com", "other.org")}
    zonedata._cache.clear()  # a restart: a new process starts with no cache
    loaded = env.load()
    assert {n: _serial(loaded, n) for n in serials} == serials
    included.write_text("db IN A 192.0.2.8\n", encoding="utf-8")
    loaded = env.load()
    assert [rd.address for rd in rrsets(loaded, "example.com")[("db.example.com", "A")]] \
        == ["192.0.2.8"]
    assert _serial(loaded, "example.com") > serials["example.com"]
    assert _serial(loaded, "other.org") == serials["other.org"]


# The fast reader against dnspython's: random zone files of the subset, and mutated ones.

ORIGIN = dns.name.from_text("example.com")
# (well-formed, malformed) examples of each part of a line
OWNERS = (["@", "www", "WWW", "a.b", "*", "*.wild", "mail", "x-1", "www.example.com.",
           "www.EXAMPLE.com.", "example.com.", "outside.org.",
           ".".join(["x" * 63] * 3 + ["x" * 61, ""])],  # 255 octets: the longest name
          ["a..b", "x" * 64, '"q"', ".".join(["x" * 63] * 3 + ["x" * 62, ""]),
           ".".join(["x" * 63] * 4)])
TARGETS = ["@", ".", "www", "mail.example.com.", "MAIL", "ns.other.net."]
VALUES = {
    "A": (["192.0.2.1", "192.0.2.2"], ["10.0.0.256", "1.2.3", "192.0.2.01"]),
    "AAAA": (["2001:db8::1", "2001:DB8::1", "::ffff:1.2.3.4", "::1.2.3.4", "::", "::1",
              "fe80::", "2001:0db8::1", "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1",
              "1:0:1:1:1:1:1:1", "1::1:1:1:1:1:1", "0:0:0:0:0:ffff:102:304", "2001:db8:0::5",
              "1:2:3:4:5:6:7::", "::ffff:0102:0304"],
             ["2001:db8::g", "1::2::3", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3", ":1:2:3:4:5:6:7",
              "1:2:3:4:5:6:7:", "1::2:3:4:5:6:7:8", "::1.2.3.04"]),
    "NS": (TARGETS, ["a..b"]), "CNAME": (TARGETS, ["a b"]), "PTR": (TARGETS, ['"www"']),
    "MX": ([f"{p} {t}" for p in ("10", "0") for t in TARGETS], ["65536 www", "x www"]),
    "SRV": (["10 60 5060 www", "0 0 0 ."], ["1 2 70000 www", "1 2 3"]),
    "TXT": (['"hello world"', '"a;b" bare', '""', "bare", '"x" "y" "z"'],
            ['"' + "x" * 256 + '"', '"unclosed', 'a"b"', ""]),
    "CAA": (['0 issue "letsencrypt.org"', "128 iodef mailto:x@example.com", '0 "issue" ";"'],
            ["0 bad-tag x", "256 issue x"]),
    "SOA": (["ns1 hostmaster 1 3600 600 86400 300", "ns1. h.example.com. 7 1h 10m 1w 1d"],
            ["ns1 hostmaster 1 2 3 4"]),
    # outside the subset: dnspython reads the file
    "HINFO": ([], ['"cpu" "os"']), "type65534": ([], ["\\# 0"]),
}
TTLS = (["", "300", "0", "1h", "2w1d", "4294967295"], ["4294967296", "1h30"])
CLASSES = (["", "IN", "in"], ["CH"])
DIRECTIVES = (["$TTL 300", "$ttl 1h", "$ORIGIN sub", "$ORIGIN sub.example.com.",
               "$ORIGIN other.org.", "$ORIGIN example.com."], ["$TTL bad", "$TTL 1 2"])


def _pick(draw, choices: tuple[list[str], list[str]], clean: bool) -> str:
    good, bad = choices
    return draw(st.sampled_from(good if clean or not bad else good + bad))


@st.composite
def record_lines(draw, clean: bool) -> str:
    owner = draw(st.sampled_from(["", "\t", _pick(draw, OWNERS, clean)]))
    ttl, cls = _pick(draw, TTLS, clean), _pick(draw, CLASSES, clean)
    fields = [ttl, cls] if draw(st.booleans()) else [cls, ttl]
    rdtype = draw(st.sampled_from(sorted(t for t, (good, _) in VALUES.items()
                                         if good or not clean)))
    value = _pick(draw, VALUES[rdtype], clean)
    line = " ".join([owner, *[f for f in fields if f], draw(st.sampled_from(
        [rdtype, rdtype.lower()])), value])
    return line + draw(st.sampled_from(["", " ; a comment", "\t;", "  "]))


def zone_texts(clean: bool) -> st.SearchStrategy[str]:
    directives = DIRECTIVES[0] if clean else DIRECTIVES[0] + DIRECTIVES[1]
    lines = st.one_of(record_lines(clean),
                      st.sampled_from(["", "; only a comment", "   ", *directives]))
    return st.lists(lines, max_size=12).map(lambda lines: "\n".join(lines) + "\n")


@st.composite
def mutated_texts(draw) -> str:
    text = draw(zone_texts(clean=False))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(list('()";\\ \t\n.@$0aZ\ré') + ["", "IN", "TXT"]))
        text = text[:at] + edit + text[at + draw(st.integers(0, 2)):]
    return text


def _dnspython(text: str, origin: dns.name.Name = ORIGIN):
    """dnspython's RRsets of the text, as zonedata reads a file the fast reader leaves."""
    try:
        parsed = dns.zone.from_file(io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8"),
                                    origin=origin, relativize=False, check_origin=False)
    except Exception as exc:  # noqa: BLE001 - any failure: the fast reader must fail too
        return exc
    return [dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))
            for name, node in parsed.nodes.items() for rdataset in node.rdatasets]


def _same(fast: zonefile.Packed, slow: list[dns.rrset.RRset], text: str,
          origin: dns.name.Name = ORIGIN) -> None:
    # decoded, the fast reader's RRsets are dnspython's
    rrsets = unpack_rrsets(fast[0])
    assert len(rrsets) == len(slow) and fast[1] == sum(map(len, slow))
    for got, expected in zip(map(decode_rrset, rrsets), slow, strict=True):
        assert got.name.to_text() == expected.name.to_text()
        assert (got.rdclass, got.rdtype, got.ttl) == (expected.rdclass, expected.rdtype,
                                                      expected.ttl)
        assert [rd.to_text() for rd in got] == [rd.to_text() for rd in expected]
        assert list(got) == list(expected)
    # and packed, exactly what the fallback (dnspython's reader, encode_rrset, pack_rrsets)
    # gives
    assert fast == pack_rrsets(zonedata._read_with_dnspython(text.encode(), "test.zone",
                                                             origin))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone_texts(clean=True))
def test_the_fast_reader_reads_files_of_its_subset_as_dnspython_does(text):
    fast = _parse(text, ORIGIN)
    slow = _dnspython(text)
    event("refused by dnspython" if isinstance(slow, Exception) else "read")
    if isinstance(slow, Exception):  # e.g. a CNAME and other data, no TTL known
        assert fast is None
    else:
        assert fast is not None
        _same(fast, slow, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(zone_texts(clean=False), mutated_texts()))
def test_the_fast_reader_gives_dnspython_rrsets_or_leaves_the_file_to_it(text):
    fast = _parse(text, ORIGIN)
    slow = _dnspython(text)
    event("fast" if fast is not None else "dnspython")
    if fast is not None:
        assert not isinstance(slow, Exception), slow
        _same(fast, slow, text)


@st.composite
def ipv6_texts(draw) -> str:
    """Texts near IPv6 addresses: groups of hex digits, with a `::` when fewer than eight,
    perhaps an IPv4 tail; and some flaw at times (a group too long or not hex, a bad IPv4
    tail, a group too many or too few, a `::` more or less, a stray colon)."""
    v4 = draw(st.booleans())
    count = draw(st.integers(1 if v4 else 0, 6 if v4 else 8))
    groups = draw(st.lists(st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=4),
                           min_size=count, max_size=count))
    if v4:
        groups.append(draw(st.sampled_from(["1.2.3.4", "255.255.255.255", "0.0.0.0"])))
    if count < (6 if v4 else 8):
        at = draw(st.integers(0, len(groups)))
        groups[at:at] = [""] if 0 < at < len(groups) else ["", ""]
    flaw = draw(st.sampled_from(["none"] * 6 + ["group", "v4", "count", "colon"]))
    if flaw == "group" and groups:
        groups[draw(st.integers(0, len(groups) - 1))] = draw(st.sampled_from(["12345", "g"]))
    elif flaw == "v4":
        groups.append(draw(st.sampled_from(["01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4.5"])))
    elif flaw == "count":
        groups.insert(draw(st.integers(0, len(groups))), draw(st.sampled_from(["0", ""])))
    text = ":".join(groups) or "::"
    if flaw == "colon":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + ":" + text[at:]
    return text


@settings(max_examples=2000, deadline=None)
@given(st.one_of(ipv6_texts(), st.text(alphabet="0123456789abcdefABCDEFg:.", max_size=24)))
def test_the_c_library_reads_ipv6_addresses_as_dnspython_does(text):
    """The fast reader encodes AAAA rdatas with inet_pton: it must take exactly the texts
    dnspython takes (every form of RFC 4291 §2.2), as the same 16 octets."""
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        packed = None
    try:
        expected = dns.ipv6.inet_aton(text)
    except dns.exception.SyntaxError:
        expected = None
    event("taken" if expected is not None else "refused")
    assert packed == expected


def test_the_fast_reader_reads_the_whole_subset():
    text = ("$TTL 3600\n@ IN SOA ns1 hostmaster 1 1h 10m 1w 300\n"
            "  IN NS ns1\n\tNS ns2.example.com.\n"
            "www 300 IN A 192.0.2.1 ; first\nwww IN 300 A 192.0.2.2\nWWW A 192.0.2.1\n"
            "www AAAA 2001:db8::1\nalias CNAME www\n@ MX 10 mail\n_sip._udp SRV 1 2 5060 www\n"
            '@ TXT "v=spf1 -all" "b;c" bare\n@ CAA 0 issue "ca.test"\n'
            "$ORIGIN rev.example.com.\n1 PTR host.example.com.\noutside.org. A 192.0.2.9\n")
    fast = _parse(text, ORIGIN)
    assert fast is not None
    _same(fast, _dnspython(text), text)
    www = next(decode_rrset(r) for r in unpack_rrsets(fast[0])
               if r.owner.wire == b"\x03www\x07example\x03com\x00" and r.rdtype == dns.rdatatype.A)
    assert (www.ttl, [rd.address for rd in www]) == (300, ["192.0.2.1", "192.0.2.2"])


# Files in the form zone exports have (`owner TTL IN TYPE rdata`), which the fast reader
# builds column by column when each owner's lines are together, one record per type.

EXPORT_OWNERS = (["www.example.com.", "mail.example.com.", "a.b.example.com.", "example.com.",
                  "x", "@", "*.example.com.", "x" * 63 + ".example.com.",
                  ".".join(["x" * 63] * 3 + ["x" * 49, ""])],
                 ["WWW.example.com.", "www.EXAMPLE.com.", "outside.org.", '"q".example.com.',
                  "x" * 64 + ".example.com.", 'a"b.example.com.'])


@st.composite
def export_texts(draw) -> str:
    """Clean ones (each owner's lines together, one record per type, good values), and
    others with one kind of flaw."""
    clean = draw(st.booleans())
    owners = draw(st.lists(st.sampled_from(EXPORT_OWNERS[0] if clean else sum(EXPORT_OWNERS, [])),
                           min_size=1, max_size=5, unique=True))
    lines = []
    for owner in owners:
        types = draw(st.lists(st.sampled_from(sorted(t for t, (good, _) in VALUES.items()
                                                     if good)), min_size=1, max_size=3,
                              unique=True))
        if clean:  # what dnspython refuses: a CNAME and other data, a SOA below the apex
            types = ["CNAME"] if "CNAME" in types else types
            types = [t for t in types if t != "SOA" or owner in ("@", "example.com.")] or ["A"]
        for rdtype in types:
            ttl = draw(st.sampled_from(["0", "300", "0300", "4294967295"]
                                       + ([] if clean else ["4294967296"])))
            value = _pick(draw, VALUES[rdtype], clean=clean or draw(st.booleans()))
            if clean and ";" in value:  # a comment: read line by line
                value = '"no comment"' if rdtype == "TXT" else value
            lines.append(f"{owner}{draw(st.sampled_from([' ', '  ', chr(9)]))}{ttl} IN "
                         f"{rdtype} {value}{draw(st.sampled_from(['', ' ', chr(9)]))}")
    if not clean and draw(st.booleans()):  # an owner's lines apart, an RRset of two RRs
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(lines)))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


def _columns(text: str):
    """What the column-by-column reader gives, None when it leaves the file (or errs, which
    makes parse return None)."""
    try:
        return zonefile._columns(text, zonefile._Reader(ORIGIN))
    except Exception:  # noqa: BLE001 - parse turns every error into None
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export_texts())
def test_files_in_export_form_are_read_column_by_column_as_dnspython_reads_them(text):
    columns = _columns(text)
    fast = _parse(text, ORIGIN)
    event("column by column" if columns is not None
          else "line by line" if fast is not None else "dnspython")
    slow = _dnspython(text)
    if isinstance(slow, Exception):
        assert fast is None and columns is None
    elif fast is not None:  # else left to dnspython (e.g. TXT a"b", which it splits)
        _same(fast, slow, text)
        if columns is not None:
            assert columns == fast


def test_a_typical_export_is_read_column_by_column():
    text = ("example.com. 3600 IN A 192.0.2.1\nexample.com. 3600 IN MX 10 mail.example.com.\n"
            'example.com. 3600 IN TXT "v=spf1 mx -all"\nwww.example.com. 300 IN CNAME @\n'
            "mail.example.com. 3600 IN A 192.0.2.2\nmail.example.com. 3600 IN AAAA 2001:db8::2\n"
            "sub.example.com. 86400 IN NS ns.sub.example.com.\n")
    columns = _columns(text)
    assert columns is not None
    _same(columns, _dnspython(text), text)


# Files read together (parse_many): files in export form of several zones, with absolute
# names, RRsets of several lines; and some a file alone must read (relative names, errors,
# a comment...)

ZONES = ["example.com", "a.example.com", "example.net", "x" * 63 + ".test"]


def _export_values(zone: str) -> dict[str, list[str]]:
    return {
        "A": ["192.0.2.1", "192.0.2.2", "192.0.2.1"], "AAAA": ["2001:db8::1", "2001:DB8::1"],
        "NS": [f"ns1.{zone}.", f"NS1.{zone}.", "ns.other.net."],
        "CNAME": [f"{zone}.", f"www.{zone}."], "PTR": [f"host.{zone}.", "."],
        "MX": [f"10 mail.{zone}.", f"10 MAIL.{zone}.", f"20 mail.{zone}.", "0 ."],
        "SRV": [f"0 5 5060 sip.{zone}.", f"0 5 5060 SIP.{zone}.", "1 0 0 ."],
        "TXT": ['"v=spf1 -all"', '"a b"', "bare", '"x" "y"'],
        "CAA": ['0 issue "ca.test"', "128 iodef mailto:x@example.com"],
        "SOA": [f"ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 300"],
    }


@st.composite
def export_files(draw) -> tuple[dns.name.Name, str]:
    """A zone and a file for it in export form, each RRset's lines together (dnspython's
    output); now and then with a flaw that makes it read alone."""
    zone = draw(st.sampled_from(ZONES))
    values = _export_values(zone)
    owners = draw(st.lists(st.sampled_from(
        [f"{zone}.", f"www.{zone}.", f"mail.{zone}.", f"a.b.{zone}.", f"*.{zone}.",
         f"{'y' * 63}.{zone}."]), min_size=1, max_size=4, unique=True))
    lines = []
    for owner in owners:
        types = draw(st.lists(st.sampled_from(sorted(values)), min_size=1, max_size=3,
                              unique=True))
        types = ["CNAME"] if "CNAME" in types else types  # what dnspython refuses
        types = [t for t in types if t != "SOA" or owner == f"{zone}."] or ["A"]
        for rdtype in types:
            rrs = 1 if rdtype in ("CNAME", "SOA") else draw(st.integers(1, 3))
            for _ in range(rrs):
                ttl = draw(st.sampled_from(["300", "3600", "0"]))
                lines.append(f"{owner} {ttl} IN {rdtype} {draw(st.sampled_from(values[rdtype]))}")
    flaw = draw(st.sampled_from(["none"] * 6 + ["relative", "case", "apart", "comment",
                                                "outside", "cname"]))
    if flaw == "relative":
        lines.append(f"www.{zone}. 300 IN MX 10 mail")
    elif flaw == "case":
        lines.append(f"WWW.{zone.upper()}. 300 IN A 192.0.2.9")
    elif flaw == "apart":
        lines.append(lines[0])
    elif flaw == "comment":
        lines.append("; a comment")
    elif flaw == "outside":
        lines.append("outside.org. 300 IN A 192.0.2.9")
    elif flaw == "cname":
        lines.append(f"{owners[-1]} 300 IN CNAME {zone}.")
    text = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    event(f"flaw: {flaw}")
    return dns.name.from_text(zone), text


def _together(text: str, origin: dns.name.Name) -> bool:
    try:
        return zonefile._columns_many([text], [origin]) is not None
    except Exception:  # noqa: BLE001 - parse_many reads such a file alone
        return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(export_files(), min_size=1, max_size=8))
def test_files_read_together_are_read_as_each_alone_and_as_dnspython_reads_them(files):
    origins = [origin for origin, _ in files]
    texts = [text for _, text in files]
    together = _parse_many(texts, origins)
    for origin, text, got in zip(origins, texts, together, strict=True):
        alone = _parse(text, origin)
        assert (got is None) == (alone is None)
        event("a file of the form read together" if _together(text, origin) else
              "a file read alone")
        if got is not None:
            assert got == alone
            _same(got, _dnspython(text, origin), text, origin)
        else:
            event("left to dnspython")


def test_files_in_export_form_are_read_together_not_alone(monkeypatch):
    zones = ["example.com", "example.net", "a.example.com"]
    texts = [f"{z}. 3600 IN A 192.0.2.1\n{z}. 3600 IN MX 10 mail.{z}.\n"
             f"{z}. 3600 IN MX 20 mx2.other.net.\n{z}. 300 IN MX 10 MAIL.{z}.\n"
             f"sub.{z}. 86400 IN NS ns1.{z}.\nsub.{z}. 86400 IN NS ns2.{z}.\n"
             f"mail.{z}. 3600 IN A 192.0.2.2\nwww.{z}. 300 IN CNAME {z}.\n" for z in zones]
    origins = list(map(dns.name.from_text, zones))
    alone = [zonefile.parse(text, origin) for text, origin in zip(texts, origins, strict=True)]
    monkeypatch.setattr(zonefile, "parse", None)  # (read alone, it would fail)
    monkeypatch.setattr(zonefile, "_fast", None)  # (the C reader reads each alone)
    together = zonefile.parse_many(texts, origins)
    assert together == alone
    mx = decode_rrset(unpack_rrsets(together[0][0])[1])
    assert (mx.ttl, sorted(rd.to_text() for rd in mx)) == (
        300, ["10 mail.example.com.", "20 mx2.other.net."])


SOA = "ns1 hostmaster 1 2 3 4 300"


@pytest.mark.parametrize("text", [
    f"@ 3600 SOA {SOA}\nwww 60 A 192.0.2.1\nx A 192.0.2.2\n",  # RFC 2308: the last TTL
    f"$TTL 100\n@ 3600 SOA {SOA}\nwww 60 A 192.0.2.1\nx A 192.0.2.2\n",  # $TTL wins
    f"@ SOA {SOA}\nx A 192.0.2.2\n",  # the SOA's minimum
    f"www 60 A 192.0.2.1\n@ SOA {SOA}\nx A 192.0.2.2\n",
    f"$TTL 1h\n@ SOA {SOA}\n$TTL 5\nx A 192.0.2.2\n",
    "www A 192.0.2.1\n",  # no TTL known: refused
    "$TTL 1\nwww 60 A 192.0.2.1\nwww 30 A 192.0.2.1\nwww A 192.0.2.2\n",  # the least TTL
    "$TTL 1\nc CNAME a\nc 5 CNAME b\n",  # a later CNAME replaces the earlier one
    "$TTL 1\nc CNAME a\nc A 192.0.2.1\n",  # a CNAME and other data: refused
    "$TTL 1\nWWW NS A.example.com.\nwww NS a.example.com.\nwww TXT x\nWWW A 192.0.2.1\n",
    f"$TTL 1\nsub SOA {SOA}\n",  # a SOA below the apex: refused
    *(f"$TTL 1\n{name} A 192.0.2.1\nwww NS {name}\n" for name in (  # names of 255 octets
        "x" * 63, "x" * 64, ".".join(["x" * 63] * 3 + ["x" * 61, ""]),
        ".".join(["x" * 63] * 3 + ["x" * 62, ""]), ".".join(["x" * 63] * 3 + ["x" * 49]),
        ".".join(["x" * 63] * 3 + ["x" * 50]))),
])
def test_ttls_duplicates_and_refusals_as_dnspython(text):
    fast = _parse(text, ORIGIN)
    slow = _dnspython(text)
    if isinstance(slow, Exception):
        assert fast is None
    else:
        assert fast is not None
        _same(fast, slow, text)


def test_an_unchanged_zone_is_not_built_again_unless_its_recorded_serial_changed(env):
    env.write(_cfg("example.com"))
    _age(env.root / "zones" / "example.com.zone")
    first = env.load()
    second = env.load()
    assert second.plan.zones == first.plan.zones
    assert second.plan.zones[0] is first.plan.zones[0]
    state = env.state()
    state["serials"]["example.com"]["serial"] += 5
    env.set_state(state)
    third = env.load()
    assert _serial(third, "example.com") == _serial(first, "example.com") + 5


def test_an_error_in_a_file_of_the_subset_is_dnspythons(env):
    text = "$TTL 300\n@ A 192.0.2.1\nwww A 192.0.2.300\n"
    problems = env.refused(_cfg("example.com"), {"example.com": text})
    with pytest.raises(dns.exception.SyntaxError) as info:
        dns.zone.from_file(str(env.root / "zones" / "example.com.zone"), origin=ORIGIN,
                           relativize=False, check_origin=False)
    file, line, detail = str(info.value).split(":", 2)
    assert [(p.file, p.line, p.message) for p in problems] == [
        (file, int(line), f"zone example.com: {detail.strip()}")]


def _alone(text: str, origin: dns.name.Name) -> bool:
    """Whether _columns packs the file (it errs where parse reads it otherwise)."""
    try:
        return zonefile._columns(text, zonefile._Reader(origin)) is not None
    except Exception:  # noqa: BLE001 - parse turns every error into None
        return False


def _line_by_line(text: str, origin: dns.name.Name) -> zonefile.Packed | None:
    """What the line-by-line reader (_Reader) gives: parse reads a file that has as many
    lines as its record limit line by line, counting, never column by column."""
    text += "\n"
    return _parse(text, origin, zonefile.RecordLimit(text.count("\n"), "unreached"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(export_files(), min_size=1, max_size=8))
def test_the_column_readers_pack_what_the_line_by_line_reader_packs(files):
    """The packed content and record count the column readers build (a file alone:
    _columns; files together: _columns_many) are exactly the line-by-line reader's RRsets
    packed (pack_rrsets) and their records: files in export form with names of several
    labels, CNAME, MX, TXT, SRV, ..., several TTLs, RRsets of several lines."""
    origins = [origin for origin, _ in files]
    texts = [text for _, text in files]
    together = _parse_many(texts, origins)
    for origin, text, got in zip(origins, texts, together, strict=True):
        assert got == _parse(text, origin) == _line_by_line(text, origin)
        event("packed column by column" if _together(text, origin) or _alone(text, origin)
              else "packed line by line")
        event("RRsets of several lines" if got is not None and len(
            unpack_rrsets(got[0])) < len(text.splitlines()) else "an RRset a line")


_APEX = "example.com. 300 IN "
_SOA_LINE = _APEX + "SOA ns1.example.com. h.example.com. 1 2 3 4 5"


@pytest.mark.parametrize("text", [
    # the apex first, then other names; the apex last (what acnsd adds follows it); only
    # its SOA and NS; spelled in another case; NS of several lines; and read line by line
    f"{_SOA_LINE}\n{_APEX}NS ns.other.net.\n{_APEX}A 192.0.2.1\nwww.example.com. 300 IN A "
    "192.0.2.2\n",
    f"www.example.com. 300 IN A 192.0.2.2\n{_APEX}A 192.0.2.1\n{_SOA_LINE}\n{_APEX}TXT x\n",
    f"www.example.com. 300 IN A 192.0.2.2\n{_SOA_LINE}\n{_APEX}NS ns.other.net.\n",
    "www.example.com. 300 IN A 192.0.2.2\nEXAMPLE.com. 300 IN A 192.0.2.1\n"
    "EXAMPLE.com. 300 IN SOA ns1. h. 1 2 3 4 5\n",
    f"{_APEX}NS ns.other.net.\n{_APEX}NS ns2.other.net.\n{_APEX}MX 10 mail.example.com.\n"
    "mail.example.com. 60 IN A 192.0.2.3\n",
    "$TTL 300\n@ A 192.0.2.1\n@ SOA ns1 h 1 2 3 4 5\nwww A 192.0.2.2\n@ TXT x\n",
])
def test_a_file_whose_apex_soa_and_ns_are_replaced_is_served_as_packed_before(env, text):
    """A zone whose file has an apex SOA or NS (replaced by the managed ones, R9/R10): its
    plan is exactly the file's other RRsets (dnspython's reader the oracle) and acnsd's,
    packed as one list (packed.pack_rrsets), though built of the file's packed form."""
    loaded = env.load(_cfg("example.com"), {"example.com": text})
    plan = next(p for p in loaded.plan.zones if p.origin.to_text() == "example.com.")
    apex = ORIGIN.to_wire()
    served = [r for r in zonedata._read_with_dnspython(text.encode(), "x.zone", ORIGIN)
              if r.owner.key != apex or r.rdtype not in (dns.rdatatype.SOA, dns.rdatatype.NS)]
    ours = unpack_rrsets(plan.content)[len(served):]
    assert [r.rdtype for r in ours][0] == dns.rdatatype.NS
    assert ours[-1].rdtype == dns.rdatatype.SOA
    assert (plan.content, plan.records) == pack_rrsets([*served, *ours])
    assert plan.file == b""


# The C reader (_zonefast.c): files in export form read in one pass. Every test above
# reads with it and without it (_parse, _parse_many); these show what it takes itself.

def _c_reader():
    """zonefile's C reader; a failure in CI (the extension must be built there), a skip
    where it could not be compiled."""
    if zonefile._fast is None:
        if os.environ.get("CI"):
            pytest.fail("acnsd.model._zonefast is not built (setup.py; a C compiler is needed)")
        pytest.skip("acnsd.model._zonefast is not built")
    return zonefile._fast


@pytest.mark.parametrize("text", [
    # an export: several TTLs, an RRset of several lines with a duplicate (names compared
    # without case) and the least TTL, a delegation, TXT strings quoted and bare, blank
    # lines, words apart by several spaces, blanks at the end of a line
    "example.com. 3600 IN A 192.0.2.1\nexample.com. 3600 IN MX 10 mail.example.com.\n"
    "example.com. 300 IN MX 10 MAIL.example.com.\nexample.com. 3600 IN MX 20 mx.other.net.\n"
    'example.com. 3600 IN TXT "v=spf1 mx -all" bare ""\nwww.example.com. 300 IN CNAME @\n'
    "\nmail  3600  IN  A  192.0.2.2  \nmail 3600 IN AAAA 2001:db8::2\n"
    "sub.example.com. 86400 IN NS ns1.sub.example.com.\nsub.example.com. 86400 IN NS NS1.SUB\n"
    "_sip._udp 60 IN SRV 0 5 5060 sip\n1.2 60 IN PTR host.example.com.\n",
    "".join(f"h.example.com. {n} IN A 192.0.2.{n}\n" for n in range(1, 65)),  # 64 RRs
    f'a 60 IN TXT "{"x" * 255}" {"y" * 255}\n',  # strings of 255 octets
])
def test_the_c_reader_reads_files_in_export_form_as_dnspython_does(text):
    packed = _c_reader()(text, ORIGIN.to_wire())
    assert packed is not None
    _same(packed, _dnspython(text), text)
    with _python_readers():
        assert zonefile.parse(text, ORIGIN) == packed


@pytest.mark.parametrize("text", [
    "a 60 IN A 192.0.2.1\nb 60 IN A 192.0.2.2\na 60 IN TXT x\n",  # an owner's lines apart
    "a 60 IN A 192.0.2.1\na 60 IN TXT x\na 60 IN A 192.0.2.2\n",  # an RRset's lines apart
    "a 60 IN A 192.0.2.1\nA 60 IN TXT x\n",  # one owner spelled in two ways
    "c 60 IN CNAME a\nc 60 IN CNAME b\n",  # a CNAME of two lines: the later one
    "a 60 IN A 192.0.2.1 ; a comment\n", "a\t60 IN A 192.0.2.1\n", "a 60 in A 192.0.2.1\n",
    "$TTL 60\na IN A 192.0.2.1\n", "a 60 IN A 192.0.2.1\n  60 IN TXT x\n",
    "a 1h IN A 192.0.2.1\n", "a IN 60 A 192.0.2.1\n", "@ 60 IN SOA ns1 h 1 2 3 4 5\n",
    '@ 60 IN CAA 0 issue "ca.test"\n', "outside.org. 60 IN A 192.0.2.1\n",
    "".join(f"h.example.com. 60 IN A 192.0.2.{n}\n" for n in range(1, 66)),  # 65 RRs
    f'a 60 IN TXT "{"x" * 256}"\n', f"a 60 IN TXT {'y' * 256}\n",  # a string too long
    # an owner met again after 300 others (the set of owners met has grown), in another case
    "".join(f"h{n}.example.com. 60 IN A 192.0.2.1\n" for n in range(300))
    + "H7 60 IN A 192.0.2.2\n",
])
def test_the_c_reader_leaves_other_files_to_the_python_readers(text):
    assert _c_reader()(text, ORIGIN.to_wire()) is None
    fast, slow = _parse(text, ORIGIN), _dnspython(text)
    if isinstance(slow, Exception):
        assert fast is None
    elif fast is not None:
        _same(fast, slow, text)


@st.composite
def mutated_exports(draw) -> tuple[dns.name.Name, str]:
    """Files in export form, edited at random places with characters and words that matter
    to a reader."""
    origin, text = draw(export_files())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(list('"; \t\n.@$0aZ\\é') + ["", "IN", "TXT", "A", "\n\n"]))
        text = text[:at] + edit + text[at + draw(st.integers(0, 2)):]
    return origin, text


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_exports(), export_texts().map(lambda text: (ORIGIN, text))))
def test_the_c_reader_gives_dnspythons_rrsets_or_none(file):
    origin, text = file
    packed = _c_reader()(text, origin.to_wire())
    event("read by the C reader" if packed is not None else "left to the Python readers")
    if packed is not None:
        slow = _dnspython(text, origin)
        assert not isinstance(slow, Exception), slow
        _same(packed, slow, text, origin)
        with _python_readers():
            assert zonefile.parse(text, origin) == packed


@pytest.mark.parametrize(("lines", "released"), [(50_000, True), (1_000, False)])
def test_the_c_reader_lets_other_threads_run_while_it_reads_a_large_file(lines, released):
    """A text over 64 KiB is read with the GIL released (a large zone file read during a
    reload must not stall the threads that answer); a smaller one keeps it. With no
    switches forced (a switch interval of 100 s), a thread that takes turns only when the
    GIL is free counts during the read only if the reader released it."""
    read = _c_reader()
    text = "".join(f"h{n}.example.com. 60 IN A 192.0.2.{n % 250 + 1}\n" for n in range(lines))
    assert (len(text) > 65536) == released
    counted, stop = [0], False

    def count() -> None:
        while not stop:
            counted[0] += 1
            time.sleep(0)  # (gives the GIL back each turn)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(100)
    counter = threading.Thread(target=count)
    try:
        counter.start()
        time.sleep(0.01)
        before = counted[0]
        packed = read(text, ORIGIN.to_wire())
        during = counted[0] - before
    finally:
        stop = True
        counter.join()
        sys.setswitchinterval(interval)
    assert packed is not None and packed[1] == lines
    assert (during > 0) == released
