"""What a transfer carries, in order: a zone whole (AXFR, RFC 5936 §2.2) or the journal's
differences (IXFR, RFC 1995 §4).

The rules owned here: an AXFR is the zone's SOA, every other RRset the tables serve for
it (the records of its plan: synthesized apex NS, glue and R8 addresses included, as the
compiler holds them), then the SOA again. An IXFR is the newest SOA, then per difference
the old SOA, the removed RRs, the new SOA and the added RRs, then the newest SOA again;
a client at our serial or after it gets the one SOA (§2: up to date).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import dns.rdatatype

from ..dns.compiler import Zone
from ..dns.wire import WireRRset
from ..model.journal import Diff

__all__ = ["axfr_records", "ixfr_records", "soa_of", "zone_serial"]

_SOA = dns.rdatatype.SOA


def soa_of(zone: Zone) -> WireRRset:
    return zone.nodes[zone.key][_SOA]


def zone_serial(zone: Zone) -> int:
    """The serial the tables serve (the first of the five numbers ending the SOA)."""
    return int.from_bytes(soa_of(zone).rdatas[0][-1][:4], "big")  # type: ignore[index]


def axfr_records(zone: Zone) -> Iterator[WireRRset]:
    soa = soa_of(zone)
    yield soa
    for node in zone.nodes.values():
        for rrset in node.values():
            if rrset is not soa:
                yield rrset
    yield soa


def ixfr_records(chain: Sequence[Diff]) -> Iterator[bytes]:
    newest = chain[-1].soa_to
    yield newest
    for change in chain:
        yield change.soa_from
        yield from change.removed
        yield change.soa_to
        yield from change.added
    yield newest
