"""The incremental pipeline against a whole load (issue 16).

From a random accepted configuration, a random sequence of changes, each made as the
management API makes it (its file written, then control/pipeline.py), and each refused
one put back. After each accepted change, the tables it served (the delta applied to the
live tables, the caches warm before) answer every query of every zone, at every local
address, byte for byte as tables compiled cold from a whole load of the edited
configuration over the state the pipeline recorded (serials included); that load decides
nothing new (the store holds what it would); and the pipeline's model is the load's.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

import dns.message
import pytest
import yaml
from acnsd.control.change import (
    ZoneCreated,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from acnsd.control.pipeline import Pipeline
from acnsd.control.rules import OutOfScope
from acnsd.dns.compiler import Tables, compile_plan
from acnsd.dns.core import Transport, answer
from acnsd.dns.delta import apply_delta
from acnsd.model import catalogs
from acnsd.model.chunked import CHUNK, Chunked
from acnsd.model.config import Loaded, load, record
from acnsd.model.names import normalize
from acnsd.model.recording import Writer
from acnsd.model.types import Model
from acnsd.model.yamlsrc import parse
from controlkit import TEMPLATE, deterministic_draws, edit, start, writes_file
from hypothesis import event, given, settings
from hypothesis import strategies as st
from modelkit import Env
from test_scoped_oracle import _content, changes, configuration

QTYPES = ["SOA", "NS", "A", "AAAA"]
LABELS = ["", "www.", "ns1.", "sub.", "nx."]


def started(path: Path) -> tuple[Pipeline, Tables, Loaded]:
    loaded = load(path, save_state=False)
    state = loaded.state
    loaded = record(loaded)
    return Pipeline(loaded, state, Writer()), compile_plan(loaded.plan), loaded


def queries(*models: Model) -> list[bytes]:
    names = {zone.name for model in models for zone in model.zones}
    names |= {name for model in models for name in model.addresses}
    return [dns.message.make_query(f"{label}{name}.", qtype).to_wire()
            for name in sorted(names) for label in LABELS for qtype in QTYPES]


def locals_of(loaded: Loaded) -> list[str | None]:
    return [None, *sorted({view.address for view in loaded.plan.views})]


def same_answers(got: Tables, cold: Tables, asked: list[bytes], at: list[str | None]) -> None:
    for _ in range(2):  # the second time from the caches
        for local in at:
            for query in asked:
                expected = answer(cold, query, Transport.UDP, local)
                assert answer(got, query, Transport.UDP, local) == expected, (
                    dns.message.from_wire(query).question[0].to_text(), local)


def pathless(model: Model) -> dict[str, Any]:
    """A model's zones and addresses, without the YAML paths (the pipeline renumbers the
    paths of the zones after a deleted one only in its index), and a zone's settings from
    the zone defaults alike whether received now or recorded before."""
    zones = {z.name: dataclasses.replace(z.with_reason(z.reason.replace(" (recorded)", "")),
                                         source="", at="")
             for z in model.zones}
    accounts = {a.id: dataclasses.replace(a, path="", zones=tuple(
        sorted((dataclasses.replace(z, source="", at="") for z in a.zones), key=lambda z: z.name)))
        for a in model.accounts}
    return {"zones": zones, "accounts": accounts, "addresses": model.addresses}


@settings(max_examples=20, deadline=None)
@given(configuration(), st.booleans(), st.data())
def test_a_change_served_by_the_pipeline_is_served_as_a_whole_load_serves_it(case, views,
                                                                              data):
    cfg, files = case
    cfg["server"]["serve_assigned_addresses"] = views
    with tempfile.TemporaryDirectory() as tmp, deterministic_draws():
        env = Env(Path(tmp))
        start(env, cfg, files)
        pipeline, tables, loaded = started(env.path)
        for _ in range(data.draw(st.integers(2, 8))):
            change = data.draw(changes(cfg, loaded))
            content = data.draw(_content(change)) if writes_file(change) else None
            edited = edit(cfg, change)
            text = yaml.safe_dump(edited, sort_keys=False)
            saved = env.path.read_text()
            zone_file = _zone_file(env, cfg, loaded, change)
            old_file = zone_file.read_text() if zone_file and zone_file.exists() else None
            env.path.write_text(text)
            if zone_file is not None:
                if content is None:
                    zone_file.unlink(missing_ok=True)
                else:
                    zone_file.write_text(content)
            try:
                verdict = pipeline.check(change, parse(text, str(env.path)).problem)
            except OutOfScope:
                event("out of scope: loaded whole")
                pipeline, tables, loaded = started(env.path)
                cfg = edited
                continue
            if not verdict.accepted:
                event(f"{type(change).__name__}: refused")
                env.path.write_text(saved)
                if zone_file is not None:
                    if old_file is None:
                        zone_file.unlink(missing_ok=True)
                    else:
                        zone_file.write_text(old_file)
                continue
            event(f"{type(change).__name__}: accepted")
            forget = [change.zone] if isinstance(change, ZoneDeleted) else []
            committed = pipeline.commit(verdict, parse(text, str(env.path)).problem)
            live = tables
            asked = queries(loaded.model, committed.model)
            same_answers(live, live, asked, locals_of(loaded))  # warm the caches
            tables, names = apply_delta(tables, committed.delta)
            tables.cache.invalidate(names)
            whole = load(env.path, save_state=False, forget=forget)
            assert whole.state is not None and not whole.state.changed, change
            same_answers(tables, compile_plan(whole.plan, cache_entries=0), asked,
                         locals_of(whole))
            got, expected = pathless(committed.model), pathless(whole.model)
            for part in expected:
                for key in expected[part].keys() | got[part].keys():
                    a, b = got[part].get(key), expected[part].get(key)
                    assert a == b, (change, part, key, [
                        (f.name, getattr(a, f.name), getattr(b, f.name))
                        for f in dataclasses.fields(b) if getattr(a, f.name) != getattr(b, f.name)]
                        if a is not None and b is not None else (a, b))
            cfg, loaded = edited, whole


def _zone_file(env: Env, cfg: dict[str, Any], loaded: Loaded, change: Any) -> Path | None:
    if isinstance(change, ZoneFileChanged):
        return next(Path(z.file) for z in loaded.model.zones if z.name == change.zone)
    if writes_file(change):
        return env.zones_dir(cfg) / f"{normalize(change.name)}.zone"
    return None


def one_account(names: list[str]) -> dict[str, Any]:
    """A configuration of one account holding zones `names`, on standard nameservers."""
    return {"server": {"standard_nameservers": [{"name": "ns1.std.test", "ipv4": "127.53.0.1"},
                                                {"name": "ns2.std.test", "ipv4": "127.53.0.2"}],
                       "address_pools": {"ipv4": ["127.53.1.0/24"]}, "zones_dir": "zones"},
            "accounts": [{"id": "a", "name": "A", "zones": [{"name": n} for n in names]}]}


def committed(env: Env, cfg: dict[str, Any], pipeline: Pipeline, change: Any) -> Model:
    """`cfg` written as the configuration, and `change` checked (accepted) and committed:
    the model after it."""
    text = yaml.safe_dump(cfg, sort_keys=False)
    env.path.write_text(text)
    locate = parse(text, str(env.path)).problem
    verdict = pipeline.check(change, locate)
    assert verdict.accepted, verdict.problems
    return pipeline.commit(verdict, locate).model


def shared_chunks(old: Chunked, new: Chunked) -> list[bool]:
    """Whether each chunk of `new` is the one of `old` at its place."""
    return [a is b for a, b in zip(old._chunks, new._chunks, strict=True)]


def test_a_refused_change_is_refused_with_the_rules_problems(tmp_path: Path) -> None:
    env = Env(tmp_path)
    cfg = one_account(["example.com"])
    env.load(cfg, {"example.com": TEMPLATE})
    pipeline, _, _ = started(env.path)
    text = env.path.read_text()
    verdict = pipeline.check(ZoneSettingsChanged("example.com", {"ns_ttl": 5}),
                             parse(text, str(env.path)).problem)
    assert not verdict.accepted
    assert any(p.rule == "R9" or "ns_ttl" in p.message for p in verdict.problems)
    with pytest.raises(ValueError):
        pipeline.commit(verdict, parse(text, str(env.path)).problem)


def test_a_zone_changed_in_place_replaces_one_chunk_of_the_models_zones(tmp_path: Path) -> None:
    """A change to one zone of many copies O(√n) of the model (model/chunked.py), not
    the tuples of every zone: all but one chunk of the model's zones and of its
    account's are the previous model's, and the model is a whole load's."""
    env = Env(tmp_path)
    names = [f"z{i:04d}.example" for i in range(2 * CHUNK + 5)]
    cfg = one_account(names)
    env.load(cfg, dict.fromkeys(names, TEMPLATE))
    pipeline, _, _ = started(env.path)
    models = []
    for ttl, name in ((300, names[1]), (600, names[CHUNK + 3])):
        cfg["accounts"][0]["zones"][names.index(name)]["dns_settings"] = {"ns_ttl": ttl}
        models.append(committed(env, cfg, pipeline, ZoneSettingsChanged(name, {"ns_ttl": ttl})))
    before, after = models
    for old, new in ((before.zones, after.zones),
                     (before.accounts[0].zones, after.accounts[0].zones)):
        assert isinstance(new, Chunked)
        assert shared_chunks(old, new) == [True, False, True]
    assert pathless(after) == pathless(load(env.path, save_state=False).model)


