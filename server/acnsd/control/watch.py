"""Which files of some directories changed, known without visiting them (Linux inotify(7),
through libc's inotify_init1 and inotify_add_watch).

Rule owned here: a Watch records each directory entry of its directories that was
created, written, truncated, touched (its times or mode), moved in or out, or removed
since it was started; `take` hands the entries recorded so far over and starts a new set
(an event that comes after the take is the next take's: none is lost). A watch that may
have missed something says so (`take` raises Lost): the kernel's event queue overflowed
(IN_Q_OVERFLOW), a directory was created, moved or removed in a watched one, a watched
directory itself was moved, removed or unmounted, or a directory could not be watched.
Entries that are symbolic links (their target's changes make no event here) are listed
by `links` (those there at the start, and those an event names), for the caller to look
at every time. Without inotify, `start` says so (Lost).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from collections.abc import Iterable

__all__ = ["Lost", "Watch"]

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_UNMOUNT = 0x2000
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_ISDIR = 0x40000000

_CHANGED = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
            | IN_DELETE)
_MASK = _CHANGED | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
_LOST = IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED | IN_ISDIR
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name


class Lost(Exception):
    """The watch may have missed a change: every file must be looked at."""


class Watch:
    """A watch of `directories` (each named as given: one directory under two names is
    reported under both)."""

    def __init__(self, fd: int, directories: dict[int, list[str]], links: set[str]):
        self._fd = fd
        self._directories = directories
        self.links = links
        self._changed: set[str] = set()
        self._lost: str | None = None

    @classmethod
    def start(cls, directories: Iterable[str]) -> Watch:
        """Watch `directories` from now on. Lost: no inotify here, or one of them could
        not be watched (it is missing, or the user's limit of watches is reached)."""
        libc = _libc()
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise Lost(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
        watched: dict[int, list[str]] = {}
        links: set[str] = set()
        try:
            for directory in dict.fromkeys(directories):
                wd = libc.inotify_add_watch(fd, os.fsencode(directory), _MASK)
                if wd < 0:
                    raise Lost(f"inotify_add_watch {directory}: "
                               f"{os.strerror(ctypes.get_errno())}")
                watched.setdefault(wd, []).append(directory)
                with os.scandir(directory) as entries:  # (after the watch: no link missed)
                    links.update(os.path.join(directory, entry.name) for entry in entries
                                 if entry.is_symlink())
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, watched, links)

    def take(self) -> set[str]:
        """The paths (directory as given, joined with the entry's name) changed since the
        watch started or was last taken. Lost."""
        self.drain()
        if self._lost is not None:
            raise Lost(self._lost)
        changed, self._changed = self._changed, set()
        self.links.update(path for path in changed if os.path.islink(path))
        return changed

    def drain(self) -> None:
        """Read the events the kernel holds (so that its queue does not fill up)."""
        while self._lost is None and self._fd >= 0:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._lost = f"read: {exc}"
                return
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                offset = start + length
                if mask & _LOST:
                    self._lost = f"event {mask:#x} on {self._directories.get(wd)}"
                    return
                if mask & _CHANGED:
                    name = os.fsdecode(data[start:offset].rstrip(b"\0"))
                    self._changed.update(os.path.join(directory, name)
                                         for directory in self._directories.get(wd, ()))

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd, self._lost = -1, "closed"

    def __del__(self) -> None:
        self.close()


def _libc() -> ctypes.CDLL:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError) as exc:
        raise Lost(f"no inotify: {exc}") from None
    return libc
