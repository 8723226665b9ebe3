"""The configuration file's shape: keys, types and ranges (DESIGN.md §3).

Rule owned here: the YAML becomes typed, frozen configuration objects, or every problem
is reported at once with file, line, YAML path and rule. Unknown keys are errors with a
"did you mean" where a known key is close. Rules that need more than one value at a time
(sets, hierarchies, addresses) are checked later, in rules.py and addresses.py.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dns.exception
import dns.name

from .. import __version__
from ..errors import Problem
from .names import host_name_error, normalize, zone_name_error
from .types import (
    DEFAULT_NS_TYPES,
    NS_TYPES,
    Account,
    ApiConfig,
    ApiLimits,
    CatalogsConfig,
    CookiesConfig,
    CustomNameserver,
    DnsSettings,
    Limits,
    Nameservers,
    NotifyTarget,
    PrimaryServer,
    RrlConfig,
    SecondaryConfig,
    ServerConfig,
    Soa,
    StandardNameserver,
    TransferRule,
    TsigKey,
    VerifyConfig,
    ZoneConfig,
    shared,
    yaml_path,
)
from .yamlsrc import Source, join_path

Locate = Callable[[str, str, str | None], Problem]  # (path, message, rule) -> Problem

__all__ = ["accounts_dir", "parse_hostport", "read_account_file", "read_config",
           "read_nameserver", "read_vanity", "read_zone", "read_zone_defaults", "read_zone_list",
           "read_zone_settings"]

# API ranges of Cloudflare's dns_settings (reference §2): (low, high) per field.
SOA_RANGES = {
    "refresh": (600, 86400),
    "retry": (600, 86400),
    "expire": (86400, 2419200),
    "min_ttl": (60, 86400),
    "ttl": (300, 86400),
}
NS_TTL_RANGE = (30, 86400)
SOA_KEYS = ("mname", "rname", *SOA_RANGES)
SETTINGS_KEYS = ("nameservers", "ns_ttl", "soa", "multi_provider")
SERVER_KEYS = (
    "listen", "port", "serve_assigned_addresses", "standard_nameservers", "address_pools",
    "zones_dir", "state_file", "edns_udp_size", "nsid", "chaos", "tcp_idle_timeout",
    "tcp_frame_timeout", "tcp_max_connections", "metrics", "user", "log_format", "query_log",
    "api", "limits", "tsig_keys", "allow_transfer", "max_transfers", "notify", "cookies", "rrl",
    "catalogs", "verify", "secondary", "snapshot",
)
SECONDARY_KEYS = ("primaries", "zones", "catalogs", "dir")
COOKIES_KEYS = ("enabled", "secret_file", "require")
VERIFY_KEYS = ("roots", "port", "interval", "timeout")
RRL_KEYS = ("rate", "slip", "ipv4_prefix", "ipv6_prefix", "table_size")
TOP_KEYS = ("server", "accounts", "accounts_dir")
ACCOUNT_KEYS = ("id", "name", "custom_nameservers", "dns_settings", "zones")
TSIG_ALGORITHMS = ("hmac-sha256", "hmac-sha512", "hmac-sha384", "hmac-sha224", "hmac-sha1")
LIMIT_KEYS = ("max_records_per_zone", "max_records_total", "max_zone_file_bytes")
API_LISTEN_DEFAULT = "127.0.0.1:8053"
LOG_FORMATS = ("plain", "json")
CHAOS_NAMES = ("version.bind", "id.server", "hostname.bind")
_MISSING = object()


def parse_hostport(text: str) -> tuple[str, int]:
    """`127.0.0.1:5353` or `[::1]:5353` → (host, port); ValueError saying what is wrong.

    The one parser of ADDR:PORT, for the configuration and the command line alike: the
    port is decimal digits only, an IPv6 address is in brackets, the host is an address."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected ADDR:PORT with a port 0..65535, e.g. 127.0.0.1:5353 or "
                         "[::1]:5353")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("an IPv6 address is written in brackets, e.g. [::1]:5353")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    return host, int(port)