def test_a_zone_created_or_deleted_among_many_copies_only_the_chunks_it_touches(
        tmp_path: Path) -> None:
    """Creating a zone inserts it after its account's last, deleting one removes it, each
    in O(√n) (model/chunked.py: no position renumbered over every zone): all but the
    chunks touched are the previous model's, and the model is a whole load's, in the
    order a whole load gives."""
    env = Env(tmp_path)
    names = [f"z{i:04d}.example" for i in range(3 * CHUNK)]
    cfg = one_account(names)
    env.load(cfg, dict.fromkeys(names, TEMPLATE))
    pipeline, _, _ = started(env.path)
    models = [pipeline.model]
    for change in (ZoneCreated("a", "new.example"), ZoneDeleted(names[CHUNK + 7]),
                   ZoneCreated("a", "newer.example"), ZoneDeleted("new.example")):
        zones = cfg["accounts"][0]["zones"]
        if isinstance(change, ZoneCreated):
            zones.append({"name": change.name})
            (env.zones_dir(cfg) / f"{change.name}.zone").write_text(TEMPLATE)
        else:
            zones.remove({"name": change.zone})
        models.append(committed(env, cfg, pipeline, change))
        forget = [change.zone] if isinstance(change, ZoneDeleted) else []
        whole = load(env.path, save_state=False, forget=forget).model
        assert [z.name for z in models[-1].zones] == [z.name for z in whole.zones]
        assert [z.name for z in models[-1].accounts[0].zones] == [
            z.name for z in whole.accounts[0].zones]
        assert pathless(models[-1]) == pathless(whole)
    touched = {1: [2], 2: [1], 3: [2], 4: [2]}  # the chunk each change edits
    for step in range(1, len(models)):  # (the pipeline's model is Chunked from the start)
        for old, new in ((models[step - 1].zones, models[step].zones),
                         (models[step - 1].accounts[0].zones, models[step].accounts[0].zones)):
            assert isinstance(old, Chunked) and isinstance(new, Chunked)
            shared = shared_chunks(old, new)
            assert [i for i, same in enumerate(shared) if not same] == touched[step], step


