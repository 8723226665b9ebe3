"""The store: what acnsd decided and serves, in one sqlite database (`acnsd.db`).

Rules owned here:

- It holds what must survive restarts: every name's addresses and the released ones (R7),
  what each zone received from the zone defaults (R6), each zone's serial (R10), its served
  content and its journal of differences (`journal` owns their formats and the serial and
  chain rules). A zone's row outlives the zone: a zone removed stops being served (its
  content and journal go) but keeps its serial and recorded defaults, as the JSON state
  file did, so a zone created again continues above its old serial.
- One change is one transaction (`Store.change()`): content, serial, recorded decisions,
  addresses and the journal entry are committed together or not at all (WAL,
  `synchronous=FULL`: a commit that returned survives a crash). A content whose difference
  is empty changes nothing served: no new serial, no journal entry. The journal is trimmed
  in the same transaction.
- A zone's first content may follow its serial in a later transaction (`put_serials`,
  then `put_first_contents`): in between, the zone reads as not served yet, and the
  digest recorded keeps its serial for the same content (a crash loses nothing).
- There is one writer; readers (`Store.open(path, readonly=True)`) use their own
  connections and never block it. A connection is used by one thread at a time.
- A missing database is created whole (written beside, then renamed into place), so a file
  at the path is always a store or an error: a file that is not a store, is corrupt, or has
  a schema version this acnsd does not read is refused with its path, never replaced by a
  fresh one, which would hand out new addresses (R7). A store of version 1 is read as it
  is; the writer marks it version 2, whose contents may be kept as read
  (`journal.as_read`), which an acnsd that reads only version 1 would misread.
- Every transaction that writes what a load reads (zones, addresses, the journal; not the
  meta rows, such as the cookie secret) counts one more `generation` (meta), in the same
  commit: a reader that saw a generation knows that data unchanged while it stays (the
  compiled snapshot of a start is valid only for the store it was made from).
- `import_state_json` brings today's JSON state file into a new store unchanged (addresses,
  serials); `export_state_json` gives the store back in that file's shape.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import StateError
from . import journal
from .journal import Diff
from .state import VERSION as STATE_VERSION
from .state import load_state_json

__all__ = ["Change", "Committed", "Store", "StoreError", "StoredZone", "ZoneRecord",
           "export_state_json", "import_state_json"]

SCHEMA_VERSION = 2  # 2: a zone's content may be kept as read (journal.as_read)
_READS = ("1", "2")  # the versions this acnsd reads; its writer makes a 1 a 2
GENERATION = "generation"  # meta key: transactions that wrote
MAX_DEPTH = 100  # differences kept per zone
MAX_BYTES = 1 << 20  # encoded bytes of differences kept per zone

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE addresses (
  name TEXT PRIMARY KEY,
  ipv4 TEXT,
  ipv6 TEXT,
  released INTEGER NOT NULL DEFAULT 0 CHECK (released IN (0, 1)));
CREATE TABLE zones (
  name TEXT PRIMARY KEY,               -- lower-case, no final dot
  recorded TEXT,                       -- JSON: what the zone received from the defaults (R6)
  serial INTEGER CHECK (serial BETWEEN 0 AND 4294967295),
  digest TEXT,                         -- the content digest of the JSON state file's era
  content BLOB,                        -- journal.pack_content or .as_read; NULL: not served
  source TEXT,                         -- the file(s) the content was derived from,
  stamp TEXT,                          -- and their stamp when it was
  CHECK (content IS NULL OR serial IS NOT NULL));
CREATE TABLE journal (
  zone TEXT NOT NULL REFERENCES zones (name) ON DELETE CASCADE,
  seq INTEGER NOT NULL,                -- per zone, +1 per difference: the order
  serial_from INTEGER NOT NULL,
  serial_to INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,       -- unix seconds
  diff BLOB NOT NULL,                  -- journal.Diff.encode
  PRIMARY KEY (zone, seq));
"""

_NOT_A_STORE = ("acnsd will not start afresh, which would hand out new addresses: restore it "
                "from a backup, or move it away to start with no recorded state")


class StoreError(StateError):
    """A store problem, naming the database file."""

    def __init__(self, file: Path, detail: str):
        self.file, self.detail = str(file), detail
        super().__init__(f"{file}: {detail}")


