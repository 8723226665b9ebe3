"""The directory layout of the accounts: one small file per account and per zone (issue 16).

Rule owned here: with `accounts_dir: DIR` in acnsd.yaml (instead of `accounts:`), each
account is a directory DIR/<account-id> holding `account.yaml` (the account's entry of
the single file layout without `zones`: id, name, custom_nameservers, dns_settings) and
`zones/*.yaml` (each file a YAML list of zone entries of the same schema). The directory
names the account: an `id` in account.yaml that differs is an error. Accounts are read in
the order of their directories' names; an account's zone files in the order of
`zone_list` (their names), the entries of each in order: that is "file order" for the
rules that speak of it (R3, R5, R11).

Every value keeps a YAML path that names its file, `<file>:<path inside it>`
(`accounts/acme/zones/shop.test.yaml:zones[0].dns_settings`), the file named as
accounts_dir is written, relative to acnsd.yaml's directory; `Tree.problem` locates such a
path in that file (its line, the path inside it) and says which account the file belongs
to. A path without a file is acnsd.yaml's. Every file read is stamped as it was read
(`Stamp`: mtime, size, inode, digest), so that a later reload can tell the files that
changed from those that did not without reading them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import struct
import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from typing import Any

from ..errors import ConfigError, Problem
from .names import normalize
from .schema import read_account_file, read_zone_list
from .types import Account
from .yamlsrc import Source, parse

__all__ = ["ACCOUNT_FILE", "MAIN", "SUFFIX", "Stamp", "Tree", "account_file", "in_file",
           "read_stamped", "split", "zone_file", "zone_file_stem", "zone_list"]

ACCOUNT_FILE = "account.yaml"
ZONES = "zones"  # an account's directory of zone files, and the YAML path of their lists
SUFFIX = ".yaml"
MARK = ":"  # between a file and the YAML path inside it
MAIN = ""  # acnsd.yaml's name among the files read (its YAML paths name no file)
# A stamp vouches for a file only if the file was last modified this long before it was
# read: a file rewritten within the file system's timestamp granularity keeps its stamp
# ("racy git"; zonedata.py reads zone files by the same rule).
SETTLED_NS = 2_000_000_000
_STAMP = struct.Struct("<qQQq32s")  # a Stamp: mtime_ns, size, inode, read_at, SHA-256
_STAT = struct.Struct("<qQQq")  # its fields but the digest (read without copying it)

Overlay = Mapping[str, str | None]  # absolute path → the text it holds instead (None: absent)


class Stamp(bytes):
    """What a file was when it was read: (mtime_ns, size, inode) of the file read, the
    SHA-256 of its bytes (`digest`, as hex text), and when it was read (time.time_ns()),
    packed in one octet string that refers to no other object: as a tuple of five fields
    a stamp was ~290 bytes in six objects, for each of the 10^5 files of the directory
    layout; packed it is 113 bytes in one (issue 16)."""

    __slots__ = ()

    def __new__(cls, mtime_ns: int, size: int, inode: int, digest: str, read_at: int) -> Stamp:
        return cls.of_octets(_STAMP.pack(mtime_ns, size, inode, read_at, bytes.fromhex(digest)))

    @classmethod
    def of_octets(cls, packed: bytes) -> Stamp:
        """The stamp packed as `packed` (the octets of a Stamp)."""
        return bytes.__new__(cls, packed)

    @property
    def mtime_ns(self) -> int:
        return _STAT.unpack_from(self)[0]

    @property
    def size(self) -> int:
        return _STAT.unpack_from(self)[1]

    @property
    def inode(self) -> int:
        return _STAT.unpack_from(self)[2]

    @property
    def read_at(self) -> int:
        return _STAT.unpack_from(self)[3]

    @property
    def digest(self) -> str:
        return self[_STAT.size:].hex()

    def fields(self) -> tuple[int, int, int, str, int]:
        """(mtime_ns, size, inode, digest, read_at), as the arguments that make it."""
        mtime_ns, size, inode, read_at, digest = _STAMP.unpack(self)
        return mtime_ns, size, inode, digest.hex(), read_at

    def vouches(self, st: os.stat_result) -> bool:
        """Whether a file whose stat is `st` holds what was read without reading it: the
        same stat, and settled when it was read."""
        mtime_ns, size, inode, read_at = _STAT.unpack_from(self)
        return ((st.st_mtime_ns, st.st_size, st.st_ino) == (mtime_ns, size, inode)
                and mtime_ns < read_at - SETTLED_NS)

    def __repr__(self) -> str:
        return "Stamp(mtime_ns={}, size={}, inode={}, digest={!r}, read_at={})".format(
            *self.fields())

    def __reduce__(self) -> tuple[Any, ...]:
        return Stamp.of_octets, (bytes(self),)


def read_stamped(path: str | os.PathLike[str]) -> tuple[bytes, Stamp]:
    """A regular file's bytes and its stamp (OSError when it cannot be read; a FIFO or a
    device is refused: reading it could stall)."""
    read_at = time.time_ns()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(0, "not a regular file", str(path))
        want = st.st_size + 1  # (an octet more: a short read is the end of the file)
        chunks = [os.read(fd, want)]
        while len(chunks[-1]) == want:  # it grew since
            want = 1 << 16
            chunks.append(os.read(fd, want))
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    return raw, Stamp.of_octets(_STAMP.pack(st.st_mtime_ns, st.st_size, st.st_ino, read_at,
                                            hashlib.sha256(raw).digest()))


# --- names -----------------------------------------------------------------------------


def account_file(accounts_dir: str, account: str) -> str:
    """The account.yaml of an account, named as accounts_dir is written."""
    return str(PurePath(accounts_dir, account, ACCOUNT_FILE))


def zone_file(accounts_dir: str, account: str, name: str) -> str:
    """The zone file `name` (`shop.test.yaml`) of an account, named as accounts_dir is."""
    return str(PurePath(accounts_dir, account, ZONES, name))


def zone_file_stem(zone: Any) -> str:
    """The name (less .yaml) of the file a new zone is written to: the zone's name, or,
    for a name no file can have (the check refuses it), `zone`."""
    name = normalize(zone) if isinstance(zone, str) else ""
    if not name or name.startswith(".") or "/" in name or "\0" in name:
        return ZONES[:-1]
    return name


def in_file(file: str, path: str = "") -> str:
    """The YAML path `path` inside `file`."""
    return f"{file}{MARK}{path}"


def zone_list(file: str) -> str:
    """The YAML path of a zone file's list; zone files are read in the order of these."""
    return in_file(file, ZONES)


