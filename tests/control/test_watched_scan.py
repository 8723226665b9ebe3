"""A plain scan of the sources (control/sources.py) with its inotify watch (watch.py) finds
what a scan of every file finds (issue 16: a reload visits only what changed), whatever
the edits between two scans: in place or through a renamed temporary file, a touch, a
removal, a new file, a symbolic link, a directory made; settled or just written."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from acnsd.control import sources
from acnsd.control.migrate import migrate
from acnsd.model import zonedata
from acnsd.model.config import load
from hypothesis import given, settings
from hypothesis import strategies as st
from modelkit import DEFAULT_ZONE, Env, account, config, zone

ZONES = ["a.test", "b.test", "c.test", "d.test"]
PAST = time.time() - 3600


def _tree(root: Path, layout: str) -> Path:
    """A configuration of ZONES in `layout`, every file dated an hour back (settled)."""
    env = Env(root)
    env.write(config(account([], [zone(z, "cloudflare.standard") for z in ZONES])))
    if layout == "directory":
        migrate(env.path, "accounts")
    for path in root.rglob("*"):
        os.utime(path, (PAST, PAST))
    return env.path


def _files(root: Path) -> list[Path]:
    """The files an edit may touch: the zone files and the YAML files of the tree."""
    return sorted([*root.glob("zones/*.zone"), *root.glob("accounts/*/account.yaml"),
                   *root.glob("accounts/*/zones/*.yaml")])


EDITS = st.sampled_from(["append", "rename", "touch", "remove", "new_yaml", "temporary",
                         "link", "directory", "account", "restore"])


def _edit(root: Path, kind: str, target: Path, step: int, settle: bool) -> None:
    """One edit of `target` (or beside it); dated back when `settle`."""
    if kind == "append":
        with open(target, "a") as file:
            file.write(f"# {step}\n")
    elif kind == "rename":  # an editor's way: a temporary file renamed over it
        temporary = target.with_name(f".{target.name}.swp")
        temporary.write_text(target.read_text() + f"# {step}\n")
        os.replace(temporary, target)
    elif kind == "touch":
        os.utime(target)
    elif kind == "remove":
        target.unlink(missing_ok=True)
    elif kind == "new_yaml":
        target = target.with_name(f"new{step}.yaml")
        target.write_text("- name: new.test\n")
    elif kind == "temporary":
        target.with_name(f".{target.name}.{step}.tmp").write_text("x")
    elif kind == "link":  # the file becomes a link; later edits of its target make no event
        outside = root / "outside" / f"{step}-{target.name}"
        outside.parent.mkdir(exist_ok=True)
        outside.write_text(target.read_text() if target.exists() else DEFAULT_ZONE)
        target.unlink(missing_ok=True)
        target.symlink_to(outside)
    elif kind == "directory":
        (target.parent / f"dir{step}").mkdir()
    elif kind == "account":  # a new account's directory (watched by no watch yet)
        target = root / "accounts" / f"acct{step}" / "account.yaml"
        target.parent.mkdir(parents=True)
        target.write_text(f"id: acct{step}\n")
    elif kind == "restore" and not target.exists():
        target.write_text(DEFAULT_ZONE)
    if settle and target.exists():
        when = PAST + step + 1
        os.utime(target, (when, when))
    for outside in (root / "outside").glob("*"):  # a link's target edited: no event here
        if kind == "append" and outside.name.endswith(target.name):
            with open(outside, "a") as file:
                file.write(f"# {step} outside\n")


def _reread(loaded, found: frozenset[str]) -> None:
    """Read the zone files a scan found changed, as a reload does."""
    by_name = {z.name: z for z in loaded.model.zones}
    for name in found:
        if name in by_name:
            zonedata.read_zone_file(by_name[name], loaded.model.server,
                                    lambda path, message, rule: None, 0)


def _seen(scan: sources.Scan) -> tuple[dict, frozenset[str]]:
    """What a scan found, but when it read each file."""
    return ({name: now and (now[0], now[1][:4]) for name, now in scan.changed.items()},
            scan.zone_files)


@settings(max_examples=60, deadline=None)
@given(layout=st.sampled_from(["single", "directory"]),
       steps=st.lists(st.tuples(st.lists(st.tuples(EDITS, st.integers(0, 20), st.booleans()),
                                         max_size=3), st.booleans(), st.booleans()),
                      min_size=1, max_size=6))
def test_the_watched_scan_finds_what_a_scan_of_every_file_finds(layout, steps):
    """Each step: some edits, a scan (of the zone files too, or not), its findings taken
    (adopted, the changed zone files read) as an accepted reload does, or not (a refused
    one)."""
    with tempfile.TemporaryDirectory() as tmp:
        _compare(Path(tmp), layout, steps)


def _compare(root: Path, layout: str, steps) -> None:
    path = _tree(root, layout)
    loaded = load(path, save_state=False)
    watched, everything = sources.open_sources(loaded), sources.open_sources(loaded)
    everything._look = lambda zone_files: None  # every file, every time
    first = watched.scan()  # starts the watch (itself a scan of every file)
    assert _seen(first) == _seen(everything.scan())
    assert watched._watch is not None
    number = 0
    for edits, zone_files, accepted in steps:
        for kind, index, settle in edits:
            number += 1
            files = _files(root)
            if files:
                _edit(root, kind, files[index % len(files)], number, settle)
        found = watched.scan(zone_files=zone_files)
        assert _seen(found) == _seen(everything.scan(zone_files=zone_files))
        if accepted:
            for side in (watched, everything):
                side.adopt(found)
            _reread(loaded, found.zone_files)


def test_a_linked_zone_files_target_edited_elsewhere_is_found(tmp_path):
    """A zone file that is a symbolic link: its target's edits make no event in the
    watched directory, so it is looked at every time."""
    _compare(tmp_path, "single", [([("link", 1, True)], True, True),
                                  ([], True, True),
                                  ([("append", 1, True)], True, True)])


def test_a_refused_yaml_change_is_found_again(tmp_path):
    """A change found but not taken (the reload was refused) is found by the next scan
    too, with no new event."""
    _compare(tmp_path, "directory", [([("append", 0, True)], True, False),
                                     ([], True, False), ([], False, True), ([], True, True)])


def test_a_new_accounts_directory_means_every_file_again(tmp_path):
    """A directory made in accounts_dir (a new account) is not watched yet: Lost, so the
    next scan looks at every file and finds its account.yaml."""
    _compare(tmp_path, "directory", [([("account", 0, True)], True, True), ([], True, True)])


def test_without_inotify_every_file_is_looked_at(tmp_path, monkeypatch):
    """No inotify (another platform, or no watch left): every scan is a scan of every file,
    and finds the edits."""
    path = _tree(tmp_path, "single")
    monkeypatch.setattr(sources.Watch, "start", classmethod(
        lambda cls, directories: (_ for _ in ()).throw(sources.Lost("none here"))))
    layout = sources.open_sources(load(path, save_state=False))
    assert not layout.scan()
    assert layout._watch is None
    (tmp_path / "zones" / "b.test.zone").write_text(DEFAULT_ZONE + "x IN A 192.0.2.9\n")
    assert layout.scan().zone_files == {"b.test"}


def test_an_overflowing_queue_means_every_file_again(tmp_path):
    """The kernel's queue overflowed (IN_Q_OVERFLOW): the next scan looks at every file
    and starts a new watch."""
    path = _tree(tmp_path, "directory")
    layout = sources.open_sources(load(path, save_state=False))
    layout.scan()
    watch = layout._watch
    watch._lost = "event 0x4000"  # as drain() records IN_Q_OVERFLOW
    assert layout.scan().zone_files == frozenset()
    assert layout._watch is not watch and layout._watch is not None


def test_a_watched_scan_looks_only_at_what_changed(tmp_path):
    """Once watching (`watch()`, as the server does after its start), a scan stats the
    zone file that changed and no other (nor any YAML file but acnsd.yaml)."""
    path = _tree(tmp_path, "directory")
    layout = sources.open_sources(load(path, save_state=False))
    layout.watch()
    edited = tmp_path / "zones" / "c.test.zone"
    edited.write_text(DEFAULT_ZONE + "new IN A 192.0.2.7\n")
    os.utime(edited, (PAST + 5, PAST + 5))
    with mock.patch.object(sources, "file_unchanged", wraps=zonedata.file_unchanged) as zones, \
            mock.patch.object(sources, "_stat", wraps=sources._stat) as yaml_files:
        assert layout.scan().zone_files == {"c.test"}
    assert [call.args[1] for call in zones.call_args_list] == ["c.test"]
    assert [call.args[1] for call in yaml_files.call_args_list] == [sources.MAIN]


def test_a_zone_file_of_one_zone_is_watched_as_its_name():
    """The watch knows the zones of each zone file (the file an event names) as one name
    apiece, not as a set of one (216 bytes for each of 10^5 files, issue 16); a file of
    two zones marks both changed."""
    watched = sources._Watched()
    for path, name in (("/z/a.zone", "a.test"), ("/z/b.zone", "b.test"), ("/z/b.zone", "c.test"),
                       ("/z/b.zone", "b.test")):
        watched.zone_file(path, name)
    assert watched.zones_at == {"/z/a.zone": "a.test", "/z/b.zone": ("b.test", "c.test")}
    watched.changed("/z/b.zone", link=False)
    watched.changed("/z/none.zone", link=False)
    assert watched.dirty_zones == {"b.test", "c.test"}
    watched.changed("/z/a.zone", link=True)
    assert watched.always_zones == {"a.test"}
