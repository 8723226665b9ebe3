"""The account → nameserver set → zone model, as frozen dataclasses.

Two layers live here. The *configuration* (ServerConfig, Account, ZoneConfig, ...) is what
the YAML says, already type-checked. The *resolved model* (Model, ResolvedZone, NameAddress)
adds what acnsd decides: each zone's nameservers and why, each name's addresses. Names are
stored lower-case without the trailing dot.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = [
    "NS_TYPES",
    "DEFAULT_NS_TYPES",
    "Account",
    "ApiConfig",
    "ApiLimits",
    "CustomNameserver",
    "DnsSettings",
    "Limits",
    "Model",
    "NameAddress",
    "Nameservers",
    "Resolution",
    "ResolvedZone",
    "ServerConfig",
    "Soa",
    "StandardNameserver",
    "VerifyConfig",
    "ZoneConfig",
    "shared",
    "zone_id",
    "zone_id_octets",
]

T = TypeVar("T")


@functools.lru_cache(maxsize=4096)
def shared(value: T) -> T:
    """One object for equal frozen values (settings that 10^5 zones have alike: each object
    costs hundreds of bytes); a value seen first, or again after the 4,096 other values
    seen since, is itself."""
    return value


STANDARD = "cloudflare.standard"
STANDARD_RANDOM = "cloudflare.standard.random"
CUSTOM_ACCOUNT = "custom.account"
CUSTOM_ZONE = "custom.zone"

# What a zone's dns_settings.nameservers.type may be, and what zone_defaults may be (DESIGN §1).
NS_TYPES = (STANDARD, CUSTOM_ACCOUNT, CUSTOM_ZONE)
DEFAULT_NS_TYPES = (STANDARD, STANDARD_RANDOM, CUSTOM_ACCOUNT)


@dataclass(frozen=True)
class Soa:
    """The managed SOA fields (R10); None means 'not set here'."""

    mname: str | None = None
    rname: str | None = None
    refresh: int | None = None
    retry: int | None = None
    expire: int | None = None
    min_ttl: int | None = None
    ttl: int | None = None


SOA_DEFAULTS = Soa(refresh=10000, retry=2400, expire=604800, min_ttl=1800, ttl=3600)
NS_TTL_DEFAULT = 86400


@dataclass(frozen=True)
class Nameservers:
    type: str
    ns_set: int | None = None


@dataclass(frozen=True)
class DnsSettings:
    """A zone's (or the account's zone_defaults') settings; None means 'not set here'."""

    nameservers: Nameservers | None = None
    ns_ttl: int | None = None
    soa: Soa | None = None
    multi_provider: bool | None = None


@dataclass(frozen=True)
class StandardNameserver:
    name: str
    ipv4: str | None = None
    ipv6: str | None = None


@dataclass(frozen=True)
class CustomNameserver:
    ns_name: str
    ns_set: int
    ipv4: str | None = None  # pinned in the config; otherwise drawn from the pools (R7)
    ipv6: str | None = None
    path: str = ""  # YAML path, for messages


@dataclass(frozen=True, slots=True)  # one per zone, as ResolvedZone
class ZoneConfig:
    name: str
    file: str  # the zone file's path as text (a Path is ~250 bytes more a zone)
    dns_settings: DnsSettings = field(default_factory=DnsSettings)
    vanity_name_servers: tuple[str, ...] = ()
    # its YAML path in two parts: the file as the sources name it (a zone file's: its
    # stamp's key, that string, not one more a zone; "" for acnsd.yaml) and the path in it
    source: str = ""
    at: str = ""

    @property
    def path(self) -> str:
        """The zone's YAML path (made when asked: ~120 bytes a zone in zone files)."""
        return yaml_path(self.source, self.at)


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    custom_nameservers: tuple[CustomNameserver, ...] = ()
    zone_defaults: DnsSettings = field(default_factory=DnsSettings)
    zones: tuple[ZoneConfig, ...] = ()
    path: str = ""


@dataclass(frozen=True)
class ApiLimits:
    """What one management API client may hold (`server.api`, issue 15)."""

    max_connections: int = 512  # open at once; past it an idle one is closed or one waits
    header_timeout: float = 10.0  # seconds to send a request's head (and to stay idle)
    body_timeout: float = 10.0  # seconds to send a request's body, and to take the answer


@dataclass(frozen=True)
class ApiConfig:
    """`server.api`: where the management API listens, whose tokens it accepts (§6) and
    its limits."""

    listen: tuple[str, int]
    tokens_file: Path
    limits: ApiLimits = ApiLimits()


@dataclass(frozen=True)
class Limits:
    """`server.limits`: how much zone data one load may read; a zone file or a set of
    them that passes a limit is refused, and reading stops where it passes."""

    max_records_per_zone: int = 1_000_000  # records read from one zone's files
    max_records_total: int = 10_000_000  # records read from every zone's files
    max_zone_file_bytes: int = 128 * 2**20  # one zone's files ($INCLUDEs too), in bytes


