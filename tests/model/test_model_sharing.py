"""What zones alike share (issue 16: memory at 10^5 zones): zones whose settings are equal
hold one settings object and one resolved SOA, not one each; equal is still all it takes
(a zone with other settings has its own)."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

from acnsd.model.config import load
from modelkit import ACCOUNT_ID, account, config, two_sets, zone
from treekit import write_tree


def test_zones_with_equal_settings_share_their_settings_and_soa(env):
    names = ["a.test", "b.test", "c.test"]
    zones = [zone(n, "custom.account", 1) for n in names]
    zones[2]["dns_settings"]["ns_ttl"] = 300
    loaded = env.load(config(account(two_sets(), zones)))
    configs = {z.name: z for a in loaded.model.accounts for z in a.zones}
    resolved = {z.name: z for z in loaded.model.zones}
    assert configs["a.test"].dns_settings is configs["b.test"].dns_settings
    assert configs["c.test"].dns_settings is not configs["a.test"].dns_settings
    assert configs["c.test"].dns_settings.ns_ttl == 300
    assert len({id(resolved[n].soa) for n in names}) == 1
    assert resolved["c.test"].ns_ttl == 300 and resolved["a.test"].ns_ttl != 300
    # what was decided of them, one object for the zones resolved alike (~50 bytes a zone)
    assert resolved["a.test"].resolution is resolved["b.test"].resolution
    assert resolved["c.test"].resolution is not resolved["a.test"].resolution
    assert resolved["a.test"].resolution == dataclasses.replace(resolved["c.test"].resolution,
                                                                ns_ttl=resolved["a.test"].ns_ttl)
    assert resolved["a.test"].with_reason("r").resolution is \
        resolved["b.test"].with_reason("r").resolution


def test_zones_with_equal_settings_in_error_are_each_refused_at_their_own_path(env):
    """Settings read once for the zones that have them alike are those without problems:
    each zone's problem is told at its own path."""
    zones = [zone(n, "custom.account", 1) for n in ("a.test", "b.test")]
    for z in zones:
        z["dns_settings"]["ns_ttl"] = "soon"
    problems = env.refused(config(account(two_sets(), zones)))
    assert sorted(p.path for p in problems if "ns_ttl" in (p.path or "")) == [
        "accounts[0].zones[0].dns_settings.ns_ttl", "accounts[0].zones[1].dns_settings.ns_ttl"]


def test_a_zone_of_a_zone_file_holds_no_yaml_path_of_its_own(tmp_path: Path):
    """(issue 16: ~120 bytes a zone in the directory layout) A zone's YAML path is made
    when asked, of its file's name as the sources name it (its stamp's key: that string)
    and its place in the file, which the zones of one-zone files share."""
    write_tree(tmp_path, config(account(zones=[zone("a.test"), zone("b.test")])))
    (tmp_path / "zones").mkdir()
    for name in ("a.test", "b.test"):
        (tmp_path / "zones" / f"{name}.zone").write_text("$TTL 300\n@ IN TXT x\n")
    loaded = load(tmp_path / "acnsd.yaml", save_state=False)
    configs = [z for a in loaded.model.accounts for z in a.zones]
    assert [z.path for z in configs] == [f"accounts/{ACCOUNT_ID}/zones/000.yaml:zones[0]",
                                         f"accounts/{ACCOUNT_ID}/zones/001.yaml:zones[0]"]
    for zone_config, resolved in zip(configs, loaded.model.zones, strict=True):
        for held in (zone_config, resolved):
            assert zone_config.path not in [r for r in gc.get_referents(held)
                                            if isinstance(r, str)]
        assert resolved.path == zone_config.path
        file = next(k for k in loaded.sources if k == zone_config.path.rpartition(":")[0])
        assert zone_config.source is file and resolved.source is file
    assert configs[0].at is configs[1].at  # zones[0]
