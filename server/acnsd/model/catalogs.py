"""Catalog zones (RFC 9432, version 2): the zones served here, listed for secondaries.

Rules owned here:

- With `server.catalogs.name` (e.g. `catalog.invalid`), acnsd produces a catalog of every
  zone it serves; with `per_set: true`, also one per ACNS set of each account, named
  `<account id>-set<N>.<name>`, whose members are the account's zones served on that set
  (`custom.account` with ns_set N): a fleet that serves set N's addresses consumes exactly
  set N's zones. Every set an account defines has its catalog, empty or not.
- A catalog holds its SOA (`invalid. invalid. <serial> 3600 600 2147483646 0`, as the
  catalogs Knot DNS generates), NS `invalid.` (§4.1), `version` TXT "2" (§4.2.1) and, per
  member zone, `<unique-id>.zones` PTR `<member>.` (§4.2), every TTL 0. The serial is the
  store's, decided by content as a zone's (recording.py).
- A member's unique-id is the zone's id (types.zone_id: 32 hex digits of SHA-256 of its
  name, the API's zone id): stable across restarts, reloads and moves between sets, and
  the same for a zone deleted and created again. So acnsd never asks a consumer to reset a
  member (§5.4: that takes a new id); a zone created again continues above its old serial
  (store.py), so a consumer that still holds its old copy is brought up to date by
  transfer.
- The catalogs' names are reserved: a zone at or below `server.catalogs.name` is an error
  (`reserved`), at a load and for a zone created through the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from ..dns.plan import ZonePlan, zone_plan
from ..dns.wire import WireName, WireRRset, encode_rrset, pack_fixed
from ..errors import ConfigError, Problem
from .types import Account, Model, ResolvedZone, ServerConfig, zone_id

__all__ = ["Catalogs", "catalog_members", "catalog_plan", "member_rrset", "membership",
           "reserved", "set_catalog"]

VERSION = "2"
SOA_RDATA = "invalid. invalid. {serial} 3600 600 2147483646 0"
_IN = dns.rdataclass.IN
_PTR_FIXED = pack_fixed(dns.rdatatype.PTR, 0)


def set_catalog(suffix: str, account: str, ns_set: int) -> str:
    """The name of one ACNS set's catalog."""
    return f"{account.lower()}-set{ns_set}.{suffix}"


def catalog_members(server: ServerConfig, accounts: Iterable[Account],
                    zones: Iterable[ResolvedZone]) -> dict[str, tuple[str, ...]]:
    """Each catalog produced → its member zones, sorted (none without server.catalogs).
    Raises ConfigError when a zone has a catalog's name."""
    config = server.catalogs
    if config is None:
        return {}
    zones = tuple(zones)
    members: dict[str, list[str]] = {config.name: [zone.name for zone in zones]}
    if config.per_set:
        for account in accounts:
            for ns in account.custom_nameservers:
                members.setdefault(set_catalog(config.name, account.id, ns.ns_set), [])
        for zone in zones:
            if zone.ns_type == "custom.account" and zone.ns_set is not None:
                members[set_catalog(config.name, zone.account, zone.ns_set)].append(zone.name)
    taken = [problem for zone in zones if (problem := reserved(server, zone.name))]
    if taken:
        raise ConfigError([Problem(problem) for problem in sorted(taken)])
    return {name: tuple(sorted(names)) for name, names in members.items()}


def membership(zone: ResolvedZone) -> tuple[str, str, str, int | None]:
    """What of a zone decides the catalogs it is a member of (catalog_members): a change
    that keeps it, and adds or removes no zone, changes no catalog."""
    return zone.name, zone.account, zone.ns_type, zone.ns_set


def reserved(server: ServerConfig, zone: str) -> str | None:
    """Why `zone` may not be served (at or below server.catalogs.name), or None."""
    config = server.catalogs
    if config is None or not (zone == config.name or zone.endswith("." + config.name)):
        return None
    return (f"zone {zone} is at or below {config.name}, where acnsd names its catalog zones "
            "(server.catalogs.name): rename one of them")


def catalog_plan(name: str, members: Iterable[str],
                 rrsets: Mapping[str, WireRRset] | None = None, serial: int = 0) -> ZonePlan:
    """The catalog `name` listing `members` (module doc), its SOA last as build_zone's,
    with `serial` (the store's, when recorded: `recording` decides it); `rrsets` holds
    member PTR RRsets built before, by member name."""
    origin = dns.name.from_text(name)
    held = rrsets or {}
    records = [_rrset(origin, dns.rdatatype.NS, "invalid."),
               _rrset(dns.name.Name(("version", *origin.labels)), dns.rdatatype.TXT,
                      f'"{VERSION}"')]
    records += [held.get(member) or member_rrset(origin, member) for member in members]
    records.append(_rrset(origin, dns.rdatatype.SOA, SOA_RDATA.format(serial=serial)))
    return zone_plan(origin, records)


def member_rrset(origin: dns.name.Name, member: str) -> WireRRset:
    """`<unique-id>.zones.<catalog> 0 PTR <member>.` (§4.2), encoded as wire.encode_rrset
    does, from the labels themselves (a zone's name is plain ASCII labels: the schema's):
    through dnspython each takes about 60 µs, and a load of 10,000 zones waits for them."""
    owner = _wire((zone_id(member), "zones")) + origin.to_wire()
    target = WireName(_wire(member.split(".")) + b"\0")
    return WireRRset(WireName(owner), dns.rdatatype.PTR, _PTR_FIXED, ((target,),))


def _wire(labels: Iterable[str]) -> bytes:
    return b"".join(bytes((len(label),)) + label.encode("ascii") for label in labels)


def _rrset(owner: dns.name.Name, rdtype: dns.rdatatype.RdataType, text: str) -> WireRRset:
    rrset = dns.rrset.RRset(owner, _IN, rdtype)
    rrset.add(dns.rdata.from_text(_IN, rdtype, text), 0)
    return encode_rrset(rrset)


class Catalogs:
    """The catalogs of the model served, kept so that a change rebuilds only the catalogs
    whose members it changes, reusing the PTR RRsets of the members that stay."""

    def __init__(self, model: Model) -> None:
        self.members = catalog_members(model.server, model.accounts, model.zones)
        self._rrsets: dict[str, dict[str, WireRRset]] = {}

    def changed(self, model: Model) -> dict[str, ZonePlan | None]:
        """The plans of the catalogs whose members differ in `model` from the last
        model's (None: a catalog no longer produced); `model` becomes the last."""
        after = catalog_members(model.server, model.accounts, model.zones)
        plans: dict[str, ZonePlan | None] = {}
        for name in self.members.keys() - after.keys():
            plans[name] = None
            self._rrsets.pop(name, None)
        for name, members in after.items():
            if self.members.get(name) == members:
                continue
            origin = dns.name.from_text(name)
            old = self._rrsets.get(name, {})
            held = self._rrsets[name] = {member: old.get(member) or member_rrset(origin, member)
                                         for member in members}
            plans[name] = catalog_plan(name, members, held)
        self.members = after
        return plans