class _Reader:
    """Walks the YAML value, collecting problems instead of stopping at the first; `locate`
    words each as a Problem at its YAML path (a Source's `problem`)."""

    def __init__(self, locate: Locate):
        self.locate = locate
        self.problems: list[Problem] = []

    def error(self, path: str, message: str, rule: str | None = None) -> None:
        self.problems.append(self.locate(path, message, rule))

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, Any] | None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.error(path, f"must be a mapping, not {_kind(value)}")
            return None
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else (
                    f"; known keys: {', '.join(allowed)}")
                self.error(join_path(path, key), f"unknown key {key!r}{hint}")
        for key in required:
            if key not in value:
                self.error(path, f"missing required key {key!r}")
        return value

    def sequence(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"must be a list, not {_kind(value)}")
            return []
        return value

    def integer(self, m: dict[str, Any], key: str, path: str, low: int, high: int,
                default: Any = None, rule: str | None = None) -> Any:
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(join_path(path, key), f"must be an integer {low}..{high}, not "
                       f"{_kind(value)}", rule)
            return default
        if not low <= value <= high:
            self.error(join_path(path, key), f"must be {low}..{high}, not {value}", rule)
            return default
        return value

    def number(self, m: dict[str, Any], key: str, path: str, low: float, high: float,
               default: float) -> float:
        value = m.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
                low <= value <= high):
            self.error(join_path(path, key), f"must be a number {low}..{high}, not {value!r}")
            return default
        return float(value)

    def boolean(self, m: dict[str, Any], key: str, path: str, default: Any = None) -> Any:
        value = m.get(key, default)
        if value is not default and not isinstance(value, bool):
            self.error(join_path(path, key), f"must be true or false, not {value!r}")
            return default
        return value

    def string(self, m: dict[str, Any], key: str, path: str, default: Any = None) -> Any:
        value = m.get(key, default)
        if value is not default and not isinstance(value, str):
            self.error(join_path(path, key), f"must be a string, not {_kind(value)}")
            return default
        return value

    def address(self, m: dict[str, Any], key: str, path: str, version: int,
                rule: str | None = None) -> str | None:
        value = m.get(key)
        if value is None:
            return None
        try:
            addr = ipaddress.ip_address(str(value))
        except ValueError:
            self.error(join_path(path, key), f"{value!r} is not an IPv{version} address", rule)
            return None
        if addr.version != version:
            self.error(join_path(path, key), f"{value!r} is not an IPv{version} address", rule)
            return None
        return str(addr)

    def host_name(self, value: Any, path: str, rule: str = "R1") -> str | None:
        if not isinstance(value, str):
            self.error(path, f"must be a host name string, not {_kind(value)}", rule)
            return None
        name = normalize(value)
        why = host_name_error(name)
        if why:
            self.error(path, f"{value!r} is not a fully qualified host name: it {why}", rule)
            return None
        return name


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "empty"}.get(
        type(value), type(value).__name__)


def read_config(source: Source, config_file: Path) -> tuple[ServerConfig | None,
                                                            tuple[Account, ...], list[Problem]]:
    """Type-check the whole file; return what could be read and every problem found. With
    `accounts_dir` the accounts are in files of their own (tree.py): none are returned."""
    r = _Reader(source.problem)
    top = r.mapping(source.value, "", TOP_KEYS)
    if top is None:
        return None, (), r.problems
    if "accounts_dir" in top:
        if "accounts" in top:
            r.error("accounts_dir", "accounts and accounts_dir exclude each other: the "
                    "accounts are listed in this file (accounts) or kept in a directory "
                    "(accounts_dir)")
        elif r.string(top, "accounts_dir", "") == "":
            r.error("accounts_dir", "must name a directory (holding one directory per "
                    "account)")
    elif "accounts" not in top and not _is_secondary(top.get("server")):
        r.error("", "missing required key 'accounts' (or 'accounts_dir': a directory of "
                "accounts)")
    server = _server(r, top.get("server"), "server", config_file)
    zones_dir = server.zones_dir if server else config_file.parent
    accounts = tuple(
        a for i, item in enumerate(r.sequence(top.get("accounts"), "accounts"))
        if (a := _account(r, item, join_path("accounts", i), zones_dir)) is not None
    )
    return server, accounts, r.problems


def accounts_dir(source: Source) -> str | None:
    """The accounts directory of acnsd.yaml as written (None: the single file layout, or
    an unusable value or both layouts at once, which read_config reports)."""
    top = source.value if isinstance(source.value, dict) else {}
    value = top.get("accounts_dir")
    return value if isinstance(value, str) and value and "accounts" not in top else None


