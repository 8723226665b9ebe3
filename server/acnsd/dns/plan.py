"""What the answering core is given: every zone to serve, fully resolved.

The model layer (YAML loader, rules R1-R11, nameserver assignment, addresses) ends in a
ServePlan; the compiler turns a ServePlan into immutable lookup tables. Nothing in this
module knows about YAML, accounts or sets: a zone here is an origin and the exact records
to serve, with the managed SOA, the synthesized apex NS and the automatic A/AAAA already
merged in (DESIGN.md R8-R10), packed in one octet string (packed.py) of RRsets in the
wire form the answering core writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dns.name
import dns.rdatatype

from .packed import pack_rrsets, unpack_rrsets
from .packed import rdatas as packed_rdatas
from .packed import rrsets as packed_rrsets
from .wire import WireRRset

__all__ = ["ServerOptions", "ServePlan", "View", "ZonePlan", "zone_plan"]

_SOA_TYPE = dns.rdatatype.SOA.to_bytes(2, "big")  # an RRset's type, packed


@dataclass(frozen=True, slots=True, weakref_slot=True)  # one per zone (tests watch it freed)
class ZonePlan:
    """One zone: its origin and every RRset served in it (apex SOA and NS included),
    packed (packed.py; `zone_plan` packs pre-encoded RRsets, `wire.encode_rrset` makes one
    of a dnspython RRset) in two parts laid end to end, `file` then `own`, and the number
    of RRs in them. Held for every zone served, so octet strings rather than its RRsets'
    objects (~1.9 KiB for 9 records): the compiler decodes them when it compiles the zone.

    `file` holds the RRsets of the zone file when the plan serves all of them: the same
    object as the cache of files read holds (zonedata.ZoneFile.content); `own`, the
    others (those acnsd manages), or every RRset when `file` is empty.

    `servable`: made so that compiler.zone_problems finds nothing in it (zonedata.build_zone:
    the zone file readers keep only the records in the zone, as dnspython does, and the
    one SOA is the managed one), so the tables take it without walking its RRsets (~5 µs
    a zone at a cold start)."""

    origin: dns.name.Name
    own: bytes
    records: int
    nameservers: tuple[dns.name.Name, ...] = ()
    file: bytes = b""
    servable: bool = False

    @property
    def content(self) -> bytes:
        """Every RRset, packed."""
        return self.file + self.own

    @property
    def rrsets(self) -> tuple[WireRRset, ...]:
        """The RRsets, decoded (new objects each time)."""
        return unpack_rrsets(self.file + self.own)

    @property
    def serial(self) -> int:
        """The serial of the last SOA RRset at the apex (zonedata.build_zone puts the SOA
        last)."""
        key = self.origin.to_wire().lower()
        found = None
        for owner, fixed, rdatas in packed_rrsets(self.file + self.own):
            if fixed[:2] == _SOA_TYPE and owner.lower() == key:
                found = packed_rdatas(rdatas)[0]
        if found is None:
            raise ValueError(f"zone {self.origin}: a plan without an SOA")
        return int.from_bytes(found[-20:-16], "big")


def zone_plan(origin: dns.name.Name, rrsets: Iterable[WireRRset],
              nameservers: tuple[dns.name.Name, ...] = (),
              file: tuple[bytes, int] = (b"", 0), servable: bool = False) -> ZonePlan:
    """The plan of the zone `origin` serving the RRsets packed in `file` (and the RRs in
    them), then `rrsets`, in their order."""
    own, records = pack_rrsets(rrsets)
    return ZonePlan(origin, own, file[1] + records, nameservers, file[0], servable)


@dataclass(frozen=True)
class View:
    """What one assigned ACNS address answers (DESIGN.md §4).

    At `address` only the zones in `zones` are answered; a query for any other zone is
    REFUSED, except for the owner names in `names` (ACNS names whose A/AAAA live in a
    zone not in this view, R8), which are answered from the zone that holds them.
    """

    address: str
    zones: frozenset[dns.name.Name]
    names: frozenset[dns.name.Name] = frozenset()


@dataclass(frozen=True)
class ServerOptions:
    """Protocol options that shape answers and listeners."""

    edns_udp_size: int = 1232  # our EDNS(0) payload size (RFC 6891, DNS flag day 2020)
    nsid: bytes | None = None  # RFC 5001 NSID, answered when the client asks
    # CHAOS TXT answers (version.bind, id.server, hostname.bind); empty disables them
    chaos: tuple[tuple[str, str], ...] = ()
    tcp_idle_timeout: float = 10.0
    tcp_frame_timeout: float = 2.0  # a TCP frame's deadline from its first octet
    tcp_max_connections: int = 256


@dataclass(frozen=True)
class ServePlan:
    """Everything `acnsd serve` needs: zones, per-address views and listeners."""

    zones: tuple[ZonePlan, ...]
    listen: tuple[tuple[str, int], ...] = ()  # (host, port): every zone answered there
    views: tuple[View, ...] = ()  # one per assigned ACNS address when serving them
    view_port: int = 53  # port the view addresses listen on (server.port)
    options: ServerOptions = field(default_factory=ServerOptions)
    # catalog zones (RFC 9432): only transferred, never answered to a plain query (xfr/)
    catalogs: tuple[ZonePlan, ...] = ()
