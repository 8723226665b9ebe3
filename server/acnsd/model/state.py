"""The state of a load: what acnsd decided and must never forget, in memory.

Rules owned here:

- Decisions that must survive restarts (R6 what a new zone received from the zone
  defaults, R7 every name's addresses, R10 each zone's serial and the digest of what it
  was built from) are read from the store (`recording.py`) into a `State`, which the rules
  read and change, and only what changed is written back. So a section's entries are
  replaced or removed, never changed in place: the changes are the entries that are no
  longer the ones read (`State.changed_names`). A zone's serial and digest is one
  `SerialEntry` (one small object for each of 10^5 zones, issue 16); `State.as_json` gives
  every section in the JSON state file's shape.
- The JSON state file of earlier versions (`load_state_json`) is read whole and checked:
  a file that cannot be read is an error, never a silent fresh start that would hand out
  new addresses.

Every file acnsd writes (the configuration, new zone files, the pid file) is written by
`write_atomic`: the new content keeps the mode (and, as root, the owner) of the file it
replaces, and a new file gets 0644 less the umask. Its temporary file is named
`.<name>.<8 random>.acnsd-tmp`, so that those a crash (kill -9) left behind are found
and removed at the next start (`remove_stale_temporaries`), and nothing else is.
"""

from __future__ import annotations

import ipaddress
import json
import json.scanner
import os
import re
import secrets
import stat
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import StateError

__all__ = ["SerialEntry", "State", "StateFileError", "load_state_json", "remove_stale_temporaries",
           "share_equal", "write_atomic"]

VERSION = 1
SECTIONS = ("addresses", "released", "zones", "serials")
NEW_FILE_MODE = 0o644  # less the umask
TEMP_SUFFIX = ".acnsd-tmp"
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX))
_MISSING: Any = object()
_SERIAL = struct.Struct(">IB")  # a SerialEntry's serial, and how its digest is held
_HEX, _TEXT = 0, 1  # the digest as the octets its hex digits spell, or as UTF-8 text


class StateFileError(StateError):
    """A state file problem, located: `file`, `line` (or None) and the `detail`."""

    def __init__(self, file: Path, detail: str, line: int | None = None):
        self.file, self.line, self.detail = str(file), line, detail
        super().__init__(f"{file}{f':{line}' if line else ''}: {detail}")


class SerialEntry(bytes):
    """A zone's recorded serial and the digest of what it was built from (R10), packed in
    one octet string that refers to no other object: as the JSON shape's dict with the
    digest as 64 hex digits an entry was ~400 bytes in four objects, one per zone; packed
    it is 70 octets in one object of 86 bytes (issue 16). A digest that is not lowercase
    hex (the empty one of a serial recorded without one, or a state file's) is kept as its
    text."""

    __slots__ = ()

    def __new__(cls, serial: int, digest: str) -> SerialEntry:
        try:
            octets = bytes.fromhex(digest)
        except ValueError:
            octets = None
        if octets is not None and octets.hex() == digest:
            return bytes.__new__(cls, _SERIAL.pack(serial, _HEX) + octets)
        return bytes.__new__(cls, _SERIAL.pack(serial, _TEXT) + digest.encode())

    @classmethod
    def of_digest(cls, serial: int, digest: bytes) -> SerialEntry:
        """The entry of a digest given as its octets (a build's, which has no text)."""
        return bytes.__new__(cls, _SERIAL.pack(serial, _HEX) + digest)

    @classmethod
    def of_octets(cls, packed: bytes) -> SerialEntry:
        """The entry packed as `packed` (the octets of a SerialEntry)."""
        return bytes.__new__(cls, packed)

    @classmethod
    def of_json(cls, entry: dict[str, Any]) -> SerialEntry:
        """The entry of the JSON state file's `{"serial": ..., "digest": ...}`."""
        return cls(entry["serial"], entry["digest"])

    @property
    def serial(self) -> int:
        return _SERIAL.unpack_from(self)[0]

    @property
    def digest(self) -> str:
        if self[4] == _HEX:
            return self[_SERIAL.size:].hex()
        return self[_SERIAL.size:].decode()

    def digest_is(self, digest: bytes) -> bool:
        """Whether the digest is the one whose octets are `digest`."""
        return self[4] == _HEX and self[_SERIAL.size:] == digest

    def with_serial(self, serial: int) -> SerialEntry:
        """The same digest with another serial."""
        return bytes.__new__(SerialEntry, _SERIAL.pack(serial, self[4]) + self[_SERIAL.size:])

    def as_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "digest": self.digest}

    def __repr__(self) -> str:
        return f"SerialEntry(serial={self.serial}, digest={self.digest!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # (a snapshot holds one a zone: as octets)
        return SerialEntry.of_octets, (bytes(self),)


