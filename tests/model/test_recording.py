"""recording.py: a load reads the store and records only what changed; the store decides
each zone's serial by its served content, and the plans served carry it; a deployment
with the JSON state file of earlier versions upgrades without any address or serial
changing."""

from __future__ import annotations

import copy
import json
import operator
import time
import types

import dns.name
import dns.rrset
import pytest
from acnsd.dns.packed import pack_rrsets
from acnsd.dns.wire import decode_rrset, encode_rrset
from acnsd.model import journal, recording, store
from acnsd.model.config import load, record
from acnsd.model.recording import IMPORTED, FirstContents
from acnsd.model.store import Store
from modelkit import account, config, ns, rrsets, two_sets, zone

ZONE_TEXT = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A 192.0.2.2\n"


def _site():
    zones = [zone("example.com", "custom.account", 1), zone("a.test"),
             zone("b.test", "custom.account", 2)]
    return config(account([*two_sets(), ns("ns3.example.com", 1)], zones,
                          {"nameservers": {"type": "custom.account"}, "ns_ttl": 600}))


def _serial(loaded, name: str) -> int:
    return rrsets(loaded, name)[(name, "SOA")][0].serial


def _stored(env, name: str) -> store.StoredZone:
    with Store.open(env.state_file, readonly=True) as db:
        return db.zone(name)


def _journal(env, name: str) -> list[tuple[int, int]]:
    with Store.open(env.state_file, readonly=True) as db:
        return db._db.execute("SELECT serial_from, serial_to FROM journal WHERE zone = ? "
                              "ORDER BY seq", (name,)).fetchall()


# --- serials and content (R10) -------------------------------------------------------------

def test_a_zone_file_edited_only_in_its_comments_keeps_its_serial(env):
    """The content served did not change: no new serial, no journal entry (the digest of
    the file's bytes changed, and built the zone again)."""
    cfg = _site()
    first = env.load(cfg, {"a.test": ZONE_TEXT})
    serial = _serial(first, "a.test")
    again = env.load(cfg, {"a.test": "; edited by hand\n" + ZONE_TEXT + "www IN A 192.0.2.2 ; "
                           "the same record twice\n"})
    assert _serial(again, "a.test") == serial == _stored(env, "a.test").serial
    assert not _journal(env, "a.test")
    assert env.state()["serials"]["a.test"]["serial"] == serial


def test_a_change_of_content_is_a_new_serial_and_a_journal_entry(env):
    cfg = _site()
    first = env.load(cfg, {"a.test": ZONE_TEXT})
    before = _serial(first, "a.test")
    changed = env.load(cfg, {"a.test": ZONE_TEXT.replace("192.0.2.2", "192.0.2.9")})
    after = _serial(changed, "a.test")
    assert journal.serial_gt(after, before)
    assert _journal(env, "a.test") == [(before, after)]
    stored = _stored(env, "a.test")
    assert stored.serial == after
    assert journal.soa_serial(journal.unpack_content(stored.content)[0]) == after
    assert _serial(changed, "b.test") == _serial(first, "b.test")  # the others: as they were


def test_the_plan_served_has_the_stores_serial_and_content(env):
    """What the store holds is exactly what the plan serves, SOA serial included."""
    loaded = env.load(_site())
    with Store.open(env.state_file, readonly=True) as db:
        for plan in loaded.plan.zones:
            name = plan.origin.to_text(omit_final_dot=True)
            soa, rrs = journal.split_soa(journal.rrs_of(plan.rrsets))
            assert db.zone(name).content == journal.pack_content(soa, rrs)


