"""The directory layout against the single file (issue 16 step 5).

1. One configuration, written in either layout (its zones spread over files in a random
   way), loads to the same model and plan, or is refused with the same problems: the same
   message, rule, accounts and tenant message, at the same entry (each layout names it
   its own way: the problems are compared in the single file's words).
2. The scoped checks' oracle in the directory layout: each change is written by the
   sources' writer (control/sources.py) and located by its Edit's `locate`; the verdict of
   `rules.check` equals load()'s of the tree with the edited file, problem by problem
   (file, line, path inside the file); after an accepted change, once written, the
   index equals one built afresh from the tree, and every zone whose content changed is
   among those the verdict rebuilds.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import tempfile
import time
import types
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import modelkit
import pytest
from acnsd.control.change import ZoneCreated, ZoneDeleted, ZoneFileChanged
from acnsd.control.index import ModelIndex, Recorded
from acnsd.control.migrate import _essence
from acnsd.control.rules import OutOfScope, apply, check
from acnsd.control.sources import Directory, open_sources
from acnsd.errors import ConfigError
from acnsd.model import store, zonedata
from acnsd.model.config import Loaded, load
from acnsd.model.names import normalize
from acnsd.model.recording import read_state
from controlkit import TEMPLATE, deterministic_draws, served, start, writes_file
from hypothesis import event, given, settings
from hypothesis import strategies as st
from modelkit import ACCOUNT_ID, Env
from test_scoped_oracle import _content, changes, configuration
from treekit import single, write_tree


@st.composite
def groups(draw, cfg: dict[str, Any]) -> list[list[str]]:
    """For each account, the file of each zone: consecutive zones share files at random."""
    result = []
    for account in cfg["accounts"]:
        names, file = [], 0
        for j in range(len(account.get("zones") or [])):
            file += j > 0 and draw(st.booleans())
            names.append(f"{file:03d}.yaml")
        result.append(names)
    return result


def _outcome(root: Path, tree=None) -> tuple[Loaded | None, Counter]:
    """What load() says of the configuration in `root` (loaded from there: its paths are
    relative), its problems in the single file's words."""
    with contextlib.chdir(root):
        try:
            return load("acnsd.yaml"), Counter()
        except ConfigError as exc:
            words = tree.logical if tree else (lambda p: single(p, Path()))
            return None, Counter(map(words, exc.problems))


@settings(max_examples=100)
@given(configuration(), st.data())
def test_both_layouts_load_alike(case, data):
    cfg, files = case
    spread = data.draw(groups(cfg))
    with tempfile.TemporaryDirectory() as tmp, deterministic_draws():
        one, two = Path(tmp, "single"), Path(tmp, "tree")
        one.mkdir()
        two.mkdir()
        Env(one).write(cfg, files)
        Env(two).write(cfg, files)
        tree = write_tree(two, cfg, spread)
        with frozen_clock():  # both loads in the same second: the same serials
            loaded, problems = _outcome(one)
            tree_loaded, tree_problems = _outcome(two, tree.relative())
        assert tree_problems == problems
        assert (loaded is None) == (tree_loaded is None)
        event("refused" if loaded is None else "accepted")
        if loaded is not None:
            assert _essence(tree_loaded.model) == _essence(loaded.model)
            assert _unserialed(tree_loaded) == _unserialed(loaded)
            # (a warning in a file of the tree names that file's account; the single
            # file's name none)
            assert Counter(replace(tree.relative().logical(w), accounts=())
                           for w in tree_loaded.warnings) == Counter(
                replace(single(w, Path()), accounts=()) for w in loaded.warnings)
            assert set(tree_loaded.sources) == {"", *tree.files}


@contextlib.contextmanager
def frozen_clock() -> Any:
    """The unix time the serials are made of (R10), fixed meanwhile."""
    now = time.time()
    clock = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time)
                                     if not name.startswith("_")})
    clock.time = lambda: now
    with mock.patch.object(zonedata, "time", clock), mock.patch.object(store, "time", clock):
        yield


def _unserialed(loaded: Loaded) -> dict[str, list[str]]:
    """Each zone's served records, the SOA serial left out (it counts seconds)."""
    return {zone: [re.sub(r"( IN SOA \S+ \S+ )\d+", r"\1-", rrset) for rrset in rrsets]
            for zone, rrsets in served(loaded).items()}


