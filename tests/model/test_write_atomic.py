"""write_atomic (issue 15): a rewritten file keeps its mode and, as root, its owner; a new
file gets 0644 less the umask; its temporary file has a name that only acnsd uses, and
remove_stale_temporaries removes those and nothing else."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from acnsd.model.state import TEMP_SUFFIX, remove_stale_temporaries, write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process's umask for one test (tests run in one thread)."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize("kept", [0o644, 0o640, 0o600, 0o664, 0o444])
def test_a_rewritten_file_keeps_its_mode(tmp_path, kept):
    path = tmp_path / "acnsd.yaml"
    path.write_text("before\n")
    path.chmod(kept)
    write_atomic(path, "after\n")
    assert path.read_text() == "after\n" and mode(path) == kept


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o644)])
def test_a_new_file_gets_0644_less_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = tmp_path / "new.zone"
    write_atomic(path, "; new\n")
    assert mode(path) == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_as_root_a_rewritten_file_keeps_its_owner(tmp_path):
    path = tmp_path / "acnsd.state.json"
    path.write_text("{}\n")
    os.chown(path, 65534, 65534)
    write_atomic(path, "{\"version\": 1}\n")
    info = path.stat()
    assert (info.st_uid, info.st_gid) == (65534, 65534)


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "acnsd.yaml"
    path.write_text("before\n")

    def refuse(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        write_atomic(path, "after\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acnsd.yaml"]


def test_only_our_temporaries_are_removed(tmp_path):
    ours = [f".acnsd.yaml.0123abcd{TEMP_SUFFIX}", f".a.test.zone.deadbeef{TEMP_SUFFIX}"]
    theirs = ["acnsd.yaml", ".acnsd.yaml.original", ".acnsd.yaml.swp", f"x.0123abcd{TEMP_SUFFIX}",
              f".acnsd.yaml.0123abcd{TEMP_SUFFIX}.bak", f".acnsd.yaml.XYZ{TEMP_SUFFIX}"]
    for name in ours + theirs:
        (tmp_path / name).write_text("x")
    (tmp_path / f".dir.0123abcd{TEMP_SUFFIX}").mkdir()
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(ours)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*theirs, f".dir.0123abcd{TEMP_SUFFIX}"])
    assert remove_stale_temporaries(tmp_path / "nowhere") == []