def read_account_file(value: Any, path: str, account_id: str,
                      locate: Locate) -> tuple[Account | None, list[Problem]]:
    """An account.yaml of the directory layout (its YAML path `path`), whose directory
    names the account `account_id`: the account without its zones, and its problems."""
    r = _Reader(locate)
    m = r.mapping(value, path, ACCOUNT_KEYS)
    if m is None:
        return None, r.problems
    if "id" in m and str(m["id"]) != account_id:
        r.error(join_path(path, "id"), f"account id {m['id']!r} is not the name of the "
                f"account's directory ({account_id}): the directory names the account; "
                "rename one or leave the id out")
    if "zones" in m:
        r.error(join_path(path, "zones"), "an account's zones are kept in its directory's "
                "zones/*.yaml files (each a list of zone entries), not in account.yaml")
    known = {k: v for k, v in m.items() if k in ACCOUNT_KEYS and k != "zones"}
    return _account(r, {**known, "id": account_id}, path, Path()), r.problems


def read_zone_list(value: Any, file: str, at: str, zones_dir: Path,
                   locate: Locate) -> tuple[list[ZoneConfig], list[Problem]]:
    """A zone file of the directory layout, `file` as the sources name it: a list of zone
    entries at `at` in it."""
    r = _Reader(locate)
    zones = [zone for i, item in enumerate(r.sequence(value, yaml_path(file, at)))
             if (zone := _zone(r, item, file, sys.intern(join_path(at, i)), zones_dir))
             is not None]  # (`at` interned: `zones[0]` is the place of most zones)
    return zones, r.problems


def read_nameserver(value: Any, path: str,
                    locate: Locate) -> tuple[CustomNameserver | None, list[Problem]]:
    """One `custom_nameservers` item at `path` (None when unusable), and its problems."""
    r = _Reader(locate)
    return _custom_nameserver(r, value, path), r.problems


def read_zone(value: Any, path: str, zones_dir: Path,
              locate: Locate) -> tuple[ZoneConfig | None, list[Problem]]:
    """One `zones` item at `path` (None when unusable), and its problems."""
    r = _Reader(locate)
    source, _, at = path.rpartition(":")  # (tree.in_file's MARK; none in acnsd.yaml's)
    return _zone(r, value, source, at, zones_dir), r.problems


def read_zone_settings(value: Any, path: str,
                       locate: Locate) -> tuple[DnsSettings, list[Problem]]:
    """A zone's `dns_settings` at `path`, and its problems."""
    r = _Reader(locate)
    return _zone_settings(r, value, path), r.problems


def read_zone_defaults(value: Any, path: str,
                       locate: Locate) -> tuple[DnsSettings, list[Problem]]:
    """An account's `dns_settings.zone_defaults` at `path`, and its problems."""
    r = _Reader(locate)
    return _zone_defaults(r, value, path), r.problems


def read_vanity(value: Any, path: str, locate: Locate) -> tuple[tuple[str, ...], list[Problem]]:
    """A zone's `vanity_name_servers` at `path` (the usable names), and their problems."""
    r = _Reader(locate)
    return _vanity(r, value, path), r.problems


