"""NXDOMAIN templates below a DNAME: a random-subdomain flood below a DNAME's owner answered
without the lookup, byte for byte as the full path answers it (RFC 6672 §3.2).

The rule this module owns: when such a template may be made, and what it writes. A query
for X.P, P at or below the owner D of a DNAME to T (P = S.D), whose substitution X.P'
(P' = S.T) does not exist, is answered (lookup.py) NXDOMAIN with the DNAME, the CNAME from
X.P to X.P' (TTL the DNAME's) and the negative SOA of the zone Z' of X.P'. Call X
ordinary when X.P and X.P' are neither zones (at any address) nor extra names of the view
(R8), X.P' is no node of Z' and X is no twin (below). The first such answer for an
ordinary X below P makes P's template when P' is a node of Z' (so that random parents
make none, as for the other templates). Then the lookup of any ordinary X.P takes the
steps it took for the first: X.P is found in the same zone Zd (find_zone passes no zone
nor extra name on the way to P's), and substituted with the same DNAME (as a node below
D, occluded, or else from the closest encloser of P); X.P' is found in the same Z' and is
no node there, so its closest encloser is that of the first, a miss (neither a cut, a
DNAME nor a wildcard is there, or the first would not be NXDOMAIN).

The answer depends on X only through X's octets, their number and how names compress
(render.py): the question as received, the DNAME (owner a pointer into the question, its
rdata never compressed), the CNAME (owner C0 0C) whose target starts with X lower-cased,
then the rest of the target, the SOA and our OPT. Every other octet depends on X's length
alone, but where a name written compresses to X.P or X.P', or X.P' to a name written
before it: that is when X is one of the template's `twins`, the first label of a suffix
L.P or L.P' of a name written (the SOA's RNAME hostmaster.T asked as hostmaster.D). So a
template keeps, for each length of X, the octets between the question and X and those
after X (`layouts`), cut from the first full-path answer of that length for an ordinary
X (none when X.P' would pass 255 octets: YXDOMAIN, or the answer was truncated); a hit of
an ordinary X splices the query's question and its X in, when the answer fits the UDP
size. The template is filed under Zd and Z' (cache.py): a change to either drops it.
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
_QUESTION = HEADER_SIZE - 2  # where the question starts in a query after its ID
_TC = 0x02  # in the third octet of the header


class DnameTemplate(NamedTuple):
    """The NXDOMAIN answer below one parent P of a DNAME; answer_below unpacks the fields
    in this order."""

    head: bytes  # the response header after its ID: flags and counts
    source: bytes  # P, lower-cased wire
    target: bytes  # P', lower-cased wire
    rest: int  # octets of the question after the first label: P, type, class
    lengths: int  # bit n set: a first label of n octets may be a name that exists, or a twin
    target_nodes: dict  # Z''s names, to prove that X.P' is none ...
    zones: tuple  # ... and the shards of every zone (zonemap.ShardedMap): that neither X.P
    names: frozenset  # nor X.P' is a zone, nor an extra name of the view (R8)
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
    head, _, _, rest, lengths, *_, limit, _, layouts, _ = template
    layout = layouts.get(first)
    if layout is None:  # the first NXDOMAIN of this length makes it (none when X.P' would
        return None  # pass 255 octets: YXDOMAIN)
    label = body[_QUESTION:cut].lower()
    if lengths >> first & 1 and not _absent(template, label):
        return None
    before, after, size = layout
    qend = cut + rest
    if udp and qend + 2 + size + len(option) > limit:
        return None
    return head + body[_QUESTION:qend] + before + label + after + option


def _absent(template: DnameTemplate, label: bytes) -> bool:
    """Whether X (`label`: its length octet and octets, lower-cased) is ordinary (module
    doc)."""
    _, source, target, _, _, target_nodes, zones, names, twins, *_ = template
    if label in twins:
        return False
    name = label + source
    if name in names or name in zones[hash(name) & MASK]:
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
    """Make or complete the template of the parent of an NXDOMAIN query name (`query`,
    `result`, `response`) when it was answered through a DNAME and may have one (module
    doc): keyed by `key`, for the UDP size `limit`; `cookie` is the size of our COOKIE
    option that ends `response` (0: none), which the template leaves out."""
    answer = result.answer
    zone = result.zone
    if zone is None or len(answer) != 2 or len(query.offsets) < 2 or response[2] & _TC:
        return
    (_, dname), (_, cname) = answer
    if dname.rdtype != _DNAME:
        return
    substitution = cname.rdatas[0][0]
    target = substitution.key[substitution.offsets[1] :]
    target_zone = find_zone(tables, view, substitution.key, substitution.offsets, query.qtype, [])
    if target_zone is None or target not in target_zone.nodes:
        return
    template = view.negative.get(key)
    if template is None:
        source = query.key[query.offsets[1] :]
        template = _template(tables, view, zone, target_zone, source, target, response, limit)
    first = query.key[0]
    label = query.key[: first + 1]
    if not _absent(template, label):
        return
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
    lengths = names_below(tables, view, None, source)  # (nodes below P are substituted)
    lengths |= names_below(tables, view, target_zone, target)
    for twin in twins:
        lengths |= 1 << twin[0]
    return DnameTemplate(
        head=response[2:HEADER_SIZE],
        source=source,
        target=target,
        rest=len(source) + 4,
        lengths=lengths,
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