class State:
    """The decisions recorded at `path` as read (`data`, in the JSON state file's shape
    but for the serials: SerialEntry), changed by the rules; `served`: the zones whose
    content the store holds."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None,
                 served: Iterable[str] = ()):
        self.path = path
        self.data: dict[str, Any] = data or {"version": VERSION}
        for section in SECTIONS:
            self.data.setdefault(section, {})
        self.served = frozenset(served)
        serials = self.data["serials"]
        for name, entry in serials.items():
            if entry.__class__ is dict:
                serials[name] = SerialEntry.of_json(entry)
        share_equal(self.data["zones"])
        self._read = {section: dict(self.data[section]) for section in SECTIONS}

    @property
    def addresses(self) -> dict[str, dict[str, str | None]]:
        return self.data["addresses"]

    @property
    def released(self) -> dict[str, dict[str, str | None]]:
        return self.data["released"]

    @property
    def zones(self) -> dict[str, dict[str, Any]]:
        return self.data["zones"]

    @property
    def serials(self) -> dict[str, SerialEntry]:
        return self.data["serials"]

    def as_json(self) -> dict[str, Any]:
        """The state in the JSON state file's shape."""
        return {**self.data, "serials": {name: entry.as_json()
                                         for name, entry in self.serials.items()}}

    def changed_names(self, section: str) -> set[str]:
        """The names whose entry in `section` is not the one read: new, replaced by a
        different entry, or removed."""
        now, read = self.data[section], self._read[section]
        changed = {name for name, entry in now.items()
                   if (old := read.get(name, _MISSING)) is not entry and old != entry}
        changed.update(name for name in read if name not in now)
        return changed

    @property
    def changed(self) -> bool:
        return any(self.changed_names(section) for section in SECTIONS)


def share_equal(entries: dict[str, Any]) -> None:
    """Make the equal entries of a section (JSON data: dicts, lists and scalars) one
    object, the first of them; entries are replaced, never changed in place, so they may
    be shared. Equal means of the same types, keys in the same order: sharing changes no
    entry's JSON."""
    shared: dict[Any, Any] = {}
    for name, entry in entries.items():
        entries[name] = shared.setdefault(_frozen(entry), entry)


def _frozen(value: Any) -> Any:
    """A hashable form of JSON data, equal for entries that write the same JSON (True and
    1 differ)."""
    if value.__class__ is dict:
        return tuple([(key, item if item.__class__ is str else _frozen(item))
                      for key, item in value.items()])
    if value.__class__ is list:
        return list, tuple([_frozen(item) for item in value])
    if value.__class__ is float:  # 0.0 and -0.0 are equal, and written otherwise
        return float, repr(value)
    return value.__class__, value


