"""The incremental pipeline: a change made at the cost of what it changes (issue 16).

Rule owned here: an accepted change goes forward only, and touches only what its verdict
names. `check` asks the rules (rules.check over the index: load()'s verdict, the same
problems); the caller then writes the change's file; `commit` makes it: the index
becomes what an index of the edited configuration would be (rules.apply), the zones the
verdict rebuilds are built (build_zone, their zone files read through the zone file
cache), what the change decided is recorded in the store in one transaction (each
rebuilt zone's content, which decides its serial and journals the difference; the
addresses; the zone defaults received), the model follows, and the result is a Delta for
the served tables (dns/delta.py) with the plans' views when they changed. Nothing here
visits a zone the verdict does not name, except the views, recomputed over every zone
when a name's addresses or providing zone change with serve_assigned_addresses on.

A change the rules cannot judge alone (rules.OutOfScope) is the caller's to load whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import dns.name

from ..dns.delta import Delta, ZoneDelta
from ..dns.plan import View, ZonePlan
from ..errors import ConfigError, Problem
from ..model.catalogs import Catalogs, membership
from ..model.chunked import Chunked, Where
from ..model.config import Loaded, plan_views
from ..model.recording import Writer, record_change
from ..model.state import State
from ..model.types import Account, Model, ResolvedZone, ZoneConfig, zone_id
from ..model.zonedata import build_zone, read_zone_file
from .change import Change, Verdict
from .index import ModelIndex, Recorded
from .rules import Locate, apply, check
from .zoneids import ZoneIds

__all__ = ["Committed", "Pipeline", "combined"]


@dataclass(frozen=True)
class Committed:
    """An accepted change, made: the model after it, the delta for the served tables,
    the views of the plan when they changed (None: as before), the warnings of building
    its zones."""

    model: Model
    zones: Mapping[str, ResolvedZone | None]  # the zones resolved anew (None: deleted)
    delta: Delta
    views: tuple[View, ...] | None
    warnings: tuple[Problem, ...]


class Pipeline:
    """The accepted configuration as the index, the model and the state of its serials;
    each zone's name by its id (`zone_named`: the API's lookups)."""

    def __init__(self, loaded: Loaded, state: State, writer: Writer) -> None:
        """From a load (save_state=False) and the State it decided, recorded since; its
        changes are recorded through `writer` (the store kept open)."""
        self.writer = writer
        self.index = ModelIndex.build(loaded, Recorded.of(state))
        self.state = state
        # the model's zones and each account's as Chunked, and where each zone is in them,
        # made now (the editor is built off the serving path) rather than by the first
        # change: ~0.1 s at 100,000 zones
        accounts = tuple(dataclasses.replace(account, zones=Chunked(account.zones))
                         for account in loaded.model.accounts)
        self.model = dataclasses.replace(loaded.model, accounts=accounts,
                                         zones=Chunked(loaded.model.zones))
        # where each zone is in them: its resolution and configuration found by name, with
        # no map of their own (two dicts of 10^5 zones are 7 MiB)
        self._where = Where(self.model.zones, _name)
        self._config_where = {account.id: Where(account.zones, _name) for account in accounts}
        self._order = {account.id: i for i, account in enumerate(loaded.model.accounts)}
        self._by_id = ZoneIds(zone.name for zone in loaded.model.zones)
        self.catalogs = Catalogs(loaded.model)

    def zone_named(self, zid: str) -> str | None:
        """The name of the zone whose id (model/types.zone_id) is `zid`, if any."""
        try:
            name = self._by_id.get(bytes.fromhex(zid))
        except ValueError:
            return None
        # (fromhex reads "AB", " ab" too: only the id itself names the zone)
        return name if name is not None and zone_id(name) == zid else None

    def check(self, change: Change, locate: Locate) -> Verdict:
        """The rules' verdict on `change` (LookupError, rules.OutOfScope as rules.check)."""
        return check(self.index, change, locate)

    def commit(self, verdict: Verdict, locate: Locate) -> Committed:
        """Make an accepted change whose files are written (module doc). Raises
        ConfigError when a rebuilt zone cannot be served after all, StateError when the
        store refuses the transaction: the index is then ahead of the store and the
        served tables, and the caller must load the configuration whole."""
        apply(self.index, verdict)
        plans, warnings = self._build(verdict)
        addresses = {name: (self.index.assigned(name) or self.index.released(name),
                            self.index.assigned(name) is None
                            and self.index.released(name) is not None)
                     for name in verdict.assigned.keys() | verdict.released.keys()}
        # the catalog zones whose members it changes (model/catalogs.py)
        regroups = verdict.account is not None or any(
            zone is None or membership(zone) != self._membership_before(name, zone.account)
            for name, zone in verdict.zones.items())
        model = self._model(verdict)
        catalogs = self.catalogs.changed(model) if regroups else {}
        served = record_change(self.state, self.model.server.state_file, plans,
                               writer=self.writer, addresses=addresses, recorded=verdict.recorded,
                               catalogs=catalogs)
        self.model = model
        views = None
        if verdict.addresses and self.model.server.serve_assigned_addresses:
            views = plan_views(self.model)
        delta = Delta(
            generation=0,
            zones=tuple(self._zone_delta(name, served.get(name)) for name in plans),
            views=None if views is None else tuple(view.address for view in views),
            view_names=None if views is None else {
                view.address: frozenset(name.to_wire().lower() for name in view.names)
                for view in views},
            catalogs=tuple(_catalog_delta(name, served.get(name)) for name in catalogs),
        )
        return Committed(self.model, verdict.zones, delta, views, tuple(warnings))

    # --- building -----------------------------------------------------------------------

    def _build(self, verdict: Verdict) -> tuple[dict[str, ZonePlan | None], list[Problem]]:
        """The plans of the zones the verdict rebuilds (None: deleted)."""
        index, server = self.index, self.model.server
        plans: dict[str, ZonePlan | None] = {}
        problems: list[Problem] = []
        warnings: list[Problem] = []
        for name, zone in verdict.zones.items():
            if zone is None:
                plans[name] = None
        for name in sorted(verdict.rebuild):
            entry = index.zone(name)
            if entry is None:
                plans[name] = None
                continue
            before = index.records_total - index.records(name)
            file, errors = read_zone_file(entry.resolved, server, _no_locate, before)
            if file is None:
                problems += errors
                continue
            plan, errors, more = build_zone(entry.resolved, file, index.auto(name), self.state,
                                            _no_locate)
            problems += errors
            warnings += more
            plans[name] = plan
        if problems:
            raise ConfigError(problems)
        return plans, warnings

    def _zone_delta(self, name: str, plan: ZonePlan | None) -> ZoneDelta:
        key = dns.name.from_text(name).to_wire().lower()
        if plan is None:
            return ZoneDelta(key, None)
        entry = self.index.zone(name)
        assert entry is not None
        return ZoneDelta(key, plan, self._addresses(entry.resolved), plan.serial)

    def _addresses(self, zone: ResolvedZone) -> frozenset[str]:
        """The view addresses that serve a zone (compile_plan's, from the plan's views):
        those of its nameservers, with serve_assigned_addresses on."""
        server = self.model.server
        if not server.serve_assigned_addresses:
            return frozenset()
        standard = {ns.name: (ns.ipv4, ns.ipv6) for ns in server.standard_nameservers}
        found: set[str] = set()
        for name in zone.nameservers:
            address = self.model.addresses.get(name)
            pair = (address.ipv4, address.ipv6) if address is not None else standard.get(
                name, (None, None))
            found.update(a for a in pair if a)
        return frozenset(found)

    # --- the model ----------------------------------------------------------------------

    def _model(self, verdict: Verdict) -> Model:
        """The model after the change: its account, zones and addresses replaced. Each zone
        changed is replaced, removed or inserted (at the end of its account's) in the
        model's zones and its account's (model/chunked.py: O(√n))."""
        model = self.model
        accounts = list(model.accounts)
        zones, where = model.zones, self._where
        assert isinstance(zones, Chunked)
        replace: dict[str, ResolvedZone] = {}
        remove: list[str] = []
        insert: list[tuple[str | None, ResolvedZone]] = []
        changed: dict[str, Edits] = {}  # account → what its zone configurations get
        ends: dict[str, str | None] = {}  # account → its last zone as the edits leave it
        if verdict.account is not None:
            changed[verdict.account.id] = Edits()
        for name, zone in verdict.zones.items():  # removed first: no anchor is removed
            if zone is not None or (before := self._zone(name)) is None:
                continue
            remove.append(name)
            changed.setdefault(before.account, Edits()).remove.append(name)
            self._by_id.discard(name)
        removed = set(remove)
        for name, zone in verdict.zones.items():
            if zone is None:
                continue
            account_id = zone.account
            edits = changed.setdefault(account_id, Edits())
            entry = self.index.zone(name)
            config = verdict.configs.get(name) or (
                entry.config if entry is not None else self._config(account_id, name))
            before = self._zone(name)
            if before is not None and before.account == account_id:
                replace[name] = zone
                edits.replace[name] = config
            else:
                insert.append((self._last_before(account_id, ends, removed), zone))
                edits.insert.append((self._last(account_id, ends, removed), config))
                ends[account_id] = name
            self._by_id.add(name)
        for account_id, edits in changed.items():
            position = self._order[account_id]
            entry = self.index.account(account_id)
            base: Account = entry.account if entry is not None else accounts[position]
            accounts[position] = dataclasses.replace(
                base, zones=self._account_zones(account_id, accounts[position].zones, edits))
        addresses = model.addresses
        if verdict.addresses:
            addresses = dict(addresses)
            for name, address in verdict.addresses.items():
                if address is None:
                    addresses.pop(name, None)
                else:
                    addresses[name] = address
        return dataclasses.replace(model, accounts=tuple(accounts),
                                   zones=zones.edited(where, replace, remove, insert),
                                   addresses=addresses)

    def _zone(self, name: str) -> ResolvedZone | None:
        """A zone of the model (before the change being made), resolved."""
        zones = self.model.zones
        assert isinstance(zones, Chunked)
        return zones.get(self._where, name)

    def _config(self, account_id: str, name: str) -> ZoneConfig:
        """A zone's configuration in its account (before the change being made)."""
        zones = self.model.accounts[self._order[account_id]].zones
        assert isinstance(zones, Chunked)
        config = zones.get(self._config_where[account_id], name)
        if config is None:
            raise KeyError(name)
        return config

    def _last(self, account_id: str, ends: Mapping[str, str | None],
              removed: Collection[str]) -> str | None:
        """The last zone of an account as a change leaves it so far: the last it inserted
        (`ends`), else the last of the model's not `removed` (None: the account has none)."""
        if account_id in ends:
            return ends[account_id]
        zones = self.model.accounts[self._order[account_id]].zones
        for position in range(len(zones) - 1, -1, -1):  # (past the removed zones only)
            if (name := zones[position].name) not in removed:
                return name
        return None

    def _last_before(self, account_id: str, ends: Mapping[str, str | None],
                     removed: Collection[str]) -> str | None:
        """The zone after which a new zone of the account goes in the model's zones: its
        account's last, or the last of an account before it (None: first)."""
        for account in reversed(self.model.accounts[:self._order[account_id] + 1]):
            if last := self._last(account.id, ends, removed):
                return last
        return None

    def _account_zones(self, account_id: str, zones: Sequence[ZoneConfig],
                       edits: Edits) -> Chunked[ZoneConfig]:
        """The account's zone configurations with `edits` made."""
        assert isinstance(zones, Chunked)
        return zones.edited(self._config_where[account_id], edits.replace, edits.remove,
                            edits.insert)

    def _membership_before(self, name: str, account_id: str) -> tuple[object, ...] | None:
        """What decided the catalogs of zone `name` before the change (None: a new
        zone)."""
        zone = self._zone(name)
        return None if zone is None or zone.account != account_id else membership(zone)


