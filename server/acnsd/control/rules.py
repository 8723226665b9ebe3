"""Scoped checks: one change judged as load() judges the whole configuration with the
change made, looking only at what the change can affect (DESIGN16 §6).

Rule owned here: for a change to an accepted configuration, `check` gives load()'s
verdict: accepted or refused, with the same problems (message, file, line, YAML path,
rule, the accounts they concern and what each account may be told), found in load()'s
stages: the schema, R3, R11 and R4-R6 first; then R7; then the zone files and R8-R10.
It reads the changed entries, their account's sets, where each name involved is
configured, the hierarchy above and below the zones involved, and the zones that provide
the names involved (R8): never the other zones. Every problem is worded by the loader's
own functions (model/). `apply` then makes the index what an index built from the
configuration with the change made would be.

An accepted verdict's warnings are those of resolving the zones the change re-decides;
those of building a zone's content (R9, R10, lame delegations) come with its build.

Out of scope (OutOfScope: run load()): a zone file read near
server.limits.max_records_total, whose breach load() reports at whichever zone passes it.
Not followed: a zone the state recorded as having received custom.account without a set
(only a hand-edited state has one; load() chooses its set again at each load, the index
keeps the set of the load it was built from).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..errors import Problem
from ..model.addresses import FAMILIES, AddressRequest, draw
from ..model.assign import (
    MAX_SET_NAMES,
    Decision,
    Occurrence,
    account_sets,
    ancestors,
    available_sets,
    decide,
    default_reason,
    duplicate_zone,
    finish,
    first_set,
    nameserver_occurrence,
    no_set_left,
    record_for,
    repeated,
    same_set_in_hierarchy,
    set_too_large,
    unavailable_set,
    vanity_occurrences,
    zone_checks,
)
from ..model.catalogs import reserved
from ..model.config import address_problem, independent, owned, unresolved
from ..model.names import is_subdomain
from ..model.schema import (
    read_nameserver,
    read_vanity,
    read_zone,
    read_zone_defaults,
    read_zone_settings,
)
from ..model.tenants import Held, breach
from ..model.types import (
    CUSTOM_ACCOUNT,
    CUSTOM_ZONE,
    Account,
    NameAddress,
    ResolvedZone,
    ZoneConfig,
)
from ..model.yamlsrc import join_path
from ..model.zonedata import ZoneFile, read_zone_file, record_limit_is_total, zone_errors
from .change import (
    Change,
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    Verdict,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from .index import ModelIndex, NameUse, Place, Record

__all__ = ["OutOfScope", "apply", "check"]

Locate = Callable[[str, str, str | None], Problem]  # (path, message, rule) -> Problem


class OutOfScope(Exception):
    """A change whose verdict needs the whole configuration: run load()."""


def check(index: ModelIndex, change: Change, locate: Locate) -> Verdict:
    """The verdict on `change`, made to the configuration `index` holds; `locate` words a
    problem at a YAML path of the configuration with the change made (its Source's
    `problem`: the file, and the line of the path). Nothing of `index` changes.

    LookupError when the change names an account or a zone that is not configured;
    OutOfScope when its verdict needs load()."""
    return _Check(index, _draft(index, change, locate), locate).verdict()


def apply(index: ModelIndex, verdict: Verdict) -> None:
    """Make an accepted change in `index`, in what it changes (a set's new names reach
    every zone on the set)."""
    if not verdict.accepted:
        raise ValueError("a refused change cannot be applied")
    if verdict.account is not None:
        index.set_account(verdict.account)
    for name, zone in verdict.zones.items():
        if zone is None:
            index.remove_zone(name)
        else:
            config = verdict.configs.get(name)
            if config is None:
                entry = index.zone(name)
                assert entry is not None
                config = entry.config
            index.put_zone(config, zone)
    for name, address in verdict.addresses.items():
        index.put_address(name, address)
    for name, record in verdict.recorded.items():
        index.set_recorded(name, record)
    for name, record in verdict.released.items():
        index.set_released(name, record)
    for name, record in verdict.assigned.items():
        index.set_assigned(name, record)
    for family, cursor in verdict.cursors.items():
        index.set_cursor(family, cursor)
    for name, count in verdict.records.items():
        index.set_records(name, count)


@dataclass
class _Draft:
    """What a change makes of one account's configuration."""

    account: Account  # as it becomes (its zones are the index's and `put`)
    put: dict[str, ZoneConfig] = field(default_factory=dict)  # zones created or changed
    new: dict[str, Place] = field(default_factory=dict)  # created zones: their places
    drop: set[str] = field(default_factory=set)  # zones deleted
    files: set[str] = field(default_factory=set)  # zone files written (read anew)
    problems: list[Problem] = field(default_factory=list)  # the schema's


