"""A deployment with a JSON state file upgrades to the store without any address or serial
changing: `import_state_json` brings in what today's loader wrote, `export_state_json`
gives it back in the same shape, and zones built again keep their serials."""

from __future__ import annotations

import json

import pytest
from acnsd.errors import StateError
from acnsd.model.state import load_state_json
from acnsd.model.store import Store, StoreError, export_state_json, import_state_json
from modelkit import account, config, ns, two_sets, zone

STD_RANDOM = {"nameservers": {"type": "cloudflare.standard.random"}, "ns_ttl": 600}


def _site(env):
    """A JSON state file (`env.legacy_file`, as earlier versions wrote it) with every
    section filled by the loader: addresses of ACNS and vanity names, released ones, zone
    defaults recorded (a set chosen, a standard pair drawn, ns_ttl), and serials."""
    names = [*two_sets(), ns("ns3.example.com", 1)]
    zones = [zone("example.com", "custom.account", 1), zone("sub.example.com"),
             zone("own.test", "custom.zone", vanity_name_servers=["ns1.own.test", "ns2.own.test"])]
    other = account([], [zone("b.test"), zone("c.test", "cloudflare.standard")], STD_RANDOM,
                    id="b" * 32)
    env.load(config(account(names, zones, {"nameservers": {"type": "custom.account"}}), other))
    names.pop()  # ns3.example.com is removed: its addresses are released
    loaded = env.load(config(account(names, zones, {"nameservers": {"type": "custom.account"}}),
                             other))
    data = env.state()
    assert all(data[section] for section in ("addresses", "released", "zones", "serials"))
    env.legacy_file.write_text(json.dumps(data, indent=2, sort_keys=True))
    return loaded, data


def test_import_then_export_gives_the_state_file_back(env, tmp_path):
    _, data = _site(env)
    with Store.open(tmp_path / "acnsd.db") as store:
        import_state_json(env.legacy_file, store)
        assert export_state_json(store) == data
        assert store.meta("imported_from") == str(env.legacy_file.resolve())
    with Store.open(tmp_path / "acnsd.db", readonly=True) as store:  # it was committed
        assert export_state_json(store) == data


def test_zones_built_again_after_the_import_keep_their_serials(env, tmp_path):
    loaded, data = _site(env)
    with Store.open(tmp_path / "acnsd.db") as store:
        import_state_json(env.legacy_file, store)
        with store.change() as change:
            for plan in loaded.plan.zones:
                name = plan.origin.to_text(omit_final_dot=True)
                digest = data["serials"][name]["digest"]
                done = change.put_zone(name, plan.content, digest=digest)
                assert (done.serial, done.diff) == (data["serials"][name]["serial"], None)
                again = change.put_zone(name, plan.content, digest=digest)  # built again
                assert again == done
        assert export_state_json(store)["serials"] == data["serials"]
        # a zone whose content differs from what the digest recorded gets a new serial
        with store.change() as change:
            change.remove_zone("b.test")
            plan = next(p for p in loaded.plan.zones if p.origin.to_text() == "b.test.")
            bumped = change.put_zone("b.test", plan.content, digest="another digest")
        assert bumped.serial > data["serials"]["b.test"]["serial"]


def test_an_exported_state_reads_as_a_state_file(env, tmp_path):
    """Written out, today's loader reads it (a downgrade, or a backup restored)."""
    loaded, data = _site(env)
    with Store.open(tmp_path / "acnsd.db") as store:
        import_state_json(env.legacy_file, store)
        with store.change() as change:  # a zone served from the store: no digest
            change.put_zone("new.test", loaded.plan.zones[0].content, now=1_800_000_000)
        exported = export_state_json(store)
    assert exported["serials"]["new.test"] == {"serial": 1_800_000_000, "digest": ""}
    copy = tmp_path / "exported.json"
    copy.write_text(json.dumps(exported))
    assert load_state_json(copy).as_json() == exported


def test_import_only_into_a_new_store(env, tmp_path):
    _site(env)
    with Store.open(tmp_path / "acnsd.db") as store:
        import_state_json(env.legacy_file, store)
        with pytest.raises(StoreError, match="holds state already") as caught:
            import_state_json(env.legacy_file, store)
        assert caught.value.file == str(tmp_path / "acnsd.db")


def test_a_state_file_that_cannot_be_imported_is_refused_by_name(env, tmp_path):
    _, data = _site(env)
    name = next(iter(data["released"]))
    data["addresses"][name] = data["released"][name]
    env.legacy_file.write_text(json.dumps(data))
    with Store.open(tmp_path / "acnsd.db") as store:
        with pytest.raises(StoreError, match=f"both assigned and released: {name}") as caught:
            import_state_json(env.legacy_file, store)
        assert caught.value.file == str(env.legacy_file) and store.is_empty()
        with pytest.raises(StoreError, match="no such state file"):
            import_state_json(tmp_path / "missing.json", store)
        env.legacy_file.write_text('{"version": 1, "serials": {"a": {"serial": -1}}}')
        with pytest.raises(StateError, match="serials"):  # load_state_json's own checks
            import_state_json(env.legacy_file, store)
        assert store.is_empty()
