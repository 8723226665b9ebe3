"""The operator's source of truth, written in what a change changes (issue 16 step 5).

Rule owned here: a Change (change.py) is written to the YAML files it changes and to no
other, through their round-trip documents (comments, order and layout kept: document.py,
edits.py). In the directory layout (model/tree.py) that is one small file: an account
change rewrites the account's account.yaml; a zone change the file holding the zone; a
new zone is appended to the zone file named after it (`<zone>.yaml`, created when
there is none); a deleted zone's entry is removed, and its file with its last entry. In
the single file layout it is the whole file, spliced (O(file): above LARGE zones a
warning suggests `acnsd migrate-layout`).

A file is written only while it is as it was last read or written here: its stamp, else
its digest. A file changed on disk since is never overwritten (Conflict: the management
API's 409); nor is a file created where none was known. Writes are atomic (temporary
file, fsync, rename, fsync of the directory; the file keeps its mode).

An Edit is made before it is written, so that it can be checked: its `locate` words a
problem of the configuration with the change made as `acnsd check` of the edited files
would (the file, the line of the edited text, the path inside the file, the file's
account). Every source (YAML and zone files) is stamped when read or written, so that
`scan` finds the files that changed on disk by their stat alone, reading only those
whose stat changed.

A plain scan looks at every file once (stat: ~1.5 s at 100,000 zones); from then on an
inotify watch of the sources' directories (watch.py, started before that scan) names the
files that changed, and a scan looks only at those, at acnsd.yaml, at the files it found
changed or could not vouch for the last time (not settled yet, $INCLUDEs, missing) and at
those the watch cannot see (symbolic links, a directory it does not watch): what it finds
is what a scan of every file would find. When the watch may have missed something (watch.py's
Lost), the next scan looks at every file again and starts a new watch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..errors import Problem
from ..model.config import Loaded
from ..model.names import Names, as_names, names_of, normalize
from ..model.schema import read_zone_list
from ..model.state import remove_stale_temporaries, write_atomic
from ..model.tree import (
    ACCOUNT_FILE,
    MAIN,
    SETTLED_NS,
    SUFFIX,
    ZONES,
    Stamp,
    account_file,
    read_stamped,
    split,
    zone_file,
    zone_file_stem,
)
from ..model.yamlsrc import Source, parse
from ..model.zonedata import file_unchanged
from .change import Change, ZoneCreated, ZoneDeleted, ZoneFileChanged
from .document import INDENTS, LIST_INDENTS, Document, dump, yaml_dumper
from .edits import ACCOUNT_CHANGES, account_node, edit_account, edit_zones, zone_at, zones_node
from .watch import Lost, Watch

__all__ = ["MAIN", "Conflict", "Directory", "Edit", "Scan", "SingleFile", "Sources",
           "open_sources"]

log = logging.getLogger("acnsd.control")

LARGE = 10_000  # zones: past this, a single file's changes cost seconds (issue 16)

Locate = Callable[[str, str, str | None], Problem]
NameOf = Callable[[str], str | None]  # a directory's file → its name among the sources


class Conflict(Exception):
    """A file to write changed on disk since it was last read or written here."""

    def __init__(self, file: Path, what: str):
        self.file = file
        super().__init__(f"{file} {what} since the server loaded it; check it (acnsd check) "
                         "and reload the server (SIGHUP) before changing it through the API")


@dataclass(frozen=True)
class Edit:
    """A change as it would be written: the YAML file it writes (None: none, a zone file
    changed), named `name` among the sources, its new `text` (None: removed), what the
    file must still be when written (`expected`; None: absent), and `locate` for the
    configuration with the change made."""

    change: Change
    name: str | None
    file: Path | None
    text: str | None
    expected: Stamp | None
    locate: Locate


@dataclass(frozen=True)
class Scan:
    """What changed on disk since the sources were read or written here: each YAML
    source added, changed or removed, by name (MAIN: acnsd.yaml), with its bytes and stamp
    now (None: removed); the zones whose zone file changed."""

    changed: Mapping[str, tuple[bytes, Stamp] | None]
    zone_files: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.changed or self.zone_files)


class Sources:
    """The configuration's files as last read or written here. `edit` makes an Edit,
    `write` writes it (or `discard` forgets it), `scan` finds what changed on disk and
    `adopt` takes it as read (a changed acnsd.yaml calls for a full load() and new
    Sources instead)."""

    def __init__(self, loaded: Loaded):
        model = loaded.model
        self.config_file = model.config_file
        self.base = self.config_file.parent
        self.zones_dir = model.server.zones_dir
        self._stamps: dict[str, Stamp] = dict(loaded.sources)
        self._zone_data: dict[str, str] = {zone.name: zone.file for zone in model.zones}
        self._watch: Watch | None = None  # None: the next plain scan looks at every file
        self._watched = _Watched()

    @property
    def stamps(self) -> Mapping[str, Stamp]:
        """Every YAML source by name (MAIN: acnsd.yaml), as last read or written."""
        return self._stamps

    def path(self, name: str) -> Path:
        return self.config_file if name == MAIN else self.base / name

    def edit(self, change: Change) -> Edit:
        """The change made to the files, not written yet. LookupError: it names an account
        or zone that is not configured; Conflict; edits.Unwritable: the file's shape
        does not allow it."""
        raise NotImplementedError

    def zone_entry(self, zone: str) -> Any:
        """A zone's entry as the file holds it now (None: not found)."""
        raise NotImplementedError

    def account_entry(self, account_id: str) -> Any:
        """An account's entry, without its zones, as the file holds it now."""
        raise NotImplementedError

    def write(self, edit: Edit) -> None:
        """Write an edit (atomically, durably); Conflict when its file changed since the
        edit was made."""
        if edit.name is None:
            return
        self._unchanged(edit.name, edit.expected)
        path = self.path(edit.name)
        if edit.text is None:
            path.unlink()
            _sync_directory(path.parent)
            del self._stamps[edit.name]
        else:
            write_atomic(path, edit.text)
            self._stamps[edit.name] = _stamp_of(path, edit.text)
        self._watched.names.add(edit.name)  # (its stamp settles later)
        if self._watch is not None:
            self._watch.drain()  # (the kernel's queue kept short)
        change = edit.change
        if isinstance(change, ZoneCreated):
            name = normalize(change.name)
            self._zone_file(name, str(self.zones_dir / f"{name}.zone"))  # (the API's file)
        elif isinstance(change, ZoneDeleted):
            self._zone_data.pop(change.zone, None)

    def _zone_file(self, zone: str, path: str) -> None:
        """`zone`'s data is in the file `path` (looked at by the next scan)."""
        self._zone_data[zone] = path
        self._watched.zones.add(zone)
        self._watched.zone_file(path, zone)
        if self._watch is not None and os.path.dirname(path) not in self._watched.zone_dirs:
            self._watched.always_zones.add(zone)

    def discard(self, edit: Edit) -> None:
        """An edit that will not be written (its change was refused)."""

    def scan(self, zone_files: bool = True, only: Collection[str] | None = None) -> Scan:
        """The sources that changed on disk: those whose stat differs from their stamp (or
        whose stamp is too recent to vouch for them), read and compared by digest; and,
        with `zone_files`, the zone files whose stat differs from when they were read.
        `only`: the YAML sources of these names alone, and no zone file. A plain scan
        looks only at what the watch names, when it vouches for the rest (see above)."""
        zones: Collection[str] | None = None  # the zones to look at (None: every one)
        looked = self._look(zone_files) if only is None else None
        if looked is not None:
            found = {}
            for name in looked[0]:
                _stat(found, name, self.path(name))
            names = {name for name in looked[0] if name in found or name in self._stamps}
            zones = looked[1]
        elif only is None:
            found = self._on_disk()
            names = found.keys() | self._stamps.keys()
        else:
            found, names, zone_files = {}, set(only), False
            for name in names:
                _stat(found, name, self.path(name))
        changed: dict[str, tuple[bytes, Stamp] | None] = {}
        for name in names:
            st, stamp = found.get(name), self._stamps.get(name)
            if st is not None and stamp is not None and stamp.vouches(st):
                continue
            try:
                raw, now = read_stamped(self.path(name))
            except OSError:
                changed[name] = None  # removed
                continue
            if stamp is None or now.digest != stamp.digest:
                changed[name] = raw, now
            else:
                self._stamps[name] = now  # the same bytes: it vouches once settled
        made: frozenset[str] = frozenset()
        if zone_files:
            data = self._zone_data
            made = frozenset(zone for zone, path in (
                data.items() if zones is None else ((z, data[z]) for z in zones if z in data))
                if not file_unchanged(path, zone))
        if only is None:
            self._watched.looked(names, changed, made if zone_files else None, self._stamps)
        return Scan(changed, made)

    def _look(self, zone_files: bool) -> tuple[set[str], set[str]] | None:
        """What a plain scan looks at (YAML names, zones), when the watch vouches for the
        rest; None: every file (a new watch is started first, when zone files are
        scanned)."""
        watched = self._watched
        if self._watch is not None:
            try:
                for path in self._watch.take():
                    watched.changed(path, path in self._watch.links)
            except Lost as exc:
                log.info("event=sources_watch_lost reason=%r; every file is looked at", str(exc))
                self._watch.close()
                self._watch = None
            else:
                names = {MAIN} | watched.names | watched.always_names | watched.dirty_names
                watched.dirty_names = set()
                if not zone_files:
                    return names, set()
                zones = watched.zones | watched.always_zones | watched.dirty_zones
                watched.dirty_zones = set()
                return names, zones
        if zone_files:
            self._watch, self._watched = self._start_watch()
        return None

    def _start_watch(self) -> tuple[Watch | None, _Watched]:
        """A new watch of the sources' directories, and what it cannot see."""
        watched = _Watched()
        for zone, path in self._zone_data.items():
            watched.zone_file(path, zone)
        watched.zone_dirs = {d for d in map(os.path.dirname, watched.zones_at) if os.path.isdir(d)}
        watched.yaml_dirs = self._yaml_dirs()
        try:
            watch = Watch.start([*watched.zone_dirs, *watched.yaml_dirs])
        except (Lost, OSError) as exc:
            log.info("event=sources_watch_unavailable reason=%r; every file is looked at "
                     "on each reload", str(exc))
            return None, _Watched()
        watched.always_zones = {zone for path, zones in watched.zones_at.items()
                                if path in watch.links or os.path.dirname(path) not in
                                watched.zone_dirs for zone in names_of(zones)}
        watched.always_names = {name for name in self._stamps
                                if str(self.path(name)) in watch.links}
        return watch, watched

    def _yaml_dirs(self) -> dict[str, NameOf]:
        """The directories holding YAML sources other than acnsd.yaml (which every scan
        looks at), each with the name among the sources of a file of it."""
        return {}

    def watch(self) -> None:
        """Start the watch now, so that the next plain scan looks only at what changed:
        a scan of every file, whose findings the next scan finds again (none is taken)."""
        if self._watch is None:
            started = time.monotonic()
            self.scan()
            log.info("event=sources_watch watching=%s zones=%d seconds=%.3f",
                     str(self._watch is not None).lower(), len(self._zone_data),
                     time.monotonic() - started)

    def adopt(self, scan: Scan) -> None:
        """Take the YAML sources a scan found changed as they were then (their changes
        were accepted)."""
        for name, found in scan.changed.items():
            if found is None:
                self._stamps.pop(name, None)
            else:
                self._stamps[name] = found[1]

    def unchanged(self) -> bool:
        """Whether every YAML source is as last read or written here."""
        return not self.scan(zone_files=False).changed

    def _on_disk(self) -> dict[str, os.stat_result]:
        """The stat of every YAML source there is now, by name."""
        raise NotImplementedError

    def _unchanged(self, name: str, expected: Stamp | None) -> Stamp | None:
        """The file's stamp now, when it is as `expected` (None: absent); else Conflict."""
        path = self.path(name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if expected is None:
                return None
            raise Conflict(path, "was removed") from None
        if expected is None:
            raise Conflict(path, "was created")
        if expected.vouches(st):
            return expected
        _, now = read_stamped(path)
        if now.digest != expected.digest:
            raise Conflict(path, "changed on disk")
        return now


class SingleFile(Sources):
    """The single file layout: every change is an edit of acnsd.yaml's text."""

    def __init__(self, loaded: Loaded):
        super().__init__(loaded)
        self._document: Document | None = None
        zones = len(loaded.model.zones)
        if zones > LARGE:
            log.warning("event=config_layout layout=single_file zones=%d file=%s "
                        "reason='each change rewrites and re-reads the whole file (O(file)); "
                        "acnsd migrate-layout --config %s moves the accounts to a directory, "
                        "where a change writes one small file'", zones, self.config_file,
                        self.config_file)

    @property
    def document(self) -> Document:
        """acnsd.yaml's round-trip document (read at its first use: seconds at 100,000
        zones)."""
        if self._document is None:
            self._document = Document(self.config_file,
                                      self.config_file.read_bytes().decode("utf-8"))
        return self._document

    def edit(self, change: Change) -> Edit:
        if isinstance(change, ZoneFileChanged):  # (acnsd.yaml is not edited: not read)
            text = (self._document.text if self._document is not None
                    else self.config_file.read_bytes().decode("utf-8"))
            return Edit(change, None, None, None, None, self._locate(text))
        return self.edit_document(lambda document: _apply(document, change), change)

    def edit_document(self, change: Callable[[Any], None], what: Any = None) -> Edit:
        """The edit `change` makes to acnsd.yaml's round-trip document (`what`: the Change
        it makes, if it is one)."""
        expected = self._unchanged(MAIN, self._stamps[MAIN])
        text = self.document.edit(change)
        return Edit(what, MAIN, self.config_file, text, expected, self._locate(text))

    def zone_entry(self, zone: str) -> Any:
        """As Sources' (the round-trip reader's value: YAML 1.2, for merging a patch that
        load() then checks)."""
        for account in _accounts(self.document.data()):
            zones = account.get("zones")
            i = zone_at(zones, zone)
            if i is not None:
                return zones[i]
        return None

    def account_entry(self, account_id: str) -> Any:
        """As Sources' (the round-trip reader's value, as zone_entry)."""
        return next(({k: v for k, v in a.items() if k != "zones"}
                     for a in _accounts(self.document.data())
                     if str(a.get("id")) == account_id), None)

    def write(self, edit: Edit) -> None:
        try:
            super().write(edit)
        except BaseException:
            self.discard(edit)
            raise
        if edit.name is not None:
            self.document.taken()

    def discard(self, edit: Edit) -> None:
        if self._document is not None and edit.name is not None:
            self._document.dropped()

    def _locate(self, text: str) -> Locate:
        """Problems of acnsd.yaml holding `text` (parsed when the first is located)."""
        sources: list[Source] = []

        def locate(path: str, message: str, rule: str | None) -> Problem:
            if not sources:
                sources.append(parse(text, str(self.config_file)))
            return sources[0].problem(path, message, rule)

        return locate

    def _on_disk(self) -> dict[str, os.stat_result]:
        try:
            return {MAIN: os.stat(self.config_file)}
        except OSError:
            return {}


class Directory(Sources):
    """The directory layout: a change is an edit of one account's or one zone's file."""

    def __init__(self, loaded: Loaded):
        super().__init__(loaded)
        accounts_dir = loaded.model.accounts_dir
        assert accounts_dir is not None
        self.accounts_dir = accounts_dir
        self._files: dict[str, str] = {}  # zone → the name of the zone list file holding it
        # and the other way, so that a reload of one file does not walk every zone (~6 ms
        # at 100,000 zones, twice): a file's name → its zones in order (~80 octets a zone)
        self._held: dict[str, Names] = {}
        # the names as the stamps' keys spell them: one string per file, not two
        names = {name: name for name in self._stamps}
        files: dict[str, list[str]] = {}
        for account in loaded.model.accounts:
            for zone in account.zones:
                name = zone.path.rpartition(":")[0]
                files.setdefault(names.get(name, name), []).append(zone.name)
            for directory in (PurePath(accounts_dir, account.id),
                              PurePath(accounts_dir, account.id, ZONES)):
                remove_stale_temporaries(self.base / directory)  # a crash's
        for name, zones in files.items():
            self._hold(name, zones)

    def file_of(self, zone: str) -> str | None:
        """The name of the zone file holding `zone`."""
        return self._files.get(zone)

    def zones_in(self, name: str) -> list[str]:
        """The zones the zone list file `name` held when last read or written, in order."""
        return list(names_of(self._held.get(name, ())))

    def _hold(self, name: str, zones: Collection[str]) -> None:
        """The zone list file `name` holds `zones` (after those it holds already)."""
        held = dict.fromkeys(zones, name)  # each once
        for zone in held:
            self._release(zone)
        self._files.update(held)
        self._held[name] = as_names((*names_of(self._held.get(name, ())), *held))

    def _release(self, zone: str) -> None:
        """`zone` is held by no zone list file."""
        name = self._files.pop(zone, None)
        if name is not None:
            held = tuple(z for z in names_of(self._held.pop(name)) if z != zone)
            if held:
                self._held[name] = as_names(held)

    def edit(self, change: Change) -> Edit:
        if isinstance(change, ZoneFileChanged):
            return self.on_disk(change)
        if isinstance(change, ACCOUNT_CHANGES):
            name = self._account_file(change.account)  # type: ignore[union-attr]
            return self._edit(change, name, dict)
        if isinstance(change, ZoneCreated):
            self._account_file(change.account)
            name = zone_file(self.accounts_dir, change.account,
                             zone_file_stem(change.name) + SUFFIX)
        else:
            name = self._files.get(change.zone)  # type: ignore[union-attr]
            if name is None:
                raise LookupError(f"zone {change.zone} is not configured")  # type: ignore[union-attr]
        return self._edit(change, name, list)

    def on_disk(self, change: Change, scan: Scan | None = None) -> Edit:
        """A change an operator made to the files on disk (nothing to write), located in
        them as they are: as `scan` read those it found changed, the others as read now."""
        found = scan.changed.items() if scan is not None else ()
        return Edit(change, None, None, None, None, self._locate(
            {name: None if now is None else now[0].decode("utf-8") for name, now in found}))

    def zone_entry(self, zone: str) -> Any:
        """As Sources' (as the loader reads it)."""
        name = self._files.get(zone)
        entries = self._value(name, ZONES) if name else None
        i = zone_at(entries, zone)
        return None if i is None else entries[i]

    def account_entry(self, account_id: str) -> Any:
        """As Sources' (as the loader reads it)."""
        value = self._value(self._account_file(account_id), "")
        return value if isinstance(value, dict) else {}

    def _account_file(self, account_id: str) -> str:
        name = account_file(self.accounts_dir, account_id)
        if name not in self._stamps:
            raise LookupError(f"account {account_id} is not configured")
        return name

    def _value(self, name: str, root: str) -> Any:
        path = self.path(name)
        return parse(path.read_bytes().decode("utf-8"), str(path), root).value

    def _edit(self, change: Change, name: str, kind: type) -> Edit:
        """The edit `change` makes to the file `name` (whose root is a `kind`)."""
        path = self.path(name)
        expected = self._stamps.get(name)
        left: list[int] = []  # the zones a zone file keeps

        def make(node: Any) -> None:
            if kind is dict:
                edit_account(node, change)
            else:
                edit_zones(node, change)
                left.append(len(node))

        if expected is None:  # a new file: there must be none
            self._unchanged(name, None)
            text: str | None = _dumped(make, kind)
        else:
            raw, now = read_stamped(path)
            if now.digest != expected.digest:
                raise Conflict(path, "changed on disk")
            expected = now
            document = Document(path, raw.decode("utf-8"), _indents(kind))
            text = _dumped(make, kind) if document.data() is None else document.edit(make)
            if left == [0]:
                text = None  # its last zone deleted: the file goes
        return Edit(change, name, path, text, expected, self._locate({name: text}))

    def _locate(self, edited: dict[str, str | None]) -> Locate:
        """Problems of the configuration with `edited` (name → text) made: located in the
        edited text, or in the file as on disk (read when a problem is located there)."""
        sources: dict[str | None, Source] = {}

        def is_file(name: str) -> bool:
            return name != MAIN and (name in self._stamps or name in edited)

        def locate(path: str, message: str, rule: str | None) -> Problem:
            name, inner = split(path, is_file)
            if name not in sources:
                sources[name] = self._source(name, edited)
            problem = sources[name].problem(inner, message, rule)
            if name is None:
                return problem
            return dataclasses.replace(problem, accounts=(self._parts(name)[0],))

        return locate

    def _source(self, name: str | None, edited: dict[str, str | None]) -> Source:
        path = self.path(name or MAIN)
        text = edited[name] if name in edited else path.read_bytes().decode("utf-8")
        root = ZONES if name and len(self._parts(name)) == 3 else ""
        return parse(text or "", str(path), root)

    def _parts(self, name: str) -> tuple[str, ...]:
        """(account, account.yaml) or (account, zones, file) of a file of the tree."""
        return PurePath(name).relative_to(PurePath(self.accounts_dir)).parts

    def write(self, edit: Edit) -> None:
        super().write(edit)
        change = edit.change
        if isinstance(change, ZoneCreated):
            self._hold(edit.name, [normalize(change.name)])  # type: ignore[arg-type]
        elif isinstance(change, ZoneDeleted):
            self._release(change.zone)

    def adopt(self, scan: Scan) -> None:
        """As Sources'; the zones of the zone files that changed are found in them anew."""
        super().adopt(scan)
        for name in scan.changed:
            for zone in names_of(self._held.pop(name, ())):
                del self._files[zone]
                self._zone_data.pop(zone, None)
        for name, found in scan.changed.items():
            if found is not None and name != MAIN and len(self._parts(name)) == 3:
                value = parse(found[0].decode("utf-8"), str(self.path(name)), ZONES).value
                zones, _ = read_zone_list(value, name, ZONES, self.zones_dir,
                                          lambda path, message, rule: Problem(message))
                self._hold(name, [zone.name for zone in zones])
                for zone in zones:
                    self._zone_file(zone.name, zone.file)

    def _on_disk(self) -> dict[str, os.stat_result]:
        found: dict[str, os.stat_result] = {}
        _stat(found, MAIN, self.config_file)
        for account in self._accounts_on_disk() or ():
            _stat(found, account_file(self.accounts_dir, account),
                  self.base / account_file(self.accounts_dir, account))
            try:
                entries = os.scandir(self.base / PurePath(self.accounts_dir, account, ZONES))
            except OSError:
                continue
            with entries:
                for entry in entries:
                    if _zone_list(self.accounts_dir, account, entry.name) is not None:
                        with contextlib.suppress(OSError):
                            found[zone_file(self.accounts_dir, account, entry.name)] = entry.stat()
        return found

    def _accounts_on_disk(self) -> list[str] | None:
        """The accounts' directories there are now (None: no accounts_dir)."""
        try:
            with os.scandir(self.base / self.accounts_dir) as entries:
                return [e.name for e in entries if not e.name.startswith(".") and e.is_dir()]
        except OSError:
            return None

    def _yaml_dirs(self) -> dict[str, NameOf]:
        """accounts_dir (an account's directory made or removed there is Lost; none: not
        watched, so Lost), each account's directory and its zones directory."""
        found: dict[str, NameOf] = {str(self.base / self.accounts_dir): lambda file: None}
        for account in self._accounts_on_disk() or ():
            directory = self.base / PurePath(self.accounts_dir, account)
            found[str(directory)] = functools.partial(_account_yaml, self.accounts_dir, account)
            found[str(directory / ZONES)] = functools.partial(_zone_list, self.accounts_dir,
                                                              account)
        return found


@dataclass
class _Watched:
    """What a plain scan looks at besides the watch's events: the YAML sources and zones
    it found changed (or, YAML, not settled) the last time, or written or given a file
    since; those the watch cannot see (`always_`); the watch's events not looked at yet
    (`dirty_`); and how an event's path names a source (`zones_at`, `yaml_dirs`)."""

    names: set[str] = dataclasses.field(default_factory=set)
    zones: set[str] = dataclasses.field(default_factory=set)
    always_names: set[str] = dataclasses.field(default_factory=set)
    always_zones: set[str] = dataclasses.field(default_factory=set)
    dirty_names: set[str] = dataclasses.field(default_factory=set)
    dirty_zones: set[str] = dataclasses.field(default_factory=set)
    # the zones of each zone file (one name apiece at 10^5 zones: Names, not a set of one,
    # 216 bytes)
    zones_at: dict[str, Names] = dataclasses.field(default_factory=dict)
    zone_dirs: set[str] = dataclasses.field(default_factory=set)
    yaml_dirs: dict[str, NameOf] = dataclasses.field(default_factory=dict)

    def zone_file(self, path: str, zone: str) -> None:
        """`zone`'s data is in the file `path`."""
        held = self.zones_at.get(path)
        if held is None:
            self.zones_at[path] = zone
        elif zone not in names_of(held):
            self.zones_at[path] = as_names((*names_of(held), zone))

    def changed(self, path: str, link: bool) -> None:
        """The watch saw `path` change (a symbolic link now: looked at every time)."""
        zones = names_of(self.zones_at.get(path, ()))
        (self.always_zones if link else self.dirty_zones).update(zones)
        directory, file = os.path.split(path)
        name_of = self.yaml_dirs.get(directory)
        if name_of is not None and (name := name_of(file)) is not None:
            (self.always_names if link else self.dirty_names).add(name)

    def looked(self, names: Collection[str], changed: Collection[str],
               zones: Collection[str] | None, stamps: Mapping[str, Stamp]) -> None:
        """A scan looked at `names` (and at zones, when not None) and found these changed."""
        self.names = {name for name in names if name in changed
                      or (name in stamps and not _settled(stamps[name]))}
        if zones is not None:
            self.zones = set(zones)


def _settled(stamp: Stamp) -> bool:
    """Whether a stat equal to the stamp's vouches for it (Stamp.vouches)."""
    return stamp.mtime_ns < stamp.read_at - SETTLED_NS


def _account_yaml(accounts_dir: str, account: str, file: str) -> str | None:
    return account_file(accounts_dir, account) if file == ACCOUNT_FILE else None


def _zone_list(accounts_dir: str, account: str, file: str) -> str | None:
    """The name of an account's zone list file `file` (None: not one)."""
    if file.endswith(SUFFIX) and not file.startswith("."):
        return zone_file(accounts_dir, account, file)
    return None


def open_sources(loaded: Loaded) -> SingleFile | Directory:
    """The sources of what load() read, in the layout it found."""
    if loaded.model.accounts_dir is None:
        return SingleFile(loaded)
    return Directory(loaded)


def _apply(document: Any, change: Change) -> None:
    """Make `change` to a single file's document."""
    if isinstance(change, ACCOUNT_CHANGES):
        edit_account(account_node(document, change.account), change)  # type: ignore[union-attr]
    elif isinstance(change, ZoneCreated):
        edit_zones(zones_node(account_node(document, change.account)), change)
    else:
        for account in _accounts(document):
            zones = account.get("zones")
            if zone_at(zones, change.zone) is not None:  # type: ignore[union-attr]
                edit_zones(zones, change)
                return
        raise LookupError(f"zone {change.zone} is not configured")  # type: ignore[union-attr]


def _accounts(data: Any) -> list[Any]:
    """The account entries (mappings) of a single file's value."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    return [a for a in accounts or () if isinstance(a, dict)]


def _dumped(make: Callable[[Any], None], kind: type) -> str:
    """The text of a new file: `make` applied to an empty mapping or list."""
    document = CommentedMap() if kind is dict else CommentedSeq()
    make(document)
    return dump(yaml_dumper(*_indents(kind)), document)


def _indents(kind: type) -> tuple[int, int, int]:
    """The indentation acnsd writes a file whose root is a `kind` in (dict: an account's
    file; list: a zone's file)."""
    return INDENTS[0] if kind is dict else LIST_INDENTS


def _stamp_of(path: Path, text: str) -> Stamp:
    """The stamp of a file just written with `text`."""
    st = os.stat(path)
    return Stamp(st.st_mtime_ns, st.st_size, st.st_ino,
                 hashlib.sha256(text.encode("utf-8")).hexdigest(), time.time_ns())


def _stat(found: dict[str, os.stat_result], name: str, path: Path) -> None:
    with contextlib.suppress(OSError):
        found[name] = os.stat(path)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