def test_first_contents_written_later_are_the_contents_served(env):
    """A start that leaves the first contents to `later` records every serial (the plans
    served carry them) but no content, in one transaction; `later.write()` then writes
    exactly what the plans serve, in one more (a second call writes nothing)."""
    env.write(_site())
    later = FirstContents()
    loaded = record(load(env.path, save_state=False), later)
    names = [plan.origin.to_text(omit_final_dot=True) for plan in loaded.plan.zones]
    with Store.open(env.state_file, readonly=True) as db:
        assert {r.name: (r.serial, r.served) for r in db.zone_records()} == {
            name: (_serial(loaded, name), False) for name in names}
        generation = db.generation()
    assert later.pending
    assert later.write() == len(names)
    assert not later.pending and later.write() == 0
    with Store.open(env.state_file, readonly=True) as db:
        assert db.generation() == generation + 1
        for plan in loaded.plan.zones:
            name = plan.origin.to_text(omit_final_dot=True)
            soa, rrs = journal.split_soa(journal.rrs_of(plan.rrsets))
            assert db.zone(name).content == journal.pack_content(soa, rrs)
            assert db.zone(name).serial == _serial(loaded, name)


def test_a_crash_before_the_first_contents_loses_nothing(env):
    """The first contents never written (the server killed before): the next start serves
    the same serials and content, and a change after it is journalled from the serial
    served then."""
    cfg = _site()
    env.write(cfg)
    first = record(load(env.path, save_state=False), FirstContents())  # (never written)
    again = env.load()
    for name in ("example.com", "a.test", "b.test"):
        assert _serial(again, name) == _serial(first, name)
        assert rrsets(again, name) == rrsets(first, name)
        assert _stored(env, name).content is not None and not _journal(env, name)
    changed = env.load(cfg, {"a.test": ZONE_TEXT.replace("192.0.2.2", "192.0.2.9")})
    assert _journal(env, "a.test") == [(_serial(first, "a.test"), _serial(changed, "a.test"))]


def test_a_removed_zone_is_no_longer_served_and_a_new_one_continues_above_it(env):
    cfg = _site()
    first = env.load(cfg)
    serial = _serial(first, "a.test")
    removed = copy.deepcopy(cfg)
    removed["accounts"][0]["zones"] = [z for z in cfg["accounts"][0]["zones"]
                                       if z["name"] != "a.test"]
    env.load(removed)
    gone = _stored(env, "a.test")
    assert gone.content is None and gone.serial == serial
    back = env.load(cfg, {"a.test": ZONE_TEXT.replace("192.0.2.1", "192.0.2.7")})
    assert journal.serial_gt(_serial(back, "a.test"), serial)
    assert not _journal(env, "a.test")  # a chain starts again with the zone


def test_a_start_with_unchanged_data_puts_no_zone(env, monkeypatch):
    """Every zone built from the inputs of the content served (its digest) is left as it
    is: nothing is decoded, compared or written."""
    cfg = _site()
    env.load(cfg)
    put = []
    original = store.Change.put_zones

    def put_zones(self, zones, **kwargs):
        zones = list(zones)
        put.extend(name for name, _, _, _ in zones)
        return original(self, zones, **kwargs)

    monkeypatch.setattr(store.Change, "put_zones", put_zones)
    env.load(cfg)
    assert put == []
    env.load(cfg, {"a.test": ZONE_TEXT + "new IN A 192.0.2.3\n"})
    assert put == ["a.test"]


def test_put_zone_takes_the_same_digest_for_the_same_content(tmp_path):
    """The fast path: a content given with the digest of the content served is that
    content (built from the same inputs); it is not read, compared or written."""
    with Store.open(tmp_path / "s.db") as db:
        with db.change() as change:
            first = change.put_zone("ex.test", _content("192.0.2.1"), digest="d1",
                                    now=1_800_000_000)
        content = db.zone("ex.test").content
        with db.change() as change:
            same = change.put_zone("ex.test", _content("192.0.2.99"), digest="d1",
                                   now=1_800_000_100)
        assert same == store.Committed(first.serial, None)
        assert db.zone("ex.test").content == content
        with db.change() as change:  # another digest: compared, and served
            other = change.put_zone("ex.test", _content("192.0.2.99"), digest="d2",
                                    now=1_800_000_100)
        assert other.serial == 1_800_000_100 and other.diff is not None
        assert db.zone("ex.test").content != content


