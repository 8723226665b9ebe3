"""Compiling a ServePlan into the immutable tables the answering core reads.

The rule this module owns: everything about zone structure is decided here, once per
(re)load, and nothing of it at query time. Names are keyed by their lower-cased wire form;
every node gets its role (apex, zone cut, below a cut, wildcard parent, empty
non-terminal); glue is linked to each delegation and marked mandatory when in-domain
(RFC 9471); the A/AAAA of NS, MX and SRV targets in our zones are linked to their RRsets;
the negative-answer SOA is prebuilt with TTL min(SOA TTL, MINIMUM) (RFC 2308 §5); each
per-address view (DESIGN.md §4) gets the zones it may answer. The plan's RRsets come
pre-encoded (wire.WireRRset) and the tables share them; the compiler copies only those it
links (NS, MX, SRV) or respells, so that tables compiled later never change them.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter

import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from ..errors import ConfigError, Problem
from .cache import CacheEntry, ResponseCache
from .plan import ServePlan, ServerOptions, ZonePlan
from .render import opt_rr
from .wire import WireName, WireRRset, decode_rrset, encode_rrset, name_text, wire_name

__all__ = ["Node", "Tables", "ViewTables", "Zone", "compile_plan"]

_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA
_NS = dns.rdatatype.NS
_SOA = dns.rdatatype.SOA
_WITH_TARGETS = (dns.rdatatype.NS, dns.rdatatype.MX, dns.rdatatype.SRV)
_LINKED = frozenset(_WITH_TARGETS)
_UNPACK_I = struct.Struct(">I").unpack_from
_RDATAS = attrgetter("rdatas")
_WILDCARD = b"\x01*"  # the start of a wildcard's key (RFC 4592)
_WILDCARD_KEY = b"\x00\x01*"  # ... after the end of another key, when keys are joined


class Node(dict[int, WireRRset]):
    """One owner name in a zone: its RRsets by type (none for an empty non-terminal).

    A dict itself, so that a node costs one object: large zones have millions of them."""

    __slots__ = ("name", "cut", "wildcard")

    def __init__(self, name: WireName):  # empty already: dict.__init__ adds nothing
        self.name = name
        # the NS RRset of the delegation at or above this node, if any (the RRset, not its
        # node: the tables hold no reference cycle, so reference counting frees them)
        self.cut: WireRRset | None = None
        self.wildcard: Node | None = None  # the `*` child (RFC 4592 source of synthesis)

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {sorted(self)})"


@dataclass(frozen=True, eq=False)
class Zone:
    apex: WireName
    nodes: dict[bytes, Node]  # every owner name and empty non-terminal, by lower-cased wire
    negative_soa: WireRRset  # RFC 2308 §5: the SOA for NXDOMAIN and NODATA answers
    name: str  # the apex as text, e.g. "example.com." (a bounded metrics label)
    # the lengths of the first labels of the apex's children (empty non-terminals too), one
    # bit each: a name right below the apex whose first label has another length is no node
    child_lengths: int
    # the negative SOA RR encoded per question end (render_negative), filled on first use
    negative_tails: dict[int, bytes] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return self.apex.key


@dataclass(frozen=True, eq=False)
class ViewTables:
    """What one local address answers: its zones, extra names, and its response caches.

    `visible_zones` and `visible_names` limit additional-section data to what this address
    serves; None means every zone.
    """

    zones: dict[bytes, Zone]
    names: dict[bytes, Zone]  # R8 names answered from a zone outside `zones`
    # the names of `zones` and `names` by their parent name: what a parent's NXDOMAIN
    # template (core.py) must not answer for, though no node of the parent's zone holds it
    children: dict[bytes, frozenset[bytes]]
    visible_zones: frozenset[bytes] | None
    visible_names: frozenset[bytes]
    udp_cache: dict[bytes, CacheEntry]
    tcp_cache: dict[bytes, CacheEntry]
    negative: dict[bytes, tuple] = field(default_factory=dict)  # NXDOMAIN templates (core.py)


@dataclass(frozen=True, eq=False)
class Tables:
    """Everything the core answers from; built once per (re)load, swapped in one assignment."""

    options: ServerOptions
    default: ViewTables  # addresses without a view answer every zone
    views: dict[str, ViewTables]  # by local address
    chaos: dict[bytes, WireRRset]  # CHAOS TXT answers by lower-cased wire name
    cache: ResponseCache
    opt_records: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]  # our OPT by [DO][NSID asked]
    records: int = 0  # resource records served, over every zone


def _is_at_or_below(name: WireName, key: bytes) -> bool:
    """Whether `name` is `key` or a name below it (lower-cased wire forms)."""
    if not name.key.endswith(key):
        return False
    boundary = len(name.key) - len(key)
    wire = name.wire
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


def _compile_zone(plan: ZonePlan) -> tuple[Zone, list[Node]]:
    """A zone's nodes, and those with RRsets to link (NS, MX, SRV). The plan's RRsets are
    shared, not copied, except those that the compiler links and those whose owner is
    spelled otherwise than the node's first (each node has one owner name)."""
    origin = plan.origin
    apex = wire_name(origin)
    apex_key = apex.key
    apex_len = len(apex_key)
    nodes: dict[bytes, Node] = {}
    deeper: list[bytes] = []  # the names more than one label below the apex
    child_lengths = 0
    linked: dict[bytes, Node] = {}
    cuts = False  # whether the zone delegates
    problems = []
    soa_owner = None  # the first apex SOA's owner as the plan spells it: negative answers'
    for rrset in plan.rrsets:
        owner = rrset.owner
        key = owner.key
        node = nodes.get(key)
        if node is None:
            below = len(key) - apex_len  # a child of the apex has one label before it
            if not ((below == key[0] + 1 or below == 0) and key.endswith(apex_key)
                    or _is_at_or_below(owner, apex_key)):
                problems.append(Problem(f"zone {origin}: {decode_rrset(rrset).name} is outside "
                                        "the zone"))
                continue
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
        elif owner is not node.name or rdtype in _LINKED:
            rrset = rrset.copy(owner=node.name)  # _link sets a linked copy's `extra`
        if rdtype in _LINKED:
            linked[key] = node
            cuts = cuts or (rdtype == _NS and key != apex_key)
        node[rdtype] = rrset
    if soa_owner is None or len(nodes[apex_key][_SOA]) != 1:
        problems.append(Problem(f"zone {origin}: the apex needs exactly one SOA record"))
    if problems:
        raise ConfigError(problems)
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
            node.cut = parent.cut or node.get(_NS)
            if key[:2] == _WILDCARD:
                parent.wildcard = node
    elif _WILDCARD_KEY in b"\x00" + b"".join(nodes):  # any key starting with \x01*?
        for key, node in nodes.items():
            if key[:2] == _WILDCARD:
                nodes[key[2:]].wildcard = node
    soa = nodes[apex_key][_SOA]
    minimum = _UNPACK_I(soa.rdatas[0][-1], 16)[0]  # the last of the SOA's five 32-bit fields
    negative = soa.copy(owner=soa_owner, ttl=min(soa.ttl, minimum))
    return Zone(apex, nodes, negative, name_text(origin), child_lengths), list(linked.values())