def split(path: str, is_file: Callable[[str], bool]) -> tuple[str | None, str]:
    """(file, path inside it) of a YAML path; (None, path) for acnsd.yaml's own."""
    at = path.find(MARK)
    while at >= 0:
        if is_file(path[:at]):
            return path[:at], path[at + 1:]
        at = path.find(MARK, at + 1)
    return None, path


# --- reading ---------------------------------------------------------------------------


class Tree:
    """The files of the directory layout, read for one load: `read` gives the accounts,
    `problem` locates a YAML path, `stamps` are the files read."""

    def __init__(self, config_file: Path, main: Source, accounts_dir: str,
                 overlay: Overlay | None = None):
        self.base = config_file.parent
        # str(self.base / file) of a file named as accounts_dir is (normalized, relative),
        # without pathlib's parsing (10^5 of them a load)
        self._prefix = "" if self.base == Path() else os.path.join(self.base, "")
        self.main = main
        self.accounts_dir = accounts_dir
        self.overlay = overlay or {}
        # file → its text as read and the YAML path of its root: parsed again only to
        # locate a problem in it (keeping every file's values and lines until the load
        # ends would cost a kilobyte per zone file, and leave the heap full of holes)
        self.texts: dict[str, tuple[str, str]] = {}
        self._located: dict[str, Source] = {}
        self.owners: dict[str, str] = {}  # file → the account it belongs to
        self.stamps: dict[str, Stamp] = {}  # file → its stamp when read
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def problem(self, path: str, message: str, rule: str | None = None) -> Problem:
        """The problem at `path`, in the file it names (located as Source.problem does)
        and concerning that file's account."""
        file, inner = split(path, self.owners.__contains__)
        if file is None:
            return self.main.problem(path, message, rule)
        problem = self._lines(file).problem(inner, message, rule)
        return dataclasses.replace(problem, accounts=(self.owners[file],))

    def _lines(self, file: str) -> Source:
        """The file read, parsed again from its text as read (its lines, for locating)."""
        source = self._located.get(file)
        if source is None:
            text, root = self.texts[file]
            source = self._located[file] = parse(text, self._path(file), root)
        return source

    def read(self, zones_dir: Path) -> tuple[tuple[Account, ...], list[Problem]]:
        """Every account the directory holds, and the problems of reading them."""
        directory = self.base / self.accounts_dir
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            return (), [self.main.problem("accounts_dir", "cannot read the accounts directory "
                                          f"{directory}: {exc.strerror}")]
        accounts = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not entry.is_dir():
                self.warnings.append(Problem(
                    "ignored: accounts_dir holds one directory per account (named by its id)",
                    file=entry.path))
                continue
            account = self._account(entry.name, zones_dir)
            if account is not None:
                accounts.append(account)
        return tuple(accounts), self.problems

    def _account(self, account_id: str, zones_dir: Path) -> Account | None:
        file = account_file(self.accounts_dir, account_id)
        source = self._source(file, account_id, "")
        if source is None:
            return None
        account, problems = read_account_file(source.value, in_file(file), account_id,
                                              self.problem)
        self.problems += problems
        if account is None:
            return None
        zones = []
        folder = zone_file(self.accounts_dir, account_id, "")  # + "/" + name: zone_file's
        for name in self._zone_files(account_id, folder):
            file = f"{folder}/{name}"
            source = self._source(file, account_id, ZONES)
            if source is not None:
                read, problems = read_zone_list(source.value, file, ZONES, zones_dir,
                                                self.problem)
                zones += read
                self.problems += problems
        return dataclasses.replace(account, zones=tuple(zones))

    def _zone_files(self, account_id: str, folder: str) -> list[str]:
        """The names of an account's zone files (in `folder`, named as accounts_dir is), in
        the order they are read."""
        directory = self.base / PurePath(self.accounts_dir, account_id, ZONES)
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            entries = []
        except OSError as exc:
            self.problems.append(Problem(f"cannot read the zones of account {account_id}: "
                                         f"{exc.strerror}", file=str(directory),
                                         accounts=(account_id,)))
            return []
        names = set()
        for entry in entries:
            if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                names.add(entry.name)
            elif not entry.name.startswith(".") and not entry.name.endswith("~"):
                self.warnings.append(Problem(f"ignored: the zones of account {account_id} "
                                             f"are read from files named *{SUFFIX}",
                                             file=entry.path))
        for path, text in self.overlay.items():  # files a change creates or removes
            if os.path.dirname(path) == os.path.abspath(directory):
                (names.add if text is not None else names.discard)(os.path.basename(path))
        key = {name: zone_list(f"{folder}/{name}") for name in names}
        return sorted(names, key=key.__getitem__)

    def _source(self, file: str, account_id: str, root: str) -> Source | None:
        """A file of the account parsed (None, with its problems, when it cannot be)."""
        path = self._path(file)
        try:
            text = self._text(file, path)
            source = parse(text, path, root)
        except FileNotFoundError:
            if root == ZONES:  # removed since the directory was listed
                return None
            self.problems.append(Problem(
                f"the directory of account {account_id} has no {ACCOUNT_FILE} (its name and "
                "nameservers; the directory names the account)", file=os.path.dirname(path),
                accounts=(account_id,)))
            return None
        except OSError as exc:
            self.problems.append(Problem(f"cannot read {os.path.basename(path)}: "
                                         f"{exc.strerror}", file=path, accounts=(account_id,)))
            return None
        except UnicodeDecodeError as exc:
            line = exc.object[:exc.start].count(b"\n") + 1
            self.problems.append(Problem(f"not UTF-8 text ({exc.reason})", file=path,
                                         line=line, accounts=(account_id,)))
            return None
        except ConfigError as exc:
            self.problems += [dataclasses.replace(p, accounts=(account_id,))
                              for p in exc.problems]
            return None
        self.texts[file] = (text, root)
        self.owners[file] = account_id
        return source

    def _path(self, file: str) -> str:
        """Where `file` (named as accounts_dir is) is: str(self.base / file)."""
        return file if os.path.isabs(file) else self._prefix + file

    def _text(self, file: str, path: str) -> str:
        """The text of `file` (at `path`): the overlay's, else the file's, stamped."""
        key = os.path.abspath(path) if self.overlay else None
        if key in self.overlay:
            text = self.overlay[key]
            if text is None:
                raise FileNotFoundError(2, "No such file or directory", path)
            return text
        raw, stamp = read_stamped(path)
        self.stamps[file] = stamp
        return raw.decode("utf-8")
