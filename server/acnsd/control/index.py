"""The model index: the accepted configuration, and every decision made about it, in the
shapes the rules read when they check one change (issue 16).

Rule owned here: every question a scoped check asks (DESIGN16 §5-§6) is answered in
O(1) or O(name depth), and every update costs what it changes (a set whose names change
changes every zone on it), never a walk over the other zones. It holds: zones by name
with their account, settings and resolved values; for each proper ancestor of a zone
name, the zones below it by (account, set) (R5, R11); each account's sets and the zones
on each set (R4, and the zones a set's names reach); where each nameserver name is
configured (R3, server-wide); which zone provides each addressed name and the names
without one below each name (R8); the addresses held, kept aside and the next never-used
host of each pool (R7, one allocation O(1) amortised); what each zone received from the
zone defaults (R6). Decisions come in as plain data (`Recorded`), so the index does not
depend on where they are stored.

It is built once from what load() accepted, then changed only by `rules.apply` with an
accepted verdict, after which its `facts()` equal those of an index built afresh from the
configuration with the change made (the property test in tests/control checks it).

YAML paths are those of the configuration's layout: a zone is an item of a list of
zones, its account's `accounts[i].zones` in the single file layout, a zone file's
`<file>:zones` in the directory layout (model/tree.py), where a new zone goes to the file
named after it. A zone keeps the sequence number it got in its list; its index is its
rank among the zones still there, so deleting a zone renumbers no other entry. An
account's zones are in the order of their lists' paths (one list, or the zone files in
the order they are read), then of their sequence numbers: "file order".
"""

from __future__ import annotations

import dataclasses
import os
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..model.addresses import Pool
from ..model.assign import (
    Occurrence,
    account_sets,
    ancestors,
    as_recorded,
    nameserver_occurrence,
    vanity_occurrences,
)
from ..model.config import Loaded, reserved_addresses
from ..model.names import Names, as_names, names_of
from ..model.state import State
from ..model.tree import MARK, ZONES, zone_file, zone_file_stem, zone_list
from ..model.types import (
    CUSTOM_ACCOUNT,
    Account,
    NameAddress,
    ResolvedZone,
    ServerConfig,
    ZoneConfig,
)
from ..model.yamlsrc import join_path

__all__ = ["AccountEntry", "ModelIndex", "NameUse", "Recorded", "ZoneEntry"]

Record = dict[str, Any]  # one recorded decision, as the state file holds it
Place = tuple[str, int]  # a zone's list and sequence number in it: its order in its account
OrderKey = tuple[Any, ...]  # where in the files a name is configured (R3 order)
_NO_FILES: Mapping[str, str] = {}


class NameUse(NamedTuple):
    """Where a nameserver name is configured, its place in the file (R3's order), and the
    zone whose vanity name it is (None: a standard or an ACNS name)."""

    order: OrderKey
    use: Occurrence
    zone: str | None


@dataclass(frozen=True)
class Recorded:
    """The decisions recorded so far (the state file's, or the store's), as plain data:
    what each zone received from the zone defaults (R6, names of zones that are no longer
    configured included), every addressed name's addresses and those kept aside (R7)."""

    zones: Mapping[str, Record]
    addresses: Mapping[str, Record]
    released: Mapping[str, Record]

    @classmethod
    def of(cls, state: State) -> Recorded:
        return cls(state.zones, state.addresses, state.released)


@dataclass(frozen=True)
class AccountEntry:
    """An account's configuration (without its zones: they are the index's), its place
    in the file and its sets."""

    account: Account
    order: int
    sets: dict[int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)  # one per zone
