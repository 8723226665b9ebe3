"""Scoped checks, case by case: the rare paths of load()'s rules that the random sequences
reach seldom. Each change goes through the oracle (controlkit.Oracle: the scoped verdict
must be load()'s, and the index after it one built afresh); each test then asserts what
the verdict says, so the case is the one meant."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from acnsd.control.change import (
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from acnsd.control.rules import apply, check
from acnsd.model.tenants import not_here
from controlkit import Oracle, deterministic_draws
from modelkit import Env, account, config, ns, zone

A, B = "acc-a", "acc-b"


@pytest.fixture
def start(tmp_path: Path):
    def make(cfg, zones=None) -> Oracle:
        env = Env(tmp_path)
        return Oracle(env, cfg, env.load(cfg, zones))

    with deterministic_draws():
        yield make


def names(*names_and_sets):
    return [ns(name, ns_set) for name, ns_set in names_and_sets]


FOUR = names(("ns1.vanity.test", 1), ("ns2.vanity.test", 1), ("ns3.vanity.test", 2),
             ("ns4.vanity.test", 2))


def test_r5_is_reported_at_a_zone_after_the_changed_one(start):
    oracle = start(config(account(FOUR, [zone("example.com", "custom.account", 2),
                                         zone("sub.example.com", "custom.account", 1)], id=A)))
    verdict, accepted = oracle.judge(ZoneSettingsChanged(
        "example.com", {"nameservers": {"type": "custom.account", "ns_set": 1}}))
    assert not accepted
    [problem] = verdict.problems
    assert (problem.rule, problem.path) == ("R5", "accounts[0].zones[1].dns_settings.nameservers")
    assert problem.message.startswith("zones sub.example.com and example.com are in one hierarchy")


def test_r5_at_the_changed_zone_names_the_first_zone_below_it(start):
    oracle = start(config(account(FOUR, [zone("a.example.com", "custom.account", 1),
                                         zone("b.example.com", "custom.account", 1),
                                         zone("example.com", "custom.account", 2)], id=A)))
    verdict, _ = oracle.judge(ZoneSettingsChanged(
        "example.com", {"nameservers": {"type": "custom.account", "ns_set": 1}}))
    [problem] = verdict.problems
    assert problem.path == "accounts[0].zones[2].dns_settings.nameservers"
    assert problem.message.startswith("zones example.com and a.example.com")


def test_r4_a_removed_name_lists_every_zone_on_its_set_in_file_order(start):
    oracle = start(config(account(FOUR, [zone("b.test", "custom.account", 1),
                                         zone("c.test", "custom.account", 2),
                                         zone("a.test", "custom.account", 1)], id=A)))
    verdict, _ = oracle.judge(NameserverRemoved(A, "ns2.vanity.test"))
    [problem] = verdict.problems
    assert (problem.rule, problem.path) == ("R4", "accounts[0].zones[0].dns_settings")
    assert problem.message.endswith("zones using it: b.test, a.test")


def test_r6_a_new_zone_takes_the_first_set_that_keeps_r5_then_none_is_left(start):
    defaults = {"nameservers": {"type": "custom.account"}}
    oracle = start(config(account(FOUR, [zone("example.com")], defaults, id=A)))
    verdict, accepted = oracle.judge(ZoneCreated(A, "sub.example.com"))
    assert accepted and verdict.zones["sub.example.com"].ns_set == 2
    assert verdict.zones["sub.example.com"].reason == "zone default"
    assert verdict.recorded["sub.example.com"]["nameservers"] == {"type": "custom.account",
                                                                 "ns_set": 2}
    verdict, accepted = oracle.judge(ZoneCreated(A, "deep.sub.example.com"))
    assert [p.rule for p in verdict.problems] == ["R6"]
    assert oracle.index.zone("sub.example.com").resolved.reason == "zone default (recorded)"


def test_r11_a_zone_over_zones_of_another_account_is_refused_once_for_each(start):
    oracle = start(config(account(id=A),
                          account(zones=[zone("a.example.com"), zone("b.example.com")], id=B)))
    verdict, _ = oracle.judge(ZoneCreated(A, "example.com"))
    assert [p.rule for p in verdict.problems] == ["R11", "R11"]
    assert {p.accounts for p in verdict.problems} == {(A, B)}
    assert {p.tenant_message for p in verdict.problems} == {not_here("zone", "example.com")}


def test_r11_a_zone_that_would_provide_another_accounts_name(start):
    oracle = start(config(account(id=A), account(names(("ns1.shop.test", 1),
                                                       ("ns2.shop.test", 1)), id=B)))
    verdict, _ = oracle.judge(ZoneCreated(A, "shop.test"))
    assert [p.rule for p in verdict.problems] == ["R11", "R11"]
    assert all("would provide nameserver name" in p.message for p in verdict.problems)


def test_r8_a_zone_deleted_under_its_parents_delegation_is_refused(start):
    oracle = start(config(account(names(("ns1.sub.example.com", 1), ("ns2.vanity.test", 1)),
                                  [zone("example.com"), zone("sub.example.com")], id=A)),
                   {"example.com": "$TTL 3600\nsub IN NS ns1.sub.example.com.\n"})
    verdict, accepted = oracle.judge(ZoneDeleted("sub.example.com"))
    assert not accepted
    [problem] = verdict.problems
    assert problem.rule == "R8" and "a delegation (NS records) at sub.example.com" in \
        problem.message


def test_r7_released_addresses_are_handed_out_only_once_the_pool_is_exhausted(start):
    oracle = start(config(account(id=A), address_pools={"ipv4": ["127.53.9.0/30"],
                                                        "ipv6": ["fd00:53:9::/126"]}))
    oracle.judge(NameserverAdded(A, "ns1.a.test"))
    oracle.judge(NameserverAdded(A, "ns2.a.test"))
    oracle.judge(NameserverRemoved(A, "ns1.a.test"))
    verdict, _ = oracle.judge(NameserverAdded(A, "ns3.a.test"))
    address = verdict.addresses["ns3.a.test"]
    assert (address.ipv4, address.ipv6) == ("127.53.9.1", "fd00:53:9::3")
    assert oracle.index.released("ns1.a.test") == {"ipv4": "127.53.9.1", "ipv6": "fd00:53:9::1"}
    verdict, accepted = oracle.judge(NameserverAdded(A, "ns1.a.test"))
    assert not accepted and [p.rule for p in verdict.problems] == ["R7"]
    assert "is exhausted" in verdict.problems[0].message


def test_r3_a_name_used_later_in_the_file_is_reported_there(start):
    oracle = start(config(account(zones=[zone("a.test"),
                                         zone("b.test", vanity_name_servers=["ns9.x.test"])],
                                  id=A)))
    verdict, _ = oracle.judge(VanityNamesChanged("a.test", ["ns9.x.test"]))
    [problem] = verdict.problems
    assert (problem.rule, problem.path) == ("R3", "accounts[0].zones[1].vanity_name_servers[0]")
    assert "already configured at accounts[0].zones[0].vanity_name_servers[0]" in \
        problem.message


def test_a_zone_created_twice_in_an_account(start):
    oracle = start(config(account(zones=[zone("a.test")], id=A)))
    verdict, _ = oracle.judge(ZoneCreated(A, "a.test"))
    assert [p.rule for p in verdict.problems] == ["unique"]


def test_a_set_changed_rebuilds_its_zones_and_the_provider_of_the_name(start):
    oracle = start(config(account(names(("ns1.example.com", 1), ("ns2.vanity.test", 1),
                                        ("ns3.vanity.test", 2), ("ns4.vanity.test", 2)),
                                  [zone("example.com", "custom.account", 1),
                                   zone("a.test", "custom.account", 1),
                                   zone("b.test", "custom.account", 2)], id=A)))
    verdict, _ = oracle.judge(NameserverAdded(A, "ns5.example.com", 1))
    assert verdict.rebuild == {"example.com", "a.test"}
    assert verdict.addresses["ns5.example.com"].served_in == "example.com"


def test_paths_after_a_deleted_zone_are_renumbered(start):
    oracle = start(config(account(zones=[zone("a.test"), zone("b.test"),
                                         zone("c.test", dns_settings={"ns_ttl": 300})], id=A)))
    oracle.judge(ZoneDeleted("a.test"))
    assert oracle.index.zone("c.test").config.path == "accounts[0].zones[1]"
    verdict, _ = oracle.judge(ZoneSettingsChanged("c.test", {"ns_ttl": 10}))
    assert [p.path for p in verdict.problems] == ["accounts[0].zones[1].dns_settings.ns_ttl"]
    verdict, accepted = oracle.judge(ZoneCreated(A, "d.test"))
    assert accepted and verdict.zones["d.test"].path == "accounts[0].zones[2]"


def test_a_zone_costs_the_index_no_tuple_of_its_own(start):
    """Its place is two fields of its entry, and its zone file's readers the zone's name
    unless the file has several (issue 16: a tuple per zone is ~5 MiB at 10^5 zones), under
    the file's name as text."""
    oracle = start(config(account(zones=[zone("a.test"), zone("b.test", file="a.test.zone"),
                                         zone("c.test")], id=A)))
    entry = oracle.index.zone("c.test")
    assert entry.place == ("accounts[0].zones", 2)
    assert not [r for r in gc.get_referents(entry) if isinstance(r, tuple)]
    assert not [r for r in gc.get_referents(oracle.index._files)
                if isinstance(r, tuple) and "c.test" in r]
    assert oracle.index.zones_reading(entry.config.file) == {"c.test"}
    shared = oracle.index.zone("a.test").config.file
    assert oracle.index.zones_reading(shared) == {"a.test", "b.test"}
    oracle.judge(ZoneDeleted("a.test"))
    assert oracle.index.zones_reading(shared) == {"b.test"}
    assert oracle.index.zone("c.test").place == ("accounts[0].zones", 2)
    assert oracle.index.zone("c.test").config.path == "accounts[0].zones[1]"


