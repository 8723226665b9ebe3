"""Nameserver sets and the assignment of nameservers to zones (rules R2-R6).

- R2/R3: an account's sets are numbered 1..5 and hold at most five names; a name belongs
  to exactly one set of one account (names are unique server-wide).
- R4: a set with fewer than two names is unavailable; a zone on it is an error that names
  every such zone.
- R5: two zones in one direct hierarchy that both use `custom.account` use different sets.
- R6: a zone seen for the first time receives the account's zone_defaults; with
  `custom.account`, set 1 is tried first, then 2..5, skipping unavailable sets and sets
  that would break R5. What the zone received is recorded in the state file, so changing
  the defaults later moves no existing zone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import Problem
from .names import is_subdomain
from .state import State, share_equal
from .types import (
    CUSTOM_ACCOUNT,
    CUSTOM_ZONE,
    NS_TTL_DEFAULT,
    SOA_DEFAULTS,
    STANDARD,
    STANDARD_RANDOM,
    Account,
    CustomNameserver,
    DnsSettings,
    ResolvedZone,
    ServerConfig,
    Soa,
    ZoneConfig,
    shared,
)
from .yamlsrc import join_path

__all__ = [
    "Decision",
    "Occurrence",
    "account_sets",
    "as_recorded",
    "available_sets",
    "check_names",
    "decide",
    "default_reason",
    "duplicate_zone",
    "finish",
    "first_set",
    "no_set_left",
    "nameserver_occurrence",
    "record_for",
    "repeated",
    "resolve_zones",
    "same_set_in_hierarchy",
    "set_too_large",
    "unavailable_set",
    "vanity_occurrences",
    "zone_checks",
]

# The rule of a duplicate account id or zone name (ids and zone names are unique server-wide)
UNIQUE = "unique"
MAX_SET_NAMES = 5
MIN_SET_NAMES = 2

Locate = Callable[[str, str, str | None], Problem]  # (path, message, rule) -> Problem


def account_sets(account: Account) -> dict[int, tuple[str, ...]]:
    """Set number → its names, in configuration order."""
    sets: dict[int, list[str]] = defaultdict(list)
    for ns in account.custom_nameservers:
        sets[ns.ns_set].append(ns.ns_name)
    return {k: tuple(v) for k, v in sorted(sets.items())}


def ancestors(name: str) -> Iterator[str]:
    """Proper ancestors of a name, nearest first (`a.b.c` → `b.c`, `c`)."""
    while "." in name:
        name = name.split(".", 1)[1]
        yield name


WHY_SET = "a name belongs to exactly one set of one account"
WHY_VANITY = "each nameserver name has its own addresses, so it can be used in one place only"


class Occurrence(NamedTuple):
    """One place where a nameserver name is configured, as R3 sees it."""

    name: str
    entry: str  # YAML path of the entry holding it: what a later use is told
    path: str  # YAML path of the name itself: where a later use is reported
    account: str | None  # None: a standard nameserver (the server's own)
    why: str  # why a later use is refused


def nameserver_occurrence(ns: CustomNameserver, account_id: str) -> Occurrence:
    return Occurrence(ns.ns_name, ns.path, f"{ns.path}.ns_name", account_id, WHY_SET)


def vanity_occurrences(zone: ZoneConfig, account_id: str) -> Iterator[Occurrence]:
    for i, name in enumerate(zone.vanity_name_servers):
        path = f"{zone.path}.vanity_name_servers[{i}]"
        yield Occurrence(name, path, path, account_id, WHY_VANITY)


def repeated(first: Occurrence, later: Occurrence, locate: Locate) -> Problem:
    """R3: `later` uses the name that `first`, before it in the file, configures; another
    account's use is not told to the account."""
    problem = locate(later.path, f"{later.name} is already configured at {first.entry}; "
                     f"{later.why}", "R3")
    if first.account is not None and first.account != later.account:
        problem = dataclasses.replace(
            problem, accounts=(later.account, first.account),
            tenant_message=f"{later.name} is already in use on this server; {later.why}")
    return problem


