"""Answering one IN question from the compiled tables: RFC 1034 §4.3.2 as named steps.

The rule this module owns: the fixed pipeline, in order: find the zone (step 2, longest
suffix among the zones this address serves; DS from the parent side, RFC 4035 §3.1.4.1)
→ match the name (step 3: exact, referral at a zone cut, wildcard by closest encloser per
RFC 4592, or miss) → follow CNAME (step 3a, into any zone served here, bounded, loops
cut; the rcode is the last name's, RFC 6604) → authority (referral NS, or the negative
SOA, RFC 2308) → additional (glue, mandatory when in-domain; A/AAAA of NS, MX and SRV
targets, optional). ANY is answered minimally with one RRset (RFC 8482 §4.1).
"""

from __future__ import annotations

import dns.rdatatype

from .compiler import Node, ViewTables, Zone
from .outcome import Outcome
from .render import Additional, Answer
from .wire import WireName, WireRRset

__all__ = ["MAX_CHAIN", "Result", "resolve"]

MAX_CHAIN = 8  # CNAMEs followed for one query
_DS = dns.rdatatype.DS
_CNAME = dns.rdatatype.CNAME
_NS = dns.rdatatype.NS
_ANY = dns.rdatatype.ANY

# Enum attribute access is slow in Python 3.11: the lookup uses these names
_ANSWER, _REFERRAL_OUTCOME, _NODATA = Outcome.ANSWER, Outcome.REFERRAL, Outcome.NODATA
_NXDOMAIN, _REFUSED = Outcome.NXDOMAIN, Outcome.REFUSED

# how step 3 matched a name
_EXACT, _REFERRAL, _WILDCARD, _MISS = range(4)


class Result:
    """Sections and outcome of one lookup, ready for the renderer."""

    __slots__ = ("outcome", "zone", "answer", "authority", "additional", "exists")

    def __init__(
        self,
        outcome: Outcome,
        zone: Zone | None,
        answer: Answer,
        authority: list[WireRRset],
        additional: Additional,
        exists: bool,
    ):
        self.outcome = outcome
        self.zone = zone  # the zone of the qname (the first name of a chain)
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.exists = exists  # the qname is a node of its zone: cached at first sight


def find_zone(view: ViewTables, key: bytes, offsets: tuple[int, ...], qtype: int) -> Zone | None:
    """Step 2: the deepest zone served here that holds the name; DS starts at the parent."""
    if view.names:
        zone = view.names.get(key)
        if zone is not None:
            return zone
    zones = view.zones
    if qtype == _DS and len(offsets) > 1:
        for o in offsets[1:]:
            zone = zones.get(key[o:])
            if zone is not None:
                return zone
        return zones.get(key)  # no parent served here: the child answers for its apex
    for o in offsets:
        zone = zones.get(key[o:])
        if zone is not None:
            return zone
    return None


def match_name(
    zone: Zone, key: bytes, offsets: tuple[int, ...], qtype: int
) -> tuple[int, Node | None, WireRRset | None, bool]:
    """Step 3: (how the name matched, the node to answer from, the delegation's NS RRset
    for a referral, whether the name exists)."""
    nodes = zone.nodes
    node = nodes.get(key)
    if node is not None:
        cut = node.cut
        if cut is not None and not (qtype == _DS and cut is node.get(_NS)):
            return _REFERRAL, None, cut, True
        return _EXACT, node, None, True
    # RFC 4592 §3.3.1: the closest encloser; the apex is a node, so the walk ends there
    for o in offsets[1:]:
        encloser = nodes.get(key[o:])
        if encloser is not None:
            break
    else:  # the name is not in this zone (cannot happen for a zone found by step 2)
        return _MISS, None, None, False
    if encloser.cut is not None:
        return _REFERRAL, None, encloser.cut, False
    if encloser.wildcard is not None:
        return _WILDCARD, encloser.wildcard, None, False
    return _MISS, None, None, False


def _select_any(node: Node) -> WireRRset | None:
    """RFC 8482 §4.1: ANY is answered with one RRset, the lowest type present."""
    return node[min(node)] if node else None


def _visible(view: ViewTables, zone_key: bytes, owner_key: bytes) -> bool:
    return (
        view.visible_zones is None
        or zone_key in view.visible_zones
        or owner_key in view.visible_names
    )


def _additional(view: ViewTables, rrsets: list[WireRRset]) -> Additional:
    """Step 6: glue and target addresses, each RRset once, none repeating the answer."""
    out: Additional = []
    seen = {id(r) for r in rrsets}
    for rrset in rrsets:
        for mandatory, zone_key, owner_key, extra in rrset.extra:
            if id(extra) not in seen and _visible(view, zone_key, owner_key):
                seen.add(id(extra))
                out.append((extra, mandatory))
    return out


def resolve(view: ViewTables, key: bytes, offsets: tuple[int, ...], qtype: int) -> Result:
    """Answer (key, qtype) of class IN from the zones `view` serves."""
    zone = find_zone(view, key, offsets, qtype)
    if zone is None:
        return Result(_REFUSED, None, [], [], [], False)
    first_zone = zone
    answer: Answer = []
    owner: WireName | None = None  # None: the qname, written as a pointer to the question
    seen: set[bytes] | None = None  # names of the CNAME chain, made when there is one
    exists = False
    while True:
        how, node, ns, found = match_name(zone, key, offsets, qtype)
        if owner is None:
            exists = found
        if how == _REFERRAL:
            assert ns is not None
            outcome = _ANSWER if answer else _REFERRAL_OUTCOME
            return Result(outcome, first_zone, answer, [ns], _additional(view, [ns]), exists)
        if how == _MISS:
            return Result(_NXDOMAIN, first_zone, answer, [zone.negative_soa], [], exists)
        assert node is not None
        rrset = node.get(qtype) if qtype != _ANY else _select_any(node)
        if rrset is not None:
            answer.append((owner, rrset))
            # only the last RRset of a chain can have targets (a CNAME has none)
            additional = _additional(view, [rrset]) if rrset.extra else []
            return Result(_ANSWER, first_zone, answer, [], additional, exists)
        cname = node.get(_CNAME)
        if cname is None:
            return Result(_NODATA, first_zone, answer, [zone.negative_soa], [], exists)
        answer.append((owner, cname))
        target = cname.rdatas[0][0]
        assert isinstance(target, WireName)
        if seen is None:
            seen = {key}
        if len(answer) >= MAX_CHAIN or target.key in seen:
            return Result(_ANSWER, first_zone, answer, [], [], exists)
        seen.add(target.key)
        next_zone = find_zone(view, target.key, target.offsets, qtype)
        if next_zone is None:  # the chain leaves the zones served here
            return Result(_ANSWER, first_zone, answer, [], [], exists)
        zone, owner, key, offsets = next_zone, target, target.key, target.offsets