@dataclass(frozen=True)
class TsigKey:
    """`server.tsig_keys[]` (RFC 8945): a shared secret, named as the TSIG RR's owner."""

    name: str  # absolute and lower-cased: "xfr.example."
    algorithm: str  # "hmac-sha256", "hmac-sha512", ...
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class TransferRule:
    """`server.allow_transfer[]`: clients in `prefix` may transfer every zone, signed
    with `key` (its name), or unsigned when `key` is None."""

    prefix: ipaddress.IPv4Network | ipaddress.IPv6Network
    key: str | None = None


@dataclass(frozen=True)
class NotifyTarget:
    """`server.notify[]`: a secondary told of every serial change (RFC 1996)."""

    host: str
    port: int = 53
    key: str | None = None  # the TSIG key name signing the NOTIFY


@dataclass(frozen=True)
class PrimaryServer:
    """`server.secondary.primaries[]`: a primary to transfer from (RFC 5936, RFC 1995)."""

    host: str
    port: int = 53
    key: str | None = None  # the TSIG key name signing our queries to it


@dataclass(frozen=True)
class SecondaryConfig:
    """`server.secondary`: the zones transferred in from `primaries` (xfr/secondary.py):
    those listed in `zones`, and the members of the catalog zones (RFC 9432) `catalogs`;
    their copies kept in `directory`. Names lower-case, without the final dot."""

    primaries: tuple[PrimaryServer, ...]
    zones: tuple[str, ...] = ()
    catalogs: tuple[str, ...] = ()
    directory: Path = Path("secondary")


@dataclass(frozen=True)
class CookiesConfig:
    """`server.cookies`: DNS Cookies (RFC 7873, server cookies of RFC 9018), on by default.
    The secrets are read from `secret_file` (one per line in hex: the current secret, then
    optionally the previous one, still accepted); without one, a secret is made once and
    kept in the store (daemon/cookies.py)."""

    enabled: bool = True
    secrets: tuple[bytes, ...] = ()  # secret_file's: current, previous
    require: bool = False  # BADCOOKIE over UDP to a cookie without a valid server cookie


@dataclass(frozen=True)
class RrlConfig:
    """`server.rrl`: response rate limiting over UDP (dns/rrl.py), off when absent."""

    rate: int  # responses per second per source prefix and response class
    slip: int = 2  # every slip-th limited response is sent truncated (TC); 0: none
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    table_size: int = 393241  # buckets (Knot DNS's default)


@dataclass(frozen=True)
class CatalogsConfig:
    """`server.catalogs`: the catalog zones produced (RFC 9432, model/catalogs.py)."""

    name: str  # the catalog of every zone: lower-case, no final dot ("catalog.invalid")
    per_set: bool = False  # also one per ACNS set: <account id>-set<N>.<name>


# The IANA root hints (named.root): a.root-servers.net .. m.root-servers.net, IPv4 then IPv6.
ROOT_HINTS = (
    "198.41.0.4", "170.247.170.2", "192.33.4.12", "199.7.91.13", "192.203.230.10",
    "192.5.5.241", "192.112.36.4", "198.97.190.53", "192.36.148.17", "192.58.128.30",
    "193.0.14.129", "199.7.83.42", "202.12.27.33",
    "2001:503:ba3e::2:30", "2801:1b8:10::b", "2001:500:2::c", "2001:500:2d::d",
    "2001:500:a8::e", "2001:500:2f::f", "2001:500:12::d0d", "2001:500:1::53",
    "2001:7fe::53", "2001:503:c27::2:30", "2001:7fd::1", "2001:500:9f::42", "2001:dc3::35",
)


@dataclass(frozen=True)
class VerifyConfig:
    """`server.verify`: the delegation checks (verify/): where the iterative resolution
    starts, the port every server is asked on, and how often the running server rechecks."""

    roots: tuple[str, ...] = ROOT_HINTS  # root server addresses
    port: int = 53  # another port only for a test hierarchy on loopback
    interval: float = 3600.0  # seconds between the running server's checks; 0: never
    timeout: float = 2.0  # seconds to wait for one answer


@dataclass(frozen=True)
class ServerConfig:
    listen: tuple[tuple[str, int], ...]
    port: int
    serve_assigned_addresses: bool
    standard_nameservers: tuple[StandardNameserver, ...]
    ipv4_pools: tuple[ipaddress.IPv4Network, ...]
    ipv6_pools: tuple[ipaddress.IPv6Network, ...]
    zones_dir: Path
    state_file: Path
    edns_udp_size: int = 1232
    nsid: str | None = None
    chaos: tuple[tuple[str, str], ...] = ()
    tcp_idle_timeout: float = 10.0
    tcp_frame_timeout: float = 2.0
    tcp_max_connections: int = 256
    metrics: tuple[str, int] | None = None  # host, port of the Prometheus exposition
    user: str | None = None  # started as root: the user to become after binding
    log_format: str = "plain"  # "plain" or "json" (logs.py)
    api: ApiConfig | None = None  # the management API (api.py); off when absent
    query_log: bool = False  # one log line per query
    snapshot: bool = True  # a start leaves a compiled snapshot (daemon/snapshot.py)
    limits: Limits = field(default_factory=Limits)
    # the primary side (xfr/): no rule, no transfer
    tsig_keys: tuple[TsigKey, ...] = ()
    allow_transfer: tuple[TransferRule, ...] = ()
    max_transfers: int = 10  # outgoing transfers at once; more are refused
    notify: tuple[NotifyTarget, ...] = ()
    cookies: CookiesConfig = field(default_factory=CookiesConfig)
    rrl: RrlConfig | None = None
    catalogs: CatalogsConfig | None = None  # catalog zones produced; none when absent
    verify: VerifyConfig | None = None  # periodic delegation checks; off when absent
    secondary: SecondaryConfig | None = None  # zones transferred in; none when absent


