"""Compiling a ServePlan into the immutable tables the answering core reads.

The rule this module owns: everything about zone structure is decided here, once per
zone compiled, and nothing of it at query time. Names are keyed by their lower-cased
wire form; every node gets its role (apex, zone cut, below a cut, below a DNAME (RFC
6672 §2.4: occluded, not served), wildcard parent, empty non-terminal); glue is linked
to each delegation and marked mandatory when in-domain (RFC 9471); the A/AAAA of NS, MX
and SRV targets inside the zone (not at or below one of its cuts) are linked to their
RRsets, and every other target is marked for the lookup to find in whichever zone holds
it when answering (lookup.py); the negative-answer SOA is prebuilt with TTL min(SOA TTL,
MINIMUM) (RFC 2308 §5). A compiled zone depends on no other zone, so zones can be
compiled and replaced one by one (delta.py), and each when first needed: the tables hold
every zone as a LazyZone, checked when it enters them (zone_problems: a zone that cannot
be served is refused then, never on a query), compiled on the first query that reaches
it, and kept compiled while among the latest EXPANDED_ZONES compiled (Expanded); a zone
of EAGER_RECORDS records or more is compiled at once and kept.

Per-address views (DESIGN.md §4) hold no zones: each zone carries the view addresses
that serve it (`Zone.addresses`), and all zones are in one ShardedMap. A view holds only
its extra names (R8) and its caches.

Where a zone holds authoritative data inside another zone served here that it does not
delegate (an overlap that only a misconfigured parent has), the targets inside it take
their addresses from the zone itself, not from the deeper zone.

The plan holds its RRsets packed (packed.py); the compiler decodes them when it compiles
the zone, and links them (NS, MX, SRV) in place: each compilation has its own.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from ..errors import ConfigError, Problem
from .cache import CacheEntry, ResponseCache
from .packed import rdatas as packed_rdatas
from .packed import rrsets as packed_rrsets
from .plan import ServePlan, ServerOptions, ZonePlan
from .render import opt_rr
from .wire import WireName, WireRRset, decode_rrset, encode_rrset, name_text, wire_name
from .zonemap import ShardedMap

__all__ = [
    "CATALOG_CACHE", "EAGER_RECORDS", "EXPANDED_ZONES", "Expanded", "LazyZone", "Node", "Tables",
    "ViewTables", "Zone", "compile_catalogs", "compile_plan", "compile_zone", "compiled_on_query",
    "lazy_zone", "lengths_below", "option_tables", "views_of", "zone_problems",
]  # fmt: skip

_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_NS = dns.rdatatype.NS
_DNAME = dns.rdatatype.DNAME
_SOA = dns.rdatatype.SOA
_SOA_TYPE = _SOA.to_bytes(2, "big")  # an RRset's type, packed
_WITH_TARGETS = (dns.rdatatype.NS, dns.rdatatype.MX, dns.rdatatype.SRV)
_LINKED = frozenset(_WITH_TARGETS)
_UNPACK_I = struct.Struct(">I").unpack_from
_WILDCARD = b"\x01*"  # the start of a wildcard's key (RFC 4592)
_WILDCARD_KEY = b"\x00\x01*"  # ... after the end of another key, when keys are joined
CATALOG_CACHE = 1000  # cached answers of the catalogs' tables (rarely asked)
# The view addresses of a zone that no view serves (most zones), one object for all of them:
# each empty frozenset() is a new 216-byte object (21 MB at 100,000 zones)
NO_ADDRESSES: frozenset[str] = frozenset()


class Node(dict[int, WireRRset]):
    """One owner name in a zone: its RRsets by type (none for an empty non-terminal).

    A dict itself, so that a node costs one object: large zones have millions of them."""

    __slots__ = ("name", "cut", "wildcard")

    def __init__(self, name: WireName):  # empty already: dict.__init__ adds nothing
        self.name = name
        # the NS RRset of the delegation at or above this node, or the DNAME RRset of a name
        # above it, whichever is highest, if any (the RRset, not its node: the tables hold
        # no reference cycle, so reference counting frees them); the lookup answers none of
        # the data of a node below a DNAME (RFC 6672 §2.4), it substitutes the name
        self.cut: WireRRset | None = None
        self.wildcard: Node | None = None  # the `*` child (RFC 4592 source of synthesis)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {sorted(self)})"


@dataclass(frozen=True, eq=False, slots=True, weakref_slot=True)  # 10^6 of them
class Zone:
    apex: WireName
    key: bytes  # the apex's lower-cased wire form
    nodes: dict[bytes, Node]  # every owner name and empty non-terminal, by lower-cased wire
    negative_soa: WireRRset  # RFC 2308 §5: the SOA for NXDOMAIN and NODATA answers
    name: str  # the apex as text, e.g. "example.com." (a bounded metrics label)
    # the lengths of the first labels of the apex's children (empty non-terminals too), one
    # bit each: a name right below the apex whose first label has another length is no node
    child_lengths: int
    # the view addresses that serve it (DESIGN.md §4); empty: only the listen addresses,
    # which serve every zone
    addresses: frozenset[str]
    # the negative SOA RR encoded per question end (render_negative), filled on first use
    negative_tails: dict[int, bytes] = field(default_factory=dict)


class LazyZone:
    """A zone as Tables.zones holds it: its apex, the view addresses that serve it, its
    plan, and the Zone compiled from the plan on the first query that reaches the zone
    (`expanded`), kept while it is among the latest ones compiled (Expanded). A zone
    compiled costs ~3 KiB of objects for 9 records; most zones of a server are not asked
    between two loads, and their plan is held anyway (the store's content, the reload's
    cache of zones built), so a zone not asked costs the tables this object only.

    A zone of EAGER_RECORDS records or more is compiled when it enters the tables and kept
    so: compiling it on a query would hold that query, and every other, for milliseconds.

    Its plan was checked when it was made (lazy_zone): compiling it cannot fail."""

    __slots__ = ("key", "addresses", "records", "plan", "expanded")

    def __init__(self, key: bytes, addresses: frozenset[str], records: int, plan: ZonePlan,
                 expanded: Zone | None = None):
        self.key = key  # the apex's lower-cased wire form
        self.addresses = addresses  # as Zone.addresses
        self.records = records  # resource records in its plan
        self.plan = plan
        self.expanded = expanded

    @property
    def name(self) -> str:
        """The apex as text, e.g. "example.com." (Zone.name)."""
        return name_text(self.plan.origin)

    @property
    def serial(self) -> int:
        """The SOA serial the zone serves (the first of the five numbers ending the SOA)."""
        return self.plan.serial

    def __reduce__(self) -> tuple:  # (daemon/snapshot.py) the compiled zone if kept for good
        eager = self.expanded if self.records >= EAGER_RECORDS else None
        return LazyZone, (self.key, self.addresses, self.records, self.plan, eager)

    def __repr__(self) -> str:
        return f"LazyZone({self.name}{', expanded' if self.expanded else ''})"


def lazy_zone(plan: ZonePlan, addresses: frozenset[str] = NO_ADDRESSES) -> LazyZone:
    """A zone for the tables, served at `addresses`; raises ConfigError for a zone that
    cannot be served (zone_problems), as compiling it would."""
    key = plan.origin.to_wire().lower()
    problems = [] if plan.servable else zone_problems(plan, key)
    if problems:
        raise ConfigError(problems)
    addresses = addresses or NO_ADDRESSES
    records = plan.records
    expanded = _compiled(plan, addresses) if records >= EAGER_RECORDS else None
    return LazyZone(key, addresses, records, plan, expanded)


# zones kept compiled (Expanded): ~35 objects and ~270 references each for 6 records, which
# every collection that reaches them walks (what load_tables compiles is frozen:
# serve.frozen), out of the processor's caches, holding the GIL: after 20,000 queries at
# 100,000 zones, a full collection took 13.6-22.3 ms of CPU with 1,000 kept, 4.7-6.6 with
# 250, 3.4-4.9 with 100, 2.5-3.9 with none (benchmarks/gc_walk.py); a zone dropped is
# compiled again when a query misses the response cache (~37 µs for 6 records)
EXPANDED_ZONES = 100
EAGER_RECORDS = 1_000  # a zone this large is compiled at once (LazyZone): ~1.5 ms
_compiled_on_query = [0]  # since start; a list so the count needs no `global`


def compiled_on_query() -> int:
    """How many zones were compiled on a query since the process started (Expanded: a
    zone asked again after others pushed it out is compiled again)."""
    return _compiled_on_query[0]


class Expanded:
    """The zones compiled on a query lately, at most `limit` of them: the oldest compiled
    is dropped first, and compiled again when asked again (~20 µs for 9 records). Not
    touched on use, as an LRU would be: that would cost every query. A dropped zone stays
    whole for whoever still holds it (a query being answered): only its LazyZone lets go
    of it."""

    __slots__ = ("limit", "_held")

    def __init__(self, limit: int = EXPANDED_ZONES):
        self.limit = limit
        self._held: deque[LazyZone] = deque()

    def expand(self, lazy: LazyZone) -> Zone:
        """The zone of `lazy` compiled, kept in it until `limit` others are compiled."""
        zone = lazy.expanded = _compiled(lazy.plan, lazy.addresses)
        _compiled_on_query[0] += 1
        held = self._held
        held.append(lazy)
        while len(held) > self.limit:
            held.popleft().expanded = None
        return zone

    def __len__(self) -> int:
        return len(self._held)

    def __reduce__(self) -> tuple:  # a snapshot starts with none compiled
        return Expanded, (self.limit,)


@dataclass(frozen=True, eq=False)
class ViewTables:
    """What one local address answers besides the zones that name it: its extra names,
    and its response caches. `address` None: the listen addresses, which answer every
    zone."""

    address: str | None
    # R8 names answered here from the zone that holds them, though this address does not
    # serve that zone; the A/AAAA at them are also additional data here
    names: frozenset[bytes]
    udp_cache: dict[bytes, CacheEntry] = field(default_factory=dict)
    tcp_cache: dict[bytes, CacheEntry] = field(default_factory=dict)
    negative: dict[bytes, tuple] = field(default_factory=dict)  # NXDOMAIN templates (core.py)


@dataclass(frozen=True, eq=False)
class Tables:
    """Everything the core answers from; compiled whole at a (re)load, or changed zone by
    zone (delta.py); swapped in one assignment."""

    options: ServerOptions
    default: ViewTables  # addresses without a view answer every zone
    views: dict[str, ViewTables]  # by local address, in every spelling
    chaos: dict[bytes, WireRRset]  # CHAOS TXT answers by lower-cased wire name
    cache: ResponseCache
    opt_records: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]  # our OPT by [DO][NSID asked]
    zones: ShardedMap[bytes, LazyZone]  # every zone, by the lower-cased wire apex
    # by parent name, how many zones right below it have a first label of each length: a
    # parent's NXDOMAIN template (core.py) checks only names of those lengths for a zone
    # (never changed: a change makes a new dict)
    below: ShardedMap[bytes, dict[int, int]]
    records: int = 0  # resource records served, over every zone
    generation: int = 0  # of the last Delta applied (delta.py); 0: compiled whole
    # the catalog zones (RFC 9432) as tables of their own, which only the primary side
    # reads (xfr/): a plain query never finds them; None: no catalog
    catalogs: Tables | None = None
    # the apexes (lower-cased wire) of the zones followed as a secondary that have nothing
    # to serve (xfr/secondary.py): a query at or below one that no zone holds is SERVFAIL
    unavailable: frozenset[bytes] = frozenset()
    # the zones compiled on a query (shared by the tables a delta makes of these)
    expanded: Expanded = field(default_factory=Expanded)

    def zone(self, key: bytes) -> Zone | None:
        """The zone whose apex is `key` (lower-cased wire), compiled; None: no such zone."""
        lazy = self.zones.get(key)
        if lazy is None:
            return None
        return lazy.expanded or self.expanded.expand(lazy)


def _is_at_or_below(name: WireName, key: bytes) -> bool:
    """Whether `name` is `key` or a name below it (lower-cased wire forms)."""
    return _wire_at_or_below(name.wire, name.key, key)


def _wire_at_or_below(wire: bytes, name_key: bytes, key: bytes) -> bool:
    """Whether the name `wire` (lower-cased: `name_key`) is `key` or a name below it."""
    if not name_key.endswith(key):
        return False
    boundary = len(name_key) - len(key)
    pos = 0
    while pos < boundary:
        pos += wire[pos] + 1
    return pos == boundary


def _merged(held: WireRRset, rrset: WireRRset) -> WireRRset:
    """The union of two RRsets of one owner and type (duplicates collapsed as dnspython
    does, the least TTL), as a new RRset: the plan stays as it is."""
    union = decode_rrset(held)
    union.union_update(decode_rrset(rrset))
    return encode_rrset(union, owner=held.owner)


def zone_problems(plan: ZonePlan, apex_key: bytes) -> list[Problem]:
    """Why a zone (whose apex's lower-cased wire form is `apex_key`) cannot be served
    (empty: it can): an owner name outside the zone (one problem per RRset), or not
    exactly one SOA record at the apex. Checked when a zone enters the tables (lazy_zone),
    so that its compilation on first query cannot fail."""
    origin = plan.origin
    apex_len = len(apex_key)
    problems = []
    soas = 0  # SOA RRsets at the apex
    single = True  # ... each of one RR
    last, inside, below = None, True, 0  # the owner before, whether in the zone, how deep
    for owner, fixed, rdatas in packed_rrsets(plan.content):
        if owner is not last:  # (an owner repeated is the same object: checked once)
            last, key = owner, owner.lower()
            below = len(key) - apex_len  # a child of the apex has one label before it
            inside = ((below == key[0] + 1 or below == 0) and key.endswith(apex_key)
                      or _wire_at_or_below(owner, key, apex_key))
        if not inside:
            problems.append(Problem(f"zone {origin}: {dns.name.from_wire(owner, 0)[0]} is "
                                    "outside the zone"))
        elif fixed[:2] == _SOA_TYPE and below == 0:
            soas += 1
            single = single and len(packed_rdatas(rdatas)) == 1
    if not soas or not single or soas > 1 and len(functools.reduce(_merged, [
            r for r in plan.rrsets if r.rdtype == _SOA and r.owner.key == apex_key])) != 1:
        problems.append(Problem(f"zone {origin}: the apex needs exactly one SOA record"))
    return problems


def compile_zone(plan: ZonePlan, addresses: frozenset[str] = NO_ADDRESSES) -> Zone:
    """One zone, served at `addresses` (and the listen addresses); raises ConfigError for
    a zone that cannot be served (zone_problems)."""
    problems = zone_problems(plan, plan.origin.to_wire().lower())
    if problems:
        raise ConfigError(problems)
    return _compiled(plan, addresses)


def _compiled(plan: ZonePlan, addresses: frozenset[str]) -> Zone:
    """One zone that zone_problems finds none in. The plan's RRsets, decoded, are linked in
    place; only those whose owner is spelled otherwise than the node's first are copied
    (each node has one owner name). Equal immutable parts (the linked data of the zone's
    RRsets) are stored once."""
    addresses = addresses or NO_ADDRESSES
    shared: dict[Any, Any] = {}
    origin = plan.origin
    apex = wire_name(origin)
    apex_key = apex.key
    apex_len = len(apex_key)
    nodes: dict[bytes, Node] = {}
    deeper: list[bytes] = []  # the names more than one label below the apex
    child_lengths = 0
    linked: dict[bytes, Node] = {}
    cuts = False  # whether the zone delegates or has a DNAME: nodes below them get a cut
    soa_owner = None  # the first apex SOA's owner as the plan spells it: negative answers'
    for rrset in plan.rrsets:  # (decoded now: this compilation's own)
        owner = rrset.owner
        key = owner.key
        node = nodes.get(key)
        if node is None:
            below = len(key) - apex_len  # a child of the apex has one label before it
            node = nodes[key] = Node(owner)
            if below > key[0] + 1:
                deeper.append(key)
            elif below:  # a child of the apex
                child_lengths |= 1 << key[0]
        rdtype = rrset.rdtype
        if rdtype == _SOA and key == apex_key and soa_owner is None:
            soa_owner = owner
        if rdtype in node:  # the same RRset listed twice: merged
            rrset = _merged(node[rdtype], rrset)
        elif owner is not node.name:
            rrset = rrset.copy(owner=node.name)
        if rdtype in _LINKED:
            linked[key] = node
            cuts = cuts or (rdtype == _NS and key != apex_key)
        elif rdtype == _DNAME:
            cuts = True
        node[rdtype] = rrset
    # empty non-terminals: every ancestor of a name, up to the apex, is a node (a child of
    # the apex has the apex as its parent)
    for key in deeper:
        wire = nodes[key].name.wire
        while len(key) > apex_len:
            cut = key[0] + 1
            key, wire = key[cut:], wire[cut:]
            if key in nodes:
                break
            nodes[key] = Node(WireName(wire))
            if len(key) - apex_len == key[0] + 1:  # a child of the apex
                child_lengths |= 1 << key[0]
    # roles, parents before children: zone cuts and what lies below them, wildcard parents
    if cuts:
        for key in sorted(nodes, key=len):
            node = nodes[key]
            if key == apex_key:
                continue
            parent = nodes[key[key[0] + 1 :]]
            node.cut = parent.cut or parent.get(_DNAME) or node.get(_NS)
            if key[:2] == _WILDCARD:
                parent.wildcard = node
    elif _WILDCARD_KEY in b"\x00" + b"".join(nodes):  # any key starting with \x01*?
        for key, node in nodes.items():
            if key[:2] == _WILDCARD:
                nodes[key[2:]].wildcard = node
    soa = nodes[apex_key][_SOA]
    minimum = _UNPACK_I(soa.rdatas[0][-1], 16)[0]  # the last of the SOA's five 32-bit fields
    negative = soa.copy(owner=soa_owner, ttl=min(soa.ttl, minimum))
    _link(apex_key, nodes, linked.values(), shared)
    if nodes[apex_key].name.wire == apex.wire:  # the owner's WireName, not one more per zone
        apex = nodes[apex_key].name
    return Zone(apex, apex.key, nodes, negative, name_text(origin), child_lengths, addresses)


def _addresses(node: Node | None) -> list[WireRRset]:
    if node is None:
        return []
    return [node[t] for t in (_A, _AAAA) if t in node]


_ELSEWHERE = Node(WireName(b"\0"))  # a target whose addresses the lookup finds (module doc)


def _held(nodes: dict[bytes, Node], apex_key: bytes, target: WireName) -> Node | None:
    """The node of `target` in this zone (None: no such name), or _ELSEWHERE when it is
    outside the zone or at or below one of its cuts (another zone served here may hold
    it)."""
    if not _is_at_or_below(target, apex_key):
        return _ELSEWHERE
    key = target.key
    node = nodes.get(key)
    while node is None:  # its closest encloser: the apex is a node, so the walk ends
        key = key[key[0] + 1 :]
        node = nodes.get(key)
    if node.cut is not None:
        return _ELSEWHERE
    return node if key == target.key else None


def _link(apex_key: bytes, nodes: dict[bytes, Node], linked: Iterable[Node],
          shared: dict[Any, Any]) -> None:
    """Glue for every delegation (in-domain: mandatory; sibling: optional; RFC 9471), and
    the A/AAAA of NS, MX and SRV targets of authoritative data: those in this zone now,
    the others (RRset None) by the lookup when answering (`linked`: the nodes with such
    RRsets); an `extra` equal to one in `shared` is that one (RRsets compare by
    identity: equal ones link the same RRsets)."""
    for node in linked:
        at_cut = node.cut is not None and node.cut is node.get(_NS)
        if node.cut is not None and not at_cut:
            continue  # below a cut: glue, not served as data
        for rdtype in _WITH_TARGETS:
            rrset = node.get(rdtype)
            if rrset is None:
                continue
            extra: list[tuple[bool, bytes, WireRRset | None]] = []
            for target in rrset.targets:
                if at_cut:  # a delegation: glue is the parent zone's data only
                    mandatory = _is_at_or_below(target, node.name.key)
                    for a in _addresses(nodes.get(target.key)):
                        extra.append((mandatory, target.key, a))
                    continue
                held = _held(nodes, apex_key, target)
                if held is _ELSEWHERE:
                    extra.append((False, target.key, None))
                    continue
                for a in _addresses(held):
                    extra.append((False, target.key, a))
            # mandatory glue first, so that optional data never displaces it
            extra.sort(key=lambda e: not e[0])
            linked_extra = tuple(extra)
            rrset.extra = shared.setdefault(linked_extra, linked_extra)


def _chaos(options: ServerOptions) -> dict[bytes, WireRRset]:
    table = {}
    for qname, text in options.chaos:
        name = dns.name.from_text(qname)
        rrset = dns.rrset.from_text(name, 0, dns.rdataclass.CH, dns.rdatatype.TXT, f'"{text}"')
        table[name.to_wire().lower()] = encode_rrset(rrset)
    return table


def _address_forms(address: str) -> set[str]:
    forms = {address}
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return forms
    forms.update({ip.compressed, ip.exploded})
    return forms


def lengths_below(keys: Iterable[bytes]) -> dict[bytes, dict[int, int]]:
    """For lower-cased wire names, by their parent name (the name without its first
    label), how many have a first label of each length."""
    found: dict[bytes, dict[int, int]] = {}
    for key in keys:
        if key != b"\0":
            counts = found.setdefault(key[key[0] + 1 :], {})
            counts[key[0]] = counts.get(key[0], 0) + 1
    return found


def views_of(names: Mapping[str, frozenset[bytes]]) -> dict[str, ViewTables]:
    """A view with empty caches per address (with the extra names it answers), under every
    spelling of the address."""
    views: dict[str, ViewTables] = {}
    for address, extra in names.items():
        view = ViewTables(address, extra)
        for form in _address_forms(address):
            views[form] = view
    return views


def option_tables(
    options: ServerOptions,
) -> tuple[dict[bytes, WireRRset], tuple[tuple[bytes, bytes], tuple[bytes, bytes]]]:
    """What the options make: the CHAOS answers and our OPT RRs by [DO][NSID asked]."""
    opt_records = tuple(
        tuple(
            opt_rr(options.edns_udp_size, 0, do, options.nsid if asked else None)
            for asked in (False, True)
        )
        for do in (False, True)
    )
    return _chaos(options), opt_records  # type: ignore[return-value]


def _view_addresses(plan: ServePlan) -> dict[dns.name.Name, frozenset[str]]:
    """The view addresses of each zone a view names, one frozenset per distinct set of
    addresses."""
    found: dict[dns.name.Name, set[str]] = {}
    for view in plan.views:
        for origin in view.zones:
            found.setdefault(origin, set()).add(view.address)
    interned: dict[frozenset[str], frozenset[str]] = {}
    return {key: interned.setdefault(frozenset(a), frozenset(a)) for key, a in found.items()}


def compile_plan(plan: ServePlan, cache_entries: int = 100_000) -> Tables:
    """The tables of every zone (checked, compiled when asked: LazyZone) and view of
    `plan`; raises ConfigError for an unservable plan."""
    addresses = _view_addresses(plan)
    zones: dict[bytes, LazyZone] = {}
    problems: list[Problem] = []
    for zone_plan in plan.zones:
        try:
            zone = lazy_zone(zone_plan, addresses.get(zone_plan.origin, NO_ADDRESSES)
                             if addresses else NO_ADDRESSES)  # (a Name's hash: its labels)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if zone.key in zones:
            problems.append(Problem(f"zone {zone_plan.origin} is listed twice"))
        zones[zone.key] = zone
    if problems:
        raise ConfigError(problems)
    names: dict[str, frozenset[bytes]] = {}
    for view in plan.views:
        missing = [str(o) for o in view.zones if o.to_wire().lower() not in zones]
        if missing:
            raise ConfigError(
                [Problem(f"view {view.address} names zones not served: {', '.join(missing)}")]
            )
        names[view.address] = frozenset(name.to_wire().lower() for name in view.names)
    chaos, opt_records = option_tables(plan.options)
    return Tables(
        plan.options,
        ViewTables(None, frozenset()),
        views_of(names),
        chaos,
        ResponseCache(cache_entries),
        opt_records,
        ShardedMap(zones),
        ShardedMap(lengths_below(zones)),
        sum(zone.records for zone in zones.values()),
        catalogs=compile_catalogs(plan.catalogs, plan.options),
    )


def compile_catalogs(plans: tuple[ZonePlan, ...], options: ServerOptions) -> Tables | None:
    """The tables of the catalog zones (Tables.catalogs); None when there is none."""
    if not plans:
        return None
    return compile_plan(ServePlan(plans, options=options), CATALOG_CACHE)
