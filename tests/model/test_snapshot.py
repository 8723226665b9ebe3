"""daemon/snapshot.py: the compiled snapshot of a start serves a restart only while every
input is as it was (files, the directories of the layout, the store, acnsd itself), and
with the same answers; anything else is a load, with one log line saying why."""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import time
from pathlib import Path

import dns.message
import pytest
from acnsd.daemon import snapshot
from acnsd.daemon.serve import load_tables
from acnsd.dns.core import Transport, answer
from acnsd.model import zonedata
from acnsd.model.recording import FirstContents
from acnsd.model.store import Store
from hypothesis import given
from hypothesis import strategies as st
from modelkit import ACCOUNT_ID, account, config, ns, zone
from treekit import write_tree

QUESTIONS = [("a.test", "SOA"), ("a.test", "NS"), ("www.a.test", "A"), ("b.a.test", "NS"),
             ("ns1.a.test", "A"), ("missing.a.test", "A"), ("c.test", "TXT")]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The directory layout: a.test (providing the set's names), its child b.a.test on set
    2, and c.test; every file and directory settled (modified 10 s ago)."""
    cfg = config(account(
        [ns("ns1.a.test", 1), ns("ns2.a.test", 1), ns("ns1.b.a.test", 2), ns("ns2.c.test", 2)],
        [zone("a.test", "custom.account", 1), zone("b.a.test", "custom.account", 2),
         zone("c.test", "custom.account", 1)]))
    write_tree(tmp_path, cfg)
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "a.test.zone").write_text("$TTL 3600\nwww IN A 192.0.2.1\n")
    (zones / "b.a.test.zone").write_text("$TTL 3600\n@ IN TXT child\n")
    (zones / "c.test.zone").write_text('$TTL 300\n@ IN TXT "c"\n')
    _settle(tmp_path)
    return tmp_path / "acnsd.yaml"


def _settle(root: Path) -> None:
    past = time.time() - 10
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past))


def _start(config: Path) -> tuple:
    """What `acnsd serve` does at start: restore, else load, record, compile and write."""
    restored = snapshot.restore(str(config))
    if restored is not None:
        return restored
    began = time.time_ns()
    loaded, tables, state = load_tables(str(config))
    snapshot.write(str(config), loaded, tables, state, began)
    return loaded, tables, state


def _answers(tables) -> list[bytes]:
    out = []
    for name, rdtype in QUESTIONS:
        query = dns.message.make_query(name, rdtype, use_edns=0)
        query.id = 4242
        out.append(answer(tables, query.to_wire(), Transport.UDP))
    return out


def test_a_restart_with_unchanged_inputs_serves_the_snapshot_with_the_same_answers(
        tree, caplog):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    loaded, tables, _ = _start(tree)
    assert snapshot.snapshot_path(tree).exists()
    cache = dict(zonedata.read_files()[0])
    zonedata.adopt_read_files(({}, {}))  # as a new process has read nothing

    restored = snapshot.restore(str(tree))
    assert restored is not None
    assert "event=snapshot_used" in caplog.text
    assert _answers(restored[1]) == _answers(tables)
    assert [z.name for z in restored[0].model.zones] == [z.name for z in loaded.model.zones]
    # the zone files count as read, as after the start that made it (reloads rely on it)
    assert zonedata.read_files()[0].keys() == cache.keys()


@pytest.mark.parametrize("change", ["zone file", "zone yaml", "new zone yaml", "account",
                                    "main", "store"])
def test_a_changed_input_makes_the_snapshot_stale(tree, caplog, change):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    _start(tree)
    base = tree.parent
    home = base / "accounts" / ACCOUNT_ID
    if change == "zone file":  # the same size: the mtime, then the digest, tell
        path = base / "zones" / "c.test.zone"
        path.write_text(path.read_text().replace('"c"', '"d"'))
    elif change == "zone yaml":
        path = home / "zones" / "002.yaml"
        path.write_text(path.read_text().replace("ns_set: 1", "ns_set: 1\n    ns_ttl: 300"))
    elif change == "new zone yaml":
        (home / "zones" / "003.yaml").write_text("- name: d.test\n")
    elif change == "account":
        (home / "account.yaml").write_text((home / "account.yaml").read_text() + "\n")
    elif change == "main":
        tree.write_text(tree.read_text() + "\n# a comment\n")
    else:
        with Store.open(base / "acnsd.state.db") as store, store.change() as made:
            made.record("a.test", None)
    assert snapshot.restore(str(tree)) is None
    assert "event=snapshot_ignored" in caplog.text


def test_a_start_that_writes_its_first_contents_later_keeps_its_snapshot(tree, caplog):
    """A first start that writes the zones' contents once it answers makes the snapshot of
    the store as it will be then: stale while they are not written (killed before them,
    the next start loads and writes them), used once they are."""
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    began, later = time.time_ns(), FirstContents()
    loaded, tables, state = load_tables(str(tree), later=later)
    snapshot.write(str(tree), loaded, tables, state, began, later)
    assert snapshot.restore(str(tree)) is None
    assert "acnsd.state.db changed" in caplog.text
    assert later.write() == 3
    restored = snapshot.restore(str(tree))
    assert restored is not None
    assert _answers(restored[1]) == _answers(tables)


def test_files_rewritten_with_the_same_bytes_keep_the_snapshot(tree, caplog):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    _start(tree)
    for path in [tree, *tree.parent.rglob("*.yaml"), *tree.parent.rglob("*.zone")]:
        path.write_bytes(path.read_bytes())  # a new mtime, the same digest
    assert snapshot.restore(str(tree)) is not None


def test_a_snapshot_of_another_acnsd_or_unreadable_is_ignored(tree, caplog):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    _start(tree)
    path = snapshot.snapshot_path(tree)
    header, _, payload = path.read_bytes().partition(b"\n")
    other = json.loads(header)
    other["identity"]["format"] = snapshot.FORMAT + 1
    path.write_bytes(json.dumps(other).encode() + b"\n" + payload)
    assert snapshot.restore(str(tree)) is None
    assert "made by another acnsd" in caplog.text

    path.write_bytes(header + b"\n" + payload[: len(payload) // 2])
    assert snapshot.restore(str(tree)) is None
    assert "unreadable" in caplog.text

    path.write_bytes(header + b"\n" + payload)
    path.chmod(0o666)
    assert snapshot.restore(str(tree)) is None
    assert "writable by others" in caplog.text


def test_a_zone_file_with_include_makes_no_snapshot(tree, caplog):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    zones = tree.parent / "zones"
    (zones / "more.inc").write_text("more IN A 192.0.2.9\n")
    (zones / "c.test.zone").write_text("$TTL 300\n$INCLUDE more.inc\n")
    _settle(tree.parent)
    _start(tree)
    assert not snapshot.snapshot_path(tree).exists()
    assert "event=snapshot_skipped" in caplog.text


def test_a_directory_changed_during_the_load_makes_no_snapshot(tree, caplog):
    caplog.set_level(logging.INFO, "acnsd.snapshot")
    home = tree.parent / "accounts" / ACCOUNT_ID / "zones"
    os.utime(home)  # now: entries may have come or gone while it was read
    _start(tree)
    assert not snapshot.snapshot_path(tree).exists()
    assert "changed while it was read" in caplog.text


_leaves = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.binary(max_size=300))


@given(st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=3), inner, max_size=4)), max_leaves=400),
    st.data())
def test_compact_keeps_the_value_and_what_it_shares(value, data):
    """compact() drops only the memo entries nothing refers to: the value reads back
    equal, with its shared parts still one object."""
    shared = [value, value]  # the same object twice: one memo entry that is used
    pickled = pickle.dumps(shared, protocol=snapshot.PROTOCOL)
    out = io.BytesIO()
    snapshot.compact(pickled, out)
    back = pickle.loads(out.getvalue())
    assert back == shared
    assert back[0] is back[1] or not isinstance(value, (list, dict))
    assert len(out.getvalue()) <= len(pickled) + 9 * (len(pickled) // 65536 + 1)