def _draft(index: ModelIndex, change: Change, locate: Locate) -> _Draft:
    if isinstance(change, NameserverAdded | NameserverRemoved | ZoneDefaultsChanged
                  | ZoneCreated):
        entry = index.account(change.account)
        if entry is None:
            raise LookupError(f"account {change.account} is not configured")
        account = entry.account
        zone = None
    else:
        zone = index.zone(change.zone)
        if zone is None:
            raise LookupError(f"zone {change.zone} is not configured")
        account = index.account(zone.resolved.account).account
    draft = _Draft(account)
    names = account.custom_nameservers
    match change:
        case NameserverAdded():
            path = join_path(join_path(account.path, "custom_nameservers"), len(names))
            ns, draft.problems = read_nameserver(
                {"ns_name": change.ns_name, "ns_set": change.ns_set}, path, locate)
            if ns is not None:
                draft.account = dataclasses.replace(account, custom_nameservers=names + (ns,))
        case NameserverRemoved():
            kept = [ns for ns in names if ns.ns_name != change.ns_name]
            prefix = join_path(account.path, "custom_nameservers")
            draft.account = dataclasses.replace(account, custom_nameservers=tuple(
                dataclasses.replace(ns, path=f"{prefix}[{j}]") for j, ns in enumerate(kept)))
        case ZoneDefaultsChanged():
            defaults, draft.problems = read_zone_defaults(
                change.zone_defaults, join_path(account.path, "dns_settings.zone_defaults"),
                locate)
            draft.account = dataclasses.replace(account, zone_defaults=defaults)
        case ZoneCreated():
            path, place = index.next_zone(account.id, change.name)
            config, draft.problems = read_zone({"name": change.name}, path,
                                               index.server.zones_dir, locate)
            taken = None if config is None else reserved(index.server, config.name)
            if taken:
                draft.problems.append(locate(join_path(path, "name"), taken, None))
            elif config is not None:
                draft.put[config.name], draft.new[config.name] = config, place
                draft.files.add(config.file)
        case ZoneDeleted():
            draft.drop.add(change.zone)
        case ZoneSettingsChanged():
            assert zone is not None
            settings, draft.problems = read_zone_settings(
                change.dns_settings, f"{zone.config.path}.dns_settings", locate)
            draft.put[change.zone] = dataclasses.replace(zone.config, dns_settings=settings)
        case VanityNamesChanged():
            assert zone is not None
            vanity, draft.problems = read_vanity(
                change.names, f"{zone.config.path}.vanity_name_servers", locate)
            draft.put[change.zone] = dataclasses.replace(zone.config,
                                                         vanity_name_servers=vanity)
        case ZoneFileChanged():
            assert zone is not None
            draft.files.add(zone.config.file)
    return draft


@dataclass
class _Resolved:
    """R4-R6 and the zone checks over the zones a change re-decides."""

    zones: dict[str, ResolvedZone] = field(default_factory=dict)
    recorded: dict[str, Record] = field(default_factory=dict)  # R6: what new zones received
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    aborted: bool = False  # a zone twice in the account: load() resolves no zone at all
    included: bool = True  # the account's zones are resolved (no R4-R6 problem)


@dataclass
class _Names:
    """R7 over the names a change adds or removes."""

    added: dict[str, dict[str, str]]  # name → its addresses
    removed: set[str]
    problems: list[Problem]
    cursors: dict[str, int]