def set_too_large(account: Account, number: int, names: tuple[str, ...],
                  locate: Locate) -> Problem:
    """R3: set `number` of `account` holds `names`, more than a set may."""
    first = next(ns for ns in account.custom_nameservers if ns.ns_set == number)
    return locate(first.path, f"set {number} of account {account.id} has {len(names)} names "
                  f"({', '.join(names)}); a set holds at most {MAX_SET_NAMES}", "R3")


def duplicate_zone(zone: ZoneConfig, first: str, locate: Locate) -> Problem:
    """A zone configured twice in one account (`first`: the YAML path of the first)."""
    return locate(f"{zone.path}.name", f"zone {zone.name} is already configured at {first}",
                  UNIQUE)


def check_names(accounts: tuple[Account, ...], server: ServerConfig,
                locate: Locate) -> list[Problem]:
    """R3: at most five names a set; every name in one set of one account only."""
    problems: list[Problem] = []
    seen: dict[str, Occurrence] = {}
    for i, standard in enumerate(server.standard_nameservers):
        here = f"server.standard_nameservers[{i}]"
        if standard.name in seen:
            problems.append(locate(f"{here}.name", f"{standard.name} is already listed at "
                                   f"{seen[standard.name].entry}", "R3"))
        else:
            seen[standard.name] = Occurrence(standard.name, here, here, None, "")
    ids: dict[str, str] = {}
    for account in accounts:
        if account.id in ids:
            problems.append(locate(join_path(account.path, "id"), f"account id {account.id} "
                                   f"is already used at {ids[account.id]}; account ids are "
                                   "unique", UNIQUE))
        else:
            ids[account.id] = account.path
        for number, names in account_sets(account).items():
            if len(names) > MAX_SET_NAMES:
                problems.append(set_too_large(account, number, names, locate))
        uses = [nameserver_occurrence(ns, account.id) for ns in account.custom_nameservers]
        for zone in account.zones:
            uses += vanity_occurrences(zone, account.id)
        for use in uses:
            first = seen.setdefault(use.name, use)
            if first is not use:
                problems.append(repeated(first, use, locate))
    return problems


@dataclass
class _Hierarchy:
    """custom.account zones resolved so far, for the R5 check, per account."""

    sets_by_zone: dict[str, int] = field(default_factory=dict)
    sets_below: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def conflict(self, zone: str, ns_set: int) -> str | None:
        for parent in ancestors(zone):
            if self.sets_by_zone.get(parent) == ns_set:
                return parent
        if ns_set in self.sets_below.get(zone, ()):
            return next(z for z, s in self.sets_by_zone.items()
                        if s == ns_set and z != zone and is_subdomain(z, zone))
        return None

    def add(self, zone: str, ns_set: int) -> None:
        self.sets_by_zone[zone] = ns_set
        for parent in ancestors(zone):
            self.sets_below[parent].add(ns_set)


def _standard_pair(server: ServerConfig, account_id: str) -> tuple[str, ...]:
    names = [ns.name for ns in server.standard_nameservers]
    if len(names) <= 2:
        return tuple(names)
    start = int(hashlib.sha256(account_id.encode()).hexdigest(), 16) % len(names)
    return (names[start], names[(start + 1) % len(names)])


def _merge_soa(*layers: Soa | None) -> Soa:
    """Field by field, the first layer that sets a field wins."""
    values: dict[str, object] = {}
    for layer in layers:
        if layer is not None:
            for name, value in layer.__dict__.items():
                if value is not None:
                    values.setdefault(name, value)
    return shared(Soa(**values))  # type: ignore[arg-type]


def _soa_to_state(soa: Soa | None) -> dict[str, object] | None:
    if soa is None:
        return None
    return {k: v for k, v in soa.__dict__.items() if v is not None}