class TreeOracle:
    """A configuration in the directory layout and the index of it: each change is
    edited by the writer, judged by check() with the edit's locate and by load() of the
    tree with the edited file, written when accepted, and the index then compared with
    one built afresh."""

    def __init__(self, config: Path, loaded: Loaded):
        self.config, self.loaded = config, loaded
        self.index = _build(loaded)
        self.sources = open_sources(loaded)
        assert isinstance(self.sources, Directory)

    def judge(self, change: Any, content: str | None) -> bool:
        edit = self.sources.edit(change)
        zone_file = self._zone_file(change)
        saved = zone_file.read_text() if zone_file and zone_file.exists() else None
        if zone_file is not None:
            if content is None:
                zone_file.unlink(missing_ok=True)
            else:
                zone_file.write_text(content, encoding="utf-8")
        try:
            verdict = check(self.index, change, edit.locate)
        except OutOfScope:
            verdict = None
        overlay = {} if edit.file is None else {os.path.abspath(edit.file): edit.text}
        forget = [change.zone] if isinstance(change, ZoneDeleted) else []
        try:
            after = load(self.config, forget=forget, overlay=overlay)
            expected = []
        except ConfigError as exc:
            after, expected = None, exc.problems
        if verdict is not None:
            assert Counter(verdict.problems) == Counter(expected), (change, verdict.problems)
        if after is None:
            if zone_file is not None and saved is not None:
                zone_file.write_text(saved, encoding="utf-8")
            self.sources.discard(edit)
            return False
        self.sources.write(edit)
        if verdict is None:
            self.index = _build(after)
        else:
            for warning in verdict.warnings:
                assert warning in after.warnings
            before, now = served(self.loaded), served(after)
            changed = {name.rstrip(".") for name in now if before.get(name) != now[name]}
            assert changed <= verdict.rebuild, (change, changed - verdict.rebuild)
            apply(self.index, verdict)
            assert self.index.facts() == _build(after).facts(), change
        self.loaded = after
        return True

    def _zone_file(self, change: Any) -> Path | None:
        if isinstance(change, ZoneFileChanged):
            return next(Path(z.file) for z in self.loaded.model.zones if z.name == change.zone)
        if writes_file(change):
            return self.loaded.model.server.zones_dir / f"{normalize(change.name)}.zone"
        return None


def _build(loaded: Loaded) -> ModelIndex:
    return ModelIndex.build(loaded, Recorded.of(read_state(loaded.model.server.state_file)))


@settings(max_examples=300)
@given(configuration(), st.data())
def test_scoped_verdicts_in_the_directory_layout_are_loads_verdicts(case, data):
    cfg, files = case
    with tempfile.TemporaryDirectory() as tmp, deterministic_draws():
        env = Env(Path(tmp))
        start(env, cfg, files)  # the entries load() refuses left out
        write_tree(env.root, cfg, data.draw(groups(cfg)))
        oracle = TreeOracle(env.path, load(env.path))
        for _ in range(data.draw(st.integers(3, 12))):
            change = data.draw(changes(cfg, oracle.loaded))
            content = data.draw(_content(change)) if writes_file(change) else None
            if isinstance(change, ZoneCreated) and content == TEMPLATE:
                event("zone created from the template")
            accepted = oracle.judge(change, content)
            event(f"{type(change).__name__}: {'accepted' if accepted else 'refused'}")


def test_a_zone_created_twice_is_refused_at_the_later_file(tmp_path: Path) -> None:
    """A zone created again goes to `<zone>.yaml`, which may come before the file that
    lists it already: both load() and the scoped check then report the entry of the later
    file (failed before: the check reported the new entry)."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone("b.test")]))
    env = Env(tmp_path)
    start(env, cfg, {"b.test": TEMPLATE})
    write_tree(tmp_path, cfg, [["zz.yaml"]])
    oracle = TreeOracle(env.path, load(env.path))
    with deterministic_draws():
        assert not oracle.judge(ZoneCreated(ACCOUNT_ID, "b.test"), TEMPLATE)


def test_a_zone_files_list_costs_the_index_no_string_of_its_own(tmp_path: Path) -> None:
    """The index knows a zone file's list by the file's name, the string its stamp is
    filed under, and makes the list's YAML path when asked (issue 16: a path of ~125
    bytes for each of 10^5 files); a list's only zone has no positions of its own (~56
    bytes); after a deletion the places renumber as before."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone(name) for name in
                                                  ("a.test", "b.test", "c.test")]))
    env = Env(tmp_path)
    start(env, cfg, {})
    write_tree(tmp_path, cfg, [["000.yaml", "000.yaml", "001.yaml"]])
    loaded = load(env.path)
    index = _build(loaded)
    names = {name: name for name in loaded.sources}
    for zone, file, seq in (("a.test", "000.yaml", 0), ("b.test", "000.yaml", 1),
                            ("c.test", "001.yaml", 0)):
        entry = index.zone(zone)
        name = f"accounts/{ACCOUNT_ID}/zones/{file}"
        if zone == "c.test":  # alone in its file
            assert entry.positions is None
        else:
            assert [r for r in gc.get_referents(entry.positions)
                    if isinstance(r, str)] == [name]
            assert next(r for r in gc.get_referents(entry.positions)
                        if isinstance(r, str)) is names[name]
        assert entry.place == (f"{name}:zones", seq)
        assert entry.config.path == f"{name}:zones[{seq}]"
    apply(index, check(index, ZoneDeleted("a.test"), lambda *args: None))
    assert index.zone("b.test").place == (f"accounts/{ACCOUNT_ID}/zones/000.yaml:zones", 1)
    assert index.zone("b.test").config.path == f"accounts/{ACCOUNT_ID}/zones/000.yaml:zones[0]"
    for zone in ("b.test", "c.test"):  # a list left empty is forgotten, as before
        apply(index, check(index, ZoneDeleted(zone), lambda *args: None))
    assert not index._positions


