"""What zones alike share (issue 16: memory at 10^5 zones): zones whose settings are equal
hold one settings object and one resolved SOA, not one each; equal is still all it takes
(a zone with other settings has its own)."""

from __future__ import annotations

from modelkit import account, config, two_sets, zone


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


def test_zones_with_equal_settings_in_error_are_each_refused_at_their_own_path(env):
    """Settings read once for the zones that have them alike are those without problems:
    each zone's problem is told at its own path."""
    zones = [zone(n, "custom.account", 1) for n in ("a.test", "b.test")]
    for z in zones:
        z["dns_settings"]["ns_ttl"] = "soon"
    problems = env.refused(config(account(two_sets(), zones)))
    assert sorted(p.path for p in problems if "ns_ttl" in (p.path or "")) == [
        "accounts[0].zones[0].dns_settings.ns_ttl", "accounts[0].zones[1].dns_settings.ns_ttl"]
