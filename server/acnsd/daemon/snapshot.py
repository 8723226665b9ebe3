"""The compiled snapshot: a restart with unchanged data serves without loading again.

Rule owned here: a start that loaded and recorded its configuration leaves what it made
(the recorded load, the compiled tables, the State it decided, and the zone files read)
in `<config>.snapshot`, and a later start serves from that file only when every input is
as it was then:

- the same acnsd: its version, the digest of its code, Python's and dnspython's versions
  and this file's FORMAT (a snapshot is never trusted across versions);
- the same configuration path, as given and absolute;
- every file read (acnsd.yaml, the files of the directory layout, every zone file): the
  same (mtime, size, inode) as when read and settled then, or else the same SHA-256 of
  its bytes (the "racy git" rule of tree.py and zonedata.py);
- the same (mtime, inode) of accounts_dir and of every directory of the layout that was
  read, settled before the load began (a file added or removed there changes its mtime;
  a directory that changed while it was read makes no snapshot);
- the same store, at the same generation (store.py: every transaction that writes counts
  one), that of the store once the start's first contents are written (a start that
  leaves them to write after it answers, recording.FirstContents, counts their
  transaction: a crash before it makes the snapshot stale, and the next start loads).

Anything else (no file, another owner, writable by others, unreadable, stale) is a load
as if there were no snapshot, with one log line saying why. A zone file with $INCLUDE
makes no snapshot (no stamp covers what it includes).

With `server.snapshot: false` no snapshot is written and an old one is removed.
The file is written after the start, by a process forked for it (pickling a large
configuration takes seconds: the server does not wait, nor stop answering, for it), beside
the configuration and atomically: a JSON header line (the inputs) and the pickle. The
header is checked before the pickle is read; the pickle is read only from a file owned by
this user and writable by no one else, as the configuration's directory is trusted.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import pickle
import pickletools
import secrets
import stat
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import dns.version

import acnsd
from acnsd.dns.compiler import Tables
from acnsd.gcpause import gc_paused
from acnsd.model import zonedata
from acnsd.model.config import Loaded
from acnsd.model.recording import FirstContents, store_path
from acnsd.model.state import TEMP_SUFFIX, State
from acnsd.model.store import Store
from acnsd.model.tree import MAIN, SETTLED_NS, Stamp

__all__ = ["FORMAT", "compact", "discard", "restore", "snapshot_path", "write", "write_later"]

log = logging.getLogger("acnsd.snapshot")

FORMAT = 1
PROTOCOL = 5  # of the pickle; compact() knows its memo opcodes (MEMOIZE, BINGET...)
_GETS = {"GET", "BINGET", "LONG_BINGET"}
_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}
_FRAME = 1 << 16  # bytes per frame of the pickle written
_CODE = Path(acnsd.__file__).resolve().parent

Restored = tuple[Loaded, Tables, State]


class Stale(Exception):
    """The snapshot does not match its inputs (the message says which)."""


def snapshot_path(config: str | os.PathLike[str]) -> Path:
    """Where the snapshot of the configuration `config` is kept."""
    path = Path(config)
    return path.with_name(path.name + ".snapshot")


def restore(config: str) -> Restored | None:
    """What the start that made the snapshot of `config` served, when every input is as
    it was then (and the zone files read are taken as read); else None."""
    path = snapshot_path(config)
    try:
        with open(path, "rb") as handle:
            _trusted(os.fstat(handle.fileno()))
            header = json.loads(handle.readline())
            if header.get("identity") != _identity(config):
                raise Stale("made by another acnsd or for another configuration path")
            _unchanged(header)
            with gc_paused():
                loaded, tables, state, files = pickle.load(handle)
                gc.freeze()  # as load_tables leaves what it made (serve.frozen)
    except FileNotFoundError:
        return None
    except Stale as exc:
        log.info("event=snapshot_ignored path=%s reason=%r", path, str(exc))
        return None
    except Exception as exc:  # unreadable in any way: a load does what it would have
        log.warning("event=snapshot_ignored path=%s reason=%r", path,
                    f"unreadable: {type(exc).__name__}: {exc}")
        return None
    zonedata.adopt_read_files(files)
    log.info("event=snapshot_used path=%s zones=%d", path, len(loaded.plan.zones))
    return loaded, tables, state


def discard(config: str) -> None:
    """With `server.snapshot: false`: no snapshot is written, and one left by an earlier
    start is removed (it could only be stale: the key's edit changed the configuration)."""
    path = snapshot_path(config)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("event=snapshot_unremoved path=%s reason=%r", path, exc.strerror)
        return
    log.info("event=snapshot_removed path=%s reason='server.snapshot is false'", path)


def write_later(config: str, loaded: Loaded, tables: Tables, state: State,
                began: int, later: FirstContents | None = None) -> None:
    """`write` in a process of its own that the caller does not wait for (a grandchild,
    so that no one has to reap it); called before anything else may write to the store
    but the first contents `later` leaves to write."""
    header = _header(config, loaded, began, _pending(later))
    if header is None:
        return
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:  # the child: fork the writer and return at once
        if os.fork() == 0:
            os.nice(19)  # the server answers first
            _write(snapshot_path(config), header, (loaded, tables, state,
                                                   zonedata.read_files()))
    finally:
        os._exit(0)


def write(config: str, loaded: Loaded, tables: Tables, state: State, began: int,
          later: FirstContents | None = None) -> None:
    """Write the snapshot of what a load that began at `began` (time.time_ns()) made:
    `loaded` recorded, with the State it decided, and the zone files read; atomically,
    a failure logged. Called before anything else may write to the store but the first
    contents `later` leaves to write."""
    header = _header(config, loaded, began, _pending(later))
    if header is not None:
        _write(snapshot_path(config), header, (loaded, tables, state, zonedata.read_files()))


def _pending(later: FirstContents | None) -> int:
    """The store's transactions still to come of a start's first contents."""
    return 1 if later is not None and later.pending else 0


def _write(path: Path, header: dict[str, Any], payload: tuple) -> None:
    started = time.monotonic()
    # named as write_atomic's temporaries, which the next start removes after a crash
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with gc_paused():
            data = pickle.dumps(payload, protocol=PROTOCOL)
        with open(tmp, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(json.dumps(header).encode() + b"\n")
            compact(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        log.warning("event=snapshot_unwritten path=%s reason=%r", path, str(exc))
        return
    log.info("event=snapshot_written path=%s seconds=%.2f", path, time.monotonic() - started)


def compact(data: bytes, out: BinaryIO) -> None:
    """Write the pickle `data` (protocol PROTOCOL) to `out` with only the memo entries that
    it refers to again (pickletools.optimize, in two passes that keep no opcode list):
    an unpickler keeps every object memoized alive until it ends, and the pickler memoizes
    every object's state (a dict or tuple per object), so a snapshot as pickled would take
    half as much memory again as the objects it holds, scattered among them, and twice
    the time to read."""
    used = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in _GETS:
            used.add(arg)
    frame = bytearray()
    renumbered: dict[int, int] = {}
    memoized = 0
    for opcode, arg, start, end in _spans(data):
        name = opcode.name
        if name == "MEMOIZE":
            if memoized in used:
                renumbered[memoized] = len(renumbered)
                frame += pickle.MEMOIZE
            memoized += 1
        elif name in _GETS:
            index = renumbered[arg]
            frame += (pickle.BINGET + bytes([index]) if index < 256
                      else pickle.LONG_BINGET + struct.pack("<I", index))
        elif name == "FRAME":
            continue
        elif name in _PUTS:  # protocol 4 and later memoize with MEMOIZE only
            raise ValueError(f"compact: {name} in a pickle of protocol {PROTOCOL}")
        elif name == "PROTO":
            out.write(data[start:end])
        else:
            frame += data[start:end]
        if len(frame) >= _FRAME or name == "STOP":
            out.write(pickle.FRAME + struct.pack("<Q", len(frame)) + frame)
            frame.clear()


def _spans(data: bytes) -> Iterator[tuple[pickletools.OpcodeInfo, Any, int, int]]:
    """genops with where each opcode ends."""
    previous = None
    for opcode, arg, start in pickletools.genops(data):
        if previous is not None:
            yield (*previous, start)
        previous = (opcode, arg, start)
    if previous is not None:
        yield (*previous, len(data))


def _trusted(st: os.stat_result) -> None:
    """Refuse a snapshot that someone else could have written."""
    if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Stale("not owned by this user, or writable by others")


def _identity(config: str) -> dict[str, Any]:
    """What a snapshot must have been made by, and for."""
    code = hashlib.sha256()
    for file in sorted(_CODE.rglob("*.py")):
        code.update(str(file.relative_to(_CODE)).encode() + b"\0" + file.read_bytes())
    return {"format": FORMAT, "acnsd": acnsd.__version__, "code": code.hexdigest(),
            "python": sys.version, "dnspython": dns.version.version,
            "config": [config, os.path.abspath(config)]}


def _header(config: str, loaded: Loaded, began: int,
            pending: int = 0) -> dict[str, Any] | None:
    """The snapshot's header: its identity and every input as the load that began at
    `began` read it, the store's generation once `pending` more transactions wrote;
    None (logged) when no snapshot can vouch for what it read."""
    try:
        return _inputs(config, loaded, began, pending)
    except Stale as exc:
        log.info("event=snapshot_skipped reason=%r", str(exc))
    except OSError as exc:
        log.info("event=snapshot_skipped reason=%r", f"{exc.filename}: {exc.strerror}")
    return None


def _inputs(config: str, loaded: Loaded, began: int, pending: int) -> dict[str, Any]:
    model = loaded.model
    base = model.config_file.parent
    files = {str(base / name) if name != MAIN else str(model.config_file):
             list(stamp.fields()) for name, stamp in loaded.sources.items()}
    for zone in model.zones:
        stamp = zonedata.file_stamp(zone.file, zone.name)
        if stamp is None:
            raise Stale(f"zone {zone.name}: its file has $INCLUDE (or was not read)")
        files[str(zone.file)] = list(stamp)
    directories = {}
    if model.accounts_dir is not None:  # an entry added or removed changes the mtime
        parents = {base / Path(name).parent for name in loaded.sources if name != MAIN}
        for directory in {base / model.accounts_dir, *parents}:
            st = os.stat(directory)
            if st.st_mtime_ns >= began - SETTLED_NS:
                raise Stale(f"{directory} changed while it was read")
            directories[str(directory)] = [st.st_mtime_ns, st.st_ino]
    store = store_path(model.server.state_file)
    return {"identity": _identity(config), "files": files, "directories": directories,
            "store": [str(store), _generation(store) + pending]}


def _unchanged(header: dict[str, Any]) -> None:
    """Stale unless every input of `header` is as it was."""
    try:
        _compare(header)
    except OSError as exc:
        raise Stale(f"{exc.filename}: {exc.strerror}") from None


def _compare(header: dict[str, Any]) -> None:
    for directory, stamp in header["directories"].items():
        st = os.stat(directory)
        if [st.st_mtime_ns, st.st_ino] != stamp:
            raise Stale(f"{directory}: files were added or removed")
    for file, fields in header["files"].items():
        stamp = Stamp(*fields)
        if stamp.vouches(os.stat(file)):
            continue
        if hashlib.sha256(Path(file).read_bytes()).hexdigest() != stamp.digest:
            raise Stale(f"{file} changed")
    store, generation = header["store"]
    if _generation(Path(store)) != generation:
        raise Stale(f"the store {store} changed")


def _generation(store: Path) -> int:
    with Store.open(store, readonly=True) as opened:
        return opened.generation()