def _server(r: _Reader, value: Any, path: str, config_file: Path) -> ServerConfig | None:
    m = r.mapping(value, path, SERVER_KEYS)
    if m is None:
        return None
    base = config_file.parent
    port = r.integer(m, "port", path, 1, 65535, default=53)
    listen = []
    for i, item in enumerate(r.sequence(m.get("listen", ["127.0.0.1:53"]),
                                        join_path(path, "listen"))):
        try:
            listen.append(parse_hostport(str(item)))
        except ValueError as exc:
            r.error(join_path(join_path(path, "listen"), i), f"{item!r}: {exc}")
    standard = []
    for i, item in enumerate(r.sequence(m.get("standard_nameservers"),
                                        join_path(path, "standard_nameservers"))):
        here = join_path(join_path(path, "standard_nameservers"), i)
        sm = r.mapping(item, here, ("name", "ipv4", "ipv6"), required=("name",))
        if sm is None or "name" not in sm:
            continue
        name = r.host_name(sm["name"], join_path(here, "name"))
        if name:
            standard.append(StandardNameserver(name, r.address(sm, "ipv4", here, 4),
                                               r.address(sm, "ipv6", here, 6)))
    pools_path = join_path(path, "address_pools")
    pools = r.mapping(m.get("address_pools"), pools_path, ("ipv4", "ipv6")) or {}
    v4: list[Any] = []
    v6: list[Any] = []
    for family, out in (("ipv4", v4), ("ipv6", v6)):
        for i, item in enumerate(r.sequence(pools.get(family), join_path(pools_path, family))):
            try:
                net = ipaddress.ip_network(str(item), strict=False)
                if net.version != (4 if family == "ipv4" else 6):
                    raise ValueError(f"not an {family} network")
                out.append(net)
            except ValueError as exc:
                r.error(join_path(join_path(pools_path, family), i), f"{item!r}: {exc}", "R7")
    zones_dir = base / str(m.get("zones_dir", "zones"))
    state = m.get("state_file")
    state_file = base / str(state) if state else config_file.with_suffix(".state.db")
    chaos_value = m.get("chaos", True)
    chaos: tuple[tuple[str, str], ...] = ()
    if chaos_value is True:
        host = socket.gethostname()
        chaos = (("version.bind", f"acnsd {__version__}"), ("id.server", host),
                 ("hostname.bind", host))
    elif isinstance(chaos_value, dict):
        cm = r.mapping(chaos_value, join_path(path, "chaos"), CHAOS_NAMES) or {}
        chaos = tuple((k, str(v)) for k, v in cm.items() if k in CHAOS_NAMES)
    elif chaos_value is not False:
        r.error(join_path(path, "chaos"), "must be true, false or a mapping of "
                f"{', '.join(CHAOS_NAMES)} to text")
    metrics = None
    if m.get("metrics") is not None:
        try:
            metrics = parse_hostport(str(m["metrics"]))
        except ValueError as exc:
            r.error(join_path(path, "metrics"), f"{m['metrics']!r}: {exc}")
    log_format = r.string(m, "log_format", path, "plain")
    if log_format not in LOG_FORMATS:
        r.error(join_path(path, "log_format"), f"{log_format!r}: one of {', '.join(LOG_FORMATS)}")
        log_format = "plain"
    return ServerConfig(
        listen=tuple(listen),
        port=port,
        serve_assigned_addresses=r.boolean(m, "serve_assigned_addresses", path, False),
        standard_nameservers=tuple(standard),
        ipv4_pools=tuple(v4),
        ipv6_pools=tuple(v6),
        zones_dir=zones_dir,
        state_file=state_file,
        edns_udp_size=r.integer(m, "edns_udp_size", path, 512, 65535, default=1232),
        nsid=r.string(m, "nsid", path),
        chaos=chaos,
        tcp_idle_timeout=r.number(m, "tcp_idle_timeout", path, 0.1, 3600, 10.0),
        tcp_frame_timeout=r.number(m, "tcp_frame_timeout", path, 0.1, 60, 2.0),
        tcp_max_connections=r.integer(m, "tcp_max_connections", path, 1, 100000, default=256),
        metrics=metrics,
        user=r.string(m, "user", path),
        log_format=log_format,
        query_log=r.boolean(m, "query_log", path, False),
        snapshot=r.boolean(m, "snapshot", path, True),
        api=_api(r, m["api"], join_path(path, "api"), base) if "api" in m else None,
        limits=_limits(r, m.get("limits"), join_path(path, "limits")),
        cookies=_cookies(r, m.get("cookies"), join_path(path, "cookies"), base),
        rrl=_rrl(r, m["rrl"], join_path(path, "rrl")) if m.get("rrl") is not None else None,
        verify=_verify(r, m["verify"], join_path(path, "verify")) if "verify" in m else None,
        **_primary(r, m, path, base),
    )


