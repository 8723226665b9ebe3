"""Where the state lives, and how a load reads it and records what it decided.

Rules owned here:

- `server.state_file` names the store (`store.py`), by default `<config stem>.state.db`
  beside the configuration. A name ending in `.json` (the JSON state file of earlier
  versions) stands for the store beside it, named with `.db` instead.
- The JSON state file of earlier versions (the store's name with `.json`, or the `.json`
  file named) is imported unchanged (no address and no serial changes) by the first load
  that records, when the store holds nothing yet, and renamed `*.json.imported`. Until
  then it is what a load reads (`acnsd check` writes nothing).
- A load reads the whole state into a `State`, and a missing store reads as an empty
  state; nothing is written unless the load records (`record_state`).
- A server keeps the store open for writing between its changes (`Writer`, closed at
  shutdown): a change pays for its transaction, not for opening, checking and
  configuring the store and checkpointing its log at close. A commit is as durable either
  way (the store's rule: synced before it returns).
- Recording writes only what changed, in one transaction: the addresses and recorded
  defaults that differ from those read, the content of each zone built from other inputs
  than the content served (another digest) or not served yet, and the end of the zones no
  longer served. The store decides each zone's serial by its content
  (`Change.put_zone`: it stays when nothing served changed); the plans returned carry it.
- A server's start may record the zones the store holds no content for (all of them at a
  first start) in two transactions (`FirstContents`): their serials, with everything
  else the load decided, before it answers; their contents (~36 MB on the 1M-record scale
  set) after, written by whichever comes first of the thread the server starts for it
  and the first write of its editor, which every later write waits for. A crash in
  between loses nothing: the zones read as not served yet, with the serials recorded,
  and the next start, built of the same inputs, gives them the same serials.
- A catalog zone (catalogs.py) is recorded as a zone, by its name: its content is compared
  with the content served at every recording (it has no digest of inputs), so its serial
  changes, and a difference is journalled, exactly when its members change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..dns.plan import ZonePlan
from .state import SerialEntry, State, load_state_json
from .store import Change, Store, StoreError, export_state_json, import_state_json
from .zonedata import served_as, with_serial

__all__ = ["FirstContents", "Writer", "export_state", "legacy_path", "read_state", "record_change",
           "record_state", "store_path"]

IMPORTED = ".imported"  # the suffix a JSON state file gets once imported


def store_path(state_file: Path) -> Path:
    """The store that `server.state_file` names."""
    return state_file.with_suffix(".db") if state_file.suffix == ".json" else state_file


def legacy_path(state_file: Path) -> Path:
    """The JSON state file of earlier versions that the store takes over."""
    return state_file if state_file.suffix == ".json" else state_file.with_suffix(".json")


def read_state(state_file: Path) -> State:
    """The state recorded for `state_file`, read whole: the store's, or the JSON state
    file's while it is not imported, or an empty state (raises StateError)."""
    path, legacy = store_path(state_file), legacy_path(state_file)
    if path.exists():
        with Store.open(path, readonly=True) as store:
            if not _to_import(store, legacy):
                records = list(store.zone_records())
                return State(path, export_state_json(store, records, SerialEntry),
                             (zone.name for zone in records if zone.served))
    if legacy.exists():
        return load_state_json(legacy)
    return State(path)


def export_state(state_file: Path) -> dict[str, Any]:
    """The state recorded for `state_file` in the JSON state file's shape."""
    return read_state(state_file).as_json()


