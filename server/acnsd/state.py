"""The machine-owned state file: what acnsd decided and must never forget.

Rule owned here: decisions that must survive restarts (R6 what a new zone received from
the zone defaults, R7 every name's addresses, R10 each zone's serial) are kept in one JSON
file, written atomically (temporary file, fsync, rename, fsync of the directory), so a
crash leaves either the old file or the new one. A file that cannot be read is an error,
never a silent fresh start that would hand out new addresses.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import StateError

__all__ = ["State", "load_state", "write_atomic"]

VERSION = 1
_SECTIONS = ("addresses", "released", "zones", "serials")


class State:
    """A mutable copy of the state file's content, plus whether it changed."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None):
        self.path = path
        self.data: dict[str, Any] = data or {"version": VERSION}
        for section in _SECTIONS:
            self.data.setdefault(section, {})
        self._saved = copy.deepcopy(self.data)

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
    def serials(self) -> dict[str, dict[str, Any]]:
        return self.data["serials"]

    @property
    def changed(self) -> bool:
        return self.data != self._saved

    def save(self) -> None:
        """Write the state if it changed (atomically)."""
        if not self.changed:
            return
        text = json.dumps(self.data, indent=2, sort_keys=True) + "\n"
        try:
            write_atomic(self.path, text)
        except OSError as exc:
            raise StateError(f"{self.path}: cannot write the state file: {exc}") from exc
        self._saved = copy.deepcopy(self.data)


def load_state(path: Path) -> State:
    """Read the state file; a missing file is a fresh state, a broken one an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return State(path)
    except OSError as exc:
        raise StateError(f"{path}: cannot read the state file: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{path}:{exc.lineno}: the state file is corrupt ({exc.msg}); it records the "
            "addresses already handed out, so acnsd will not start afresh. Restore it from a "
            "backup, or delete it to have every address assigned anew") from exc
    problem = _shape_problem(data)
    if problem:
        raise StateError(f"{path}: the state file is corrupt: {problem}; restore it from a "
                         "backup, or delete it to have every address assigned anew")
    return State(path, data)


def _shape_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "the top level is not an object"
    if data.get("version") != VERSION:
        return f"unknown version {data.get('version')!r} (expected {VERSION})"
    for section in _SECTIONS:
        value = data.get(section, {})
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            return f"section {section!r} is not an object of objects"
    for name, entry in {**data.get("addresses", {}), **data.get("released", {})}.items():
        for family in ("ipv4", "ipv6"):
            if not isinstance(entry.get(family), str | None):
                return f"address {family} of {name!r} is not a string"
    return None


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a crash leaves the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