class ZoneEntry:
    """A zone's configuration and resolution, and its place: the list of zones holding it
    (its positions) and its sequence number there (its YAML index is its rank:
    ModelIndex.zone gives the paths as they are). The only zone of its list has no
    positions (None): its place is its path's, index 0 (a _Positions is ~56 bytes, one
    for each of the 10^5 zone files of the directory layout)."""

    config: ZoneConfig
    resolved: ResolvedZone
    positions: _Positions | None
    seq: int  # (two fields, not a Place: a tuple more per zone is ~56 bytes at 10^5 zones)

    @property
    def place(self) -> Place:
        if self.positions is None:
            return _prefix(self.config.path), 0
        return self.positions.prefix, self.seq

    @property
    def key(self) -> tuple[str, int | None]:
        """(account, set) as R5 and R11 count it: the set for custom.account, else None."""
        r = self.resolved
        return r.account, r.ns_set if r.ns_type == CUSTOM_ACCOUNT else None


class _Positions:
    """The places of the zones of one list, the list `key` names: sequence numbers in file
    order that are never reused; a zone's YAML index is the count of zones before it still
    configured."""

    __slots__ = ("key", "next", "gone")  # one per zone file in the directory layout

    def __init__(self, key: str):
        self.key = key  # (the list's YAML path: an account's list in the single file layout)
        self.next = 0
        # the sequence numbers of deleted zones, sorted: the shared empty tuple until the
        # first (most lists never lose a zone), then a list of their own
        self.gone: list[int] | tuple[()] = ()

    @property
    def prefix(self) -> str:
        """The list's YAML path."""
        return self.key

    def __len__(self) -> int:
        return self.next - len(self.gone)

    def path(self, seq: int) -> str:
        return f"{self.prefix}[{self.rank(seq)}]"

    def at(self, seq: int) -> str:
        """The path of `seq` inside its file (ZoneConfig.at)."""
        return self.path(seq)

    def rank(self, seq: int) -> int:
        """The YAML index of `seq`: how many zones before it are still configured."""
        return seq - bisect_left(self.gone, seq)

    def add(self) -> int:
        self.next += 1
        return self.next - 1

    def remove(self, seq: int) -> None:
        if not self.gone:
            self.gone = []
        insort(self.gone, seq)


class _ZoneFileList(_Positions):
    """The places of a zone file's list, its `key` the file's name as the sources name it
    (its stamp's key: that string, not one more per zone; its YAML path is made when asked)."""

    __slots__ = ()

    @property
    def prefix(self) -> str:
        return zone_list(self.key)

    def at(self, seq: int) -> str:
        return f"{ZONES}[{self.rank(seq)}]"


class _Allocator:
    """R7's view of one family's addresses: held (the standard nameservers' and every
    addressed name's), kept aside by released names (an address may be kept by several),
    and the pool with its never-used hosts from `cursor` on."""

    def __init__(self, pool: Pool, held: Mapping[str, str], released: Counter[str]):
        self.pool = pool
        self.held = held
        self.released = released
        self.cursor = self.next_free(0)

    def next_free(self, start: int) -> int:
        """The position of the first host from `start` that is neither held nor kept."""
        while start < self.pool.size:
            host = self.pool[start]
            if host not in self.held and self.released[host] == 0:
                break
            start += 1
        return start