def test_the_pipeline_keeps_no_map_of_zones_of_its_own(tmp_path: Path) -> None:
    """A zone's resolution and configuration before a change are found in the model's
    chunks, through the Where that edits them (issue 16: two dicts of 10^5 zones, 7 MiB,
    were kept beside them): no attribute of the pipeline maps accounts to zones by name."""
    env = Env(tmp_path)
    names = [f"z{i}.example" for i in range(3)]
    cfg = one_account(names)
    env.load(cfg, dict.fromkeys(names, TEMPLATE))
    pipeline, _, _ = started(env.path)
    assert [attribute for attribute, value in vars(pipeline).items()
            if isinstance(value, dict) and any(isinstance(inner, dict) and names[0] in inner
                                               for inner in value.values())] == []
    assert pipeline._zone(names[1]) == pipeline.model.zones[1]
    assert pipeline._config("a", names[2]) == pipeline.model.accounts[0].zones[2]
    assert pipeline._zone("nowhere.example") is None


def test_a_change_that_keeps_every_zones_catalogs_rebuilds_no_catalog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalogs' members are computed again (over every zone) only when a change may
    change them: a zone added, removed, or moved to another account or set; an account."""
    env = Env(tmp_path)
    cfg = {"server": {"standard_nameservers": [{"name": "ns1.std.test", "ipv4": "127.53.0.1"},
                                               {"name": "ns2.std.test", "ipv4": "127.53.0.2"}],
                      "address_pools": {"ipv4": ["127.53.1.0/24"]}, "zones_dir": "zones",
                      "catalogs": {"name": "catalog.invalid"}},
           "accounts": [{"id": "a", "name": "A",
                         "zones": [{"name": "one.example"}, {"name": "two.example"}]}]}
    env.load(cfg, dict.fromkeys(["one.example", "two.example"], TEMPLATE))
    pipeline, _, _ = started(env.path)
    computed: list[object] = []
    members = catalogs.catalog_members

    def counted(*args: Any) -> dict[str, tuple[str, ...]]:
        computed.append(args)
        return members(*args)

    monkeypatch.setattr(catalogs, "catalog_members", counted)

    def commit(change: Any, edited: dict[str, Any]) -> Any:
        text = yaml.safe_dump(edited, sort_keys=False)
        env.path.write_text(text)
        locate = parse(text, str(env.path)).problem
        return pipeline.commit(pipeline.check(change, locate), locate)

    cfg["accounts"][0]["zones"][0]["dns_settings"] = {"ns_ttl": 900}
    settled = commit(ZoneSettingsChanged("one.example", {"ns_ttl": 900}), cfg)
    assert settled.delta.catalogs == () and computed == []
    cfg["accounts"][0]["zones"].pop()
    deleted = commit(ZoneDeleted("two.example"), cfg)
    assert len(computed) == 1 and len(deleted.delta.catalogs) == 1
