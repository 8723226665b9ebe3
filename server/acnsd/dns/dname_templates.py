"""NXDOMAIN templates below a DNAME: a random-subdomain flood below a DNAME's owner answered
without the lookup, byte for byte as the full path answers it (RFC 6672 §3.2).

The rule this module owns: when such a template may be made, and what it writes. A query
for X.P, P below or at the owner D of a DNAME to T (P = S.D), whose substitution X.P'
(P' = S.T) does not exist, is answered (lookup.py) NXDOMAIN with the DNAME, the CNAME from
X.P to X.P' (TTL the DNAME's) and the negative SOA of the zone Z' of X.P'. The first such
answer below P makes P's template when

- the zone Zd of X.P is served at this address, and the closest encloser of P there (P
  itself, or the first node above it) substitutes with that DNAME: so does X.P's, when X.P
  is no node;
- P' is a node of Z', the deepest zone served here that holds X.P', not at or below a cut
  or DNAME, with no DNAME and no wildcard child: X.P' is then a miss, when it is no node.

Then every X.P is answered alike when X.P is no node of Zd, neither X.P nor X.P' is a zone
(at any address: find_zone would stop there) or an extra name of the view (R8), and X.P'
is at most 255 octets (else YXDOMAIN). The answer depends on X only through X's octets,
their number and how names compress (render.py): the question as received, the DNAME
(owner a pointer into the question, its rdata never compressed), the CNAME (owner C0 0C),
whose target starts with X lower-cased, then the rest of the target, the SOA and our OPT.
Every other octet depends on X's length alone, but where a name written compresses to X.P
or X.P', or X.P' to a name written before it: that is when X is one of the template's
`twins`, the first label of a suffix L.P or L.P' of a name written (the SOA's RNAME
hostmaster.T asked as hostmaster.D), and those take the full path. So a template keeps,
for each length of X, the octets between the question and X and those after X
(`layouts`), cut from the first full-path answer of that length; a hit splices the
query's question and its X in. The template is filed under Zd and Z' (cache.py): a change
to either drops it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import dns.rdatatype

from .compiler import Tables, ViewTables, Zone
from .lookup import Result, find_zone, names_below
from .wire import HEADER_SIZE, Query, WireName
from .zonemap import MASK

__all__ = ["DnameTemplate", "answer_below", "remember_below"]

_DNAME = dns.rdatatype.DNAME
_MAX_NAME = 255
_QUESTION = HEADER_SIZE - 2  # where the question starts in a query after its ID
_TC = 0x02  # in the third octet of the header


class DnameTemplate(NamedTuple):
    """The NXDOMAIN answer below one parent P of a DNAME; answer_below unpacks the fields
    in this order."""

    head: bytes  # the response header after its ID: flags and counts
    source: bytes  # P, lower-cased wire
    target: bytes  # P', lower-cased wire
    longest: int  # the longest first label that keeps X.P and X.P' within 255 octets
    rest: int  # octets of the question after the first label: P, type, class
    lengths: int  # bit n set: a first label of n octets may be a name that exists, or a twin
    source_nodes: dict  # Zd's names, to prove X.P is none ...
    target_nodes: dict  # ... and Z''s, that X.P' is none
    zones: tuple  # the shards of every zone (zonemap.ShardedMap): nor is either a zone ...
    names: frozenset  # ... nor an extra name of the view (R8)
    twins: frozenset  # first labels (length octet, lower-cased) that compress otherwise
    limit: int  # the UDP size the answer must fit
    apex: str  # Zd's name, for the metrics
    # by the length of X: the octets between the question and X, those after X (our OPT
    # without a COOKIE last), and their sum with X's
    layouts: dict[int, tuple[bytes, bytes, int]]
    depends: tuple[bytes, ...]  # what it is filed under (cache.py): Zd's and Z''s apex


def answer_below(
    template: DnameTemplate, body: bytes, first: int, cut: int, udp: bool, option: bytes
) -> bytes | None:
    """The answer after its ID to `body`, a query after its ID for X.P whose first label X
    of `first` octets ends at `cut`, followed by `option` (our COOKIE, or b""); None when
    the full path must answer it (module doc)."""
    head, _, _, longest, rest, lengths, *_, limit, _, layouts, _ = template
    if first > longest:
        return None
    layout = layouts.get(first)
    if layout is None:  # the first query of this length makes it
        return None
    label = body[_QUESTION:cut].lower()
    if lengths >> first & 1 and not _absent(template, label):
        return None
    before, after, size = layout
    qend = cut + rest
    if udp and qend + 2 + size + len(option) > limit:
        return None
    return head + body[_QUESTION:qend] + before + label + after + option


def _absent(template: DnameTemplate, label: bytes) -> bool:
    """Whether X (`label`: its length octet and octets, lower-cased) is no twin, and X.P
    and X.P' are names that do not exist (module doc)."""
    _, source, target, _, _, _, source_nodes, target_nodes, zones, names, twins, *_ = template
    if label in twins:
        return False
    name = label + source
    if name in source_nodes or name in names or name in zones[hash(name) & MASK]:
        return False
    name = label + target
    return not (name in target_nodes or name in names or name in zones[hash(name) & MASK])