def _content(address: str) -> bytes:
    origin = dns.name.from_text("ex.test")
    soa = dns.rrset.from_text(origin, 3600, "IN", "SOA",
                              "ns1.ex.test. hostmaster.ex.test. 0 10000 2400 604800 1800")
    return pack_rrsets([encode_rrset(soa), encode_rrset(dns.rrset.from_text(
        origin, 300, "IN", "A", address))])[0]


def test_a_check_records_nothing(env):
    """load(save_state=False), as `acnsd check`: a missing store stays missing; an
    existing one is not written."""
    cfg = _site()
    env.load(cfg, save_state=False)
    assert not env.state_file.exists()
    env.load(cfg)
    data = env.state_file.read_bytes()
    cfg["accounts"][0]["custom_nameservers"].append(ns("ns4.example.com", 2))
    loaded = env.load(cfg, {"a.test": ZONE_TEXT + "x IN A 192.0.2.5\n"}, save_state=False)
    assert "ns4.example.com" in loaded.model.addresses
    assert env.state_file.read_bytes() == data
    assert "ns4.example.com" not in env.state()["addresses"]


# --- the JSON state file of earlier versions ------------------------------------------------

def _earlier_version(env):
    """A deployment of an earlier version: the state in `acnsd.state.json`, no store;
    the loaded plans as that version served them."""
    loaded = env.load(_site())
    data = env.state()
    env.legacy_file.write_text(json.dumps(data, indent=2, sort_keys=True))
    for path in env.store_files():
        path.unlink()
    return loaded, data


def _served(loaded) -> dict[str, int]:
    return {p.origin.to_text(omit_final_dot=True): _serial(loaded, p.origin.to_text(
        omit_final_dot=True)) for p in loaded.plan.zones}


def test_a_check_reads_the_json_state_file_and_writes_nothing(env):
    before, data = _earlier_version(env)
    text = env.legacy_file.read_text()
    checked = env.load(save_state=False)
    assert not env.state_file.exists() and env.legacy_file.read_text() == text
    assert checked.model.addresses == before.model.addresses
    assert _served(checked) == _served(before)


def test_the_first_start_imports_the_json_state_file_and_sets_it_aside(env):
    before, data = _earlier_version(env)
    started = env.load()
    assert started.model.addresses == before.model.addresses  # no address changed
    assert _served(started) == _served(before)  # no serial changed
    assert env.state() == data
    assert not env.legacy_file.exists()
    assert json.loads(env.legacy_file.with_name(env.legacy_file.name + IMPORTED).read_text()) \
        == data
    assert _served(env.load()) == _served(before)  # the store alone, from now on


def test_a_json_state_file_named_by_the_config_is_imported_beside_it(env):
    cfg = _site()
    cfg["server"]["state_file"] = "var/acnsd.json"
    before = env.load(cfg)
    data = env.state() if env.state_file.exists() else None
    assert data is None
    var = env.root / "var"
    with Store.open(var / "acnsd.db", readonly=True) as db:
        data = store.export_state_json(db)
    (var / "acnsd.json").write_text(json.dumps(data))
    for suffix in ("", "-wal", "-shm"):
        (var / f"acnsd.db{suffix}").unlink(missing_ok=True)
    started = env.load(cfg)
    assert _served(started) == _served(before)
    assert (var / "acnsd.db").is_file() and (var / "acnsd.json.imported").is_file()
    assert not (var / "acnsd.json").exists()


@pytest.mark.parametrize("crash", ["after the store was made", "after the import"])
def test_an_upgrade_cut_short_is_completed_at_the_next_start(env, crash):
    """A crash after the store was made, before the import: the JSON state file is still
    what counts; after the import, before the rename: the store is, and the file is set
    aside."""
    before, data = _earlier_version(env)
    with Store.open(env.state_file) as db:
        if crash == "after the import":
            store.import_state_json(env.legacy_file, db)
    assert env.load(save_state=False).model.addresses == before.model.addresses
    started = env.load()
    assert _served(started) == _served(before) and env.state() == data
    assert not env.legacy_file.exists()


