"""The management API's editor (api/edit.py) on a configuration in the directory layout,
with the store as its state: a change is checked against the store without writing it,
then written to the one file it changes, then recorded; a refused one writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dns.rdatatype
import pytest
from acnsd.api.edit import ConfigEditor, Invalid, Reloaded
from acnsd.control import document
from acnsd.control.change import ZoneSettingsChanged
from acnsd.control.migrate import migrate
from acnsd.dns.wire import decode_rrset
from acnsd.model import journal
from acnsd.model.config import load, record
from acnsd.model.recording import FirstContents, export_state
from acnsd.model.store import Store
from tooling import REPO

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The example configuration, started once, then migrated to the directory layout."""
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "acnsd.yaml"
    shutil.copy(REPO / "config" / "acnsd.yaml", config)
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    load(config)
    assert migrate(config).directory is not None
    load(config)
    return config


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".state.db" not in p.name}


def test_a_change_writes_its_zone_file_and_records_it(tree: Path) -> None:
    root = tree.parent.parent
    state = tree.with_name("acnsd.state.db")
    before, serials = _files(root), export_state(state)["serials"]
    made: list = []
    editor = ConfigEditor(tree, made.append)
    model = editor.change(ZoneSettingsChanged("sub.example.com", {
        "nameservers": {"type": "custom.account", "ns_set": 2}, "ns_ttl": 7200}))
    assert next(z for z in model.zones if z.name == "sub.example.com").ns_ttl == 7200
    after = _files(root)
    written = f"config/accounts/{ACCOUNT}/zones/sub.example.com.yaml"
    assert {name for name in after if before.get(name) != after[name]} == {written}
    assert after.keys() == before.keys()  # no temporary file left
    assert "ns_ttl: 7200" in after[written].decode()
    now = export_state(state)["serials"]
    assert now["sub.example.com"]["serial"] > serials["sub.example.com"]["serial"]
    assert {k: v for k, v in now.items() if k != "sub.example.com"} == {
        k: v for k, v in serials.items() if k != "sub.example.com"}
    (committed,) = made  # made by the pipeline: the zone's delta
    (delta,) = committed.delta.zones
    (plan,) = (p for p in load(tree, save_state=False).plan.zones
               if p.origin.to_text() == "sub.example.com.")
    assert delta.plan == plan


def test_a_refused_change_writes_nothing(tree: Path) -> None:
    root = tree.parent.parent
    state = tree.with_name("acnsd.state.db")
    before, recorded = _files(root), export_state(state)
    editor = ConfigEditor(tree)
    with pytest.raises(Invalid) as refused:
        editor.change(ZoneSettingsChanged("sub.example.com", {
            "nameservers": {"type": "custom.account", "ns_set": 1}}))
    (problem,) = refused.value.problems
    assert problem.rule == "R5"
    assert problem.file == str(tree.parent / "accounts" / ACCOUNT / "zones"
                               / "sub.example.com.yaml")
    assert _files(root) == before
    assert export_state(state) == recorded


def test_a_whole_reload_keeps_the_sources_watched(tree: Path) -> None:
    """Issue 16: a reload that loads the configuration whole (a change of acnsd.yaml) opens
    the sources again; they are watched again at once, so the next reload looks only at
    what changed, not at every file."""
    editor = ConfigEditor(tree)
    editor.watch_sources()
    assert editor.sources._watch is not None
    tree.write_text(tree.read_text() + "# edited\n")
    assert editor.reload(lambda made: None) == Reloaded(-1, -1)
    assert editor.sources._watch is not None
    editor.close()


def test_the_changes_are_recorded_through_one_store_kept_open_until_close(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor's changes open the store once, not once per change; close() closes it
    (its write-ahead log checkpointed and removed: the last connection), and a change
    after that opens it again."""
    state = tree.with_name("acnsd.state.db")
    editor = ConfigEditor(tree)
    opened: list[Store] = []
    open_store = Store.open.__func__

    def counted(cls: type[Store], *args: Any, **keywords: Any) -> Store:
        store = open_store(cls, *args, **keywords)
        if not keywords.get("readonly"):
            opened.append(store)
        return store

    monkeypatch.setattr(Store, "open", classmethod(counted))
    for ttl in (7200, 7300, 7400):
        editor.change(ZoneSettingsChanged("sub.example.com", {
            "nameservers": {"type": "custom.account", "ns_set": 2}, "ns_ttl": ttl}))
    assert len(opened) == 1
    assert state.with_name(state.name + "-wal").exists()  # open
    editor.close()
    assert not state.with_name(state.name + "-wal").exists()
    editor.change(ZoneSettingsChanged("sub.example.com", {
        "nameservers": {"type": "custom.account", "ns_set": 2}, "ns_ttl": 7500}))
    assert len(opened) == 2
    editor.close()
    serial = export_state(state)["serials"]["sub.example.com"]["serial"]
    assert serial == editor.serial("sub.example.com")


def test_a_zones_file_is_read_in_the_layout_acnsd_writes_it_with_one_dump(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zone's file in the directory layout, as acnsd writes it (LIST_INDENTS), is found
    to round-trip exactly by the first dump of its document (a dump of another
    indentation first cost ~0.4 ms of every API change's CPU), and the edit is spliced
    in that layout."""
    dumpers: list[object] = []
    dump = document.dump

    def counted(yaml: Any, data: Any) -> str:
        dumpers.append(yaml)
        return dump(yaml, data)

    monkeypatch.setattr(document, "dump", counted)
    file = tree.parent / "accounts" / ACCOUNT / "zones" / "sub.example.com.yaml"
    ConfigEditor(tree).change(ZoneSettingsChanged("sub.example.com", {
        "nameservers": {"type": "custom.account", "ns_set": 2}, "ns_ttl": 7200}))
    assert dumpers == [document.yaml_dumper(2, 2, 0)]
    assert "ns_ttl: 7200}" in file.read_text()


def test_a_change_comes_after_the_first_contents_a_start_left_to_write(tree: Path) -> None:
    """A first start that leaves the zones' contents to write once it answers
    (FirstContents): the editor's first change writes them first (the server's thread
    for them had not yet), so the change is journalled as the exact difference from the
    serial served, and every other zone is served from the store."""
    state = tree.with_name("acnsd.state.db")
    for path in tree.parent.glob("acnsd.state.db*"):
        path.unlink()
    loaded = load(tree, save_state=False)
    decided, later = loaded.state, FirstContents()
    loaded = record(loaded, later)
    serials = export_state(state)["serials"]
    editor = ConfigEditor(tree, loaded=(loaded, decided), first_contents=later)
    editor.change(ZoneSettingsChanged("sub.example.com", {
        "nameservers": {"type": "custom.account", "ns_set": 2}, "ns_ttl": 7200}))
    editor.close()
    assert not later.pending
    with Store.open(state, readonly=True) as store:
        assert all(zone.served for zone in store.zone_records() if zone.serial is not None)
        (diff,) = store.ixfr_chain("sub.example.com", serials["sub.example.com"]["serial"])
    assert diff.serial_to == editor.serial("sub.example.com")
    removed, added = ([decode_rrset(r) for r in journal.rrsets_of(soa + b"".join(rrs))[1:]]
                      for soa, rrs in ((diff.soa_from, diff.removed), (diff.soa_to, diff.added)))
    assert [(r.rdtype, r.ttl) for r in removed] == [(dns.rdatatype.NS, 3600)]
    assert [(r.rdtype, r.ttl) for r in added] == [(dns.rdatatype.NS, 7200)]
    assert set(removed[0]) == set(added[0])  # the same names, another TTL