def remember_below(
    tables: Tables,
    view: ViewTables,
    query: Query,
    result: Result,
    response: bytes,
    key: bytes,
    limit: int,
    cookie: int,
) -> None:
    """Make or complete the template of the parent of an NXDOMAIN query name answered
    through a DNAME (`result`, `response`), when it may have one (module doc): keyed by
    `key`, for the UDP size `limit`; `cookie` is the size of our COOKIE option that ends
    `response` (0: none), which the template leaves out."""
    answer = result.answer
    offsets = query.offsets
    zone = result.zone
    if len(answer) != 2 or len(offsets) < 2 or response[2] & _TC or zone is None:
        return
    (_, dname), (_, cname) = answer
    address = view.address
    if dname.rdtype != _DNAME or address is not None and address not in zone.addresses:
        return
    source = query.key[offsets[1] :]
    nodes = zone.nodes
    encloser = source
    while encloser not in nodes:  # the apex is a node
        encloser = encloser[encloser[0] + 1 :]
    node = nodes[encloser]
    if (node.cut if node.cut is not None else node.get(_DNAME)) is not dname:
        return
    substitution = cname.rdatas[0][0]
    target = substitution.key[substitution.offsets[1] :]
    target_zone = find_zone(tables, view, substitution.key, substitution.offsets, query.qtype, [])
    node = None if target_zone is None else target_zone.nodes.get(target)
    if node is None or node.cut is not None or node.wildcard is not None or _DNAME in node:
        return
    template = view.negative.get(key)
    if template is None:
        template = _template(tables, view, zone, target_zone, source, target, response, limit)  # type: ignore[arg-type]
    first = query.key[0]
    label = query.key[: first + 1]
    if not _absent(template, label):
        return  # X.P or X.P' exists, or X is a twin: its answer is no layout
    tables.cache.store_template(view.negative, key, template)
    qend = query.question_end
    at = qend + 2 + len(dname.fixed) + len(dname.rdatas[0]) + 2 + len(cname.fixed) + 2
    before, after = response[qend:at], response[at + first + 1 : len(response) - cookie]
    template.layouts.setdefault(first, (before, after, len(before) + len(label) + len(after)))


def _template(
    tables: Tables,
    view: ViewTables,
    zone: Zone,
    target_zone: Zone,
    source: bytes,
    target: bytes,
    response: bytes,
    limit: int,
) -> DnameTemplate:
    soa = target_zone.negative_soa
    written = [source, target, soa.owner.key]
    written += [part.key for rdata in soa.rdatas for part in rdata if isinstance(part, WireName)]
    twins = _twins(written, (source, target))
    lengths = names_below(tables, view, zone, source)
    lengths |= names_below(tables, view, target_zone, target)
    for twin in twins:
        lengths |= 1 << twin[0]
    return DnameTemplate(
        head=response[2:HEADER_SIZE],
        source=source,
        target=target,
        longest=_MAX_NAME - 1 - max(len(source), len(target)),
        rest=len(source) + 4,
        lengths=lengths,
        source_nodes=zone.nodes,
        target_nodes=target_zone.nodes,
        zones=tables.zones.shards,
        names=view.names,
        twins=twins,
        limit=limit,
        apex=zone.name,
        layouts={},
        depends=(zone.key,) if zone is target_zone else (zone.key, target_zone.key),
    )


def _twins(written: Iterable[bytes], parents: tuple[bytes, ...]) -> frozenset[bytes]:
    """The first labels L (length octet and octets) of the suffixes L.R of the names
    `written` (lower-cased wire) whose rest R is one of `parents`."""
    found = set()
    for name in written:
        o = 0
        while name[o]:
            end = o + name[o] + 1
            if name[end:] in parents:
                found.add(name[o:end])
            o = end
    return frozenset(found)