def _find_zone(zones: dict[bytes, Zone], name: WireName) -> Zone | None:
    for o in name.offsets:
        zone = zones.get(name.key[o:])
        if zone is not None:
            return zone
    return None


def _addresses(node: Node | None) -> list[WireRRset]:
    if node is None:
        return []
    return [node[t] for t in (_A, _AAAA) if t in node]


def _link(zones: dict[bytes, Zone], linked: list[tuple[Zone, list[Node]]]) -> None:
    """Glue for every delegation (in-domain: mandatory; sibling: optional; RFC 9471), and
    the A/AAAA of NS, MX and SRV targets of authoritative data from any zone served
    (`linked`: the nodes with such RRsets, by zone)."""
    for zone, nodes in linked:
        for node in nodes:
            at_cut = node.cut is not None and node.cut is node.get(_NS)
            if node.cut is not None and not at_cut:
                continue  # below a cut: glue, not served as data
            for rdtype in _WITH_TARGETS:
                rrset = node.get(rdtype)
                if rrset is None:
                    continue
                extra = []
                for target in rrset.targets:
                    if at_cut:  # a delegation: glue is the parent zone's data only
                        mandatory = _is_at_or_below(target, node.name.key)
                        for a in _addresses(zone.nodes.get(target.key)):
                            extra.append((mandatory, zone.key, target.key, a))
                        continue
                    other = _find_zone(zones, target)
                    if other is None:
                        continue
                    held = other.nodes.get(target.key)
                    if held is not None and held.cut is None:
                        for a in _addresses(held):
                            extra.append((False, other.key, target.key, a))
                # mandatory glue first, so that optional data never displaces it
                extra.sort(key=lambda e: not e[0])
                rrset.extra = tuple(extra)


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


def _children(*names: Iterable[bytes]) -> dict[bytes, frozenset[bytes]]:
    """Lower-cased wire names by their parent name (the name without its first label)."""
    found: dict[bytes, set[bytes]] = {}
    for key in chain(*names):
        if key != b"\0":
            found.setdefault(key[key[0] + 1 :], set()).add(key)
    return {parent: frozenset(below) for parent, below in found.items()}


def compile_plan(plan: ServePlan, cache_entries: int = 100_000) -> Tables:
    """Compile every zone and view of `plan`; raises ConfigError for an unservable plan."""
    zones: dict[bytes, Zone] = {}
    problems: list[Problem] = []
    records = 0
    linked = []
    for zone_plan in plan.zones:
        records += sum(map(len, map(_RDATAS, zone_plan.rrsets)))
        try:
            zone, nodes = _compile_zone(zone_plan)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        if zone.key in zones:
            problems.append(Problem(f"zone {zone_plan.origin} is listed twice"))
        zones[zone.key] = zone
        linked.append((zone, nodes))
    if problems:
        raise ConfigError(problems)
    _link(zones, linked)
    default = ViewTables(zones, {}, _children(zones), None, frozenset(), {}, {})
    views: dict[str, ViewTables] = {}
    for view in plan.views:
        keys = {origin.to_wire().lower() for origin in view.zones}
        missing = [str(o) for o in view.zones if o.to_wire().lower() not in zones]
        if missing:
            raise ConfigError(
                [Problem(f"view {view.address} names zones not served: {', '.join(missing)}")]
            )
        names: dict[bytes, Zone] = {}
        for name in view.names:
            held = _find_zone(zones, wire_name(name))
            if held is not None:
                names[name.to_wire().lower()] = held
        served = {k: zones[k] for k in keys}
        tables = ViewTables(
            served, names, _children(served, names), frozenset(keys), frozenset(names), {}, {}
        )
        for form in _address_forms(view.address):
            views[form] = tables
    opt_records = tuple(
        tuple(
            opt_rr(plan.options.edns_udp_size, 0, do, plan.options.nsid if asked else None)
            for asked in (False, True)
        )
        for do in (False, True)
    )
    return Tables(
        plan.options,
        default,
        views,
        _chaos(plan.options),
        ResponseCache(cache_entries),
        opt_records,
        records,
    )
