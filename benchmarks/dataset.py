"""The deterministic benchmark data set: accounts, ACNS sets, zones and their records.

Everything a server must serve is decided here, once, from the profile alone (no clock,
no unseeded randomness): the same profile always gives the same zones, records and
addresses. The apex SOA and NS and the automatic ACNS A/AAAA that acnsd synthesizes
(DESIGN.md R8-R10) are computed here too, so that the zone files written for Knot DNS,
NSD and dnslib hold exactly what acnsd serves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cached_property

__all__ = ["PROFILES", "Account", "DataSet", "Nameserver", "Profile", "Zone", "generate",
           "zones_profile"]

DEFAULT_NS_TTL = 86400
SOA_TTL = 3600
SOA_TIMERS = "10000 2400 604800 1800"  # refresh retry expire minimum (DESIGN.md R10)
LARGE_ZONE = "large.test"


@dataclass(frozen=True)
class Profile:
    """The size of a data set."""

    name: str
    accounts: int
    small_zones: int
    small_records: int  # records per small zone, apex SOA/NS not counted
    large_records: int
    child_every: int  # every Nth small zone gets a child zone `dev.<zone>` on another set


PROFILES = {
    "smoke": Profile("smoke", accounts=2, small_zones=20, small_records=8, large_records=120,
                     child_every=5),
    "full": Profile("full", accounts=5, small_zones=1000, small_records=8, large_records=1000,
                    child_every=25),
    "scale": Profile("scale", accounts=20, small_zones=10000, small_records=100,
                     large_records=1000, child_every=100),
}
# what --smoke --scale loads: the smoke set again (its own directory), so that the test
# suite runs that code
PROFILES["smoke-scale"] = replace(PROFILES["smoke"], name="smoke-scale")


def zones_profile(zones: int) -> Profile:
    """`zones` zones (at least 3; one fewer when the last child would overshoot) in one
    account, as providers host them: small zones of 6 records (9 served, with the SOA and
    two NS), one in a hundred with a child zone on another set, the account's own zone and
    `large.test` (100 records)."""
    if zones < 3:
        raise ValueError(f"a data set of {zones} zones: it needs at least 3")
    small = zones - 2  # acct1.test and large.test
    while small + small // 100 > zones - 2:  # the children: every 100th small zone has one
        small -= 1
    return Profile(f"{zones}-zones", accounts=1, small_zones=small, small_records=6,
                   large_records=100, child_every=100)


@dataclass(frozen=True)
class Nameserver:
    """One ACNS name with its pinned addresses."""

    name: str
    ns_set: int
    ipv4: str
    ipv6: str


@dataclass(frozen=True)
class Account:
    """An account and its custom nameservers (sets 1..3)."""

    id: str
    name: str
    nameservers: tuple[Nameserver, ...]

    def ns_set(self, number: int) -> tuple[Nameserver, ...]:
        return tuple(ns for ns in self.nameservers if ns.ns_set == number)


@dataclass(frozen=True)
class Zone:
    """A zone as the acnsd config states it, with its zone-file records (absolute names)."""

    name: str
    account: int
    ns_set: int
    ns_ttl: int
    records: tuple[str, ...]


@dataclass(frozen=True)
class DataSet:
    """Accounts and zones; derives the records every server must serve."""

    profile: Profile
    accounts: tuple[Account, ...]
    zones: tuple[Zone, ...]

    @cached_property
    def _by_name(self) -> dict[str, Zone]:
        return {zone.name: zone for zone in self.zones}

    @cached_property
    def _provided(self) -> dict[str, list[Nameserver]]:
        """Zone name -> the ACNS names whose A/AAAA it serves (R8)."""
        provided: dict[str, list[Nameserver]] = {}
        for index, account in enumerate(self.accounts):
            for ns in account.nameservers:
                zone = self.providing_zone(ns.name)
                if zone is not None and zone.account == index:
                    provided.setdefault(zone.name, []).append(ns)
        return provided

    def providing_zone(self, name: str) -> Zone | None:
        """The longest zone name that is a suffix of `name`, or None."""
        labels = name.split(".")
        for start in range(len(labels)):
            zone = self._by_name.get(".".join(labels[start:]))
            if zone is not None:
                return zone
        return None

    def nameservers(self, zone: Zone) -> tuple[Nameserver, ...]:
        return self.accounts[zone.account].ns_set(zone.ns_set)

    def served_records(self, zone: Zone) -> list[str]:
        """Every record served in `zone`: managed SOA, apex NS, ACNS A/AAAA, file records."""
        origin = zone.name + "."
        nameservers = self.nameservers(zone)
        lines = [
            f"{origin} {SOA_TTL} IN SOA {nameservers[0].name}. hostmaster.{origin} 1 {SOA_TIMERS}"
        ]
        lines += [f"{origin} {zone.ns_ttl} IN NS {ns.name}." for ns in nameservers]
        for ns in self._provided.get(zone.name, ()):
            lines.append(f"{ns.name}. {zone.ns_ttl} IN A {ns.ipv4}")
            lines.append(f"{ns.name}. {zone.ns_ttl} IN AAAA {ns.ipv6}")
        return lines + list(zone.records)

    def record_count(self) -> int:
        return sum(len(self.served_records(zone)) for zone in self.zones)


def _ipv4(index: int) -> str:
    return f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"


def _ipv6(index: int) -> str:
    return f"2001:db8:{(index >> 16) & 0xFFFF:x}::{index & 0xFFFF:x}"


def _account(number: int) -> Account:
    """Account `number` (1-based): sets 1 and 2 in its own zone, set 3 on a vanity domain."""
    names = [
        (f"ns1.acct{number}.test", 1), (f"ns2.acct{number}.test", 1),
        (f"ns3.acct{number}.test", 2), (f"ns4.acct{number}.test", 2),
        (f"ns1.vanity{number}.example", 3), (f"ns2.vanity{number}.example", 3),
    ]
    nameservers = tuple(
        Nameserver(name, ns_set, f"127.53.{number}.{i + 1}", f"fd00:53:0:{number:x}::{i + 1:x}")
        for i, (name, ns_set) in enumerate(names)
    )
    account_id = hashlib.md5(f"acnsd-bench-{number}".encode()).hexdigest()
    return Account(account_id, f"Bench Account {number}", nameservers)


def _large_zone(count: int) -> tuple[str, ...]:
    """~`count` records: hosts, CNAMEs and a chain, wildcards, a delegation with glue."""
    o = LARGE_ZONE + "."
    fixed = [
        f"{o} 3600 IN A 192.0.2.1", f"{o} 3600 IN AAAA 2001:db8::1",
        f"{o} 3600 IN MX 10 mail1.{o}", f"{o} 3600 IN MX 20 mail2.{o}",
        f'{o} 3600 IN TXT "v=spf1 mx -all"',
        f"mail1.{o} 3600 IN A 192.0.2.25", f"mail2.{o} 3600 IN A 192.0.2.26",
        f"www.{o} 300 IN A 192.0.2.80", f"www.{o} 300 IN A 192.0.2.81",
        f"www.{o} 300 IN AAAA 2001:db8::80",
        f"c1.{o} 300 IN CNAME c2.{o}", f"c2.{o} 300 IN CNAME c3.{o}",
        f"c3.{o} 300 IN CNAME www.{o}",
        f"ext.{o} 300 IN CNAME www.example.net.",
        f"*.wild.{o} 300 IN A 192.0.2.99", f"*.wild.{o} 300 IN AAAA 2001:db8::99",
        f'*.wild.{o} 300 IN TXT "wildcard"',
        f"*.apps.{o} 300 IN CNAME www.{o}",
        f"sub.{o} 3600 IN NS ns1.sub.{o}", f"sub.{o} 3600 IN NS ns2.sub.{o}",
        f"ns1.sub.{o} 3600 IN A 192.0.2.53", f"ns1.sub.{o} 3600 IN AAAA 2001:db8::53",
        f"ns2.sub.{o} 3600 IN A 192.0.2.54",
        f"other.{o} 3600 IN NS ns.example.net.",
        f"_sip._udp.{o} 3600 IN SRV 10 60 5060 www.{o}",
    ]
    body = []
    index = 0
    while len(fixed) + len(body) < count:
        n = index // 10
        kind = index % 10
        if kind < 6:
            body.append(f"host{n * 6 + kind:04d}.{o} 3600 IN A {_ipv4(0x010000 + index)}")
        elif kind < 8:
            body.append(f"host{n * 6 + kind - 6:04d}.{o} 3600 IN AAAA {_ipv6(0x10000 + index)}")
        elif kind == 8:
            body.append(f"alias{n:04d}.{o} 300 IN CNAME host{n * 6:04d}.{o}")
        else:
            body.append(f'txt{n:04d}.{o} 3600 IN TXT "record {n}"')
        index += 1
    return tuple(fixed + body)


def _small_zone(name: str, index: int, count: int, child: Zone | None,
                accounts: list[Account]) -> tuple[str, ...]:
    o = name + "."
    base = index * 256
    lines = [
        f"{o} 3600 IN A {_ipv4(base)}", f"{o} 3600 IN AAAA {_ipv6(base)}",
        f"{o} 3600 IN MX 10 mail.{o}", f'{o} 3600 IN TXT "v=spf1 mx -all"',
        f"www.{o} 3600 IN CNAME {o}", f"mail.{o} 3600 IN A {_ipv4(base + 1)}",
    ]
    host = 0
    while len(lines) < count:
        kind = host % 5
        if kind < 3:
            lines.append(f"h{host}.{o} 3600 IN A {_ipv4(base + 2 + host)}")
        elif kind == 3:
            lines.append(f"h{host - 1}.{o} 3600 IN AAAA {_ipv6(base + 2 + host)}")
        else:
            lines.append(f'h{host - 2}.{o} 3600 IN TXT "host {host}"')
        host += 1
    if child is not None:  # the delegation to the child, on the child's own set
        child_ns = accounts[child.account].ns_set(child.ns_set)
        lines += [f"{child.name}. 86400 IN NS {ns.name}." for ns in child_ns]
    return tuple(lines)


def generate(profile: Profile) -> DataSet:
    """Build the data set of `profile`; the same profile always gives the same data set."""
    accounts = [_account(number) for number in range(1, profile.accounts + 1)]
    zones = [
        Zone(f"acct{i + 1}.test", i, 1, DEFAULT_NS_TTL,
             (f'acct{i + 1}.test. 3600 IN TXT "{accounts[i].name}"',))
        for i in range(len(accounts))
    ]
    zones.append(Zone(LARGE_ZONE, 0, 1, DEFAULT_NS_TTL, _large_zone(profile.large_records)))
    for index in range(profile.small_zones):
        name = f"zone{index:05d}.test"
        account = index % profile.accounts
        ns_set = 3 if index % 7 == 3 else 2 if index % 3 == 1 else 1
        ns_ttl = 3600 if index % 4 == 2 else DEFAULT_NS_TTL
        child = None
        if index % profile.child_every == profile.child_every - 1:
            child_set = 1 if ns_set == 2 else 2  # R5: a child uses another set than its parent
            child_records = (f"dev.{name}. 3600 IN A {_ipv4(index * 256 + 255)}",)
            child = Zone(f"dev.{name}", account, child_set, DEFAULT_NS_TTL, child_records)
        records = _small_zone(name, index, profile.small_records, child, accounts)
        zones.append(Zone(name, account, ns_set, ns_ttl, records))
        if child is not None:
            zones.append(child)
    return DataSet(profile, tuple(accounts), tuple(zones))