class ModelIndex:
    """The accepted configuration with its decisions, for scoped checks (rules.py)."""

    def __init__(self, config_file: Path, server: ServerConfig,
                 accounts_dir: str | None = None):
        self.config_file = config_file
        self.server = server
        self.accounts_dir = accounts_dir  # None: the single file layout
        self._accounts: dict[str, AccountEntry] = {}
        self._order: list[str] = []  # account ids in file order
        # a list of zones's key → its places, or the name of its only zone (ZoneEntry); but
        # the zone file named after its only zone (`<zone>.yaml`, as the directory layout
        # names them): its zone's entry says it (_list; a dict of 10^5 is 3.7 MiB)
        self._positions: dict[str, _Positions | str] = {}
        self._counts: Counter[str] = Counter()  # account → its zones
        self._zones: dict[str, ZoneEntry] = {}
        self._below: dict[str, dict[tuple[str, int | None], set[str]]] = {}
        self._on_set: dict[tuple[str, int], set[str]] = {}
        # zone file → the zones reading it (a one-element set costs 216 bytes, a 1-tuple
        # 48: one per zone); changing it copies the zones of that file. The file as its
        # zones' configurations hold it: that string, not one more a zone. A zone reading
        # its own file (`<zone>.zone`) is not in it: its entry says it (zones_reading)
        self._files: dict[str, Names] = {}
        self._owners: dict[str, tuple[Any, ...]] = {}  # R3: ("standard", i) | ("custom",
        # account) | ("vanity", zone, k)
        self._addresses: dict[str, NameAddress] = {}
        self._served: dict[str, set[str]] = {}  # zone → the names it provides (R8)
        self._orphans: dict[str, set[str]] = {}  # name → names at or below it with no provider
        self._recorded: dict[str, Record] = {}  # R6
        self._assigned: dict[str, Record] = {}  # R7: name → its addresses
        self._released: dict[str, Record] = {}  # R7: name → the addresses it keeps aside
        self._held: dict[str, str] = {}  # address → the name (or standard nameserver) holding it
        self._kept: Counter[str] = Counter()  # address → how many released names keep it
        self._keepers: dict[str, set[str]] = {}  # address → the released names keeping it
        self._alloc: dict[str, _Allocator] = {}
        self._records: dict[str, int] = {}  # zone → records its files hold
        self.records_total = 0

    # --- building -----------------------------------------------------------------------

    @classmethod
    def build(cls, loaded: Loaded, recorded: Recorded) -> ModelIndex:
        """The index of what load() accepted, `recorded` the decisions it was made with
        (after it: load(save_state=True) records what it decided).

        The maps of one entry a zone that it is given as dicts, `loaded.records` and
        `recorded.zones`, it takes over rather than copies (a dict of 10^5 zones is 3.7
        MiB): the load and the State they come from follow its changes (a pipeline's
        State is read for its serials only, a load's records by this alone)."""
        model = loaded.model
        index = cls(model.config_file, model.server, model.accounts_dir)
        resolved = {zone.name: zone for zone in model.zones}
        files = {name: name for name in loaded.sources}  # (the zone files' names, once)
        for i, standard in enumerate(model.server.standard_nameservers):
            index._owners.setdefault(standard.name, ("standard", i))
        for order, account in enumerate(model.accounts):
            index._order.append(account.id)
            index._set_account(AccountEntry(dataclasses.replace(account, zones=()), order,
                                            account_sets(account)))
            for zone in account.zones:
                index._put_zone(ZoneEntry(zone, resolved[zone.name],
                                          *index._add(zone, account.id, files)))
        for address in model.addresses.values():
            index._put_address(address)
        # the entries themselves are shared: neither side changes one in place (state.py)
        index._recorded = _taken(recorded.zones)
        index._assigned = dict(recorded.addresses)
        index._released = dict(recorded.released)
        index._held = dict(reserved_addresses(model.server))
        for name, rec in index._assigned.items():
            index._hold(name, rec)
        for name, rec in index._released.items():
            index._keep(name, rec)
        for family, networks in (("ipv4", model.server.ipv4_pools),
                                 ("ipv6", model.server.ipv6_pools)):
            index._alloc[family] = _Allocator(Pool(networks), index._held, index._kept)
        index._records = _taken(loaded.records)
        index.records_total = sum(index._records.values())
        return index

    # --- reading ------------------------------------------------------------------------

    def account(self, account_id: str) -> AccountEntry | None:
        return self._accounts.get(account_id)

    def account_at(self, order: int) -> str | None:
        """The id of the account at this position of the `accounts` list."""
        return self._order[order] if 0 <= order < len(self._order) else None

    def accounts(self) -> Iterator[AccountEntry]:
        """Every account, in file order."""
        return (self._accounts[account_id] for account_id in self._order)

    def zone(self, name: str) -> ZoneEntry | None:
        """A zone's entry, its configuration and resolution at their current YAML path."""
        entry = self._zones.get(name)
        if entry is None:
            return None
        if entry.positions is None:  # (the only zone of its list: its path stays)
            return entry
        at = entry.positions.at(entry.seq)
        if entry.config.at != at:  # a zone before it was deleted
            entry = self._zones[name] = ZoneEntry(
                dataclasses.replace(entry.config, at=at),
                dataclasses.replace(entry.resolved, at=at), entry.positions, entry.seq)
        return entry

    def zone_count(self, account_id: str | None = None) -> int:
        """How many zones an account has (None: the whole server)."""
        if account_id is None:
            return len(self._zones)
        return self._counts[account_id]

    def next_zone(self, account_id: str, name: Any) -> tuple[str, Place]:
        """The YAML path and place a new zone `name` (as the change gives it) gets: at the
        end of the account's list, or of the zone file named after it (tree.py)."""
        if self.accounts_dir is None:
            key = join_path(self._accounts[account_id].account.path, "zones")
        else:
            key = zone_file(self.accounts_dir, account_id, zone_file_stem(name) + ".yaml")
        held = self._list(key)
        if isinstance(held, _Positions):
            return held.path(held.next), (held.prefix, held.next)
        prefix, seq = self._positions_of(key).prefix, 0 if held is None else 1
        return f"{prefix}[{seq}]", (prefix, seq)

    def below(self, name: str) -> Mapping[tuple[str, int | None], set[str]]:
        """The zones below `name` (not itself) by (account, set): the set of each
        custom.account zone, None for the others."""
        return self._below.get(name, {})

    def on_set(self, account_id: str, ns_set: int) -> set[str]:
        """The custom.account zones of an account on one of its sets."""
        return self._on_set.get((account_id, ns_set), set())

    def zones_reading(self, file: str | os.PathLike[str]) -> set[str]:
        """The zones whose zone file is `file`."""
        file = str(file)
        zones = set(names_of(self._files.get(file, ())))
        name = _named(file, ".zone")
        entry = self._zones.get(name) if name else None
        if entry is not None and entry.config.file == file:
            zones.add(name)
        return zones

    def nearest_zone_above(self, name: str) -> str | None:
        """The longest zone name that is a proper suffix of `name`."""
        return next((parent for parent in ancestors(name) if parent in self._zones), None)

    def owner(self, name: str) -> NameUse | None:
        """Where a nameserver name is configured (R3), with its place in the file."""
        owner = self._owners.get(name)
        if owner is None:
            return None
        if owner[0] == "standard":
            here = f"server.standard_nameservers[{owner[1]}]"
            return NameUse((-1, owner[1], 0, 0), Occurrence(name, here, here, None, ""), None)
        if owner[0] == "custom":
            entry = self._accounts[owner[1]]
            j, ns = next((j, ns) for j, ns in enumerate(entry.account.custom_nameservers)
                         if ns.ns_name == name)
            return NameUse((entry.order, 0, j, 0), nameserver_occurrence(ns, owner[1]), None)
        zone = self.zone(owner[1])
        assert zone is not None
        k = owner[2]
        use = list(vanity_occurrences(zone.config, zone.resolved.account))[k]
        order = self._accounts[zone.resolved.account].order
        return NameUse((order, 1, zone.place, k), use, owner[1])

    def address(self, name: str) -> NameAddress | None:
        """A nameserver name's addresses (R7) and which zone serves them (R8)."""
        return self._addresses.get(name)

    def served(self, zone: str) -> set[str]:
        """The addressed names whose provider (longest zone suffix, R8) is `zone`."""
        return self._served.get(zone, set())

    def orphans_below(self, name: str) -> set[str]:
        """The addressed names at or below `name` that no zone here provides."""
        return self._orphans.get(name, set())

    def auto(self, zone: str) -> dict[str, tuple[str | None, str | None]]:
        """The names whose A/AAAA `zone` serves (R8), with their addresses: build_zone's
        `auto`."""
        found = (self._addresses[name] for name in self.served(zone))
        return {a.name: (a.ipv4, a.ipv6) for a in found if a.served_in == zone}

    def recorded(self, zone: str) -> Record | None:
        """What a zone received from the zone defaults (R6), if recorded."""
        return self._recorded.get(zone)

    def recorded_zones(self) -> Mapping[str, Record]:
        return self._recorded

    def assigned(self, name: str) -> Record | None:
        """The addresses recorded for an addressed name (R7)."""
        return self._assigned.get(name)

    def released(self, name: str) -> Record | None:
        """The addresses a removed name keeps aside (R7)."""
        return self._released.get(name)

    def holder(self, address: str) -> str | None:
        """The name (or standard nameserver) that holds an address."""
        return self._held.get(address)

    def kept(self, address: str) -> int:
        """How many released names keep an address aside."""
        return self._kept[address]

    def kept_addresses(self) -> Iterator[str]:
        """Every address a released name keeps aside."""
        return iter(self._kept)

    def keepers(self, address: str) -> set[str]:
        """The released names that keep an address aside."""
        return self._keepers.get(address, set())

    def pool(self, family: str) -> Pool:
        return self._alloc[family].pool

    def cursor(self, family: str) -> int:
        """Where the never-used hosts of the family's pools start."""
        return self._alloc[family].cursor

    def records(self, zone: str) -> int:
        """The records a zone's files hold (server.limits)."""
        return self._records.get(zone, 0)

    # --- updating (rules.apply) -----------------------------------------------------------

    def set_account(self, entry: Account) -> None:
        """The account's new configuration (its custom nameservers, its zone defaults)."""
        old = self._accounts[entry.id]
        for ns in old.account.custom_nameservers:
            if self._owners.get(ns.ns_name) == ("custom", entry.id):
                del self._owners[ns.ns_name]
        self._set_account(AccountEntry(entry, old.order, account_sets(entry)))

    def put_zone(self, config: ZoneConfig, resolved: ResolvedZone) -> None:
        """A zone created or changed, with its resolution (kept as the next load resolves
        it: what it received from the zone defaults is recorded now)."""
        old = self._zones.get(config.name)
        if old is None:
            self._put_zone(ZoneEntry(config, resolved, *self._add(config, resolved.account)))
            return
        entry = ZoneEntry(config, as_recorded(resolved), old.positions, old.seq)
        if (entry.key, config.file, config.vanity_name_servers) == (
                old.key, old.config.file, old.config.vanity_name_servers):
            self._zones[config.name] = entry  # (a set's names changed: nothing else moves)
        else:
            self._drop_zone(old)
            self._put_zone(entry)

    def remove_zone(self, name: str) -> None:
        """A zone deleted: its place in the list too (its names are put_address's)."""
        entry = self._zones.pop(name)
        self._drop_zone(entry)
        positions = entry.positions
        if positions is None:  # the only zone of its list
            self._positions.pop(self._list_key(entry.config.path), None)
        else:
            positions.remove(entry.seq)
            if not positions:  # (a zone file left without zones is removed)
                del self._positions[positions.key]
        self._counts[entry.resolved.account] -= 1
        self.records_total -= self._records.pop(name, 0)

    def put_address(self, name: str, address: NameAddress | None) -> None:
        """A name's addresses and provider (R8), or None when it is no longer addressed."""
        old = self._addresses.pop(name, None)
        if old is not None:
            self._forget_address(old)
        if address is not None:
            self._put_address(address)

    def set_recorded(self, zone: str, record: Record | None) -> None:
        if record is None:
            self._recorded.pop(zone, None)
        else:
            self._recorded[zone] = record

    def set_assigned(self, name: str, record: Record | None) -> None:
        old = self._assigned.pop(name, None)
        if old is not None:
            for address in old.values():
                if address and self._held.get(address) == name:
                    del self._held[address]
        if record is not None:
            self._assigned[name] = record
            self._hold(name, record)

    def set_released(self, name: str, record: Record | None) -> None:
        old = self._released.pop(name, None)
        if old is not None:
            for address in old.values():
                if address:
                    self._kept[address] -= 1
                    if not self._kept[address]:
                        del self._kept[address]
                    self._keepers[address].discard(name)
                    if not self._keepers[address]:
                        del self._keepers[address]
        if record is not None:
            self._released[name] = record
            self._keep(name, record)

    def set_cursor(self, family: str, cursor: int) -> None:
        self._alloc[family].cursor = cursor

    def set_records(self, zone: str, count: int) -> None:
        self.records_total += count - self._records.get(zone, 0)
        self._records[zone] = count

    # --- internals ------------------------------------------------------------------------

    def _add(self, zone: ZoneConfig, account_id: str,
             files: Mapping[str, str] = _NO_FILES) -> tuple[_Positions | None, int]:
        """A place at the end of the list `zone.path` is in, as its positions (None: the
        list's only zone) and sequence number (ValueError when that is not the path the
        place has); `files`: the zone files' names as the lists' keys are to spell them."""
        self._counts[account_id] += 1
        key = self._list_key(zone.path)
        key = files.get(key, key)
        held = self._list(key)
        if held is None:
            if not zone.path.endswith("[0]"):
                raise ValueError(f"zone {zone.name} is at {zone.path}, not at the end of its "
                                 f"list ({_prefix(zone.path)}[0])")
            if self.accounts_dir is None or _named(key, ".yaml") != zone.name:
                self._positions[key] = zone.name
            return None, 0
        if isinstance(held, str):  # a second zone: the first one's places made
            positions = self._positions[key] = self._positions_of(key)
            first = self._zones[held]
            self._zones[held] = ZoneEntry(first.config, first.resolved, positions,
                                          positions.add())
        else:
            positions = held
        seq = positions.add()
        if positions.path(seq) != zone.path:
            raise ValueError(f"zone {zone.name} is at {zone.path}, not at the end of its "
                             f"list ({positions.path(seq)})")
        return positions, seq

    def _list(self, key: str) -> _Positions | str | None:
        """What _positions holds for the list `key`, or, for a zone file named after a
        zone (`<zone>.yaml`) that it holds alone, that zone's name."""
        held = self._positions.get(key)
        if held is None and self.accounts_dir is not None:
            name = _named(key, ".yaml")
            entry = self._zones.get(name) if name else None
            if entry is not None and entry.positions is None and entry.config.source == key:
                return name
        return held

    def _list_key(self, path: str) -> str:
        """The key in _positions of the list of the zone at YAML path `path`: its file's
        name for a zone file's list, else its YAML path."""
        prefix = _prefix(path)
        return prefix if self.accounts_dir is None else prefix[:prefix.rindex(MARK)]

    def _positions_of(self, key: str) -> _Positions:
        """The places of a list not seen yet, `key` as _positions holds it."""
        return _Positions(key) if self.accounts_dir is None else _ZoneFileList(key)

    def _set_account(self, entry: AccountEntry) -> None:
        self._accounts[entry.account.id] = entry
        for ns in entry.account.custom_nameservers:
            self._owners.setdefault(ns.ns_name, ("custom", entry.account.id))

    def _put_zone(self, entry: ZoneEntry) -> None:
        resolved = as_recorded(entry.resolved)
        if resolved is not entry.resolved:
            entry = ZoneEntry(entry.config, resolved, entry.positions, entry.seq)
        name = entry.config.name
        self._zones[name] = entry
        key = entry.key
        for parent in ancestors(name):
            self._below.setdefault(parent, {}).setdefault(key, set()).add(name)
        if key[1] is not None:
            self._on_set.setdefault(key, set()).add(name)  # type: ignore[arg-type]
        file = str(entry.config.file)
        if _named(file, ".zone") != name:  # (its own file: zones_reading finds it)
            held = self._files.get(file)
            self._files[file] = name if held is None else (*names_of(held), name)
        for k, use in enumerate(vanity_occurrences(entry.config, key[0])):
            self._owners.setdefault(use.name, ("vanity", name, k))

    def _drop_zone(self, entry: ZoneEntry) -> None:
        name = entry.config.name
        key = entry.key
        for parent in ancestors(name):
            below = self._below[parent]
            _discard(below, key, name)
            if not below:
                del self._below[parent]
        if key[1] is not None:
            _discard(self._on_set, key, name)
        file = str(entry.config.file)
        if _named(file, ".zone") != name:
            left = tuple(n for n in names_of(self._files[file]) if n != name)
            if left:
                self._files[file] = as_names(left)
            else:
                del self._files[file]
        for k, use in enumerate(vanity_occurrences(entry.config, key[0])):
            if self._owners.get(use.name) == ("vanity", name, k):
                del self._owners[use.name]

    def _put_address(self, address: NameAddress) -> None:
        self._addresses[address.name] = address
        if address.provider is not None:
            self._served.setdefault(address.provider, set()).add(address.name)
        else:
            for suffix in (address.name, *ancestors(address.name)):
                self._orphans.setdefault(suffix, set()).add(address.name)

    def _forget_address(self, address: NameAddress) -> None:
        if address.provider is not None:
            _discard(self._served, address.provider, address.name)
        else:
            for suffix in (address.name, *ancestors(address.name)):
                _discard(self._orphans, suffix, address.name)

    def _hold(self, name: str, record: Record) -> None:
        for address in record.values():
            if address:
                self._held[address] = name

    def _keep(self, name: str, record: Record) -> None:
        for address in record.values():
            if address:
                self._kept[address] += 1
                self._keepers.setdefault(address, set()).add(name)

    # --- comparing ------------------------------------------------------------------------

    def _zone_files(self) -> dict[str, set[str]]:
        """Every zone file with the zones reading it."""
        files = {file: set(names_of(held)) for file, held in self._files.items()}
        for name, entry in self._zones.items():
            if _named(entry.config.file, ".zone") == name:
                files.setdefault(entry.config.file, set()).add(name)
        return files

    def facts(self) -> dict[str, Any]:
        """Everything the index knows, in a form that does not depend on how it came to
        know it (paths as they are, allocation cursors at the next free host)."""
        zones = {name: self.zone(name) for name in self._zones}
        return {
            "accounts": {a.account.id: a for a in self.accounts()},
            "zones": {name: (e.config, e.resolved) for name, e in zones.items() if e},
            "below": self._below,
            "on_set": self._on_set,
            "files": self._zone_files(),
            "owners": {name: use.use for name in self._owners if (use := self.owner(name))},
            "addresses": self._addresses,
            "served": self._served,
            "orphans": self._orphans,
            "recorded": self._recorded,
            "assigned": self._assigned,
            "released": self._released,
            "held": self._held,
            "kept": +self._kept,
            "next_free": {family: a.next_free(a.cursor) for family, a in self._alloc.items()},
            "records": self._records,
            "records_total": self.records_total,
        }


def _named(file: str, suffix: str) -> str:
    """The zone a file `<zone><suffix>` is named after ("": none)."""
    base = file.rpartition(os.sep)[2]
    return base[:-len(suffix)] if base.endswith(suffix) else ""


def _taken(entries: Mapping[str, Any]) -> dict[str, Any]:
    """`entries` as the index's own dict: the same one when it is a dict (ModelIndex.build
    takes it over), else a copy."""
    return entries if isinstance(entries, dict) else dict(entries)


def _prefix(path: str) -> str:
    """The YAML path of the list of the item at `path`."""
    return path[:path.rindex("[")]


def _discard(sets: dict[Any, set[str]], key: Any, name: str) -> None:
    """Remove `name` from `sets[key]`, and the key with its last name."""
    members = sets.get(key)
    if members is not None:
        members.discard(name)
        if not members:
            del sets[key]