def _primary(r: _Reader, m: dict[str, Any], path: str, base: Path) -> dict[str, Any]:
    """The primary side's keys: `tsig_keys` [{name, algorithm, secret | secret_file}],
    `allow_transfer` [{prefix, key?}], `max_transfers`, `notify` [{address, key?}]; every
    key named must be in `tsig_keys`."""
    keys: dict[str, TsigKey] = {}
    keys_path = join_path(path, "tsig_keys")
    for i, item in enumerate(r.sequence(m.get("tsig_keys"), keys_path)):
        here = join_path(keys_path, i)
        km = r.mapping(item, here, ("name", "algorithm", "secret", "secret_file"),
                       required=("name", "algorithm"))
        if km is None or "name" not in km or "algorithm" not in km:
            continue
        name = _key_name(r, km["name"], join_path(here, "name"))
        algorithm = str(km["algorithm"]).lower()
        if algorithm not in TSIG_ALGORITHMS:
            r.error(join_path(here, "algorithm"), f"{km['algorithm']!r}: one of "
                    f"{', '.join(TSIG_ALGORITHMS)}")
        secret = _secret(r, km, here, base)
        if name in keys:
            r.error(join_path(here, "name"), f"key {name} is listed twice")
        elif name and secret is not None and algorithm in TSIG_ALGORITHMS:
            keys[name] = TsigKey(name, algorithm, secret)
    rules = []
    rules_path = join_path(path, "allow_transfer")
    for i, item in enumerate(r.sequence(m.get("allow_transfer"), rules_path)):
        here = join_path(rules_path, i)
        rm = r.mapping(item, here, ("prefix", "key"), required=("prefix",))
        if rm is None or "prefix" not in rm:
            continue
        try:
            prefix = ipaddress.ip_network(str(rm["prefix"]), strict=False)
        except ValueError as exc:
            r.error(join_path(here, "prefix"), f"{rm['prefix']!r}: {exc}")
            continue
        rules.append(TransferRule(prefix, _known_key(r, rm, here, keys)))
    targets = []
    notify_path = join_path(path, "notify")
    for i, item in enumerate(r.sequence(m.get("notify"), notify_path)):
        here = join_path(notify_path, i)
        remote = _remote(r, item, here, keys)
        if remote is not None:
            targets.append(NotifyTarget(*remote))
    return {
        "tsig_keys": tuple(keys.values()),
        "allow_transfer": tuple(rules),
        "max_transfers": r.integer(m, "max_transfers", path, 1, 10000, default=10),
        "notify": tuple(targets),
        "catalogs": _catalogs(r, m.get("catalogs"), join_path(path, "catalogs")),
        "secondary": _secondary(r, m.get("secondary"), join_path(path, "secondary"), base,
                                keys),
    }


def _remote(r: _Reader, item: Any, path: str,
            keys: dict[str, TsigKey]) -> tuple[str, int, str | None] | None:
    """`{address, key?}` (a NOTIFY target, a primary): host, port (53 when the address has
    none) and the key's name, which `tsig_keys` must define."""
    nm = r.mapping(item, path, ("address", "key"), required=("address",))
    if nm is None or "address" not in nm:
        return None
    text = str(nm["address"])
    try:
        host, port = parse_hostport(text)
    except ValueError:
        try:  # an address alone: port 53
            host, port = str(ipaddress.ip_address(text)), 53
        except ValueError:
            r.error(join_path(path, "address"), f"{text!r}: expected ADDR or ADDR:PORT, "
                    "e.g. 192.0.2.53 or [2001:db8::53]:5353")
            return None
    return host, port, _known_key(r, nm, path, keys)


def _is_secondary(server: Any) -> bool:
    """Whether the configuration has a `server.secondary` (then accounts are optional)."""
    return isinstance(server, dict) and server.get("secondary") is not None


def _secondary(r: _Reader, value: Any, path: str, base: Path,
               keys: dict[str, TsigKey]) -> SecondaryConfig | None:
    """`server.secondary: {primaries, zones, catalogs, dir}`: at least one primary, and
    zones or catalogs to transfer from it; off when absent."""
    if value is None:
        return None
    m = r.mapping(value, path, SECONDARY_KEYS, required=("primaries",))
    if m is None:
        return None
    primaries_path = join_path(path, "primaries")
    primaries = tuple(PrimaryServer(*remote) for i, item in
                      enumerate(r.sequence(m.get("primaries"), primaries_path))
                      if (remote := _remote(r, item, join_path(primaries_path, i), keys)))
    if not primaries and "primaries" in m:
        r.error(primaries_path, "name at least one primary")
    names: dict[str, tuple[str, ...]] = {}
    for key in ("zones", "catalogs"):
        listed = []
        for i, item in enumerate(r.sequence(m.get(key), join_path(path, key))):
            name = _key_name(r, item, join_path(join_path(path, key), i))
            if name is not None and name != "." and name.rstrip(".") not in listed:
                listed.append(name.rstrip("."))
        names[key] = tuple(listed)
    if not names["zones"] and not names["catalogs"]:
        r.error(path, "list the zones to transfer (zones), or catalogs whose members to "
                "transfer (catalogs)")
    directory = r.string(m, "dir", path, "secondary")
    return SecondaryConfig(primaries, names["zones"], names["catalogs"],
                           base / str(directory))