def test_a_zone_file_named_after_its_only_zone_costs_the_index_no_entry(tmp_path: Path) -> None:
    """A zone file `<zone>.yaml` that holds its zone alone is known by the zone's entry,
    not by an entry of the index's lists (a dict of 10^5 zone files is 3.7 MiB); its
    places, a second zone's and a new file's are those of the other lists."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone(name) for name in
                                                  ("a.test", "b.test", "c.test")]))
    env = Env(tmp_path)
    start(env, cfg, {})
    write_tree(tmp_path, cfg, [["a.test.yaml", "a.test.yaml", "c.test.yaml"]])
    index = _build(load(env.path))
    own = f"accounts/{ACCOUNT_ID}/zones/c.test.yaml"
    shared = f"accounts/{ACCOUNT_ID}/zones/a.test.yaml"
    assert list(index._positions) == [shared]
    assert index.zone("c.test").positions is None
    assert index.zone("c.test").place == (f"{own}:zones", 0)
    assert index.next_zone(ACCOUNT_ID, "d.test")[0] == \
        f"accounts/{ACCOUNT_ID}/zones/d.test.yaml:zones[0]"
    apply(index, check(index, ZoneDeleted("c.test"), lambda *args: None))
    assert list(index._positions) == [shared]
    assert index.next_zone(ACCOUNT_ID, "c.test") == (f"{own}:zones[0]", (f"{own}:zones", 0))
    apply(index, check(index, ZoneDeleted("a.test"), lambda *args: None))
    assert index.zone("b.test").place == (f"{shared}:zones", 1)
    assert index.zone("b.test").config.path == f"{shared}:zones[0]"


def test_the_index_takes_over_the_records_and_recorded_zones_it_is_built_of(
        tmp_path: Path) -> None:
    """(a dict of 10^5 zones is 3.7 MiB) The index keeps the load's records and the
    State's recorded zones as its own, not copies of them: they follow its changes."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone(name) for name in
                                                  ("a.test", "b.test")]))
    env = Env(tmp_path)
    loaded = start(env, cfg, {})
    state = read_state(loaded.model.server.state_file)
    index = ModelIndex.build(loaded, Recorded.of(state))
    assert index.recorded_zones() is state.zones and index._records is loaded.records
    assert index.records("b.test") == loaded.records["b.test"] > 0
    apply(index, check(index, ZoneDeleted("b.test"), lambda *args: None))
    assert "b.test" not in loaded.records and index.records("b.test") == 0


def test_the_sources_hold_a_zone_file_of_one_zone_as_its_name(tmp_path: Path) -> None:
    """Not as a 1-tuple (48 bytes for each of 10^5 files, issue 16); a file left with one
    zone after a deletion is held so too."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone(name) for name in
                                                  ("a.test", "b.test", "c.test")]))
    env = Env(tmp_path)
    start(env, cfg, {})
    write_tree(tmp_path, cfg, [["000.yaml", "000.yaml", "001.yaml"]])
    sources = open_sources(load(env.path))
    assert isinstance(sources, Directory)
    first, second = (f"accounts/{ACCOUNT_ID}/zones/{file}" for file in ("000.yaml", "001.yaml"))
    assert [r for r in gc.get_referents(sources._held) if isinstance(r, tuple)] == [
        ("a.test", "b.test")]
    assert (sources.zones_in(first), sources.zones_in(second)) == (["a.test", "b.test"],
                                                                   ["c.test"])
    sources._release("a.test")
    assert not [r for r in gc.get_referents(sources._held) if isinstance(r, tuple)]
    assert sources.zones_in(first) == ["b.test"] and sources.file_of("b.test") == first
    sources._hold(first, ["a.test"])
    assert sources.zones_in(first) == ["b.test", "a.test"]


def test_a_tree_file_in_a_problem_is_named_from_the_configurations_directory(tmp_path):
    """A file of the tree that cannot be read is named as the configuration's directory
    joined with its path there: `accounts/...` when loaded from that directory (no
    `./`), with the directory first from anywhere else."""
    cfg = modelkit.config(modelkit.account(zones=[modelkit.zone("a.test")]))
    write_tree(tmp_path, cfg)
    bad = Path("accounts", modelkit.ACCOUNT_ID, "zones", "000.yaml")
    (tmp_path / bad).write_bytes(b"- name: \xff.test\n")
    for where, config, named in ((tmp_path, "acnsd.yaml", str(bad)),
                                 (tmp_path.parent, f"{tmp_path.name}/acnsd.yaml",
                                  f"{tmp_path.name}/{bad}"),
                                 (tmp_path, str(tmp_path / "acnsd.yaml"), str(tmp_path / bad))):
        with contextlib.chdir(where), pytest.raises(ConfigError) as refused:
            load(config, save_state=False)
        assert [p.file for p in refused.value.problems if "UTF-8" in p.message] == [named]
