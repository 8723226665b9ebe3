"""The API finds a zone by its id (a hash of its name, model/types.zone_id) without hashing
every zone's name on each request: at 100,000 zones that scan was half of an API change
(issue 16). The ids are remembered; a zone created since, deleted since, or an id never
seen still answer as before."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from acnsd.api import resources
from acnsd.api.auth import Grant
from acnsd.api.edit import ConfigEditor, Rejected
from acnsd.api.resources import Request, Resources
from acnsd.control.zoneids import ZoneIds
from acnsd.model.config import load
from acnsd.model.types import zone_id
from tooling import REPO

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
EVERYTHING = Grant(frozenset({"*"}))


@pytest.fixture
def api(tmp_path: Path) -> Resources:
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "acnsd.yaml"
    shutil.copy(REPO / "config" / "acnsd.yaml", config)
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    load(config)
    return Resources(ConfigEditor(config))


def _get(api: Resources, zid: str) -> str:
    return api.get_zone(Request(EVERYTHING, {"zone_id": zid}, {})).result["name"]


def test_a_zone_is_found_by_its_id_without_hashing_every_name_each_time(
        api: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [zone.name for zone in api.model.zones]
    assert len(names) > 2
    hashed: list[str] = []

    def counted(name: str) -> str:
        hashed.append(name)
        return zone_id(name)

    monkeypatch.setattr(resources, "zone_id", counted)
    assert _get(api, zone_id(names[-1])) == names[-1]
    hashed.clear()
    for name in reversed(names):
        assert _get(api, zone_id(name)) == name
    assert hashed == names[::-1]  # each answer's own "id", and nothing else


def test_created_deleted_and_unknown_zones_by_id(api: Resources) -> None:
    first = api.model.zones[0].name
    assert _get(api, zone_id(first)) == first
    api.create_zone(Request(EVERYTHING, {}, {}, {"name": "new.example",
                                                 "account": {"id": ACCOUNT}}))
    assert _get(api, zone_id("new.example")) == "new.example"
    api.delete_zone(Request(EVERYTHING, {"zone_id": zone_id("new.example")}, {}))
    for gone in (zone_id("new.example"), "0" * 32):
        with pytest.raises(Rejected) as refused:
            _get(api, gone)
        assert refused.value.status == 404


class _Unwalkable(tuple):
    """The model's zones, which a lookup by name must not walk."""

    def __iter__(self):
        raise AssertionError("every zone was walked")


def test_a_zone_is_listed_by_its_name_without_walking_every_zone(
        api: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    zones = api.model.zones
    last = zones[-1]
    monkeypatch.setattr(api.editor, "model",
                        dataclasses.replace(api.model, zones=_Unwalkable(zones)))

    def listed(grant: Grant, query: dict[str, str]) -> list[str]:
        return [zone["name"] for zone in api.list_zones(Request(grant, {}, query)).result]

    assert listed(EVERYTHING, {"name": last.name.upper() + "."}) == [last.name]
    assert listed(EVERYTHING, {"name": last.name, "account.id": last.account}) == [last.name]
    assert listed(EVERYTHING, {"name": last.name, "account.id": "other"}) == []
    assert listed(EVERYTHING, {"name": "unknown.example"}) == []
    assert listed(Grant(frozenset({"other"})), {"name": last.name}) == []


def test_ids_are_remembered_compactly_and_found_only_as_written(api: Resources) -> None:
    """No id held per zone, only 8 of its octets in an array (control/zoneids.py: issue
    16); an id spelt otherwise (upper case, spaces) names no zone, as before."""
    api.create_zone(Request(EVERYTHING, {}, {}, {"name": "new.example",
                                                 "account": {"id": ACCOUNT}}))
    pipeline = api.editor.pipeline
    assert pipeline is not None
    assert isinstance(pipeline._by_id, ZoneIds)
    assert len(pipeline._by_id) == len(api.model.zones)
    zid = zone_id("new.example")
    assert pipeline._by_id.get(bytes.fromhex(zid)) == "new.example"
    assert _get(api, zid) == "new.example"
    for other in (zid.upper(), f" {zid}", zid[:-1], "zz" * 16, ""):
        with pytest.raises(Rejected) as refused:
            _get(api, other)
        assert refused.value.status == 404