class _Check:
    """One change's scoped check: `verdict()` runs load()'s stages over the draft."""

    def __init__(self, index: ModelIndex, draft: _Draft, locate: Locate):
        self.index = index
        self.draft = draft
        self.locate = locate
        self.account = draft.account
        old = index.account(draft.account.id)
        assert old is not None
        self.old = old
        self.sets = account_sets(draft.account)
        self.names_changed = draft.account.custom_nameservers != old.account.custom_nameservers
        self.contents: dict[tuple[str, str], tuple[ZoneFile | None, list[Problem]]] = {}
        # the zone entries that read a file the change writes: (account, entry)
        self.touched = [(draft.account.id, draft.put[name]) for name in draft.new
                        if draft.put[name].file in draft.files]
        for path in draft.files:
            for name in index.zones_reading(path) - draft.drop:
                entry = index.zone(name)
                assert entry is not None
                self.touched.append((entry.resolved.account, entry.config))

    def verdict(self) -> Verdict:
        draft = self.draft
        earlier = [*draft.problems, *self._names(), *self._tenants()]
        resolved = self._resolve()
        problems = earlier + independent(resolved.problems, earlier)
        if problems:
            return self._refused(problems + self._file_problems(resolved))
        names = self._addresses(resolved)
        if names.problems:
            return self._refused(names.problems + self._file_problems())
        addresses = self._providers(names)
        checked = self._checked(resolved, addresses)
        problems = [p for zone in checked.values() for p in self._content(zone)[1]]
        for name, zone in checked.items():
            file = self._content(zone)[0]
            if file is not None:
                problems += zone_errors(zone, file, self._auto(name, addresses), self.locate)
        if problems:
            return self._refused(problems)
        return self._accepted(resolved, names, addresses)

    # --- helpers ------------------------------------------------------------------------

    def _refused(self, problems: list[Problem]) -> Verdict:
        return Verdict(problems=tuple(owned(p, self.index.account_at) for p in problems))

    def _seq(self, zone: str) -> Place:
        """A zone's place in the account's zones (R5's order)."""
        if zone in self.draft.new:
            return self.draft.new[zone]
        entry = self.index.zone(zone)
        assert entry is not None
        return entry.place

    def _zone_account(self, zone: str) -> str | None:
        """The account of the zone of that name once the change is made, if any."""
        if zone in self.draft.new:
            return self.account.id
        entry = self.index.zone(zone)
        return None if entry is None or zone in self.draft.drop else entry.resolved.account

    def _replaced(self) -> set[str]:
        """The account's zones whose configuration the change replaces or deletes."""
        return (self.draft.put.keys() - self.draft.new.keys()) | self.draft.drop

    def _content(self, zone: ResolvedZone) -> tuple[ZoneFile | None, list[Problem]]:
        """A zone's file as load() reads it (OutOfScope near max_records_total)."""
        key = (zone.name, zone.path)
        if key not in self.contents:
            limits = self.index.server.limits
            before = self.index.records_total - self.index.records(zone.name)
            if record_limit_is_total(zone, limits, before):
                raise OutOfScope(f"zone {zone.name}: the zone files are near "
                                 "server.limits.max_records_total")
            content = read_zone_file(zone, self.index.server, self.locate, before)
            if content[0] is not None and before + content[0].count > limits.max_records_total:
                raise OutOfScope(f"zone {zone.name}: the zone files pass "
                                 "server.limits.max_records_total")
            self.contents[key] = content
        return self.contents[key]

    def _file_problems(self, resolved: _Resolved | None = None) -> list[Problem]:
        """The problems of reading the zone files the change writes, for the zones load()
        reads after refusing it (the other files are as the index last read them): after
        the rules refused it (`resolved`), those it resolved, or all when it resolved none
        (a zone twice in an account, or no zone in another account and the account's
        refused by R4-R6); after R7 refused it, all."""
        others = self.index.zone_count() - self.index.zone_count(self.account.id)
        every = resolved is None or resolved.aborted or resolved.included or others == 0
        problems = []
        for account_id, config in self.touched:
            if every or account_id != self.account.id:
                entry = self.index.account(account_id)
                assert entry is not None
                problems += self._content(unresolved(entry.account, config))[1]
        return problems

    # --- R3 -----------------------------------------------------------------------------

    def _names(self) -> list[Problem]:
        """R3 for the names the change configures or stops configuring."""
        order = self.old.order
        uses: dict[str, list[tuple[Any, Occurrence]]] = defaultdict(list)
        affected: set[str] = set()
        if self.names_changed:
            for j, ns in enumerate(self.account.custom_nameservers):
                uses[ns.ns_name].append(((order, 0, j, 0),
                                         nameserver_occurrence(ns, self.account.id)))
            affected |= {ns.ns_name for ns in self.old.account.custom_nameservers}
        for name, zone in self.draft.put.items():
            for k, use in enumerate(vanity_occurrences(zone, self.account.id)):
                uses[use.name].append(((order, 1, self._seq(name), k), use))
        replaced = self._replaced()
        for name in replaced:
            affected |= set(self._old_config(name).vanity_name_servers)
        problems = []
        for name in affected | uses.keys():
            found = list(uses.get(name, ()))
            owner = self.index.owner(name)
            if owner is not None and not self._gone(owner, replaced):
                found.append((owner.order, owner.use))
            found.sort(key=itemgetter(0))
            problems += [repeated(found[0][1], use, self.locate) for _, use in found[1:]]
        if self.names_changed:
            problems += [set_too_large(self.account, number, names, self.locate)
                         for number, names in self.sets.items() if len(names) > MAX_SET_NAMES]
        return problems

    def _gone(self, owner: NameUse, replaced: set[str]) -> bool:
        """Whether the change replaces the entry that configures a name."""
        if owner.zone is not None:
            return owner.zone in replaced
        return self.names_changed and owner.order[1] == 0 and owner.use.account == self.account.id

    def _old_config(self, zone: str) -> ZoneConfig:
        entry = self.index.zone(zone)
        assert entry is not None
        return entry.config

    # --- R11 ----------------------------------------------------------------------------

    def _tenants(self) -> list[Problem]:
        """R11 for the zones the change creates and the ACNS names it adds."""
        pairs: list[tuple[Held, Held]] = []
        for name in self.draft.new:
            zone = self._new_zone_held(name)
            pairs += ((held, zone) for held in [self._zone_held(name)] if held)
            pairs += ((held, zone) for parent in ancestors(name)
                      if (held := self._zone_held(parent)) is not None)
            for (account, _), below in self.index.below(name).items():
                if account != self.account.id:
                    pairs += ((zone, held) for child in below
                              if (held := self._zone_held(child)) is not None)
            pairs += ((zone, held) for acns in self._moving_to(name)
                      if (held := self._acns_held(acns)) is not None)
        before = {ns.ns_name for ns in self.old.account.custom_nameservers}
        for ns in self.account.custom_nameservers:
            if ns.ns_name in before:
                continue
            acns = Held(False, ns.ns_name, self.account.id, self.old.order, f"{ns.path}.ns_name",
                        self.index.assigned(ns.ns_name) is not None)
            for suffix in (ns.ns_name, *ancestors(ns.ns_name)):
                providers = [self._zone_held(suffix)]
                if suffix in self.draft.new:
                    providers.append(self._new_zone_held(suffix))
                if any(providers):
                    pairs += ((held, acns) for held in providers if held)
                    break
        return [breach(a, b, self.locate) for a, b in pairs if a.account != b.account]

    def _new_zone_held(self, name: str) -> Held:
        record = self.index.recorded(name) or {}
        return Held(True, name, self.account.id, self.old.order,
                    f"{self.draft.put[name].path}.name",
                    record.get("account") == self.account.id)

    def _zone_held(self, name: str) -> Held | None:
        """A configured zone as R11 sees it, unless the change deletes it."""
        entry = self.index.zone(name)
        if entry is None or name in self.draft.drop:
            return None
        account = entry.resolved.account
        record = self.index.recorded(name) or {}
        return Held(True, name, account, self.index.account(account).order,
                    f"{entry.config.path}.name", record.get("account") == account)

    def _acns_held(self, name: str) -> Held | None:
        """An ACNS name (not a vanity name) as R11 sees it."""
        owner = self.index.owner(name)
        if owner is None or owner.zone is not None or owner.use.account is None:
            return None
        return Held(False, name, owner.use.account, owner.order[0], owner.use.path,
                    self.index.assigned(name) is not None)

    def _moving_to(self, zone: str) -> set[str]:
        """The addressed names a zone created here provides (R8): with a namesake, those
        it provides; else those below it that the nearest zone above provides or that no
        zone provides."""
        if self._zone_held(zone) is not None:
            return set(self.index.served(zone))
        parent = self.index.nearest_zone_above(zone)
        names = {n for n in self.index.served(parent) if is_subdomain(n, zone)} if parent else set()
        return names | self.index.orphans_below(zone)

    # --- R4-R6 and the zone checks -------------------------------------------------------

    def _resolve(self) -> _Resolved:
        """load()'s resolution of the account, for the zones the change re-decides: those
        it creates or changes, and those on a set whose names change."""
        draft, account, locate = self.draft, self.account, self.locate
        twice = []
        for name in draft.new:
            entry = self.index.zone(name)
            if entry is not None and entry.resolved.account == account.id:
                # (reported at the later in file order: a new zone file may come first)
                first, later = sorted([(entry.place, entry.config),
                                       (draft.new[name], draft.put[name])])
                twice.append(duplicate_zone(later[1], first[1].path, locate))
        if twice:
            return _Resolved(problems=twice, aborted=True, included=False)
        server = self.index.server
        available = available_sets(self.sets)
        decided: dict[str, tuple[ZoneConfig, Decision, Record]] = {}
        pending: list[tuple[ZoneConfig, Record]] = []
        result = _Resolved()
        for name, zone in draft.put.items():
            record, new = record_for(zone, account, self.index.recorded_zones(), server)
            if new:
                result.recorded[name] = record
            decision = decide(zone, account.id, record, new, self.sets, server)
            if decision is None:
                pending.append((zone, record))
            else:
                decided[name] = (zone, decision, record)
        changed = {n for n in self.sets.keys() | self.old.sets.keys()
                   if self.sets.get(n) != self.old.sets.get(n)}
        for number in changed:
            for name in self.index.on_set(account.id, number) - draft.put.keys() - draft.drop:
                zone = self._old_config(name)
                record = self.index.recorded(name) or {}
                decision = decide(zone, account.id, record, False, self.sets, server)
                assert decision is not None
                decided[name] = (zone, decision, record)
        problems = []
        unavailable: dict[int, list[ZoneConfig]] = defaultdict(list)
        for name, (zone, decision, _) in decided.items():
            if decision.ns_type != CUSTOM_ACCOUNT:
                continue
            if decision.ns_set not in available:
                unavailable[decision.ns_set].append(zone)
            elif name in draft.put and self._moved(name, decision.ns_set):
                problems += self._hierarchy(zone, decision.ns_set)
        for number, zones in sorted(unavailable.items()):
            zones.sort(key=lambda z: self._seq(z.name))
            problems.append(unavailable_set(account.id, number, self.sets, zones, locate))
        for zone, record in pending:
            choice = first_set(zone.name, available, self._conflict)
            if choice is None:
                problems.append(no_set_left(zone, account.id, self.sets, locate))
                continue
            if zone.name in result.recorded:
                record.setdefault("nameservers", {})["ns_set"] = choice
            decided[zone.name] = (zone, Decision(CUSTOM_ACCOUNT, choice, self.sets[choice],
                                                 default_reason(zone.name in result.recorded)),
                                  record)
        if problems:
            return _Resolved(problems=problems, included=False)
        for name, (zone, decision, record) in decided.items():
            errors, warnings = zone_checks(zone, decision, server, locate)
            result.problems += errors
            result.warnings += warnings
            result.zones[name] = finish(zone, account.id, decision, record)
        return result

    def _moved(self, zone: str, ns_set: int) -> bool:
        """Whether a zone comes to set `ns_set` (R5 is then checked for it)."""
        entry = self.index.zone(zone)
        return zone in self.draft.new or entry is None or entry.key != (self.account.id, ns_set)

    def _on(self, zone: str, ns_set: int) -> bool:
        """Whether a zone the change leaves as it is uses set `ns_set` of the account."""
        entry = self.index.zone(zone)
        return (entry is not None and zone not in self.draft.put and zone not in self.draft.drop
                and entry.key == (self.account.id, ns_set))

    def _same_set_below(self, zone: str, ns_set: int) -> list[str]:
        return [z for z in self.index.below(zone).get((self.account.id, ns_set), ())
                if z not in self.draft.put and z not in self.draft.drop]

    def _conflict(self, zone: str, ns_set: int) -> str | None:
        """R5: a zone in `zone`'s hierarchy on set `ns_set` of the account."""
        above = next((parent for parent in ancestors(zone) if self._on(parent, ns_set)), None)
        return above or next(iter(self._same_set_below(zone, ns_set)), None)

    def _hierarchy(self, zone: ZoneConfig, ns_set: int) -> list[Problem]:
        """R5 for a zone that comes to `ns_set`, as load() finds it in file order: at the
        zone when one in its hierarchy comes before it (an ancestor, else the first
        descendant), and at each that comes after it."""
        seq = self._seq(zone.name)
        above = next((p for p in ancestors(zone.name) if self._on(p, ns_set)), None)
        clashes = ([above] if above else []) + self._same_set_below(zone.name, ns_set)
        earlier = [z for z in clashes if self._seq(z) < seq]
        problems = []
        if earlier:
            clash = above if above in earlier else min(earlier, key=self._seq)
            problems.append(same_set_in_hierarchy(zone, clash, ns_set, self.account.id,
                                                  self.locate))
        problems += [same_set_in_hierarchy(self._old_config(z), zone.name, ns_set,
                                           self.account.id, self.locate)
                     for z in clashes if self._seq(z) > seq]
        return problems

    # --- R7 -----------------------------------------------------------------------------

    def _addresses(self, resolved: _Resolved) -> _Names:
        """R7 for the names the change adds (their addresses drawn as load() draws them)
        and removes (their addresses kept aside)."""
        before: set[str] = set()
        after: list[tuple[str, str]] = []  # (name, YAML path), in load()'s request order
        if self.names_changed:
            before |= {ns.ns_name for ns in self.old.account.custom_nameservers}
            after += [(ns.ns_name, ns.path) for ns in self.account.custom_nameservers]
        for name in sorted(self.draft.put.keys() | self.draft.drop, key=self._seq):
            entry = self.index.zone(name)
            if name not in self.draft.new and entry is not None \
                    and entry.resolved.ns_type == CUSTOM_ZONE:
                before |= set(entry.resolved.vanity_name_servers)
            zone = resolved.zones.get(name)
            if zone is not None and zone.ns_type == CUSTOM_ZONE:
                after += [(n, f"{zone.path}.vanity_name_servers[{i}]")
                          for i, n in enumerate(zone.vanity_name_servers)]
        requests = [AddressRequest(name, None, None, address_problem(self.locate, path))
                    for name, path in after if name not in before]
        removed = before - {name for name, _ in after}
        result: dict[str, dict[str, str]] = {req.name: {} for req in requests}
        problems: list[Problem] = []
        cursors = {}
        owner = _Taken(self.index, removed)
        kept = _Kept(self.index, removed, set(result))
        previous = {name: rec for name in result if (rec := self.index.released(name))}
        for family in FAMILIES:
            cursor = self.index.cursor(family)
            after_draw = draw(requests, family, self.index.pool(family), owner, (previous,),
                              kept, result, problems, cursor)
            if after_draw != cursor:
                cursors[family] = after_draw
        return _Names(result, removed, problems, cursors)

    # --- R8 -----------------------------------------------------------------------------

    def _providers(self, names: _Names) -> dict[str, NameAddress | None]:
        """R8: where each name the change adds, or whose provider it adds or deletes, is
        served now (None: no longer addressed)."""
        changes: dict[str, NameAddress | None] = dict.fromkeys(names.removed)
        for name, rec in names.added.items():
            provider = self._provider(name)
            changes[name] = NameAddress(name, rec.get("ipv4"), rec.get("ipv6"),
                                        self._served_in(provider, self.account.id), provider)
        moves = [(name, zone) for zone in self.draft.new for name in self._moving_to(zone)]
        moves += [(name, self._provider(name)) for zone in self.draft.drop
                  for name in self.index.served(zone)]
        for name, provider in moves:
            old = self.index.address(name)
            if name in changes or old is None:
                continue
            owner = self.index.owner(name)
            account = owner.use.account if owner is not None else None
            changes[name] = dataclasses.replace(old, provider=provider,
                                                served_in=self._served_in(provider, account))
        return changes

    def _provider(self, name: str) -> str | None:
        """The longest zone name that is a suffix of `name` once the change is made."""
        return next((s for s in (name, *ancestors(name)) if self._zone_account(s)), None)

    def _served_in(self, provider: str | None, account: str | None) -> str | None:
        return provider if provider and self._zone_account(provider) == account else None

    def _auto(self, zone: str,
              addresses: dict[str, NameAddress | None]) -> dict[str, tuple[str | None,
                                                                             str | None]]:
        """build_zone's `auto` of a zone once the change is made."""
        auto = self.index.auto(zone)
        for name, address in addresses.items():
            if address is not None and address.served_in == zone:
                auto[name] = (address.ipv4, address.ipv6)
            else:
                auto.pop(name, None)
        return auto

    # --- the zone contents (R8-R10) --------------------------------------------------------

    def _checked(self, resolved: _Resolved,
                 addresses: dict[str, NameAddress | None]) -> dict[str, ResolvedZone]:
        """The zones whose zone file or managed data the change may make unservable: those
        it creates, changes or reads anew, and those that come to serve a name's A/AAAA."""
        names = set(self.draft.put) | {config.name for _, config in self.touched}
        names |= {a.served_in for a in addresses.values() if a is not None and a.served_in}
        checked = {}
        for name in names - self.draft.drop:
            zone = resolved.zones.get(name)
            if zone is None:
                entry = self.index.zone(name)
                assert entry is not None
                zone = entry.resolved
            checked[name] = zone
        return checked

    # --- the verdict --------------------------------------------------------------------

    def _accepted(self, resolved: _Resolved, names: _Names,
                  addresses: dict[str, NameAddress | None]) -> Verdict:
        index, draft = self.index, self.draft
        assigned: dict[str, dict[str, str] | None] = {
            name: {family: rec.get(family) for family in FAMILIES}
            for name, rec in names.added.items()}
        released: dict[str, dict[str, str] | None] = {}
        for name in names.removed:
            assigned[name] = None
            released[name] = dict(index.assigned(name) or {})
        for name in names.added:
            if index.released(name) is not None:
                released[name] = None  # taken back
        handed = {a for rec in names.added.values() for a in rec.values()}
        for name in {k for a in handed for k in index.keepers(a)} | names.removed:
            rec = released[name] if name in released else index.released(name)
            if rec is not None and all(a in handed or self._still_held(a, names.removed)
                                       for a in rec.values()):
                released[name] = None  # handed out again: nothing left to keep aside
        rebuild = set(resolved.zones) | {config.name for _, config in self.touched}
        for name, address in addresses.items():
            old = index.address(name)
            rebuild |= {a.served_in for a in (old, address) if a is not None and a.served_in}
        return Verdict(
            warnings=tuple(resolved.warnings),
            account=self.account if self.account != self.old.account else None,
            zones={**resolved.zones, **dict.fromkeys(draft.drop)},
            configs=dict(draft.put),
            addresses=addresses,
            recorded={**resolved.recorded, **dict.fromkeys(draft.drop)},
            assigned=assigned,
            released=released,
            rebuild=frozenset(rebuild - draft.drop),
            cursors=names.cursors,
            records={config.name: file.count for _, config in self.touched
                     if (file := self.contents[config.name, config.path][0]) is not None},
        )

    def _still_held(self, address: str | None, removed: set[str]) -> bool:
        """Whether an addressed name the change keeps holds `address`."""
        holder = self.index.holder(address) if address else None
        return (holder is not None and holder not in removed
                and self.index.assigned(holder) is not None)


class _Taken:
    """The addresses held once the change is made (draw's `owner`): the index's, less
    those of the names it removes, plus those it hands out."""

    def __init__(self, index: ModelIndex, removed: set[str]):
        self.index = index
        self.removed = removed
        self.new: dict[str, str] = {}

    def __contains__(self, address: object) -> bool:
        if address in self.new:
            return True
        holder = self.index.holder(address)
        return holder is not None and holder not in self.removed

    def __setitem__(self, address: str, name: str) -> None:
        self.new[address] = name


class _Kept:
    """The addresses kept aside once the change is made (draw's `released`): by the
    names released before, and those the change removes, less the names it adds back."""

    def __init__(self, index: ModelIndex, removed: set[str], returning: set[str]):
        self.index = index
        self.returning = returning
        self.removed = [rec for name in removed if (rec := index.assigned(name))]

    def __contains__(self, address: object) -> bool:
        kept = self.index.kept(address)
        kept -= len(self.index.keepers(address) & self.returning)
        return kept > 0 or any(address in rec.values() for rec in self.removed)

    def __iter__(self) -> Iterator[str | None]:
        for rec in self.removed:
            yield from rec.values()
        yield from (address for address in self.index.kept_addresses() if address in self)