def record_state(state: State, plans: Sequence[ZonePlan], state_file: Path,
                 catalogs: Sequence[ZonePlan] = (), *, later: FirstContents | None = None
                 ) -> tuple[tuple[ZonePlan, ...], tuple[ZonePlan, ...]]:
    """Record what changed in `state` since it was read, and the content of `plans` (every
    zone served) and `catalogs` (every catalog zone produced), in one transaction; `plans`
    and `catalogs` with the SOA serials the store decided; `state` follows (its serials:
    the pipeline of a server's editor starts from it). With `later`, the zones not served
    yet get their serials only, and their contents are left to `later.write()`."""
    with _opened(state_file) as store, store.change() as change:
        _record_addresses(change, state)
        change.record_all((name, state.zones.get(name))
                          for name in sorted(state.changed_names("zones")))
        names = [_zone_name(plan) for plan in plans]
        # built from other inputs than the content served (R10), or not served yet
        due = state.changed_names("serials") | set(names).difference(state.served)
        todo = [i for i, name in enumerate(names) if name in due]
        first = [] if later is None else [i for i in todo if names[i] not in state.served]
        if first:
            todo = [i for i in todo if names[i] in state.served]
        entries = state.serials  # (their serials: as built; a new zone's kept, _first_serial)
        serials = change.put_zones((names[i], plans[i].content, entries[names[i]].digest,
                                    entries[names[i]].serial) for i in todo)
        serials += change.put_serials((names[i], entries[names[i]].digest,
                                       entries[names[i]].serial) for i in first)
        served = list(plans)
        for i, serial in zip(todo + first, serials, strict=True):
            name, entry = names[i], state.serials[names[i]]
            if serial != entry.serial:
                state.serials[name] = entry.with_serial(serial)
                served[i] = with_serial(plans[i], serial)
                served_as(name, plans[i], served[i], state.serials[name])
        catalogs = tuple(_catalog(change, plan) for plan in catalogs)
        for name in state.served.difference(names, map(_zone_name, catalogs)):
            change.remove_zone(name)
    if later is not None and first:
        later.add(state_file, [(names[i], state.serials[names[i]], served[i]) for i in first])
    return tuple(served), catalogs


