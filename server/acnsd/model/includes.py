"""$INCLUDE in zone files: only inside zones_dir, never in a loop, bounded in depth and size.

Rule owned here: while a zone's files are read (inside `confined`), a `$INCLUDE` opens a
file only when its path, symlinks resolved, is inside `server.zones_dir`; when it is a
regular file; when it is none of the files that include it (a loop: the error names the
cycle); when it nests at most MAX_INCLUDE_DEPTH deep; and when it fits what is left of the
zone's byte limit (`server.limits.max_zone_file_bytes` covers the zone file and every file
it includes, together). A relative path is relative to the directory of the file that
includes it, as Knot DNS reads it (BIND takes its working directory; dnspython, the
process's). Each refusal is an error at the `$INCLUDE` line.

How: dnspython's zone file reader opens an included file with the built-in `open`, looked
up in its own module, so this module puts its `open` there. Outside `confined` (dnspython
used as a test oracle, say) that is the built-in `open` itself; inside, it applies the
rules of the zone being read in this thread.
"""

from __future__ import annotations

import builtins
import io
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dns.zonefile

__all__ = ["MAX_INCLUDE_DEPTH", "IncludeError", "confined", "read_capped"]

MAX_INCLUDE_DEPTH = 8  # files included by included files..., below the zone file
_CHUNK = 1 << 20


class IncludeError(Exception):
    """A $INCLUDE that breaks the rule; the reader sets the `file` and `line` it is in."""

    file: str | None = None
    line: int | None = None


def read_capped(fd: int, size: int, most: int) -> bytes:
    """The bytes of the open file `fd`, `size` its size when looked at: in one read unless
    it grew since, and never more than `most` + 1 bytes (a caller refuses more than
    `most`: the file grew past the limit, or is not what its size says)."""
    raw = os.read(fd, min(size, most) + 1)
    if len(raw) <= size:
        return raw
    chunks = [raw]
    total = len(raw)
    while total <= most and (chunk := os.read(fd, min(_CHUNK, most + 1 - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class _Reading:
    """One zone's files as they are read: the chain of files including one another (the
    zone file first) and the bytes its byte limit still allows."""

    def __init__(self, zone_file: str, zones_dir: Path, bytes_left: int, limit: int):
        self.root = zones_dir.resolve()
        self.chain = [Path(zone_file).resolve()]
        self.bytes_left = bytes_left
        self.limit = limit

    def open(self, name: str) -> io.TextIOWrapper:
        """The included file `name`, read into memory, or IncludeError."""
        if len(self.chain) > MAX_INCLUDE_DEPTH:
            raise IncludeError(f"$INCLUDE {name}: more than {MAX_INCLUDE_DEPTH} levels of "
                               "files including files")
        path = self.chain[-1].parent / name
        try:
            resolved = path.resolve(strict=True)
        except FileNotFoundError:
            raise IncludeError(f"$INCLUDE {name}: the included file {path} does not "
                               "exist") from None
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            raise IncludeError(f"$INCLUDE {name}: cannot resolve {path}: {exc}") from None
        if not resolved.is_relative_to(self.root):
            raise IncludeError(f"$INCLUDE {name}: {resolved} is outside zones_dir "
                               f"({self.root}); an included file must be inside it")
        if resolved in self.chain:
            cycle = " includes ".join(map(str, self.chain[self.chain.index(resolved):]))
            raise IncludeError(f"$INCLUDE {name}: a loop: {cycle} includes {resolved}")
        raw = self._read(name, resolved)
        self.bytes_left -= len(raw)
        self.chain.append(resolved)
        return _Included(raw, self)

    def _read(self, name: str, path: Path) -> bytes:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as exc:
            raise IncludeError(f"$INCLUDE {name}: cannot open {path}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise IncludeError(f"$INCLUDE {name}: {path} is not a regular file")
            raw = read_capped(fd, info.st_size, self.bytes_left)
        finally:
            os.close(fd)
        if len(raw) > self.bytes_left:
            raise IncludeError(f"$INCLUDE {name}: the zone file and the files it includes "
                               f"are larger than {self.limit:,} bytes "
                               "(server.limits.max_zone_file_bytes)")
        return raw


class _Included(io.TextIOWrapper):
    """An included file's text; closing it (dnspython does at its end) leaves the chain."""

    def __init__(self, raw: bytes, reading: _Reading):
        super().__init__(io.BytesIO(raw), encoding="utf-8")
        self._reading = reading

    def close(self) -> None:
        if not self.closed:
            self._reading.chain.pop()
        super().close()


_local = threading.local()


@contextmanager
def confined(zone_file: str, zones_dir: Path, bytes_left: int, limit: int) -> Iterator[None]:
    """Apply the rule to the $INCLUDEs read in this thread meanwhile: of `zone_file`
    (whose own bytes leave `bytes_left` of the zone's `limit`)."""
    _local.reading = _Reading(zone_file, zones_dir, bytes_left, limit)
    try:
        yield
    finally:
        _local.reading = None


def _open(file: Any, *args: Any, **kwargs: Any) -> Any:
    reading: _Reading | None = getattr(_local, "reading", None)
    if reading is None:
        return builtins.open(file, *args, **kwargs)
    return reading.open(str(file))


dns.zonefile.open = _open  # type: ignore[attr-defined]