def resolve_zones(accounts: tuple[Account, ...], server: ServerConfig, state: State,
                  locate: Locate) -> tuple[list[ResolvedZone], list[Problem], list[Problem]]:
    """Decide every zone's nameservers and settings; returns (zones, errors, warnings)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    resolved: list[ResolvedZone] = []
    for account in accounts:  # (one name in two accounts breaks R11: tenants.py says so)
        owner: dict[str, str] = {}
        for zone in account.zones:
            if zone.name in owner:
                problems.append(duplicate_zone(zone, owner[zone.name], locate))
            else:
                owner[zone.name] = zone.path
    if problems:
        return [], problems, warnings
    received: dict[str, dict[str, Any]] = {}
    for account in accounts:  # each judged by the state as recorded before this load
        zones, errs, warns, records = _resolve_account(account, server, state, locate)
        resolved += zones
        problems += errs
        warnings += warns
        received.update(records)
    share_equal(received)
    state.zones.update(received)
    return resolved, problems, warnings


class Decision(NamedTuple):
    """A zone's nameservers, and why."""

    ns_type: str
    ns_set: int | None
    nameservers: tuple[str, ...]
    reason: str  # "explicit", "zone default", "zone default (recorded)", "standard"


def default_reason(new: bool) -> str:
    """Why a zone has the nameservers it received from the zone defaults: just now (R6),
    or as recorded before."""
    return "zone default" if new else "zone default (recorded)"


def as_recorded(zone: ResolvedZone) -> ResolvedZone:
    """The zone as the next load resolves it, once what it received is recorded."""
    if zone.reason != default_reason(True):
        return zone
    return zone.with_reason(default_reason(False))


def available_sets(sets: dict[int, tuple[str, ...]]) -> set[int]:
    """R4: the sets a zone may use."""
    return {n for n, names in sets.items() if len(names) >= MIN_SET_NAMES}


def record_for(zone: ZoneConfig, account: Account, recorded: Mapping[str, dict[str, Any]],
               server: ServerConfig) -> tuple[dict[str, Any], bool]:
    """What `zone` received from the zone defaults (R6): as recorded for its account, or,
    for a zone seen for the first time (True), what it receives now."""
    record = recorded.get(zone.name)
    if record is None or record.get("account") != account.id:
        return _record_defaults(zone, account, account.zone_defaults, server), True
    return record, False


def decide(zone: ZoneConfig, account_id: str, record: dict[str, Any], new: bool,
           sets: dict[int, tuple[str, ...]], server: ServerConfig) -> Decision | None:
    """A zone's nameservers: explicit, as received from the zone defaults (`record`; `new`:
    just now), or the standard pair. None for a zone that received custom.account without
    a set: R6 chooses it once every other zone has its set."""
    explicit = zone.dns_settings.nameservers
    if explicit is not None:
        ns_type, ns_set, reason = explicit.type, explicit.ns_set, "explicit"
    elif "nameservers" in record:
        rec = record["nameservers"]
        ns_type, ns_set = rec["type"], rec.get("ns_set")
        reason = default_reason(new)
        if ns_type == STANDARD_RANDOM:
            return Decision(ns_type, None, tuple(rec.get("names", ())), reason)
        if ns_type == CUSTOM_ACCOUNT and ns_set is None:
            return None
    else:
        ns_type, ns_set, reason = STANDARD, None, "standard"
    if ns_type == CUSTOM_ACCOUNT:
        ns_set = ns_set or 1
        return Decision(ns_type, ns_set, sets.get(ns_set, ()), reason)
    if ns_type == CUSTOM_ZONE:
        return Decision(ns_type, None, zone.vanity_name_servers, reason)
    return Decision(STANDARD, None, _standard_pair(server, account_id), reason)


def first_set(zone: str, available: set[int],
              conflict: Callable[[str, int], str | None]) -> int | None:
    """R6: the set a new zone on custom.account receives: the first, in ascending order,
    that is available and keeps R5 (`conflict`: the zone it would share a set with)."""
    return next((n for n in range(1, 6) if n in available and not conflict(zone, n)), None)


def same_set_in_hierarchy(zone: ZoneConfig, clash: str, ns_set: int, account_id: str,
                          locate: Locate) -> Problem:
    """R5: `zone` and `clash` are in one hierarchy and both use `ns_set`."""
    return locate(f"{zone.path}.dns_settings.nameservers", f"zones {zone.name} and {clash} are "
                  f"in one hierarchy and both use set {ns_set} of account {account_id}; a "
                  "subdomain or reverse zone must use a different set than its parent and "
                  "children", "R5")


