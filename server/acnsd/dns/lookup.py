"""Answering one IN question from the compiled tables: RFC 1034 §4.3.2 as named steps.

The rule this module owns: the fixed pipeline, in order: find the zone (step 2, longest
suffix among the zones this address serves, passing over a zone it does not serve so that
a parent it serves answers, with a referral where it delegates; DS from the parent side,
RFC 4035 §3.1.4.1) → match the name (step 3: exact, referral at a zone cut, DNAME
substitution below a DNAME owner, wildcard by closest encloser per RFC 4592, or miss) →
follow CNAME (step 3a, into any zone served here, bounded, loops cut; the rcode is the
last name's, RFC 6604), a CNAME synthesized from a DNAME as any other (RFC 6672 §3.2:
the DNAME, then the CNAME from the name to its substitution, with the DNAME's TTL;
YXDOMAIN when the substitution is longer than a name may be) → authority (referral
NS, or the negative SOA, RFC 2308) → additional (glue, mandatory when in-domain; A/AAAA of
NS, MX and SRV targets, optional, those of targets outside the answering zone from the
deepest zone that holds them, when this address serves it or the name is its own).
ANY is answered minimally with one RRset (RFC 8482 §4.1). The result names every zone
the answer was taken from (cache.py files it under them). A name no zone holds is
REFUSED, or UNAVAILABLE (SERVFAIL, as Knot DNS) at or below a zone followed as a
secondary that has nothing to serve yet or any more (Tables.unavailable).
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.rdatatype

from .cache import unheld
from .compiler import Node, Tables, ViewTables, Zone
from .outcome import Outcome
from .render import Additional, Answer
from .wire import WireName, WireRRset, pack_fixed
from .zonemap import MASK

__all__ = ["MAX_CHAIN", "Result", "find_zone", "names_below", "resolve"]

MAX_CHAIN = 8  # CNAMEs followed for one query
_DS = dns.rdatatype.DS
_CNAME = dns.rdatatype.CNAME
_DNAME = dns.rdatatype.DNAME
_NS = dns.rdatatype.NS
_ANY = dns.rdatatype.ANY
_A = dns.rdatatype.A
_AAAA = dns.rdatatype.AAAA

# Enum attribute access is slow in Python 3.11: the lookup uses these names
_ANSWER, _REFERRAL_OUTCOME, _NODATA = Outcome.ANSWER, Outcome.REFERRAL, Outcome.NODATA
_NXDOMAIN, _REFUSED, _YXDOMAIN = Outcome.NXDOMAIN, Outcome.REFUSED, Outcome.YXDOMAIN
_UNAVAILABLE = Outcome.UNAVAILABLE
_MAX_NAME = 255

# how step 3 matched a name
_EXACT, _REFERRAL, _WILDCARD, _MISS, _SUBSTITUTION = range(5)


class Result:
    """Sections and outcome of one lookup, ready for the renderer."""

    __slots__ = ("outcome", "zone", "answer", "authority", "additional", "exists", "depends")

    def __init__(
        self,
        outcome: Outcome,
        zone: Zone | None,
        answer: Answer,
        authority: list[WireRRset],
        additional: Additional,
        exists: bool,
        depends: Sequence[bytes] = (),
    ):
        self.outcome = outcome
        self.zone = zone  # the zone of the qname (the first name of a chain)
        self.answer = answer
        self.authority = authority
        self.additional = additional
        self.exists = exists  # the qname is a node of its zone: cached at first sight
        # besides `zone`, what the answer was taken from: the apex of each other zone, or
        # cache.unheld(name) for a name no zone held
        self.depends = depends


def _under(apexes: frozenset[bytes], key: bytes) -> bool:
    """Whether the name `key` is at or below one of `apexes` (lower-cased wire names)."""
    o = 0
    while True:
        if key[o:] in apexes:
            return True
        if not key[o]:
            return False
        o += key[o] + 1


def find_zone(
    tables: Tables,
    view: ViewTables,
    key: bytes,
    offsets: tuple[int, ...],
    qtype: int,
    depends: list[bytes],
) -> Zone | None:
    """Step 2: the deepest zone served here that holds the name; DS starts at the parent.
    An extra name of the view (R8) is answered from the deepest zone that holds it."""
    if view.names and key in view.names:
        zone = _holder(tables, key)
        if zone is not None:
            return zone
    if qtype == _DS and len(offsets) > 1:
        parent = find_zone(tables, view, key, offsets[1:], 0, depends)
        if parent is not None:
            return parent
        # no parent served here: the child answers for its apex, until a parent comes
        depends.append(unheld(key[offsets[1] :]))
        offsets = offsets[:1]
    shards = tables.zones.shards  # ShardedMap.get, inlined: the hot path of every miss
    address = view.address
    for o in offsets:  # the longest suffix of `key` that is a zone this address serves
        name = key[o:]
        lazy = shards[hash(name) & MASK].get(name)
        if lazy is not None and (address is None or address in lazy.addresses):
            return lazy.expanded or tables.expanded.expand(lazy)
    return None


def names_below(tables: Tables, view: ViewTables, zone: Zone | None, parent: bytes) -> int:
    """The lengths of the first labels of the names right below `parent` that may exist,
    one bit each: its children in `zone` (known only below the apex: else every length;
    None: they do not count), the zones right below it (those of every address: more than
    this one serves only marks more lengths), and the view's extra names."""
    lengths = 0 if zone is None else zone.child_lengths if parent == zone.key else -1
    for length in tables.below.get(parent, ()):
        lengths |= 1 << length
    for name in view.names:
        if name[name[0] + 1 :] == parent:
            lengths |= 1 << name[0]
    return lengths


