"""store.py: one change is one transaction; the journal serves exact IXFR chains from any
serial it still holds, within its bounds and across the serial wrap; a file that is not a
store of this version is refused with its path; readers use their own connections."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from acnsd.model import journal
from acnsd.model.store import SCHEMA_VERSION, Store, StoreError
from hypothesis import given, settings
from hypothesis import strategies as st
from storekit import apply, contents, edits, packed, rr_set, soa_text

NOW = 1_800_000_000
TOP = 2**32 - 1


def _put(store: Store, records, name="ex.test", now=NOW, **soa):
    with store.change() as change:
        return change.put_zone(name, packed(records, soa_text(**soa)), now=now)


def _journal_rows(store: Store, name="ex.test") -> list[tuple[int, int, int]]:
    return store._db.execute("SELECT serial_from, serial_to, length(diff) FROM journal "
                             "WHERE zone = ? ORDER BY seq", (name,)).fetchall()


@settings(max_examples=60)
@given(contents(), st.data(), st.integers(1, 6), st.integers(300, 3000),
       st.sampled_from([0, NOW, TOP - 3, 2**31 - 2]))
def test_the_journal_brings_any_serial_it_holds_to_the_current_content(
        records, data, depth, max_bytes, start):
    """Random edits at random times: after each commit, every serial the journal holds a
    chain from gives, applied to the content served at that serial, exactly the current
    content; the bounds hold; the other serials get None (AXFR). (Serials that jumped more
    than 2^31 in all since look newer than ours, RFC 1982: those get [].)"""
    with tempfile.TemporaryDirectory() as tmp, Store.open(
            Path(tmp) / "acnsd.db", max_depth=depth, max_bytes=max_bytes) as store:
        with store.change() as change:
            change.record_serial("ex.test", start, None)
        served: dict[int, frozenset] = {}  # serial → the content served then
        for _ in range(data.draw(st.integers(1, 12))):
            now = data.draw(st.sampled_from([NOW, start, 0, TOP]))
            before = store.serial("ex.test")
            done = _put(store, records, now=now)
            zone = store.zone("ex.test")
            current = rr_set(zone.content)
            if done.diff is None and zone.serial in served:
                assert current == served[zone.serial], "nothing changed but the content"
            if done.diff is not None:
                assert journal.serial_gt(done.serial, before)
            served[done.serial] = current
            assert journal.soa_serial(journal.unpack_content(zone.content)[0]) == done.serial
            rows = _journal_rows(store)
            assert len(rows) <= depth and sum(size for _, _, size in rows) <= max_bytes
            held = {frm for frm, _, _ in rows}
            for serial, content in served.items():
                chain = store.ixfr_chain("ex.test", serial)
                if serial == done.serial or journal.serial_gt(serial, done.serial):
                    assert chain == []  # up to date, or newer (RFC 1995 §2)
                elif serial in held and journal.serial_gt(done.serial, serial):
                    assert apply(content, chain) == current
                else:
                    assert chain is None, (serial, done.serial, rows)
            records = data.draw(edits(records))


def test_nothing_served_changed_means_no_new_serial_and_no_journal_entry(tmp_path):
    records = {("www", "A"): (300, frozenset(["192.0.2.1"]))}
    with Store.open(tmp_path / "acnsd.db") as store:
        first = _put(store, records)
        assert first.serial == NOW and first.diff is None  # a new zone: no difference
        again = _put(store, records, now=NOW + 50, serial=12345)  # the serial given is ignored
        assert again.serial == NOW and again.diff is None and not _journal_rows(store)
        timers = _put(store, records, now=NOW + 60, refresh=5)  # the SOA alone changed
        assert timers.serial == NOW + 60 and timers.diff.removed == timers.diff.added == ()
        assert store.ixfr_chain("ex.test", NOW) == [timers.diff]
        ttl = _put(store, {("www", "A"): (600, frozenset(["192.0.2.1"]))}, now=NOW, refresh=5)
        assert ttl.serial == NOW + 61  # the time went back: serial + 1
        assert len(ttl.diff.removed) == len(ttl.diff.added) == 1


def _raw_content(store: Store, name="ex.test") -> bytes:
    return store._db.execute("SELECT content FROM zones WHERE name = ?", (name,)).fetchone()[0]


@settings(max_examples=40, deadline=None)
@given(contents(), st.data())
def test_a_first_content_is_kept_as_read_and_read_as_its_content(records, data):
    """A zone's first content is kept as read (no sorting at a first start); read back,
    and when the zone first changes, it is the content it stands for: the same bytes, and
    the same difference journalled, as had it been kept as content."""
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "acnsd.db") as store:
        zone = packed(records, soa_text())
        first = _put(store, records)
        assert _raw_content(store) == journal.as_read(zone)
        soa, rrs = journal.zone_rrs(zone)
        expected = journal.pack_content(journal.with_serial(soa, first.serial), rrs)
        assert store.zone("ex.test").content == expected
        assert journal.stored_content(_raw_content(store), first.serial) == expected
        changed = data.draw(edits(records))
        done = _put(store, changed, now=NOW + 100)
        new_soa, new_rrs = journal.zone_rrs(packed(changed, soa_text()))
        want = journal.diff(rrs, new_rrs, journal.with_serial(soa, first.serial), new_soa)
        if want.empty:
            assert done.diff is None and done.serial == first.serial
        else:
            assert done.diff.removed == want.removed and done.diff.added == want.added
        assert store.zone("ex.test").content == journal.pack_content(
            journal.with_serial(new_soa, done.serial), new_rrs)


def test_a_store_of_version_1_is_read_and_its_writer_marks_it_2(tmp_path):
    """A store written by an acnsd of schema version 1 (contents kept as content) is read
    as it is; opened for writing it becomes version 2, which such an acnsd refuses rather
    than misread a content kept as read."""
    path = tmp_path / "acnsd.db"
    records = {("www", "A"): (300, frozenset(["192.0.2.1"]))}
    soa, rrs = journal.zone_rrs(packed(records, soa_text()))
    content = journal.pack_content(journal.with_serial(soa, NOW), rrs)
    with Store.open(path) as store:
        store._db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        store._db.execute("INSERT INTO zones (name, serial, content) VALUES (?, ?, ?)",
                          ("ex.test", NOW, content))
    with Store.open(path, readonly=True) as reader:
        assert reader.meta("schema_version") == "1" and reader.zone("ex.test").content == content
    with Store.open(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "2"
        done = _put(store, {("www", "A"): (300, frozenset(["192.0.2.2"]))}, now=NOW + 100)
        assert len(done.diff.removed) == len(done.diff.added) == 1
        assert done.diff.removed[0] == rrs[0]


def test_a_removed_zone_keeps_its_serial_and_loses_its_journal(tmp_path):
    with Store.open(tmp_path / "acnsd.db") as store:
        _put(store, {})
        _put(store, {("www", "A"): (300, frozenset(["192.0.2.1"]))})
        assert store.serial("ex.test") == NOW + 1 and _journal_rows(store)
        with store.change() as change:
            change.remove_zone("ex.test")
        zone = store.zone("ex.test")
        assert zone.content is None and zone.serial == NOW + 1 and not _journal_rows(store)
        assert store.ixfr_chain("ex.test", NOW) is None
        again = _put(store, {})  # created again: above its old serial, a new chain
        assert again.serial == NOW + 2 and again.diff is None
        assert store.ixfr_chain("ex.test", NOW + 1) is None
        assert store.ixfr_chain("unknown.test", 1) is None


def test_a_difference_larger_than_the_bound_empties_the_journal(tmp_path):
    big = {("www", "TXT"): (300, frozenset(['"one"', '"two"', '"three and four"']))}
    with Store.open(tmp_path / "acnsd.db", max_bytes=200) as store:
        _put(store, {})
        _put(store, {("www", "A"): (300, frozenset(["192.0.2.1"]))})
        assert len(_journal_rows(store)) == 1
        _put(store, big)
        assert not _journal_rows(store)
        assert store.ixfr_chain("ex.test", NOW + 1) is None
        assert store.ixfr_chain("ex.test", NOW + 2) == []


def test_a_change_that_raises_writes_nothing(tmp_path):
    with Store.open(tmp_path / "acnsd.db") as store:
        _put(store, {})
        with pytest.raises(RuntimeError), store.change() as change:
            change.assign("ns1.ex.test", "192.0.2.1", None)
            change.put_zone("ex.test", packed({("www", "A"): (300, frozenset(["192.0.2.1"]))}),
                            now=NOW + 5)
            change.record("ex.test", {"account": "a"})
            raise RuntimeError("the change is refused later on")
        assert store.addresses() == {} and store.serial("ex.test") == NOW
        assert store.zone("ex.test").recorded is None and not _journal_rows(store)


def test_addresses_are_assigned_released_and_forgotten(tmp_path):
    with Store.open(tmp_path / "acnsd.db") as store:
        with store.change() as change:
            change.assign("ns1.ex.test", "192.0.2.1", "2001:db8::1")
            change.assign("ns2.ex.test", "192.0.2.2", None)
        with store.change() as change:
            change.release("ns2.ex.test")
            with pytest.raises(KeyError, match="ns3.ex.test has no addresses"):
                change.release("ns3.ex.test")
        assert store.addresses() == {"ns1.ex.test": {"ipv4": "192.0.2.1", "ipv6": "2001:db8::1"}}
        assert store.released() == {"ns2.ex.test": {"ipv4": "192.0.2.2", "ipv6": None}}
        with store.change() as change:
            change.assign("ns2.ex.test", "192.0.2.2", None)  # a returning name
        assert set(store.addresses()) == {"ns1.ex.test", "ns2.ex.test"} and not store.released()
        with store.change() as change:
            change.release("ns2.ex.test")
            change.forget("ns2.ex.test")
            change.forget("ns1.ex.test")  # assigned, not released: stays
        assert set(store.addresses()) == {"ns1.ex.test"} and not store.released()


def test_a_served_zone_takes_no_serial_but_from_its_content(tmp_path):
    with Store.open(tmp_path / "acnsd.db") as store:
        _put(store, {})
        with pytest.raises(ValueError, match="served"), store.change() as change:
            change.record_serial("ex.test", 5, None)
        assert store.serial("ex.test") == NOW


def test_zones_are_read_in_name_order_as_iterated(tmp_path):
    with Store.open(tmp_path / "acnsd.db") as store:
        for i in (3, 1, 2):
            _put(store, {}, name=f"z{i}.test")
        with store.change() as change:
            change.record("z0.test", {"account": "a"})
        zones = list(store.zones())
        assert [z.name for z in zones] == ["z0.test", "z1.test", "z2.test", "z3.test"]
        assert zones[0].content is None and zones[0].recorded == {"account": "a"}
        assert all(journal.rrsets_of(z.content) for z in zones[1:])


def test_a_reader_has_its_own_connection_and_never_waits_for_the_writer(tmp_path):
    path = tmp_path / "acnsd.db"
    with Store.open(path) as writer:
        _put(writer, {})
        with Store.open(path, readonly=True) as reader, writer.change() as change:
            change.put_zone("ex.test", packed({("a", "A"): (60, frozenset(["192.0.2.9"]))}),
                            now=NOW + 9)
            assert reader.serial("ex.test") == NOW  # the last commit, while one is open
            assert reader.ixfr_chain("ex.test", NOW) == []
            with pytest.raises(StoreError, match="readonly|read-only"):
                with reader.change() as reading:
                    reading.assign("x", None, None)
        with Store.open(path, readonly=True) as reader:
            assert reader.serial("ex.test") == NOW + 9
            assert len(reader.ixfr_chain("ex.test", NOW)) == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "foreign", "version"])
def test_a_file_that_is_not_a_store_of_this_version_is_refused_and_kept(tmp_path, damage):
    path = tmp_path / "acnsd.db"
    with Store.open(path) as store:
        for i in range(200):
            _put(store, {("www", "TXT"): (60, frozenset([f'"{i}"']))}, name=f"z{i}.test")
    if damage == "garbage":
        path.write_bytes(b"not a database at all" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign":
        path.unlink()
        sqlite3.connect(path).executescript("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    else:
        db = sqlite3.connect(path)
        with db:
            db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError) as caught:
        with Store.open(path) as store:
            list(store.zones())  # a corrupt page may show only when read
    assert caught.value.file == str(path) and str(path) in str(caught.value)
    message = caught.value.detail
    assert ("schema version 3" in message and "reads versions 1, 2" in message
            if damage == "version" else "will not start afresh" in message)
    assert path.read_bytes() == before


def test_a_missing_store_is_created_for_the_writer_only(tmp_path):
    with pytest.raises(StoreError, match="acnsd.db"):
        Store.open(tmp_path / "acnsd.db", readonly=True)
    with Store.open(tmp_path / "sub" / "acnsd.db") as store:
        assert store.is_empty() and store.meta("schema_version") == str(SCHEMA_VERSION)
    assert [p.name for p in (tmp_path / "sub").iterdir() if p.name.startswith(".")] == []


def test_a_creation_that_crashed_leaves_nothing_in_the_way(tmp_path):
    (tmp_path / ".acnsd.db.new").write_bytes(b"half")
    (tmp_path / ".acnsd.db.new-wal").write_bytes(b"stale")
    with Store.open(tmp_path / "acnsd.db") as store:
        assert store.is_empty()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acnsd.db"]


def test_the_store_benchmark_runs():
    """benchmarks/store_bench.py cannot rot: a tiny run reports every number."""
    from benchmarks import store_bench

    numbers = store_bench.main(["--zones", "300", "--commits", "20"])
    assert all(value > 0 for value in numbers.values())


def test_the_generation_counts_the_transactions_that_wrote(tmp_path):
    """A transaction that writes what a load reads counts one more generation, in the same
    commit; one that writes nothing, or only meta rows (the cookie secret), leaves it (a
    start with unchanged data keeps its compiled snapshot)."""
    with Store.open(tmp_path / "s.db") as store:
        assert store.generation() == 0
        _put(store, {("www", "A"): (300, ["192.0.2.1"])})
        assert store.generation() == 1
        with store.change():
            pass
        with store.change() as change:
            change.set_meta("cookie_secret", "00" * 16)
        with pytest.raises(RuntimeError), store.change() as change:
            change.record("ex.test", {"nameservers": {"type": "custom.account"}})
            raise RuntimeError("rolled back")
        assert store.generation() == 1
        _put(store, {("www", "A"): (300, ["192.0.2.2"])})
        assert store.generation() == 2
    with Store.open(tmp_path / "s.db", readonly=True) as reader:
        assert reader.generation() == 2


_SETUPS = ["new", "recorded", "imported", "served", "served_changed"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_SETUPS), contents(), contents(),
                          st.sampled_from(["d1", "d2", None])), max_size=6),
       st.sampled_from([NOW, 0, TOP]))
def test_put_zones_does_what_put_zone_does_zone_by_zone(zones, now):
    """The first start's batch writes the rows, serials and journal entries that put_zone
    writes for each zone in turn, whatever the store held of them: nothing, a recorded
    default, an imported serial and digest, a content (with the digest given or not)."""
    def setup(store: Store) -> None:
        with store.change() as change:
            for i, (how, before, _, _) in enumerate(zones):
                name = f"z{i}.ex.test"
                if how == "recorded":
                    change.record(name, {"account": "a"})
                elif how == "imported":
                    change.record_serial(name, 7 + i, "d1")
                elif how.startswith("served"):
                    change.put_zone(name, packed(before, zone=name), digest="d1", now=NOW - 9)

    def batch() -> list:
        return [(f"z{i}.ex.test", packed(before if how == "served" else after,
                                         zone=f"z{i}.ex.test"), digest)
                for i, (how, before, after, digest) in enumerate(zones)]

    def rows(store: Store) -> tuple[list, list]:
        return (store._db.execute("SELECT * FROM zones ORDER BY name").fetchall(),
                store._db.execute("SELECT * FROM journal ORDER BY zone, seq").fetchall())

    with tempfile.TemporaryDirectory() as tmp:
        with Store.open(Path(tmp) / "one.db") as one, Store.open(Path(tmp) / "all.db") as all_:
            setup(one)
            setup(all_)
            with one.change() as change:
                serials = [change.put_zone(name, zone, digest=digest, now=now).serial
                           for name, zone, digest in batch()]
            with all_.change() as change:
                assert change.put_zones([(*zone, None) for zone in batch()], now=now) == serials
            assert rows(all_) == rows(one)


_NOT_SERVED = ["new", "recorded", "imported"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NOT_SERVED), contents(), st.sampled_from(["d1", "d2"]),
                          st.sampled_from([None, NOW - 5, 3])), max_size=6),
       st.sampled_from([NOW, 0, TOP]))
def test_serials_first_then_contents_write_what_put_zones_writes(zones, now):
    """A start's two transactions (put_serials, then put_first_contents) leave the rows
    put_zones leaves for zones the store holds no content for, whatever it held of them;
    in between each reads as not served, with its serial, which the put_zones of the next
    start (after a crash) keeps, leaving the same rows again. A zone the store never held
    takes the serial its build gave it, when given (the others keep the store's)."""
    names = [f"z{i}.ex.test" for i in range(len(zones))]

    def setup(store: Store) -> None:
        with store.change() as change:
            for i, (how, _, _, _) in enumerate(zones):
                if how == "recorded":
                    change.record(names[i], {"account": "a"})
                elif how == "imported":
                    change.record_serial(names[i], 7 + i, "d1")

    batch = [(names[i], packed(records, zone=names[i]), digest, built)
             for i, (_, records, digest, built) in enumerate(zones)]

    def rows(store: Store) -> tuple[list, list]:
        return (store._db.execute("SELECT * FROM zones ORDER BY name").fetchall(),
                store._db.execute("SELECT * FROM journal ORDER BY zone, seq").fetchall())

    with tempfile.TemporaryDirectory() as tmp:
        opened = [Store.open(Path(tmp) / f"{i}.db") for i in range(3)]
        once, later, crashed = opened
        try:
            for store in opened:
                setup(store)
            with once.change() as change:
                serials = change.put_zones(batch, now=now)
            for (how, _, _, built), serial in zip(zones, serials, strict=True):
                if how != "imported":  # (a recorded default holds no serial)
                    assert serial == (journal.next_serial(0, now) if built is None else built)
            for store in (later, crashed):
                with store.change() as change:
                    assert change.put_serials([(n, d, b) for n, _, d, b in batch],
                                              now=now) == serials
                assert {z.name: (z.serial, z.served) for z in store.zone_records()} == {
                    name: (serial, False) for name, serial in zip(names, serials, strict=True)}
            with later.change() as change:
                assert change.put_first_contents(
                    (name, serial, digest, zone)
                    for (name, zone, digest, _), serial in zip(batch, serials, strict=True)
                ) == len(batch)
            with crashed.change() as change:  # the next start: the contents at once
                assert change.put_zones(batch, now=now + 1) == serials
            assert rows(later) == rows(once) == rows(crashed)
        finally:
            for store in opened:
                store.close()


def test_first_contents_keep_a_content_put_in_between(tmp_path):
    """put_first_contents writes a zone's content only where the zone is as put_serials
    left it: a content put in between (a change) is not undone."""
    first = {("www", "A"): (300, ["192.0.2.1"])}
    changed = {("www", "A"): (300, ["192.0.2.2"])}
    with Store.open(tmp_path / "s.db") as store:
        with store.change() as change:
            serials = change.put_serials([("a.ex.test", "d", None), ("b.ex.test", "d", None)],
                                         now=NOW)
        with store.change() as change:
            made = change.put_zone("a.ex.test", packed(changed, zone="a.ex.test"), digest="e",
                                   now=NOW + 9)
        with store.change() as change:
            assert change.put_first_contents(
                (name, serial, "d", packed(first, zone=name))
                for name, serial in zip(("a.ex.test", "b.ex.test"), serials, strict=True)) == 1
        assert store.zone("a.ex.test").serial == made.serial
        assert set(journal.split_soa(journal.unpack_content(store.zone("a.ex.test").content))[1]
                   ) == set(journal.zone_rrs(packed(changed, zone="a.ex.test"))[1])
        with store.change() as change, pytest.raises(ValueError, match="is served"):
            change.put_serials([("b.ex.test", "d", None)])