def unavailable_set(account_id: str, number: int, sets: dict[int, tuple[str, ...]],
                    zones: Sequence[ZoneConfig], locate: Locate) -> Problem:
    """R4: `zones` (in file order) use set `number`, which has too few names."""
    have = len(sets.get(number, ()))
    names = ", ".join(z.name for z in zones)
    return locate(f"{zones[0].path}.dns_settings", f"set {number} of account {account_id} has "
                  f"{have} name(s) and is unavailable (a set needs {MIN_SET_NAMES}.."
                  f"{MAX_SET_NAMES}); zones using it: {names}", "R4")


def no_set_left(zone: ZoneConfig, account_id: str, sets: dict[int, tuple[str, ...]],
                locate: Locate) -> Problem:
    """R6: no set is left for a new zone that receives custom.account."""
    return locate(zone.path, f"new zone {zone.name} should receive the zone default "
                  f"custom.account, but no set of account {account_id} is available without "
                  f"breaking R5 (sets: {_describe_sets(sets)})", "R6")


def zone_checks(zone: ZoneConfig, decision: Decision, server: ServerConfig,
                locate: Locate) -> tuple[list[Problem], list[Problem]]:
    """What is wrong with a zone's decided nameservers, and what is worth a warning."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    ns_type, nameservers = decision.ns_type, decision.nameservers
    if ns_type in (STANDARD, STANDARD_RANDOM) and len(nameservers) < 2:
        problems.append(locate(f"{zone.path}.dns_settings", f"zone {zone.name} uses "
                               f"{ns_type}, but server.standard_nameservers lists "
                               f"{len(nameservers)} name(s); at least two are needed", None))
    gone = sorted(set(nameservers) - {ns.name for ns in server.standard_nameservers}
                  if ns_type == STANDARD_RANDOM else ())
    if gone:
        warnings.append(locate(zone.path, f"zone {zone.name} keeps the standard pair it "
                               f"drew ({', '.join(nameservers)}), but {', '.join(gone)} "
                               "is no longer in server.standard_nameservers; give the zone"
                               " explicit nameservers to move it", "R6"))
    if ns_type == CUSTOM_ZONE:
        problems += _check_vanity(zone, locate)
    elif zone.vanity_name_servers:
        warnings.append(locate(f"{zone.path}.vanity_name_servers", "vanity_name_servers "
                               f"are ignored: zone {zone.name} uses {ns_type}, not "
                               "custom.zone", None))
    return problems, warnings


def _resolve_account(account: Account, server: ServerConfig, state: State, locate: Locate
                     ) -> tuple[list[ResolvedZone], list[Problem], list[Problem],
                                dict[str, dict[str, Any]]]:
    """The account's zones resolved, and what its new zones received from the zone
    defaults (R6), to be recorded when nothing is wrong."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    sets = account_sets(account)
    available = available_sets(sets)
    hierarchy = _Hierarchy()
    on_unavailable: dict[int, list[ZoneConfig]] = defaultdict(list)
    decided: dict[str, Decision] = {}
    pending: list[ZoneConfig] = []
    records: dict[str, dict[str, Any]] = {}

    for zone in account.zones:
        record, new = record_for(zone, account, state.zones, server)
        if new:
            records[zone.name] = record
        decision = decide(zone, account.id, record, new, sets, server)
        if decision is None:
            pending.append(zone)
            continue
        if decision.ns_type == CUSTOM_ACCOUNT:
            ns_set = decision.ns_set
            if ns_set not in available:
                on_unavailable[ns_set].append(zone)
            else:
                clash = hierarchy.conflict(zone.name, ns_set)
                if clash:
                    problems.append(same_set_in_hierarchy(zone, clash, ns_set, account.id,
                                                          locate))
                hierarchy.add(zone.name, ns_set)
        decided[zone.name] = decision

    for number, zones in sorted(on_unavailable.items()):
        problems.append(unavailable_set(account.id, number, sets, zones, locate))

    # R6: new zones on custom.account take their set after every fixed zone has taken its.
    for zone in pending:
        choice = first_set(zone.name, available, hierarchy.conflict)
        if choice is None:
            problems.append(no_set_left(zone, account.id, sets, locate))
            continue
        hierarchy.add(zone.name, choice)
        records.get(zone.name, {}).setdefault("nameservers", {})["ns_set"] = choice
        reason = default_reason(zone.name in records)
        decided[zone.name] = Decision(CUSTOM_ACCOUNT, choice, sets[choice], reason)

    if problems:
        return [], problems, warnings, {}
    result = []
    for zone in account.zones:
        decision = decided[zone.name]
        errs, warns = zone_checks(zone, decision, server, locate)
        problems += errs
        warnings += warns
        result.append(finish(zone, account.id, decision,
                             records.get(zone.name) or state.zones[zone.name]))
    return result, problems, warnings, {} if problems else records