def _holder(tables: Tables, key: bytes) -> Zone | None:
    """The deepest zone that holds the name `key`, served at any address."""
    shards = tables.zones.shards
    o = 0
    while True:
        name = key[o:]
        lazy = shards[hash(name) & MASK].get(name)
        if lazy is not None:
            return lazy.expanded or tables.expanded.expand(lazy)
        if not key[o]:
            return None
        o += key[o] + 1


def match_name(
    zone: Zone, key: bytes, offsets: tuple[int, ...], qtype: int
) -> tuple[int, Node | None, WireRRset | None, bool]:
    """Step 3: (how the name matched, the node to answer from, the delegation's NS RRset
    for a referral or the DNAME RRset for a substitution, whether the name exists)."""
    nodes = zone.nodes
    node = nodes.get(key)
    if node is not None:
        cut = node.cut
        if cut is not None and not (qtype == _DS and cut is node.get(_NS)):
            return _above(cut), None, cut, True
        return _EXACT, node, None, True
    # RFC 4592 §3.3.1: the closest encloser; the apex is a node, so the walk ends there
    for o in offsets[1:]:
        encloser = nodes.get(key[o:])
        if encloser is not None:
            break
    else:  # the name is not in this zone (cannot happen for a zone found by step 2)
        return _MISS, None, None, False
    if encloser.cut is not None:
        return _above(encloser.cut), None, encloser.cut, False
    dname = encloser.get(_DNAME)
    if dname is not None:  # (a DNAME owner has no cut above it: it is served)
        return _SUBSTITUTION, None, dname, False
    if encloser.wildcard is not None:
        return _WILDCARD, encloser.wildcard, None, False
    return _MISS, None, None, False


def _above(cut: WireRRset) -> int:
    """How a name below `cut` (compiler.Node.cut) matches: a referral, or a substitution."""
    return _SUBSTITUTION if cut.rdtype == _DNAME else _REFERRAL


def _substituted(dname: WireRRset, key: bytes) -> WireName | None:
    """RFC 6672 §2.2: `key` with the DNAME's owner replaced by its target; None when the
    result is longer than 255 octets. From the lower-cased name, so that the answer does
    not depend on the query's case (the cache keeps one answer for every spelling)."""
    target = dname.rdatas[0][2:]  # DNAME rdata is never compressed: rdlength, the name
    prefix = len(key) - len(dname.owner.key)
    if prefix + len(target) > _MAX_NAME:
        return None
    return WireName(key[:prefix] + target)


def _select_any(node: Node) -> WireRRset | None:
    """RFC 8482 §4.1: ANY is answered with one RRset, the lowest type present."""
    return node[min(node)] if node else None