def _catalogs(r: _Reader, value: Any, path: str) -> CatalogsConfig | None:
    """`server.catalogs: {name, per_set}`: the catalog zones produced (RFC 9432); `name` a
    domain name, lower-cased without its final dot; off when absent."""
    if value is None:
        return None
    m = r.mapping(value, path, ("name", "per_set"), required=("name",))
    if m is None or "name" not in m:
        return None
    name = _key_name(r, m["name"], join_path(path, "name"))
    per_set = r.boolean(m, "per_set", path, False)
    if name is None:
        return None
    if name == ".":
        r.error(join_path(path, "name"), "the root cannot be a catalog zone")
        return None
    return CatalogsConfig(name.rstrip("."), per_set)


def _key_name(r: _Reader, value: Any, path: str) -> str | None:
    """A domain name (a TSIG key's, a catalog's), absolute and lower-cased."""
    try:
        return dns.name.from_text(str(value)).to_text().lower()
    except dns.exception.DNSException as exc:
        r.error(path, f"{value!r} is not a domain name: {exc}")
        return None


def _secret(r: _Reader, m: dict[str, Any], path: str, base: Path) -> bytes | None:
    """A key's secret: base64 inline (`secret`) or in a file (`secret_file`, relative to
    the configuration's directory), exactly one of them."""
    if ("secret" in m) == ("secret_file" in m):
        r.error(path, "give exactly one of 'secret' (base64) and 'secret_file'")
        return None
    if "secret" in m:
        text, where = str(m["secret"]), join_path(path, "secret")
    else:
        where = join_path(path, "secret_file")
        try:
            text = (base / str(m["secret_file"])).read_text().strip()
        except OSError as exc:
            r.error(where, f"{m['secret_file']!r} cannot be read: {exc.strerror}")
            return None
    try:
        secret = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        r.error(where, "the secret is not base64 text")
        return None
    if not secret:
        r.error(where, "the secret is empty")
        return None
    return secret


def _known_key(r: _Reader, m: dict[str, Any], path: str, keys: dict[str, TsigKey]) -> str | None:
    """The key a rule or target names, which `tsig_keys` must define; None: unsigned."""
    if m.get("key") is None:
        return None
    name = _key_name(r, m["key"], join_path(path, "key"))
    if name is not None and name not in keys:
        r.error(join_path(path, "key"), f"{m['key']!r} is not in server.tsig_keys")
    return name


def _limits(r: _Reader, value: Any, path: str) -> Limits:
    """`server.limits`: each a positive integer; an absent key keeps its default."""
    m = r.mapping(value, path, LIMIT_KEYS) or {}
    defaults = Limits()
    return Limits(**{key: r.integer(m, key, path, 1, 10**12, default=getattr(defaults, key))
                     for key in LIMIT_KEYS})


def _cookies(r: _Reader, value: Any, path: str, base: Path) -> CookiesConfig:
    """`server.cookies: {enabled, secret_file, require}`; secret_file is relative to the
    configuration's directory."""
    m = r.mapping(value, path, COOKIES_KEYS) or {}
    secret_file = r.string(m, "secret_file", path)
    secrets: tuple[bytes, ...] = ()
    if secret_file:
        where = join_path(path, "secret_file")
        try:
            lines = (base / secret_file).read_text().split()
            secrets = tuple(bytes.fromhex(line) for line in lines)
        except (OSError, ValueError) as exc:
            r.error(where, f"{secret_file!r}: {getattr(exc, 'strerror', None) or exc}")
        else:
            if not 1 <= len(secrets) <= 2 or any(len(s) != 16 for s in secrets):
                r.error(where, f"{secret_file!r}: one or two secrets of 16 octets in hex, one "
                        "a line (the current one first)")
                secrets = ()
    return CookiesConfig(
        enabled=r.boolean(m, "enabled", path, True),
        secrets=secrets,
        require=r.boolean(m, "require", path, False),
    )


def _rrl(r: _Reader, value: Any, path: str) -> RrlConfig | None:
    """`server.rrl: {rate, slip, ipv4_prefix, ipv6_prefix, table_size}`; rate is required."""
    m = r.mapping(value, path, RRL_KEYS, required=("rate",))
    if m is None or "rate" not in m:
        return None
    default = RrlConfig(rate=1)
    return RrlConfig(
        rate=r.integer(m, "rate", path, 1, 10**9),
        slip=r.integer(m, "slip", path, 0, 100, default=default.slip),
        ipv4_prefix=r.integer(m, "ipv4_prefix", path, 1, 32, default=default.ipv4_prefix),
        ipv6_prefix=r.integer(m, "ipv6_prefix", path, 1, 128, default=default.ipv6_prefix),
        table_size=r.integer(m, "table_size", path, 1, 10**8, default=default.table_size),
    )