def load_state_json(path: Path) -> State:
    """Read a JSON state file; a missing file is a fresh state, a broken one an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State(path)
    except OSError as exc:
        raise StateFileError(path, f"cannot read the state file: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise StateFileError(path, f"the state file is corrupt (not UTF-8: {exc.reason}); "
                             "restore it from a backup, or delete it to have every address "
                             "assigned anew") from exc
    try:
        data = _decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise StateFileError(
            path, f"the state file is corrupt ({exc.msg}); it records the "
            "addresses already handed out, so acnsd will not start afresh. Restore it from a "
            "backup, or delete it to have every address assigned anew", exc.lineno) from exc
    problem = _shape_problem(data)
    if problem:
        raise StateFileError(path, f"the state file is corrupt: {problem}; restore it from a "
                             "backup, or delete it to have every address assigned anew")
    return State(path, data)


def _decoder() -> json.JSONDecoder:
    """A JSON decoder with the pure-Python scanner: the C one reads a whole file in one call
    that holds the GIL (≈ 30 ms for the state of 10,000 zones), and a server reloading in
    a thread answers nothing for as long. This one costs ≈ 0.15 s there and lets the event
    loop in. One per call: its scanner keeps per-decode memo state."""
    decoder = json.JSONDecoder()
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def _shape_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "the top level is not an object"
    if data.get("version") != VERSION:
        return f"unknown version {data.get('version')!r} (expected {VERSION})"
    for section in SECTIONS:
        value = data.get(section, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            return f"section {section!r} is not an object of objects"
    for section in ("addresses", "released"):
        for name, entry in data.get(section, {}).items():
            for family, version in (("ipv4", 4), ("ipv6", 6)):
                value = entry.get(family)
                if value is not None and not _is_address(value, version):
                    return f"{section}: {family} of {name!r} is not an IPv{version} address"
    for name, entry in data.get("zones", {}).items():
        problem = _zone_problem(entry)
        if problem:
            return f"zones: {name!r}: {problem}"
    for name, entry in data.get("serials", {}).items():
        serial = entry.get("serial")
        if not _is_int(serial) or not 0 <= serial < 2**32 or not isinstance(
                entry.get("digest"), str):
            return f"serials: {name!r} needs a serial 0..4294967295 and a digest"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_address(value: Any, version: int) -> bool:
    try:
        return isinstance(value, str) and ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _zone_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with one zone's record of what it received (R6), or None."""
    if not isinstance(entry.get("account"), str):
        return "no account"
    nameservers = entry.get("nameservers")
    if nameservers is not None:
        if not isinstance(nameservers, dict) or not isinstance(nameservers.get("type"), str):
            return "nameservers without a type"
        ns_set = nameservers.get("ns_set")
        if ns_set is not None and (not _is_int(ns_set) or not 1 <= ns_set <= 5):
            return "nameservers.ns_set is not 1..5"
        names = nameservers.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return "nameservers.names is not a list of names"
    if "ns_ttl" in entry and not _is_int(entry["ns_ttl"]):
        return "ns_ttl is not an integer"
    if "multi_provider" in entry and not isinstance(entry["multi_provider"], bool):
        return "multi_provider is not true or false"
    soa = entry.get("soa")
    if soa is not None:
        if not isinstance(soa, dict):
            return "soa is not an object"
        for key, value in soa.items():
            if key in ("mname", "rname"):
                if not isinstance(value, str):
                    return f"soa.{key} is not a name"
            elif key in ("refresh", "retry", "expire", "min_ttl", "ttl"):
                if not _is_int(value) or not 0 <= value < 2**31:
                    return f"soa.{key} is not a number of seconds"
            else:
                return f"soa has an unknown field {key!r}"
    return None


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves the old or the new content; the
    file keeps its mode and owner (see the module's docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        _keep_mode(fd, path)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new temporary file beside `path`, open for writing, with NEW_FILE_MODE less the
    umask (the kernel applies it at creation; mkstemp would make it 0600)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                         NEW_FILE_MODE)
        except FileExistsError:  # 1 in 4 billion: draw again
            continue
        return fd, tmp


def _keep_mode(fd: int, path: Path) -> None:
    """Give the open file `fd` the mode of `path` and, when we may (as root), its owner."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if os.geteuid() == 0:
        os.fchown(fd, info.st_uid, info.st_gid)
    os.fchmod(fd, stat.S_IMODE(info.st_mode))


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files of write_atomic that a crash left in `directory`; the
    files removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:  # a directory that does not exist has none
        return []
    for entry in entries:
        if _TEMP_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed
