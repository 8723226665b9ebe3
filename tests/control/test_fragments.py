"""An operator's edit of one YAML file of the directory layout, found by a reload's scan,
is the one Change the API would have made (control/fragments.py), or None (the reload
then loads the configuration whole).

The oracle: random configurations in the directory layout, edited at random by the
sources' writer as an operator would (the file written on disk, outside the server's
sources); the server's sources scan and find the file, `as_change` names the change —
the very change written, or None, never another — and its scoped verdict, located in the
files as they are on disk, is load()'s of the edited tree problem by problem; accepted,
the index it updates equals one built afresh from the tree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from acnsd.control.change import VanityNamesChanged, ZoneCreated, ZoneFileChanged
from acnsd.control.fragments import as_change
from acnsd.control.index import ModelIndex, Recorded
from acnsd.control.rules import OutOfScope, apply, check
from acnsd.control.sources import Directory, open_sources
from acnsd.errors import ConfigError
from acnsd.model.config import Loaded, load
from acnsd.model.names import normalize
from acnsd.model.recording import read_state
from controlkit import TEMPLATE, deterministic_draws, start
from hypothesis import event, given, settings
from hypothesis import strategies as st
from modelkit import Env
from test_layouts import groups
from test_scoped_oracle import changes, configuration
from treekit import write_tree


def _removals(change: Any) -> Any:
    """The change with an empty value as None: either removes the key (change.py)."""
    value = getattr(change, "names", getattr(change, "dns_settings", None))
    if value is None or value:
        return change
    field = "names" if isinstance(change, VanityNamesChanged) else "dns_settings"
    return dataclasses.replace(change, **{field: None})


def _held(sources: Directory, zones: list[str]) -> dict[str, list[str]]:
    """Each zone list file holding one of `zones` → the zones it holds, in order, as the
    sources know them."""
    return {file: sources.zones_in(file) for zone in zones
            if (file := sources.file_of(zone)) is not None}


def _build(loaded: Loaded) -> ModelIndex:
    return ModelIndex.build(loaded, Recorded.of(read_state(loaded.model.server.state_file)))


@settings(max_examples=100, deadline=None)
@given(configuration(), st.data())
def test_a_yaml_file_edited_on_disk_is_the_change_written(case, data):
    cfg, files = case
    with tempfile.TemporaryDirectory() as tmp, deterministic_draws():
        env = Env(Path(tmp))
        start(env, cfg, files)
        write_tree(env.root, cfg, data.draw(groups(cfg)))
        loaded = load(env.path)
        index, server = _build(loaded), open_sources(loaded)
        assert isinstance(server, Directory)
        for _ in range(data.draw(st.integers(2, 8))):
            change = data.draw(changes(cfg, loaded))
            if isinstance(change, ZoneFileChanged):
                continue
            operator = open_sources(loaded)  # the operator's editor, not the server's
            try:
                edit = operator.edit(change)
                if isinstance(change, ZoneCreated):
                    (loaded.model.server.zones_dir / f"{normalize(change.name)}.zone"
                     ).write_text(TEMPLATE, encoding="utf-8")
                operator.write(edit)
            except Exception:  # noqa: BLE001 - a change the writer cannot make: none
                continue
            scan = server.scan()
            derived = as_change(server, index, scan)
            event(f"{type(change).__name__}: {'found' if derived else 'whole load'}")
            assert derived is None or _removals(derived) == _removals(change), (change, derived)
            try:
                after = load(env.path)
                expected = []
            except ConfigError as exc:
                after, expected = None, exc.problems
            verdict = None
            if derived is not None:
                with contextlib.suppress(OutOfScope):
                    verdict = check(index, derived, server.on_disk(derived, scan).locate)
            if verdict is not None:
                assert Counter(verdict.problems) == Counter(expected), (change, verdict.problems,
                                                                        expected)
            if after is None:
                return  # (the server would keep serving what it had)
            if verdict is None:
                index, server = _build(after), open_sources(after)
            else:
                apply(index, verdict)
                server.adopt(scan)
                assert index.facts() == _build(after).facts(), change
                names = [zone.name for zone in after.model.zones]
                assert _held(server, names) == _held(open_sources(after), names), change
            loaded = after


def test_an_edit_that_is_not_one_change_loads_whole(tmp_path):
    """Two zones' settings edited in one file, and acnsd.yaml touched: None."""
    env = Env(tmp_path)
    cfg = {"server": {"listen": ["127.0.0.1:5353"], "zones_dir": "zones",
                      "standard_nameservers": [{"name": "ns1.std.test", "ipv4": "127.53.0.1"},
                                               {"name": "ns2.std.test", "ipv4": "127.53.0.2"}]},
           "accounts": [{"id": "acc0", "name": "A", "zones": [{"name": "a.test"},
                                                              {"name": "b.test"}]}]}
    env.write(cfg)
    write_tree(env.root, cfg, [["000.yaml", "000.yaml"]])
    for path in (env.root / "zones").iterdir():  # settled: trusted by their stat
        os.utime(path, (1, 1))
    loaded = load(env.path)
    index, server = _build(loaded), open_sources(loaded)
    zones_file = next(Path(env.root, "accounts", "acc0", "zones").iterdir())
    zones_file.write_text("- name: a.test\n  dns_settings: {ns_ttl: 300}\n"
                          "- name: b.test\n  dns_settings: {ns_ttl: 300}\n")
    assert as_change(server, index, server.scan()) is None
    zones_file.write_text("- name: a.test\n  dns_settings: {ns_ttl: 300}\n- name: b.test\n")
    scan = server.scan()
    assert as_change(server, index, scan) is not None
    os.utime(env.path, (1, 1))  # acnsd.yaml's stat changed (its content not)
    assert as_change(server, index, server.scan()) is not None