def _verify(r: _Reader, value: Any, path: str) -> VerifyConfig:
    """`server.verify: {roots, port, interval, timeout}` (`{}` or null: every default):
    roots are IP addresses, the IANA root hints when absent."""
    m = r.mapping(value if value is not None else {}, path, VERIFY_KEYS) or {}
    default = VerifyConfig()
    roots = []
    given = r.sequence(m.get("roots", list(default.roots)), join_path(path, "roots"))
    for i, item in enumerate(given):
        try:
            roots.append(str(ipaddress.ip_address(str(item))))
        except ValueError:
            r.error(join_path(join_path(path, "roots"), i), f"{item!r} is not an IP address")
    if not given:
        r.error(join_path(path, "roots"), "at least one root server address")
    return VerifyConfig(
        roots=tuple(roots) or default.roots,
        port=r.integer(m, "port", path, 1, 65535, default=default.port),
        interval=r.number(m, "interval", path, 0, 7 * 86400, default.interval),
        timeout=r.number(m, "timeout", path, 0.05, 60, default.timeout),
    )


def _api(r: _Reader, value: Any, path: str, base: Path) -> ApiConfig | None:
    """`server.api: {listen, tokens_file, max_connections, header_timeout, body_timeout}`:
    loopback by default; tokens_file is required."""
    m = r.mapping(value, path, ("listen", "tokens_file", "max_connections", "header_timeout",
                                "body_timeout"), required=("tokens_file",))
    if m is None or "tokens_file" not in m:
        return None
    text = r.string(m, "listen", path, API_LISTEN_DEFAULT)
    tokens = r.string(m, "tokens_file", path)
    default = ApiLimits()
    limits = ApiLimits(
        max_connections=r.integer(m, "max_connections", path, 1, 100000,
                                  default=default.max_connections),
        header_timeout=r.number(m, "header_timeout", path, 0.1, 3600, default.header_timeout),
        body_timeout=r.number(m, "body_timeout", path, 0.1, 3600, default.body_timeout))
    try:
        listen = parse_hostport(str(text))
    except ValueError as exc:
        r.error(join_path(path, "listen"), f"{text!r}: {exc}")
        return None
    return ApiConfig(listen, base / tokens, limits) if tokens else None


def _account(r: _Reader, value: Any, path: str, zones_dir: Path) -> Account | None:
    m = r.mapping(value, path, ACCOUNT_KEYS, required=("id",))
    if m is None or "id" not in m:
        return None
    names = []
    cns_path = join_path(path, "custom_nameservers")
    for i, item in enumerate(r.sequence(m.get("custom_nameservers"), cns_path)):
        ns = _custom_nameserver(r, item, join_path(cns_path, i))
        if ns:
            names.append(ns)
    settings_path = join_path(path, "dns_settings")
    sm = r.mapping(m.get("dns_settings"), settings_path, ("zone_defaults",)) or {}
    defaults = _zone_defaults(r, sm.get("zone_defaults"), join_path(settings_path,
                                                                    "zone_defaults"))
    zones = []
    zones_path = join_path(path, "zones")
    for i, item in enumerate(r.sequence(m.get("zones"), zones_path)):
        zone = _zone(r, item, "", join_path(zones_path, i), zones_dir)
        if zone:
            zones.append(zone)
    return Account(str(m["id"]), str(m.get("name", m["id"])), tuple(names), defaults,
                   tuple(zones), path)


def _custom_nameserver(r: _Reader, value: Any, path: str) -> CustomNameserver | None:
    cm = r.mapping(value, path, ("ns_name", "ns_set", "ipv4", "ipv6"), required=("ns_name",))
    if cm is None or "ns_name" not in cm:
        return None
    name = r.host_name(cm["ns_name"], join_path(path, "ns_name"))
    ns_set = r.integer(cm, "ns_set", path, 1, 5, default=1, rule="R2")
    v4 = r.address(cm, "ipv4", path, 4, "R7")
    v6 = r.address(cm, "ipv6", path, 6, "R7")
    return CustomNameserver(name, ns_set, v4, v6, path) if name else None


def _zone_defaults(r: _Reader, value: Any, path: str) -> DnsSettings:
    return _settings(r, value, path, DEFAULT_NS_TYPES, allow_set=False) or DnsSettings()


def _zone(r: _Reader, value: Any, source: str, at: str,
          zones_dir: Path) -> ZoneConfig | None:
    """The zone entry at `at` in `source` (ZoneConfig's: "" for acnsd.yaml)."""
    path = yaml_path(source, at)
    m = r.mapping(value, path, ("name", "file", "dns_settings", "vanity_name_servers"),
                  required=("name",))
    if m is None or "name" not in m:
        return None
    if not isinstance(m["name"], str):  # `name: no` is a boolean, `name: 1.5` a number
        r.error(join_path(path, "name"), f"a zone name must be a string, not "
                f"{_kind(m['name'])} ({m['name']!r}); quote it")
        return None
    name = normalize(m["name"])
    why = zone_name_error(name)
    if why:
        r.error(join_path(path, "name"), f"zone name {m['name']!r} {why}")
        return None
    file = str(zones_dir / str(m.get("file", f"{name}.zone")))
    settings = _zone_settings(r, m.get("dns_settings"), join_path(path, "dns_settings"))
    vanity = _vanity(r, m.get("vanity_name_servers"), join_path(path, "vanity_name_servers"))
    return ZoneConfig(name, file, settings, vanity, source, at)


def _zone_settings(r: _Reader, value: Any, path: str) -> DnsSettings:
    """A zone's dns_settings; read once for the zones that have them alike (most of 10^5
    zones have one of a few), while they are without problems (which name their path)."""
    key = repr(value)  # (each YAML value's repr tells it from the others)
    settings = _SETTINGS.get(key)
    if settings is not None:
        return settings
    problems = len(r.problems)
    settings = shared(_settings(r, value, path, NS_TYPES, allow_set=True) or DnsSettings())
    if len(r.problems) == problems:
        if len(_SETTINGS) >= _SETTINGS_KEPT:
            _SETTINGS.clear()
        _SETTINGS[key] = settings
    return settings


# The zone dns_settings read last without problems, by their value's repr (_zone_settings)
_SETTINGS: dict[str, DnsSettings] = {}
_SETTINGS_KEPT = 4096


def _vanity(r: _Reader, value: Any, path: str) -> tuple[str, ...]:
    hosts = [r.host_name(item, join_path(path, i))
             for i, item in enumerate(r.sequence(value, path))]
    return tuple(host for host in hosts if host)


def _settings(r: _Reader, value: Any, path: str, types: tuple[str, ...],
              allow_set: bool) -> DnsSettings | None:
    m = r.mapping(value, path, SETTINGS_KEYS)
    if m is None:
        return None
    nameservers = None
    if "nameservers" in m:
        npath = join_path(path, "nameservers")
        nm = r.mapping(m["nameservers"], npath, ("type", "ns_set") if allow_set else ("type",),
                       required=("type",))
        if nm and "type" in nm:
            ns_type = nm["type"]
            if ns_type not in types:
                close = difflib.get_close_matches(str(ns_type), types, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                r.error(join_path(npath, "type"),
                        f"unknown nameserver type {ns_type!r}{hint}; one of {', '.join(types)}")
            else:
                nameservers = Nameservers(ns_type, r.integer(nm, "ns_set", npath, 1, 5,
                                                             rule="R2"))
    soa = None
    if "soa" in m:
        spath = join_path(path, "soa")
        sm = r.mapping(m["soa"], spath, SOA_KEYS) or {}
        values = {k: r.integer(sm, k, spath, lo, hi, rule="R10")
                  for k, (lo, hi) in SOA_RANGES.items()}
        mname = sm.get("mname")
        rname = sm.get("rname")
        if mname is not None:
            mname = r.host_name(mname, join_path(spath, "mname"), "R10")
        if rname is not None:
            rname = normalize(str(rname))
            why = zone_name_error(rname)
            if why or "." not in rname:
                r.error(join_path(spath, "rname"), f"{sm['rname']!r} is not a mailbox name "
                        "(hostmaster.example.com)", "R10")
                rname = None
        soa = Soa(mname=mname, rname=rname, **values)
    return DnsSettings(
        nameservers=nameservers,
        ns_ttl=r.integer(m, "ns_ttl", path, *NS_TTL_RANGE, rule="R9"),
        soa=soa,
        multi_provider=r.boolean(m, "multi_provider", path),
    )
