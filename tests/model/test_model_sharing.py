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
