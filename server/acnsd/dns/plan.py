"""What the answering core is given: every zone to serve, fully resolved.

The model layer (YAML loader, rules R1-R11, nameserver assignment, addresses) ends in a
ServePlan; the compiler turns a ServePlan into immutable lookup tables. Nothing in this
module knows about YAML, accounts or sets: a zone here is an origin and the exact records
to serve, with the managed SOA, the synthesized apex NS and the automatic A/AAAA already
merged in (DESIGN.md R8-R10), each RRset already in the wire form the answering core
writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.name

from .wire import WireRRset

__all__ = ["ServerOptions", "ServePlan", "View", "ZonePlan"]


@dataclass(frozen=True, slots=True, weakref_slot=True)  # one per zone (tests watch it freed)
class ZonePlan:
    """One zone: its origin and every RRset served in it (apex SOA and NS included),
    pre-encoded (`wire.encode_rrset` makes one of a dnspython RRset): the compiled tables
    share them."""

    origin: dns.name.Name
    rrsets: tuple[WireRRset, ...]
    nameservers: tuple[dns.name.Name, ...] = ()


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
