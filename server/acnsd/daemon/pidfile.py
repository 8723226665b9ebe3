"""The pid file of a running `acnsd serve`, so that `acnsd reload` can find it.

Rule owned here: the pid file lives beside the state file (whose directory acnsd must be
able to write) and is named after the configuration (`<config stem>.pid`). It is held by
an exclusive lock (flock) for as long as the server runs: a second `acnsd serve` of the
same configuration finds it locked, says which process holds it and stops without
touching it; only the holder writes it and removes it at exit.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import AcnsdError
from ..model.types import Model

__all__ = ["PidFile", "pid_path", "read_pid"]


def pid_path(model: Model) -> Path:
    """Where the server of this configuration records its pid."""
    return model.server.state_file.parent / f"{model.config_file.stem}.pid"


class PidFile:
    """The locked pid file of this process (a context manager: lock, write, remove)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> PidFile:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_pid(self.path)
            raise AcnsdError(
                f"another acnsd serve (pid {holder or 'unknown'}) is running this "
                f"configuration (it holds {self.path}); stop it first, or reload it with "
                "`acnsd reload`") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        if read_pid(self.path) == os.getpid():  # workers inherit the lock, not the file
            self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def read_pid(path: Path) -> int | None:
    """The pid recorded at `path` when that process is alive, else None."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return pid