def combined(made: Sequence[Committed]) -> Committed:
    """Changes made one after another (a reload's zone files), as one: the last model,
    views and view names, each zone's and catalog's last delta, every warning."""
    zones: dict[str, ResolvedZone | None] = {}
    deltas: dict[bytes, ZoneDelta] = {}
    catalogs: dict[bytes, ZoneDelta] = {}
    for committed in made:
        zones.update(committed.zones)
        deltas.update((zone.key, zone) for zone in committed.delta.zones)
        catalogs.update((zone.key, zone) for zone in committed.delta.catalogs)
    last = made[-1]
    viewed = next((m for m in reversed(made) if m.views is not None), None)
    delta = Delta(generation=0, zones=tuple(deltas.values()),
                  views=None if viewed is None else viewed.delta.views,
                  view_names=None if viewed is None else viewed.delta.view_names,
                  catalogs=tuple(catalogs.values()))
    return Committed(last.model, zones, delta, None if viewed is None else viewed.views,
                     tuple(w for m in made for w in m.warnings))


def _catalog_delta(name: str, plan: ZonePlan | None) -> ZoneDelta:
    key = dns.name.from_text(name).to_wire().lower()
    return ZoneDelta(key, plan, None, 0 if plan is None else plan.serial)


@dataclass
class Edits:
    """What an account's zone configurations get (Chunked.edited's arguments)."""

    replace: dict[str, ZoneConfig] = dataclasses.field(default_factory=dict)
    remove: list[str] = dataclasses.field(default_factory=list)
    insert: list[tuple[str | None, ZoneConfig]] = dataclasses.field(default_factory=list)


def _name(item: ResolvedZone | ZoneConfig) -> str:
    return item.name


def _no_locate(path: str, message: str, rule: str | None) -> Problem:
    """Zone files are located by their file, never by a YAML path: the rules checked
    the change's YAML already."""
    return Problem(message, rule=rule)