@dataclass(frozen=True)
class NameAddress:
    """The addresses of one nameserver name (R7) and where its A/AAAA are served (R8)."""

    name: str
    ipv4: str | None
    ipv6: str | None
    served_in: str | None = None  # zone that serves its A/AAAA here, or None
    provider: str | None = None  # the longest zone name that is a suffix, if any is served here


@dataclass(frozen=True, slots=True)
class Resolution:
    """What acnsd decided of a zone's settings: explicit, recorded defaults, or built-in.
    Most zones are alike in all of it: they share one (`ResolvedZone.of`, `_resolution`)."""

    ns_type: str
    ns_set: int | None
    nameservers: tuple[str, ...]
    reason: str  # "explicit", "zone default", "zone default (recorded)", "standard"
    ns_ttl: int
    soa: Soa
    multi_provider: bool


@dataclass(frozen=True, slots=True)  # one per zone: slots keep ~40 bytes of each
class ResolvedZone:
    """A zone with its settings resolved: explicit, recorded defaults, or built-in (its
    `resolution`, shared with the zones resolved alike: seven fields a zone were ~50
    bytes, at 10^5 zones)."""

    account: str  # account id
    name: str
    file: str  # ZoneConfig.file's
    resolution: Resolution
    vanity_name_servers: tuple[str, ...] = ()
    source: str = ""  # ZoneConfig's
    at: str = ""

    @classmethod
    def of(cls, account: str, name: str, file: str, ns_type: str, ns_set: int | None,
           nameservers: tuple[str, ...], reason: str, ns_ttl: int, soa: Soa,
           multi_provider: bool, vanity_name_servers: tuple[str, ...] = (),
           source: str = "", at: str = "") -> ResolvedZone:
        """The zone resolved so, its resolution the one of the zones resolved alike."""
        resolution = _resolution(ns_type, ns_set, nameservers, reason, ns_ttl, soa,
                                 multi_provider)
        return cls(account, name, file, resolution, vanity_name_servers, source, at)

    def with_reason(self, reason: str) -> ResolvedZone:
        """The zone resolved alike, for another reason."""
        r = self.resolution
        resolution = _resolution(r.ns_type, r.ns_set, r.nameservers, reason, r.ns_ttl, r.soa,
                                 r.multi_provider)
        return dataclasses.replace(self, resolution=resolution)

    @property
    def ns_type(self) -> str:
        return self.resolution.ns_type

    @property
    def ns_set(self) -> int | None:
        return self.resolution.ns_set

    @property
    def nameservers(self) -> tuple[str, ...]:
        return self.resolution.nameservers

    @property
    def reason(self) -> str:
        return self.resolution.reason

    @property
    def ns_ttl(self) -> int:
        return self.resolution.ns_ttl

    @property
    def soa(self) -> Soa:
        return self.resolution.soa

    @property
    def multi_provider(self) -> bool:
        return self.resolution.multi_provider

    @property
    def path(self) -> str:
        return yaml_path(self.source, self.at)


@functools.lru_cache(maxsize=4096)  # (found by its fields: ~0.3 µs less a zone than shared)
def _resolution(ns_type: str, ns_set: int | None, nameservers: tuple[str, ...], reason: str,
                ns_ttl: int, soa: Soa, multi_provider: bool) -> Resolution:
    """One Resolution for equal fields (of the 4,096 seen last, as `shared`)."""
    return Resolution(ns_type, ns_set, nameservers, reason, ns_ttl, soa, multi_provider)


def yaml_path(source: str, at: str) -> str:
    """The YAML path `at` in the file `source` (tree.in_file's; "": acnsd.yaml's own)."""
    return f"{source}:{at}" if source else at


@dataclass(frozen=True)
class Model:
    """The whole configuration with every decision acnsd made about it."""

    config_file: Path
    server: ServerConfig
    accounts: tuple[Account, ...]
    zones: tuple[ResolvedZone, ...]
    addresses: dict[str, NameAddress]  # every ACNS and custom.zone name → its addresses
    accounts_dir: str | None = None  # as written in acnsd.yaml; None: the single file layout


def zone_id(name: str) -> str:
    """A zone's stable identifier: 32 hex digits derived from its name (as Cloudflare's)."""
    return zone_id_octets(name).hex()


def zone_id_octets(name: str) -> bytes:
    """The 16 octets a zone's id spells (a map of 10^5 ids holds these: 49 bytes each,
    against 81 for the text)."""
    return hashlib.sha256(name.encode()).digest()[:16]