@dataclass(frozen=True)
class StoredZone:
    """What the store holds for one zone name."""

    name: str
    serial: int | None
    content: bytes | None  # journal.pack_content; None when not served
    recorded: dict[str, Any] | None  # what it received from the zone defaults (R6)
    digest: str | None
    source: str | None
    stamp: str | None


class ZoneRecord(NamedTuple):
    """A zone name's row without its content: what a load reads (`Store.zone_records`)."""

    name: str
    recorded: dict[str, Any] | None
    serial: int | None
    digest: str | None
    served: bool  # the store holds content for it


@dataclass(frozen=True)
class Committed:
    """What `Change.put_zone` did: the zone's serial after it, and the difference it
    journalled (None when nothing served changed, or the zone had no content before)."""

    serial: int
    diff: Diff | None


class Store:
    """An open store. `Store.open(path)` for the writer, `readonly=True` for readers."""

    def __init__(self, path: Path, db: sqlite3.Connection, max_depth: int, max_bytes: int):
        self.path, self._db = path, db
        self.max_depth, self.max_bytes = max_depth, max_bytes

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False,
             max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Store:
        """Open the store at `path`; the writer creates it when missing."""
        path = Path(path)
        if not readonly and not path.exists():
            _create(path)
        try:
            if readonly:
                db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True,
                                     isolation_level=None, check_same_thread=False)
            else:
                db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(path, f"cannot open the store: {exc}") from exc
        try:
            _check(path, db)
            if not readonly:
                _configure(db)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND value "
                           "!= ?", (str(SCHEMA_VERSION),) * 2)
        except BaseException:
            db.close()
            raise
        return cls(path, db, max_depth, max_bytes)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _located(self) -> Iterator[None]:
        """sqlite errors as StoreErrors naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(self.path, f"the store cannot be read or written ({exc}); "
                             f"if it is corrupt, {_NOT_A_STORE}") from exc

    # ---- reading ----------------------------------------------------------------------

    def zone(self, name: str) -> StoredZone | None:
        with self._located():
            row = self._db.execute(f"SELECT {_ZONE_COLUMNS} FROM zones WHERE name = ?",
                                   (name,)).fetchone()
        return None if row is None else _stored_zone(row)

    def zones(self) -> Iterator[StoredZone]:
        """Every zone name the store knows, by name, read as iterated (the restart path)."""
        with self._located():
            for row in self._db.execute(f"SELECT {_ZONE_COLUMNS} FROM zones ORDER BY name"):
                yield _stored_zone(row)

    def zone_records(self) -> Iterator[ZoneRecord]:
        """What the store recorded of every zone name but its content (a load's state).
        Equal recorded defaults are one object (most zones received the same): read
        them, never change them in place."""
        with self._located():
            rows = self._db.execute("SELECT name, recorded, serial, digest, content IS NOT "
                                    "NULL FROM zones").fetchall()
        parsed: dict[str | None, dict[str, Any] | None] = {None: None}
        for name, recorded, serial, digest, served in rows:
            if recorded not in parsed:
                parsed[recorded] = json.loads(recorded)
            yield ZoneRecord(name, parsed[recorded], serial, digest, bool(served))

    def serial(self, name: str) -> int | None:
        with self._located():
            row = self._db.execute("SELECT serial FROM zones WHERE name = ?",
                                   (name,)).fetchone()
        return None if row is None else row[0]

    def addresses(self) -> dict[str, dict[str, str | None]]:
        """Every name's addresses (R7): name → {"ipv4": ..., "ipv6": ...}."""
        return self._addresses(released=False)

    def released(self) -> dict[str, dict[str, str | None]]:
        """The addresses of removed names, kept aside (R7)."""
        return self._addresses(released=True)

    def _addresses(self, released: bool) -> dict[str, dict[str, str | None]]:
        with self._located():
            rows = self._db.execute("SELECT name, ipv4, ipv6 FROM addresses WHERE released = ?"
                                    " ORDER BY name", (int(released),)).fetchall()
        return {name: {"ipv4": v4, "ipv6": v6} for name, v4, v6 in rows}

    def is_empty(self) -> bool:
        """Whether the store records nothing yet (no address, no zone)."""
        with self._located():
            return self._db.execute("SELECT NOT EXISTS (SELECT 1 FROM addresses) AND NOT "
                                    "EXISTS (SELECT 1 FROM zones)").fetchone()[0] == 1

    def meta(self, key: str) -> str | None:
        with self._located():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def generation(self) -> int:
        """How many transactions have written to the store (0: none since generations are
        counted)."""
        return int(self.meta(GENERATION) or 0)

    def ixfr_chain(self, name: str, client_serial: int) -> list[Diff] | None:
        """The differences that bring a secondary at `client_serial` to the zone's serial,
        oldest first ([] when it has it already), or None: answer with AXFR
        (`journal.chain_start`)."""
        with self._located(), self._read():
            row = self._db.execute("SELECT serial FROM zones WHERE name = ? AND content "
                                   "IS NOT NULL", (name,)).fetchone()
            if row is None:
                return None
            links = self._db.execute("SELECT seq, serial_from, serial_to FROM journal WHERE "
                                     "zone = ? ORDER BY seq", (name,)).fetchall()
            start = journal.chain_start([(f, t) for _, f, t in links], row[0], client_serial)
            if start is None or start == len(links):
                return None if start is None else []
            blobs = self._db.execute("SELECT diff FROM journal WHERE zone = ? AND seq >= ? "
                                     "ORDER BY seq", (name, links[start][0])).fetchall()
        try:
            return [Diff.decode(blob) for blob, in blobs]
        except journal.JournalFormatError as exc:
            raise StoreError(self.path, f"zone {name}: a journal entry is corrupt ({exc}); "
                             "delete its journal rows to answer with AXFR") from exc

    def journal_entries(self) -> int:
        """How many differences the journal holds, over every zone."""
        with self._located():
            return self._db.execute("SELECT count(*) FROM journal").fetchone()[0]

    @contextmanager
    def _read(self) -> Iterator[None]:
        """Several reads from one snapshot."""
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    # ---- writing ----------------------------------------------------------------------

    @contextmanager
    def change(self) -> Iterator[Change]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._located():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                made = Change(self)
                yield made
                if self._db.total_changes - before > made.meta_rows:
                    self._db.execute("INSERT INTO meta (key, value) VALUES (?, '1') ON "
                                     "CONFLICT (key) DO UPDATE SET value = value + 1",
                                     (GENERATION,))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise


class Change:
    """The writes of one transaction (`Store.change()`)."""

    def __init__(self, store: Store):
        self._store, self._db = store, store._db
        self.meta_rows = 0  # rows of meta written (they do not count a generation)

    def put_zone(self, name: str, content: bytes, *, digest: str | None = None,
                 source: str | None = None, stamp: str | None = None,
                 now: int | None = None) -> Committed:
        """Serve `content` (a zone plan's, dns/packed.py: with its one SOA, whose serial is
        ignored) as the zone's content from now on, derived from `source` as of `stamp`.
        The serial stays when nothing served changed, and when the zone has no content yet
        but the `digest` recorded (a zone imported from the JSON state file); else it is
        `journal.next_serial` at unix time `now`, and a change of content is journalled.

        `digest` names the inputs the content was built from: a content given with the
        digest of the content served is taken as that content, without reading, comparing
        or writing anything (a start with unchanged data)."""
        row = self._db.execute("SELECT serial, digest, content IS NOT NULL FROM zones WHERE "
                               "name = ?", (name,)).fetchone()
        now = int(time.time()) if now is None else now
        if row is not None and row[2]:
            return self._replace_content(name, content, row[0], row[1], digest, source, stamp,
                                         now)
        serial, old_digest = row[:2] if row else (None, None)
        put = _first_content(name, content, serial, old_digest, digest, source, stamp, now)
        self._db.execute(_PUT_ZONE, put)
        return Committed(put[1], None)

    def put_zones(self, zones: Iterable[tuple[str, bytes, str | None, int | None]], *,
                  now: int | None = None) -> list[int]:
        """`put_zone(name, content, digest=digest)` of each (name, content, digest, built), in
        order; the serials. The same rules at a cost fit for a first start: the zones the
        store holds no content for (all of them then) are read in batches and written with
        one prepared statement. `built`: the serial the zone's build gave it (or None),
        which a zone the store never held keeps (_first_serial)."""
        zones = list(zones)
        now = int(time.time()) if now is None else now
        rows = self._rows([name for name, _, _, _ in zones])
        serials, new = [], []
        for name, content, digest, built in zones:
            serial, old_digest, served = rows.get(name, (None, None, False))
            if served:
                serials.append(self._replace_content(name, content, serial, old_digest, digest,
                                                     None, None, now).serial)
            else:
                new.append(_first_content(name, content, serial, old_digest, digest, None,
                                          None, now, built))
                serials.append(new[-1][1])
        self._db.executemany(_PUT_ZONE, sorted(new))  # in key order: B-tree appends
        return serials

    def put_serials(self, zones: Iterable[tuple[str, str, int | None]], *,
                    now: int | None = None) -> list[int]:
        """The serial `put_zones` gives each (name, digest, built) of a zone the store holds
        no content for, recorded without the content: the serials
        first, the contents after (`put_first_contents`). Until its content is written the
        zone reads as not served yet, with that serial and digest, which the next
        `put_zone` of the content built from those inputs keeps: a crash in between loses
        nothing. Only the rows that change are written (a start after such a crash
        writes none)."""
        zones = list(zones)
        now = int(time.time()) if now is None else now
        rows = self._rows([name for name, _, _ in zones])
        serials, changed = [], []
        for name, digest, built in zones:
            serial, old_digest, served = rows.get(name, (None, None, False))
            if served:
                raise ValueError(f"zone {name} is served: its serial follows its content")
            new = _first_serial(serial, old_digest, digest, now, built)
            if (new, digest) != (serial, old_digest):
                changed.append((name, new, digest))
            serials.append(new)
        self._db.executemany(_PUT_SERIAL, sorted(changed))  # in key order: B-tree appends
        return serials

    def put_first_contents(self, zones: Iterable[tuple[str, int, str, bytes]]) -> int:
        """The content (a zone plan's) of each (name, serial, digest, content) whose serial
        and digest `put_serials` recorded, as `put_zone` would have written it then; only
        where the zone is still as `put_serials` left it (that serial and digest, no
        content): a change written in between is not undone. How many were written."""
        before = self._db.total_changes
        self._db.executemany(
            "UPDATE zones SET content = ? WHERE name = ? AND serial = ? AND digest = ? AND "
            "content IS NULL", ((journal.as_read(content), name, serial, digest)
                                for name, serial, digest, content in zones))
        return self._db.total_changes - before

    def _rows(self, names: list[str]) -> dict[str, tuple[int | None, str | None, bool]]:
        """The serial, digest and whether content is held, of each of `names` the store
        knows, read in batches."""
        rows = {}
        for i in range(0, len(names), _BATCH):
            batch = names[i : i + _BATCH]
            rows.update((name, rest) for name, *rest in self._db.execute(
                "SELECT name, serial, digest, content IS NOT NULL FROM zones WHERE name IN "
                f"({','.join('?' * len(batch))})", batch))
        return rows

    def _replace_content(self, name: str, content: bytes, serial: int,
                         old_digest: str | None, digest: str | None, source: str | None,
                         stamp: str | None, now: int) -> Committed:
        """put_zone of a zone served: its new content, compared with the one served."""
        if digest is not None and digest == old_digest:
            return Committed(serial, None)
        soa, rrs = journal.zone_rrs(content)
        old = journal.unpack_content(journal.stored_content(self._db.execute(
            "SELECT content FROM zones WHERE name = ?", (name,)).fetchone()[0], serial))
        change = journal.diff(old[1:], rrs, old[0], soa)
        if change.empty:
            change = None
        else:
            serial = journal.next_serial(serial, now)
            change = dataclasses.replace(change, soa_to=journal.with_serial(soa, serial))
        stored = journal.pack_content(journal.with_serial(soa, serial), rrs)
        self._db.execute(_PUT_ZONE, (name, serial, digest, stored, source, stamp))
        if change is not None:
            self._journal(name, change, now)
        return Committed(serial, change)

    def _journal(self, name: str, change: Diff, now: int) -> None:
        """Append a difference to the zone's journal, then drop the oldest beyond the
        bounds (`journal.trimmed`)."""
        self._db.execute(
            "INSERT INTO journal (zone, seq, serial_from, serial_to, committed_at, diff) "
            "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM journal WHERE zone = ?1",
            (name, change.serial_from, change.serial_to, now, change.encode()))
        rows = self._db.execute("SELECT seq, length(diff) FROM journal WHERE zone = ? "
                                "ORDER BY seq", (name,)).fetchall()
        drop = journal.trimmed([size for _, size in rows], self._store.max_depth,
                               self._store.max_bytes)
        if drop:
            self._db.execute("DELETE FROM journal WHERE zone = ? AND seq <= ?",
                             (name, rows[drop - 1][0]))

    def remove_zone(self, name: str) -> None:
        """Stop serving the zone: its content and journal go; its serial and recorded
        defaults stay (a zone created again continues above that serial)."""
        self._db.execute("DELETE FROM journal WHERE zone = ?", (name,))
        self._db.execute("UPDATE zones SET content = NULL, source = NULL, stamp = NULL "
                         "WHERE name = ?", (name,))

    def record(self, name: str, recorded: dict[str, Any] | None) -> None:
        """What the zone received from the zone defaults (R6; the JSON state's entry), or
        None: nothing (a zone deleted: the next of its name is a new zone)."""
        self.record_all([(name, recorded)])

    def record_all(self, entries: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        """`record` of each (name, recorded), with one prepared statement; equal recorded
        defaults (most zones received the same) are encoded once."""
        texts: dict[str, str] = {}

        def text(recorded: dict[str, Any] | None) -> str | None:
            if recorded is None:
                return None
            key = repr(recorded)  # equal JSON data, equal repr (keys in their order)
            found = texts.get(key)
            if found is None:
                found = texts[key] = json.dumps(recorded, sort_keys=True)
            return found

        self._db.executemany(_RECORD, ((name, text(recorded)) for name, recorded in entries))

    def record_serial(self, name: str, serial: int, digest: str | None) -> None:
        """A serial and content digest for a zone not served yet (an imported one)."""
        done = self._db.execute(
            "INSERT INTO zones (name, serial, digest) VALUES (?, ?, ?) ON CONFLICT (name) DO "
            "UPDATE SET serial = excluded.serial, digest = excluded.digest WHERE content IS NULL",
            (name, serial, digest))
        if done.rowcount != 1:
            raise ValueError(f"zone {name} is served: its serial follows its content")

    def assign(self, name: str, ipv4: str | None, ipv6: str | None) -> None:
        """The name's addresses (R7), no longer released if they were."""
        self._db.execute("INSERT OR REPLACE INTO addresses (name, ipv4, ipv6, released) "
                         "VALUES (?, ?, ?, 0)", (name, ipv4, ipv6))

    def release(self, name: str) -> None:
        """The name is gone: its addresses are kept aside (R7)."""
        done = self._db.execute("UPDATE addresses SET released = 1 WHERE name = ? AND "
                                "released = 0", (name,))
        if done.rowcount != 1:
            raise KeyError(f"{name} has no addresses to release")

    def forget(self, name: str) -> None:
        """Drop a released name's addresses (they were handed out again)."""
        self._db.execute("DELETE FROM addresses WHERE name = ? AND released = 1", (name,))

    def unassign(self, name: str) -> None:
        """Drop the name's addresses, released or not (both handed out again at once)."""
        self._db.execute("DELETE FROM addresses WHERE name = ?", (name,))

    def set_meta(self, key: str, value: str) -> None:
        before = self._db.total_changes
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        self.meta_rows += self._db.total_changes - before


_ZONE_COLUMNS = "name, serial, content, recorded, digest, source, stamp"
_PUT_ZONE = ("INSERT INTO zones (name, serial, digest, content, source, stamp) VALUES "
             "(?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET serial = excluded.serial, "
             "digest = excluded.digest, content = excluded.content, "
             "source = excluded.source, stamp = excluded.stamp")
_PUT_SERIAL = ("INSERT INTO zones (name, serial, digest) VALUES (?, ?, ?) ON CONFLICT (name) "
               "DO UPDATE SET serial = excluded.serial, digest = excluded.digest")
_RECORD = ("INSERT INTO zones (name, recorded) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
           "recorded = excluded.recorded")
_BATCH = 500  # names read by one statement (sqlite allows 32766 parameters)


def _first_content(name: str, content: bytes, serial: int | None,
                   old_digest: str | None, digest: str | None, source: str | None,
                   stamp: str | None, now: int, built: int | None = None) -> tuple:
    """The row of a zone that gets content when it has none (`put_zone`)."""
    return (name, _first_serial(serial, old_digest, digest, now, built), digest,
            journal.as_read(content), source, stamp)


def _first_serial(serial: int | None, old_digest: str | None, digest: str | None,
                  now: int, built: int | None = None) -> int:
    """The serial of a zone that gets content when it has none: the one recorded when
    recorded with the same digest (a zone imported from the JSON state file, or whose
    serial `put_serials` recorded), else the next. A zone the store never held (no serial
    recorded) takes `built`, when given: the serial its build gave it, at the time it
    was built (zonedata: the time then), which the store's `now` would only replace by
    a later second, every plan of a first start then made again with it."""
    if serial is None and built is not None:
        return built
    if serial is None or digest is None or digest != old_digest:
        return journal.next_serial(serial or 0, now)
    return serial


def _stored_zone(row: tuple) -> StoredZone:
    name, serial, content, recorded, digest, source, stamp = row
    if content is not None:
        content = journal.stored_content(content, serial)
    return StoredZone(name, serial, content, None if recorded is None else json.loads(recorded),
                      digest, source, stamp)


def _create(path: Path) -> None:
    """A new, empty store at `path`: made beside it, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    for leftover in ("", "-wal", "-shm", "-journal"):  # of a creation that crashed
        tmp.with_name(tmp.name + leftover).unlink(missing_ok=True)
    db = sqlite3.connect(tmp, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(f"BEGIN; {_SCHEMA} INSERT INTO meta VALUES ('schema_version', "
                         f"'{SCHEMA_VERSION}'); COMMIT;")
    finally:
        db.close()
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _check(path: Path, db: sqlite3.Connection) -> None:
    """Refuse a file that is not a store of a schema version this acnsd reads."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise StoreError(path, f"cannot read the store ({exc}); {_NOT_A_STORE}") from exc
        row = None
    except sqlite3.DatabaseError as exc:
        raise StoreError(path, f"the store is corrupt or not a database ({exc}); "
                         f"{_NOT_A_STORE}") from exc
    if row is None:
        raise StoreError(path, f"this is not an acnsd store (no schema version); {_NOT_A_STORE}")
    if row[0] not in _READS:
        raise StoreError(path, f"the store has schema version {row[0]}, and this acnsd reads "
                         f"versions {', '.join(_READS)}; run the acnsd that wrote it, or restore a "
                         "backup of this version")


def _configure(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")


# ---- the JSON state file of earlier versions -----------------------------------------------

def import_state_json(json_path: str | os.PathLike[str], store: Store) -> None:
    """Bring a JSON state file (`state.py`) into an empty store, unchanged: addresses,
    released addresses, recorded zone defaults, serials and digests. The zones get their
    content when first built (`Change.put_zone` keeps the serial if the digest matches)."""
    json_path = Path(json_path)
    if not json_path.exists():
        raise StoreError(json_path, "no such state file to import")
    state = load_state_json(json_path)
    both = sorted(set(state.addresses) & set(state.released))
    if both:
        raise StoreError(json_path, f"names both assigned and released: {', '.join(both)}; "
                         "the state file was edited by hand, fix it before importing")
    if not store.is_empty():
        raise StoreError(store.path, f"cannot import {json_path}: the store holds state "
                         "already; import only into a new store")
    with store.change() as change:
        for name, entry in state.addresses.items():
            change.assign(name, entry.get("ipv4"), entry.get("ipv6"))
        for name, entry in state.released.items():
            change.assign(name, entry.get("ipv4"), entry.get("ipv6"))
            change.release(name)
        for name, recorded in state.zones.items():
            change.record(name, recorded)
        for name, entry in state.serials.items():
            change.record_serial(name, entry.serial, entry.digest)
        change.set_meta("imported_from", str(json_path.resolve()))


def _serial_json(serial: int, digest: str) -> dict[str, Any]:
    return {"serial": serial, "digest": digest}


def export_state_json(store: Store, records: Iterable[ZoneRecord] | None = None,
                      serial: Callable[[int, str], Any] = _serial_json) -> dict[str, Any]:
    """The store's state in the JSON state file's shape (for backups and tests), with
    `records` as read by `store.zone_records()` when given, each zone's serial and digest
    as `serial` makes it (state.SerialEntry: as a State holds it). A serial recorded
    without a digest gets an empty one, which no build matches: an acnsd that reads the
    file back bumps that zone's serial once."""
    zones, serials = {}, {}
    for zone in store.zone_records() if records is None else records:
        if zone.recorded is not None:
            zones[zone.name] = zone.recorded
        if zone.serial is not None:
            serials[zone.name] = serial(zone.serial, zone.digest or "")
    return {"version": STATE_VERSION, "addresses": store.addresses(),
            "released": store.released(), "zones": zones, "serials": serials}