def test_a_json_state_file_beside_a_store_that_holds_state_is_not_read(env):
    env.load(_site())
    data = env.state()
    env.legacy_file.write_text(json.dumps({"version": 1, "addresses": {
        "ns1.example.com": {"ipv4": "10.9.9.9", "ipv6": None}}}))
    assert env.load().model.addresses["ns1.example.com"].ipv4 != "10.9.9.9"
    assert env.state() == data


def test_the_state_follows_the_serials_the_store_decided(env, monkeypatch):
    """record() of a load: the load's State (the editor's pipeline starts from it) holds
    the serial the store decided, also when the store decides it a second later than the
    load (a server's start across a second: the API's export then named the load's)."""
    cfg = _site()
    env.load(cfg)
    env.write(cfg, {"a.test": ZONE_TEXT.replace("192.0.2.2", "192.0.2.9")})
    loaded = load(env.path, save_state=False)
    state = loaded.state
    later = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time)
                                     if not n.startswith("_")})
    later.time = lambda: time.time() + 100
    monkeypatch.setattr(store, "time", later)
    recorded = record(loaded)
    assert state.serials["a.test"].serial == _serial(recorded, "a.test")


def _store_later(monkeypatch, seconds: float) -> None:
    """The store's clock `seconds` ahead of the load's."""
    later = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time)
                                     if not n.startswith("_")})
    later.time = lambda: time.time() + seconds
    monkeypatch.setattr(store, "time", later)


@pytest.mark.parametrize("first_contents", [False, True], ids=["together", "later"])
def test_a_first_start_serves_its_zones_with_the_serials_they_were_built_with(
        env, monkeypatch, first_contents):
    """A first start recording its zones seconds after it built them (100,000 zones take
    that long) keeps the serials they were built with: the store takes them for the zones
    it never held, and no plan is made again with another."""
    cfg = _site()
    env.write(cfg)
    loaded = load(env.path, save_state=False)
    _store_later(monkeypatch, 100)
    made_again = []
    monkeypatch.setattr(recording, "with_serial", lambda plan, serial: made_again.append(plan))
    later = FirstContents() if first_contents else None
    recorded = record(loaded, later)
    if later is not None:
        later.write()
    assert made_again == []
    assert all(map(operator.is_, recorded.plan.zones, loaded.plan.zones))
    for plan in loaded.plan.zones:
        name = plan.origin.to_text(omit_final_dot=True)
        built = decode_rrset(plan.rrsets[-1])[0].serial
        assert _stored(env, name).serial == built == loaded.state.serials[name].serial


def test_a_plan_given_the_stores_serial_differs_from_the_one_built_only_in_it(env, monkeypatch):
    """The store deciding a serial other than the load's (zones it holds, changed, recorded
    across a second) changes the plan served in its SOA serial only: origin, nameservers
    and every other RRset are the ones built."""
    cfg = _site()
    env.load(cfg)
    env.write(cfg, dict.fromkeys(("example.com", "a.test", "b.test"),
                                 ZONE_TEXT + "new IN A 192.0.2.3\n"))
    loaded = load(env.path, save_state=False)
    _store_later(monkeypatch, 100)
    recorded = record(loaded)
    for built, served in zip(loaded.plan.zones, recorded.plan.zones, strict=True):
        assert served.origin is built.origin
        assert served.nameservers == built.nameservers
        assert served.content[:-20] == built.content[:-20]  # all but the SOA's last fields
        old, new = (decode_rrset(plan.rrsets[-1])[0] for plan in (built, served))
        assert new.serial != old.serial
        assert new.replace(serial=old.serial) == old
