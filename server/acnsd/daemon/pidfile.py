"""The pid file of a running `acnsd serve`, so that `acnsd reload` can find it.

Rule owned here: the pid file lives beside the state file (whose directory acnsd must be
able to write), is named after the configuration (`<config stem>.pid`), is written
atomically once the configuration loaded, and is removed at exit only by the process
whose pid it holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..model.state import write_atomic
from ..model.types import Model

__all__ = ["pid_path", "read_pid", "remove_pid", "write_pid"]


def pid_path(model: Model) -> Path:
    """Where the server of this configuration records its pid."""
    return model.server.state_file.parent / f"{model.config_file.stem}.pid"


def write_pid(path: Path) -> None:
    write_atomic(path, f"{os.getpid()}\n")


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


def remove_pid(path: Path) -> None:
    """Remove the pid file if it still names this process."""
    try:
        if int(path.read_text().strip()) == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