class FirstContents:
    """The contents of the zones whose serials a start recorded without them
    (`record_state` with `later`), written by `write()` in one transaction (the store's
    `put_first_contents`): by the first of its callers, the others waiting for it and
    finding it done. Holds the plans served (their contents are made one at a time as
    they are written)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state_file: Path | None = None
        self._zones: list[tuple[str, SerialEntry, ZonePlan]] = []

    def add(self, state_file: Path, zones: Sequence[tuple[str, SerialEntry, ZonePlan]]) -> None:
        """The zones (name, its serial entry recorded, plan served) to write to the store
        `state_file` names."""
        with self._lock:
            self._state_file = state_file
            self._zones += zones

    @property
    def pending(self) -> int:
        """How many zones' contents are still to be written (0: none; their transaction
        counts one more store generation, which a snapshot made meanwhile expects)."""
        return len(self._zones)

    def write(self) -> int:
        """Write the contents, if not written yet, in one transaction; how many zones this
        call wrote. A store error (StateError) leaves them to the next call."""
        with self._lock:
            if not self._zones:
                return 0
            assert self._state_file is not None
            with _opened(self._state_file) as store, store.change() as change:
                written = change.put_first_contents(
                    (name, entry.serial, entry.digest, plan.content)
                    for name, entry, plan in sorted(self._zones, key=itemgetter(0)))
            self._zones = []
            return written


class Writer:
    """The store kept open for writing between transactions: a server's editor holds one
    for its life, used under its lock (one thread at a time), opened by its first change
    and closed at shutdown."""

    def __init__(self) -> None:
        self._store: Store | None = None

    @contextmanager
    def change(self, state_file: Path) -> Iterator[Change]:
        """One transaction on the store `state_file` names (`Store.change`), opened as
        `_opened` when it is not open. A store error closes it: the next change opens
        and checks the file again."""
        if self._store is not None and self._store.path != store_path(state_file):
            self.close()
        if self._store is None:
            self._store = _opened(state_file)
        try:
            with self._store.change() as change:
                yield change
        except StoreError:
            self.close()
            raise

    def close(self) -> None:
        """Close the store, if open (a later change opens it again)."""
        store, self._store = self._store, None
        if store is not None:
            store.close()


def record_change(state: State, state_file: Path, plans: Mapping[str, ZonePlan | None], *,
                  writer: Writer,
                  addresses: Mapping[str, tuple[dict[str, Any] | None, bool]],
                  recorded: Mapping[str, dict[str, Any] | None],
                  catalogs: Mapping[str, ZonePlan | None] | None = None
                  ) -> dict[str, ZonePlan]:
    """Record one change in one transaction: the content of the zones it rebuilt (None:
    no longer served), the names whose addresses changed (name: (addresses or None,
    released)), what zones received from the zone defaults (R6; None: forgotten) and the
    catalog zones it rebuilt (None: no longer produced). Returns the rebuilt plans and
    catalogs with the serials the store decided; `state` follows (its serials, for
    build_zone), through `writer`."""
    served = {}
    with writer.change(state_file) as change:
        for name, (entry, released) in addresses.items():
            if entry is None:
                change.unassign(name)
                continue
            change.assign(name, entry.get("ipv4"), entry.get("ipv6"))
            if released:
                change.release(name)
        for name, record in recorded.items():
            change.record(name, record)
        for name, plan in plans.items():
            if plan is None:
                change.remove_zone(name)
            else:
                entry = state.serials[name]
                served[name], serial = _serve(change, name, plan, entry)
                if serial != entry.serial:
                    state.serials[name] = entry.with_serial(serial)
        for name, plan in (catalogs or {}).items():
            if plan is None:
                change.remove_zone(name)
            else:
                served[name] = _catalog(change, plan)
    return served


def _record_addresses(change: Change, state: State) -> None:
    """Every name whose addresses or release changed (R7)."""
    for name in state.changed_names("addresses") | state.changed_names("released"):
        entry = state.addresses.get(name) or state.released.get(name)
        if entry is None:
            change.unassign(name)
            continue
        change.assign(name, entry.get("ipv4"), entry.get("ipv6"))
        if name not in state.addresses:
            change.release(name)


def _zone_name(plan: ZonePlan) -> str:
    """The zone's name as configured (plain ASCII labels: the schema's), without
    dns.name's escaping, which costs more than the rest of an unchanged zone's record."""
    return b".".join(plan.origin.labels[:-1]).decode("ascii")


def _serve(change: Change, name: str, plan: ZonePlan,
           entry: SerialEntry) -> tuple[ZonePlan, int]:
    """Serve the plan's content, built as its serial `entry` says; the plan with the
    store's serial, and that serial."""
    serial = change.put_zone(name, plan.content, digest=entry.digest).serial
    return (plan if serial == entry.serial else with_serial(plan, serial)), serial


def _catalog(change: Change, plan: ZonePlan) -> ZonePlan:
    """Serve a catalog zone's content; the plan with the store's serial."""
    return with_serial(plan, change.put_zone(_zone_name(plan), plan.content).serial)


def _opened(state_file: Path) -> Store:
    """The store, open for writing, with the JSON state file imported when it is due."""
    legacy = legacy_path(state_file)
    store = Store.open(store_path(state_file))
    try:
        if _to_import(store, legacy):
            import_state_json(legacy, store)
        if legacy.exists() and store.meta("imported_from") == str(legacy.resolve()):
            _set_aside(legacy)
    except BaseException:
        store.close()
        raise
    return store


def _to_import(store: Store, legacy: Path) -> bool:
    """Whether the JSON state file is still to be imported: the store holds nothing."""
    return legacy.exists() and store.is_empty() and store.meta("imported_from") is None


def _set_aside(legacy: Path) -> None:
    """Rename an imported JSON state file `*.json.imported`, durably. Left as it is when
    that fails: beside a store that holds state, it is never read again."""
    try:
        os.replace(legacy, legacy.with_name(legacy.name + IMPORTED))
        dir_fd = os.open(legacy.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