def test_a_zone_holds_its_zone_file_as_the_text_the_index_files_it_under(start):
    """(issue 16: a Path is ~250 bytes a zone more, with its parts list and its last part)
    A zone's configuration and resolution hold one string, the index's key for the file
    when it reads another zone's; a zone reading its own (`<zone>.zone`) is not filed
    under it at all (a dict of 10^5 zones is 3.7 MiB): its entry says it."""
    oracle = start(config(account(zones=[zone("a.test"), zone("b.test", file="a.test.zone")],
                                  id=A)))
    entry, other = oracle.index.zone("a.test"), oracle.index.zone("b.test")
    assert type(entry.config.file) is str and entry.resolved.file is entry.config.file
    assert entry.config.file.endswith("/a.test.zone")
    assert list(oracle.index._files) == [other.config.file]
    assert next(iter(oracle.index._files)) is other.config.file
    assert oracle.index.zones_reading(entry.config.file) == {"a.test", "b.test"}
    oracle.judge(ZoneDeleted("b.test"))
    assert not oracle.index._files
    assert oracle.index.zones_reading(entry.config.file) == {"a.test"}


def test_the_only_zone_of_a_list_has_no_positions_until_a_second_comes(start):
    """(issue 16: ~56 bytes a zone file of one zone) Its place is its path's; a second
    zone gives the list its positions, the first keeping its place; removing both
    forgets the list, and a zone created then is the first again."""
    oracle = start(config(account(zones=[zone("a.test")], id=A)))
    assert oracle.index.zone("a.test").positions is None
    assert oracle.index.zone("a.test").place == ("accounts[0].zones", 0)
    assert oracle.index.next_zone(A, "b.test") == ("accounts[0].zones[1]",
                                                   ("accounts[0].zones", 1))
    _, accepted = oracle.judge(ZoneCreated(A, "b.test"))
    assert accepted
    first, second = oracle.index.zone("a.test"), oracle.index.zone("b.test")
    assert first.positions is second.positions is not None
    assert (first.place, second.place) == (("accounts[0].zones", 0), ("accounts[0].zones", 1))
    for name in ("a.test", "b.test"):
        assert oracle.judge(ZoneDeleted(name))[1]
    assert oracle.index.next_zone(A, "c.test") == ("accounts[0].zones[0]",
                                                   ("accounts[0].zones", 0))
    assert oracle.judge(ZoneCreated(A, "c.test"))[1]
    assert oracle.index.zone("c.test").positions is None


def test_a_zone_file_near_the_total_record_limit_is_left_to_load(start):
    oracle = start(config(account(zones=[zone("a.test"), zone("b.test")], id=A),
                          limits={"max_records_total": 6, "max_records_per_zone": 5}))
    verdict, accepted = oracle.judge(ZoneFileChanged("a.test"), "$TTL 60\nwww IN A 192.0.2.9\n")
    assert verdict is None and accepted  # out of scope: the oracle rebuilt the index


def test_an_unknown_zone_and_a_refused_verdict_are_errors(start):
    oracle = start(config(account(id=A)))
    with pytest.raises(LookupError):
        check(oracle.index, ZoneDeleted("nowhere.test"), lambda *args: None)
    verdict, _ = oracle.judge(ZoneCreated(A, "bad zone"))
    with pytest.raises(ValueError):
        apply(oracle.index, verdict)