def _record_defaults(zone: ZoneConfig, account: Account, defaults: DnsSettings,
                     server: ServerConfig) -> dict[str, object]:
    """What a new zone receives from zone_defaults, for each field it does not set (R6)."""
    record: dict[str, object] = {"account": account.id}
    explicit = zone.dns_settings
    if explicit.nameservers is None and defaults.nameservers is not None:
        ns_type = defaults.nameservers.type
        record["nameservers"] = {"type": ns_type}
        if ns_type == STANDARD_RANDOM:  # a pair drawn once, then kept
            names = [ns.name for ns in server.standard_nameservers]
            record["nameservers"]["names"] = random.SystemRandom().sample(names,
                                                                          k=min(2, len(names)))
    for key in ("ns_ttl", "multi_provider"):
        if getattr(explicit, key) is None and getattr(defaults, key) is not None:
            record[key] = getattr(defaults, key)
    if defaults.soa is not None:
        record["soa"] = _soa_to_state(defaults.soa)
    return record


def finish(zone: ZoneConfig, account_id: str, decision: Decision,
           recorded: dict[str, Any]) -> ResolvedZone:
    """The zone with its settings resolved: explicit, recorded defaults, or built-in."""
    s = zone.dns_settings
    rec_soa = recorded.get("soa")
    soa = _merge_soa(s.soa, Soa(**rec_soa) if isinstance(rec_soa, dict) else None, SOA_DEFAULTS)
    return ResolvedZone.of(
        account=account_id,
        name=zone.name,
        file=zone.file,
        ns_type=decision.ns_type,
        ns_set=decision.ns_set,
        nameservers=decision.nameservers,
        reason=decision.reason,
        ns_ttl=s.ns_ttl or int(recorded.get("ns_ttl") or NS_TTL_DEFAULT),
        soa=soa,
        multi_provider=bool(s.multi_provider if s.multi_provider is not None
                            else recorded.get("multi_provider", False)),
        vanity_name_servers=zone.vanity_name_servers,
        source=zone.source,
        at=zone.at,
    )


def _check_vanity(zone: ZoneConfig, locate: Locate) -> list[Problem]:
    problems = []
    names = zone.vanity_name_servers
    if not MIN_SET_NAMES <= len(names) <= MAX_SET_NAMES:
        problems.append(locate(f"{zone.path}.vanity_name_servers", f"zone {zone.name} uses "
                               f"custom.zone and needs {MIN_SET_NAMES}..{MAX_SET_NAMES} "
                               f"vanity_name_servers, not {len(names)}", "custom.zone"))
    for i, name in enumerate(names):
        if not is_subdomain(name, zone.name) or name == zone.name:
            problems.append(locate(f"{zone.path}.vanity_name_servers[{i}]", f"{name} is not a "
                                   f"subdomain of {zone.name}; zone custom nameservers must be "
                                   "names inside the zone itself", "custom.zone"))
    return problems


def _describe_sets(sets: dict[int, tuple[str, ...]]) -> str:
    if not sets:
        return "none"
    return "; ".join(f"{n}: {len(names)} name(s)" for n, names in sets.items())