def _additional(
    tables: Tables, view: ViewTables, zone: Zone, rrset: WireRRset, depends: list[bytes]
) -> Additional:
    """Step 6: glue and target addresses of `rrset` (of `zone`), each RRset once, none
    repeating the answer; a target elsewhere adds the zone it was looked up in to
    `depends`."""
    out: Additional = []
    seen = {id(rrset)}
    address = view.address
    here = address is None or address in zone.addresses
    for mandatory, owner_key, extra in rrset.extra:
        if extra is None:
            _elsewhere(tables, view, owner_key, out, seen, depends)
        elif id(extra) not in seen and (here or owner_key in view.names):
            seen.add(id(extra))
            out.append((extra, mandatory))
    return out


def _elsewhere(
    tables: Tables,
    view: ViewTables,
    key: bytes,
    out: Additional,
    seen: set[int],
    depends: list[bytes],
) -> None:
    """The A/AAAA at `key` from the deepest zone that holds it, when that is authoritative
    data (not at or below a cut) and this address serves the zone or the name is its own."""
    zone = _holder(tables, key)
    if zone is None:
        depends.append(unheld(key))
        return
    depends.append(zone.key)
    node = zone.nodes.get(key)
    if node is None or node.cut is not None:
        return
    address = view.address
    if not (address is None or address in zone.addresses or key in view.names):
        return
    for rdtype in (_A, _AAAA):
        rrset = node.get(rdtype)
        if rrset is not None and id(rrset) not in seen:
            seen.add(id(rrset))
            out.append((rrset, False))


def resolve(
    tables: Tables, view: ViewTables, key: bytes, offsets: tuple[int, ...], qtype: int
) -> Result:
    """Answer (key, qtype) of class IN from the zones `view` serves."""
    depends: list[bytes] = []
    zone = find_zone(tables, view, key, offsets, qtype, depends)
    if zone is None:
        if tables.unavailable and _under(tables.unavailable, key):
            return Result(_UNAVAILABLE, None, [], [], [], False)
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
            additional = _additional(tables, view, zone, ns, depends)
            return Result(outcome, first_zone, answer, [ns], additional, exists, depends)
        if how == _MISS:
            return Result(_NXDOMAIN, first_zone, answer, [zone.negative_soa], [], exists, depends)
        if how == _SUBSTITUTION:
            assert ns is not None  # the DNAME
            if all(rrset is not ns for _, rrset in answer):  # a chain may meet it again
                answer.append((ns.owner, ns))
            target = _substituted(ns, key)
            if target is None:
                return Result(_YXDOMAIN, first_zone, answer, [], [], exists, depends)
            fixed = pack_fixed(_CNAME, ns.ttl)
            answer.append((owner, WireRRset(owner or WireName(key), _CNAME, fixed, ((target,),))))
            if qtype == _CNAME:  # the synthesized CNAME is the answer
                return Result(_ANSWER, first_zone, answer, [], [], exists, depends)
        else:
            assert node is not None
            rrset = node.get(qtype) if qtype != _ANY else _select_any(node)
            if rrset is not None:
                answer.append((owner, rrset))
                # only the last RRset of a chain can have targets (a CNAME has none)
                additional = _additional(tables, view, zone, rrset, depends) if rrset.extra else []
                return Result(_ANSWER, first_zone, answer, [], additional, exists, depends)
            cname = node.get(_CNAME)
            if cname is None:
                negative = [zone.negative_soa]
                return Result(_NODATA, first_zone, answer, negative, [], exists, depends)
            answer.append((owner, cname))
            target = cname.rdatas[0][0]
            assert isinstance(target, WireName)
        if seen is None:
            seen = {key}
        # the CNAMEs so far are as many as the names in `seen`
        if len(seen) >= MAX_CHAIN or target.key in seen:
            return Result(_ANSWER, first_zone, answer, [], [], exists, depends)
        seen.add(target.key)
        next_zone = find_zone(tables, view, target.key, target.offsets, qtype, depends)
        if next_zone is None:  # the chain leaves the zones served here
            depends.append(unheld(target.key))
            return Result(_ANSWER, first_zone, answer, [], [], exists, depends)
        depends.append(next_zone.key)
        zone, owner, key, offsets = next_zone, target, target.key, target.offsets
