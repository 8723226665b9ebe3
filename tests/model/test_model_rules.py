"""One block per rule of DESIGN.md §2: the invalid configuration is refused naming the
rule (and the file, line and YAML path), and the edge cases are accepted."""

from __future__ import annotations

import pytest
from acnsd.model import zonedata
from modelkit import (
    ACCOUNT_ID,
    DEFAULT_ZONE,
    account,
    config,
    ns,
    only,
    resolved,
    rrsets,
    two_sets,
    zone,
)

# --- R1: ns_name is a fully qualified LDH host name -------------------------------------

BAD_NAMES = [
    "ns1",  # one label
    "ns_1.example.com",  # underscore
    "-ns.example.com",  # leading hyphen
    "ns-.example.com",  # trailing hyphen
    "ns1..example.com",  # empty label
    "a" * 64 + ".example.com",  # label of 64 octets
    ".".join(["a" * 63] * 4) + ".com",  # 256 octets
    "ns 1.example.com",  # white space
    "",
]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_r1_bad_ns_name_refused_with_file_line_and_path(env, bad):
    names = [*two_sets()[:3], ns(bad, 2)]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R1"
    assert problem.path == "accounts[0].custom_nameservers[3].ns_name"
    assert problem.file == str(env.path)
    assert problem.line == env.line_of("ns_name:", 3)
    assert str(problem).startswith(
        f"{env.path}:{problem.line}: accounts[0].custom_nameservers[3].ns_name: [R1] ")


def test_r1_non_string_ns_name_refused(env):
    problem = only(env.refused(config(account([ns("ns1.example.com"), {"ns_name": 42}]))))
    assert problem.rule == "R1"
    assert problem.path == "accounts[0].custom_nameservers[1].ns_name"


def test_r1_names_are_case_insensitive_lower_case_and_trailing_dot_optional(env):
    names = [ns("NS1.Example.COM."), ns("ns2.example.com"), ns("Ns3.Vanity.Test", 2),
             ns("ns4.vanity.test.", 2)]
    loaded = env.load(config(account(names, [zone("Example.COM.", "custom.account", 1)]),
                             ), {"example.com": DEFAULT_ZONE})
    assert set(loaded.model.addresses) == {"ns1.example.com", "ns2.example.com",
                                           "ns3.vanity.test", "ns4.vanity.test"}
    assert resolved(loaded, "example.com").nameservers == ("ns1.example.com",
                                                           "ns2.example.com")


def test_r1_case_variants_are_one_name(env):
    problems = env.refused(config(account([ns("ns1.example.com"), ns("NS1.EXAMPLE.COM."),
                                           ns("ns2.example.com")])))
    assert only(problems).rule == "R3"


def test_r1_longest_valid_names_accepted(env):
    label63 = "a" * 63
    long_name = ".".join([label63, label63, label63, "b" * 57, "com"])  # 253 octets
    assert len(long_name) == 253
    loaded = env.load(config(account([ns(long_name), ns("a.b")], [zone("zone.test",
                                                                      "custom.account")])))
    assert long_name in loaded.model.addresses


# --- R2: ns_set is 1..5, omitted → 1 -------------------------------------------------------

@pytest.mark.parametrize("bad", [0, 6, -1, "two", 1.5, True])
def test_r2_ns_set_out_of_range_refused(env, bad):
    names = [ns("ns1.example.com"), ns("ns2.example.com", bad)]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R2"
    assert problem.path == "accounts[0].custom_nameservers[1].ns_set"
    assert problem.line == env.line_of("ns_set:", 0)


@pytest.mark.parametrize("bad", [0, 6])
def test_r2_zone_ns_set_out_of_range_refused(env, bad):
    cfg = config(account(two_sets(), [zone("example.com", "custom.account", bad)]))
    problem = only(env.refused(cfg))
    assert problem.rule == "R2"
    assert problem.path == "accounts[0].zones[0].dns_settings.nameservers.ns_set"


def test_r2_ns_set_omitted_means_set_1(env):
    cfg = config(account([ns("ns1.example.com"), ns("ns2.example.com")],
                         [zone("example.com", "custom.account")]))
    z = resolved(env.load(cfg), "example.com")
    assert (z.ns_set, z.nameservers) == (1, ("ns1.example.com", "ns2.example.com"))


def test_r2_five_sets_accepted(env):
    names = [ns(f"ns{i}.set{s}.test", s) for s in range(1, 6) for i in (1, 2)]
    zones = [zone(f"z{s}.test", "custom.account", s) for s in range(1, 6)]
    loaded = env.load(config(account(names, zones)))
    for s in range(1, 6):
        z = resolved(loaded, f"z{s}.test")
        assert z.nameservers == (f"ns1.set{s}.test", f"ns2.set{s}.test")


# --- R3: at most five names a set; a name in exactly one set of one account -----------------

def test_r3_six_names_in_a_set_refused(env):
    names = [ns(f"ns{i}.example.com", 1) for i in range(6)]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R3"
    assert "6 names" in problem.message
    assert problem.path.startswith("accounts[0].custom_nameservers[")


@pytest.mark.parametrize("count", [2, 5])
def test_r3_two_and_five_names_accepted(env, count):
    names = [ns(f"ns{i}.vanity.test", 1) for i in range(count)]
    loaded = env.load(config(account(names, [zone("example.com", "custom.account", 1)])))
    assert len(resolved(loaded, "example.com").nameservers) == count
    ns_rrset = rrsets(loaded, "example.com")[("example.com", "NS")]
    assert len(ns_rrset) == count


def test_r3_a_name_in_two_sets_refused(env):
    names = [*two_sets(), ns("ns1.example.com", 3)]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R3"
    assert problem.path == "accounts[0].custom_nameservers[4].ns_name"
    assert "accounts[0].custom_nameservers[0]" in problem.message


def test_r3_a_name_in_two_accounts_refused(env):
    cfg = config(account(two_sets()), account([ns("ns9.other.test"), ns("ns1.vanity.test")],
                                              id="b" * 32))
    problem = only(env.refused(cfg))
    assert problem.rule == "R3"
    assert problem.path == "accounts[1].custom_nameservers[1].ns_name"


def test_r3_a_standard_nameserver_name_cannot_be_an_acns_name(env):
    cfg = config(account([ns("ns1.std.test"), ns("ns2.example.com")]))
    assert only(env.refused(cfg)).rule == "R3"


# --- R4: a set with fewer than two names is unavailable -----------------------------------

def test_r4_zone_on_one_name_set_refused_naming_the_zones(env):
    names = [*two_sets(), ns("ns1.lonely.test", 3)]
    zones = [zone("a.test", "custom.account", 3), zone("b.test", "custom.account", 3),
             zone("c.test", "custom.account", 1)]
    problem = only(env.refused(config(account(names, zones))))
    assert problem.rule == "R4"
    assert "a.test" in problem.message and "b.test" in problem.message
    assert "c.test" not in problem.message
    assert problem.path.startswith("accounts[0].zones[0]")


def test_r4_zone_on_a_set_without_names_refused(env):
    problem = only(env.refused(config(account(two_sets(), [zone("x.test", "custom.account",
                                                                4)]))))
    assert problem.rule == "R4"
    assert "x.test" in problem.message


def test_r4_removing_a_name_that_leaves_a_zone_on_an_unavailable_set_refused(env):
    cfg = config(account(two_sets(), [zone("x.test", "custom.account", 2)]))
    env.load(cfg)
    cfg["accounts"][0]["custom_nameservers"].pop()  # set 2 down to one name
    problem = only(env.refused(cfg))
    assert problem.rule == "R4"
    assert "x.test" in problem.message


def test_r4_a_zone_default_set_that_becomes_unavailable_is_refused(env):
    cfg = config(account(two_sets(), [zone("x.test")], defaults={
        "nameservers": {"type": "custom.account"}}))
    assert resolved(env.load(cfg), "x.test").ns_set == 1
    cfg["accounts"][0]["custom_nameservers"].pop(0)  # set 1 down to one name
    problem = only(env.refused(cfg))
    assert problem.rule == "R4"
    assert "x.test" in problem.message


def test_r4_unused_one_name_set_is_fine(env):
    loaded = env.load(config(account([*two_sets(), ns("ns1.spare.test", 3)],
                                     [zone("example.com", "custom.account", 1)])))
    assert resolved(loaded, "example.com").ns_set == 1
    assert "ns1.spare.test" in loaded.model.addresses  # the lone name still gets addresses


# --- R5: zones in one direct hierarchy on custom.account use different sets -----------------

@pytest.mark.parametrize("parent,child", [
    ("example.com", "sub.example.com"),
    ("example.com", "deep.sub.example.com"),
    ("0.192.in-addr.arpa", "2.0.192.in-addr.arpa"),
    ("8.b.d.0.1.0.0.2.ip6.arpa", "1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
])
def test_r5_same_set_in_one_hierarchy_refused(env, parent, child):
    cfg = config(account(two_sets(), [zone(parent, "custom.account", 2),
                                      zone(child, "custom.account", 2)]))
    problem = only(env.refused(cfg))
    assert problem.rule == "R5"
    assert parent in problem.message and child in problem.message
    assert problem.path == "accounts[0].zones[1].dns_settings.nameservers"


def test_r5_child_listed_first_refused_too(env):
    cfg = config(account(two_sets(), [zone("2.0.192.in-addr.arpa", "custom.account", 1),
                                      zone("0.192.in-addr.arpa", "custom.account", 1)]))
    assert only(env.refused(cfg)).rule == "R5"


@pytest.mark.parametrize("parent,child", [
    ("example.com", "sub.example.com"),
    ("0.192.in-addr.arpa", "2.0.192.in-addr.arpa"),
])
def test_r5_different_sets_accepted(env, parent, child):
    loaded = env.load(config(account(two_sets(), [zone(parent, "custom.account", 1),
                                                  zone(child, "custom.account", 2)])))
    assert resolved(loaded, parent).ns_set == 1
    assert resolved(loaded, child).ns_set == 2


def test_r5_siblings_and_lookalikes_may_share_a_set(env):
    zones = [zone("a.example.com", "custom.account", 2),
             zone("b.example.com", "custom.account", 2),
             zone("xexample.com", "custom.account", 1),
             zone("example.com", "custom.account", 1)]
    loaded = env.load(config(account(two_sets(), zones)))
    assert [resolved(loaded, z["name"]).ns_set for z in zones] == [2, 2, 1, 1]


def test_r5_only_custom_account_zones_count(env):
    zones = [zone("example.com", "cloudflare.standard"),
             zone("sub.example.com", "custom.account", 1),
             zone("deep.sub.example.com", "cloudflare.standard")]
    loaded = env.load(config(account(two_sets(), zones)))
    assert [resolved(loaded, z["name"]).ns_type for z in zones] == [
        "cloudflare.standard", "custom.account", "cloudflare.standard"]
    assert resolved(loaded, "sub.example.com").ns_set == 1


def test_r5_is_per_account_a_hierarchy_across_accounts_is_r11(env):
    """Two accounts' zones in one hierarchy on their sets 1 used to be valid (R5 is per
    account); R11 now refuses the hierarchy itself, and R5 says nothing."""
    other = account([ns("ns1.other.test"), ns("ns2.other.test")],
                    [zone("sub.example.com", "custom.account", 1)], id="b" * 32)
    problems = env.refused(config(account(two_sets(), [zone("example.com", "custom.account",
                                                            1)]), other))
    assert [p.rule for p in problems] == ["R11"]


# --- R6: zone_defaults apply when a zone is first seen ------------------------------------

DEFAULT_CUSTOM = {"nameservers": {"type": "custom.account"}}


def test_r6_new_zone_gets_set_1(env):
    loaded = env.load(config(account(two_sets(), [zone("other.org")], DEFAULT_CUSTOM)))
    z = resolved(loaded, "other.org")
    assert (z.ns_type, z.ns_set, z.reason) == ("custom.account", 1, "zone default")


def test_r6_set_1_taken_by_parent_so_new_child_gets_set_2(env):
    zones = [zone("example.com", "custom.account", 1), zone("sub.example.com")]
    loaded = env.load(config(account(two_sets(), zones, DEFAULT_CUSTOM)))
    assert resolved(loaded, "sub.example.com").ns_set == 2
    assert resolved(loaded, "sub.example.com").nameservers == ("ns1.vanity.test",
                                                               "ns2.vanity.test")


def test_r6_set_1_taken_by_a_child_so_new_parent_gets_set_2(env):
    zones = [zone("example.com"), zone("sub.example.com", "custom.account", 1)]
    loaded = env.load(config(account(two_sets(), zones, DEFAULT_CUSTOM)))
    assert resolved(loaded, "example.com").ns_set == 2


def test_r6_new_parent_and_child_together_get_different_sets(env):
    zones = [zone("2.0.192.in-addr.arpa"), zone("0.192.in-addr.arpa"), zone("other.org")]
    loaded = env.load(config(account(two_sets(), zones, DEFAULT_CUSTOM)))
    assert resolved(loaded, "2.0.192.in-addr.arpa").ns_set == 1
    assert resolved(loaded, "0.192.in-addr.arpa").ns_set == 2
    assert resolved(loaded, "other.org").ns_set == 1


def test_r6_unavailable_set_1_is_skipped(env):
    names = [ns("ns1.example.com", 1), ns("ns1.vanity.test", 3), ns("ns2.vanity.test", 3)]
    loaded = env.load(config(account(names, [zone("other.org")], DEFAULT_CUSTOM)))
    assert resolved(loaded, "other.org").ns_set == 3


def test_r6_no_set_left_refused(env):
    names = [ns("ns1.example.com", 1), ns("ns2.example.com", 1)]
    zones = [zone("example.com", "custom.account", 1), zone("sub.example.com")]
    problem = only(env.refused(config(account(names, zones, DEFAULT_CUSTOM))))
    assert problem.rule == "R6"
    assert "sub.example.com" in problem.message


def test_r6_changing_zone_defaults_moves_no_existing_zone(env):
    zones = [zone("other.org")]
    cfg = config(account(two_sets(), zones, {**DEFAULT_CUSTOM, "ns_ttl": 600}))
    first = resolved(env.load(cfg), "other.org")
    assert (first.ns_set, first.ns_ttl) == (1, 600)
    recorded = env.state()["zones"]["other.org"]
    assert recorded["nameservers"] == {"type": "custom.account", "ns_set": 1}

    # The defaults change: the existing zone keeps what it received; a new zone gets the new.
    cfg["accounts"][0]["dns_settings"]["zone_defaults"] = {
        "nameservers": {"type": "cloudflare.standard"}, "ns_ttl": 3600}
    cfg["accounts"][0]["zones"].append(zone("new.org"))
    loaded = env.load(cfg)
    again = resolved(loaded, "other.org")
    assert (again.ns_type, again.ns_set, again.ns_ttl) == ("custom.account", 1, 600)
    assert again.reason == "zone default (recorded)"
    new = resolved(loaded, "new.org")
    assert (new.ns_type, new.ns_ttl) == ("cloudflare.standard", 3600)


def test_r6_recorded_set_survives_a_parent_appearing_later(env):
    cfg = config(account(two_sets(), [zone("sub.example.com")], DEFAULT_CUSTOM))
    assert resolved(env.load(cfg), "sub.example.com").ns_set == 1
    # A parent explicitly on set 1 now clashes with the recorded child: refused, not moved.
    cfg["accounts"][0]["zones"].append(zone("example.com", "custom.account", 1))
    assert only(env.refused(cfg)).rule == "R5"
    state = env.state()
    assert state["zones"]["sub.example.com"]["nameservers"]["ns_set"] == 1


def test_r6_check_without_saving_records_nothing(env):
    env.load(config(account(two_sets(), [zone("other.org")], DEFAULT_CUSTOM)),
             save_state=False)
    assert not env.state_file.exists()


def test_zone_defaults_type_is_checked(env):
    cfg = config(account(two_sets(), [zone("a.test")], {"nameservers": {"type": "custom.zone"}}))
    problem = only(env.refused(cfg))
    assert problem.path == "accounts[0].dns_settings.zone_defaults.nameservers.type"


# --- standard and standard.random ---------------------------------------------------------

FOUR_STANDARD = [{"name": f"ns{i}.std.test", "ipv4": f"127.53.0.{i}",
                  "ipv6": f"fd00:53::{i}"} for i in range(1, 5)]


def test_standard_is_the_servers_pair(env):
    loaded = env.load(config(account(two_sets(), [zone("p.test", "cloudflare.standard")])))
    z = resolved(loaded, "p.test")
    assert z.nameservers == ("ns1.std.test", "ns2.std.test")
    assert z.reason == "explicit"
    targets = {rd.target.to_text() for rd in rrsets(loaded, "p.test")[("p.test", "NS")]}
    assert targets == {"ns1.std.test.", "ns2.std.test."}


def test_standard_pair_is_consistent_per_account(env):
    zones = [zone(f"z{i}.test", "cloudflare.standard") for i in range(4)]
    cfg = config(account(two_sets(), zones), standard_nameservers=FOUR_STANDARD)
    loaded = env.load(cfg)
    pairs = {resolved(loaded, f"z{i}.test").nameservers for i in range(4)}
    assert len(pairs) == 1
    (pair,) = pairs
    assert len(pair) == 2 and len(set(pair)) == 2
    assert env.load(cfg).model.zones[0].nameservers == pair


def test_standard_needs_two_standard_nameservers(env):
    cfg = config(account(two_sets(), [zone("p.test", "cloudflare.standard")]),
                 standard_nameservers=FOUR_STANDARD[:1])
    problem = only(env.refused(cfg))
    assert "p.test" in problem.message


def test_no_nameservers_and_no_defaults_is_standard(env):
    z = resolved(env.load(config(account(two_sets(), [zone("p.test")]))), "p.test")
    assert (z.ns_type, z.reason) == ("cloudflare.standard", "standard")


def test_standard_random_pair_drawn_once_and_kept(env):
    zones = [zone(f"z{i}.test") for i in range(6)]
    cfg = config(account(two_sets(), zones, {"nameservers": {"type":
                                                             "cloudflare.standard.random"}}),
                 standard_nameservers=FOUR_STANDARD)
    first = {z.name: z.nameservers for z in env.load(cfg).model.zones}
    standard = {s["name"] for s in FOUR_STANDARD}
    for pair in first.values():
        assert len(pair) == 2 and len(set(pair)) == 2 and set(pair) <= standard
    for _ in range(3):
        assert {z.name: z.nameservers for z in env.load(cfg).model.zones} == first
    # Changing the defaults afterwards moves nothing either.
    cfg["accounts"][0]["dns_settings"]["zone_defaults"] = DEFAULT_CUSTOM
    assert {z.name: z.nameservers for z in env.load(cfg).model.zones} == first


def test_standard_random_pair_kept_when_the_pool_shrinks_with_a_warning(env):
    cfg = config(account(two_sets(), [zone("z.test")], {"nameservers": {
        "type": "cloudflare.standard.random"}}), standard_nameservers=FOUR_STANDARD)
    pair = resolved(env.load(cfg), "z.test").nameservers
    cfg["server"]["standard_nameservers"] = [s for s in FOUR_STANDARD if s["name"] != pair[0]]
    loaded = env.load(cfg)
    assert resolved(loaded, "z.test").nameservers == pair
    warning = only(loaded.warnings, "R6")
    assert pair[0] in warning.message and "z.test" in warning.message


def test_standard_random_draws_from_the_whole_pool(env):
    zones = [zone(f"z{i}.test") for i in range(16)]
    cfg = config(account(two_sets(), zones, {"nameservers": {"type":
                                                             "cloudflare.standard.random"}}),
                 standard_nameservers=FOUR_STANDARD)
    pairs = {frozenset(z.nameservers) for z in env.load(cfg).model.zones}
    # 16 draws of one of 6 pairs: all the same by chance has probability 6**-15.
    assert len(pairs) > 1
    assert set().union(*pairs) - {"ns1.std.test", "ns2.std.test"}


def test_standard_random_is_only_a_default(env):
    cfg = config(account(two_sets(), [zone("p.test", "cloudflare.standard.random")]))
    problem = only(env.refused(cfg))
    assert problem.path == "accounts[0].zones[0].dns_settings.nameservers.type"


# --- custom.zone: vanity names inside the zone ---------------------------------------------

def test_custom_zone_vanity_names_served_in_the_zone(env):
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test",
                                                             "NS2.Shop.Test."])
    loaded = env.load(config(account(two_sets(), [z])))
    rz = resolved(loaded, "shop.test")
    assert rz.nameservers == ("ns1.shop.test", "ns2.shop.test")
    data = rrsets(loaded, "shop.test")
    for name in rz.nameservers:
        addr = loaded.model.addresses[name]
        assert addr.served_in == "shop.test"
        assert [rd.address for rd in data[(name, "A")]] == [addr.ipv4]
        assert [rd.address for rd in data[(name, "AAAA")]] == [addr.ipv6]
    assert {rd.target.to_text() for rd in data[("shop.test", "NS")]} == {
        "ns1.shop.test.", "ns2.shop.test."}


@pytest.mark.parametrize("vanity", [["ns1.shop.test", "ns1.elsewhere.test"],
                                    ["ns1.shop.test", "shop.test"],
                                    ["ns1.shop.test", "ns1.xshop.test"]])
def test_custom_zone_vanity_names_must_be_subdomains(env, vanity):
    z = zone("shop.test", "custom.zone", vanity_name_servers=vanity)
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert problem.path == "accounts[0].zones[0].vanity_name_servers[1]"
    assert "subdomain" in problem.message


def test_custom_zone_needs_two_vanity_names(env):
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test"])
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert "vanity_name_servers" in problem.path


def test_custom_zone_vanity_name_must_be_a_host_name(env):
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test", "n_s.shop.test"])
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert problem.rule == "R1"
    assert problem.path == "accounts[0].zones[0].vanity_name_servers[1]"


def test_custom_zone_vanity_name_cannot_be_an_acns_name(env):
    names = [ns("ns1.shop.test"), ns("ns2.example.com")]
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test", "ns2.shop.test"])
    assert only(env.refused(config(account(names, [z])))).rule == "R3"


# --- R7: addresses (more in test_model_addresses.py) --------------------------------------

def test_r7_every_name_gets_an_ipv4_and_an_ipv6_from_the_pools(env):
    loaded = env.load(config(account(two_sets(), [zone("example.com", "custom.account")])))
    addrs = loaded.model.addresses
    assert len({a.ipv4 for a in addrs.values()}) == 4
    assert len({a.ipv6 for a in addrs.values()}) == 4
    for a in addrs.values():
        assert a.ipv4.startswith("127.53.1.") and a.ipv6.startswith("fd00:53:1::")


def test_r7_pinned_addresses_are_used(env):
    names = [ns("ns1.example.com", ipv4="10.9.8.7", ipv6="2001:db8::53"), ns("ns2.example.com")]
    loaded = env.load(config(account(names, [zone("example.com", "custom.account")])))
    a = loaded.model.addresses["ns1.example.com"]
    assert (a.ipv4, a.ipv6) == ("10.9.8.7", "2001:db8::53")
    assert [rd.address for rd in rrsets(loaded, "example.com")[("ns1.example.com", "A")]] == [
        "10.9.8.7"]


@pytest.mark.parametrize("key,value", [("ipv4", "fd00::1"), ("ipv6", "10.0.0.1"),
                                       ("ipv4", "300.1.1.1")])
def test_r7_pinned_address_of_the_wrong_family_refused(env, key, value):
    names = [ns("ns1.example.com", **{key: value}), ns("ns2.example.com")]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R7"
    assert problem.path == f"accounts[0].custom_nameservers[0].{key}"


def test_r7_pinned_to_a_standard_nameservers_address_refused(env):
    names = [ns("ns1.example.com", ipv4="127.53.0.1"), ns("ns2.example.com")]
    problem = only(env.refused(config(account(names))))
    assert problem.rule == "R7"
    assert "ns1.std.test" in problem.message


def test_r7_no_pool_refused(env):
    cfg = config(account([ns("ns1.example.com"), ns("ns2.example.com", ipv6="fd00::9")]),
                 address_pools={"ipv4": ["127.53.1.0/24"]})
    problem = only(env.refused(cfg))
    assert problem.rule == "R7"
    assert problem.path == "accounts[0].custom_nameservers[0].ipv6"


def test_r7_bad_pool_refused(env):
    cfg = config(account(two_sets()), address_pools={"ipv4": ["fd00::/64"],
                                                     "ipv6": ["nonsense"]})
    problems = env.refused(cfg)
    assert {p.path for p in problems} == {"server.address_pools.ipv4[0]",
                                          "server.address_pools.ipv6[0]"}
    assert {p.rule for p in problems} == {"R7"}


# --- R8: A/AAAA of names provided by a zone of the account --------------------------------

def test_r8_auto_records_in_the_providing_zone(env):
    zones = [zone("example.com", "custom.account", 1, dns_settings={"ns_ttl": 7200})]
    loaded = env.load(config(account(two_sets(), zones)))
    data = rrsets(loaded, "example.com")
    for name in ("ns1.example.com", "ns2.example.com"):
        a = loaded.model.addresses[name]
        assert a.served_in == "example.com"
        assert [rd.address for rd in data[(name, "A")]] == [a.ipv4]
        assert [rd.address for rd in data[(name, "AAAA")]] == [a.ipv6]
        assert data[(name, "A")].ttl == 7200 and data[(name, "AAAA")].ttl == 7200
    # vanity.test is not a zone here: nothing served for its names.
    assert loaded.model.addresses["ns1.vanity.test"].served_in is None
    assert not any(k[0].endswith("vanity.test") for k in data)


def test_r8_deepest_zone_provides(env):
    names = [ns("ns1.sub.example.com"), ns("ns2.sub.example.com"), *two_sets()[2:]]
    zones = [zone("example.com", "custom.account", 2), zone("sub.example.com",
                                                            "custom.account", 1)]
    loaded = env.load(config(account(names, zones)))
    assert loaded.model.addresses["ns1.sub.example.com"].served_in == "sub.example.com"
    assert ("ns1.sub.example.com", "A") in rrsets(loaded, "sub.example.com")
    assert ("ns1.sub.example.com", "A") not in rrsets(loaded, "example.com")


def test_r8_zone_of_another_account_is_r11(env):
    """A zone of another account that would provide an account's names used to be served
    without their A/AAAA (R8 serves them only in the same account's zone); R11 now
    refuses it, once per name."""
    other = account([ns("ns1.other.test"), ns("ns2.other.test")],
                    [zone("example.com", "custom.account")], id="b" * 32)
    problems = env.refused(config(account(two_sets(), [zone("vanity.test",
                                                            "cloudflare.standard")]), other))
    assert [p.rule for p in problems] == ["R11", "R11"]
    assert all(p.path == "accounts[1].zones[0].name" for p in problems)


@pytest.mark.parametrize("rdtype,value", [("A", "192.0.2.53"), ("AAAA", "2001:db8::53")])
def test_r8_zone_file_record_of_a_managed_name_refused(env, rdtype, value):
    text = DEFAULT_ZONE + f"ns1 IN {rdtype} {value}\n"
    cfg = config(account(two_sets(), [zone("example.com", "custom.account", 1)]))
    problem = only(env.refused(cfg, {"example.com": text}))
    assert problem.rule == "R8"
    assert "ns1.example.com" in problem.message and rdtype in problem.message
    assert problem.file.endswith("example.com.zone")


def test_r8_other_types_at_the_name_are_fine(env):
    text = DEFAULT_ZONE + 'ns1 IN TXT "hello"\n'
    cfg = config(account(two_sets(), [zone("example.com", "custom.account", 1)]))
    data = rrsets(env.load(cfg, {"example.com": text}), "example.com")
    assert ("ns1.example.com", "TXT") in data and ("ns1.example.com", "A") in data


# --- R9: the apex NS --------------------------------------------------------------------

APEX_NS = DEFAULT_ZONE + "@ IN NS ns.elsewhere.test.\n"


def test_r9_apex_ns_synthesized_with_ns_ttl_default(env):
    loaded = env.load(config(account(two_sets(), [zone("example.com", "custom.account")])))
    rrset = rrsets(loaded, "example.com")[("example.com", "NS")]
    assert rrset.ttl == 86400
    assert {rd.target.to_text() for rd in rrset} == {"ns1.example.com.", "ns2.example.com."}


def test_r9_zone_file_apex_ns_ignored_with_a_warning(env):
    cfg = config(account(two_sets(), [zone("example.com", "custom.account")]))
    loaded = env.load(cfg, {"example.com": APEX_NS})
    rrset = rrsets(loaded, "example.com")[("example.com", "NS")]
    assert {rd.target.to_text() for rd in rrset} == {"ns1.example.com.", "ns2.example.com."}
    warning = only(loaded.warnings, "R9")
    assert "ns.elsewhere.test" in warning.message
    assert warning.file.endswith("example.com.zone")


def test_r9_multi_provider_serves_both(env):
    z = zone("example.com", "custom.account", dns_settings={"multi_provider": True,
                                                           "ns_ttl": 300})
    loaded = env.load(config(account(two_sets(), [z])), {"example.com": APEX_NS})
    rrset = rrsets(loaded, "example.com")[("example.com", "NS")]
    assert {rd.target.to_text() for rd in rrset} == {
        "ns1.example.com.", "ns2.example.com.", "ns.elsewhere.test."}
    assert rrset.ttl == 300
    assert not [w for w in loaded.warnings if w.rule == "R9"]


def test_r9_multi_provider_from_zone_defaults(env):
    cfg = config(account(two_sets(), [zone("example.com", "custom.account")],
                         {"multi_provider": True}))
    loaded = env.load(cfg, {"example.com": APEX_NS})
    assert len(rrsets(loaded, "example.com")[("example.com", "NS")]) == 3


@pytest.mark.parametrize("ttl", [29, 86401, -1, 0, "long"])
def test_r9_ns_ttl_range(env, ttl):
    z = zone("example.com", "custom.account", dns_settings={"ns_ttl": ttl})
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert problem.rule == "R9"
    assert problem.path == "accounts[0].zones[0].dns_settings.ns_ttl"


@pytest.mark.parametrize("ttl", [30, 86400])
def test_r9_ns_ttl_bounds_accepted(env, ttl):
    z = zone("example.com", "custom.account", dns_settings={"ns_ttl": ttl})
    loaded = env.load(config(account(two_sets(), [z])))
    assert rrsets(loaded, "example.com")[("example.com", "NS")].ttl == ttl


# --- R10: the managed SOA ------------------------------------------------------------------

def _soa(loaded, name):
    rrset = rrsets(loaded, name)[(name, "SOA")]
    assert len(rrset) == 1
    return rrset, rrset[0]


def test_r10_soa_defaults(env):
    loaded = env.load(config(account(two_sets(), [zone("example.com", "custom.account", 2)])))
    rrset, soa = _soa(loaded, "example.com")
    assert rrset.ttl == 3600
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (10000, 2400, 604800, 1800)
    assert soa.mname.to_text() == "ns1.vanity.test."
    assert soa.rname.to_text() == "hostmaster.example.com."
    assert soa.serial > 0


def test_r10_soa_fields_from_settings_and_defaults(env):
    soa_settings = {"mname": "ns2.example.com", "rname": "dns.example.org", "refresh": 600,
                    "retry": 86400, "expire": 86400, "min_ttl": 60, "ttl": 300}
    zones = [zone("a.test", "custom.account", dns_settings={"soa": soa_settings}),
             zone("b.test", "custom.account")]
    cfg = config(account(two_sets(), zones, {"soa": {"min_ttl": 120, "ttl": 900}}))
    loaded = env.load(cfg)
    rrset, soa = _soa(loaded, "a.test")
    assert rrset.ttl == 300
    assert (soa.mname.to_text(), soa.rname.to_text()) == ("ns2.example.com.",
                                                          "dns.example.org.")
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (600, 86400, 86400, 60)
    rrset, soa = _soa(loaded, "b.test")  # zone defaults fill what the zone does not set
    assert (rrset.ttl, soa.minimum, soa.refresh) == (900, 120, 10000)


def test_r10_negative_ttl_inputs_are_in_the_soa(env):
    """RFC 2308: the negative TTL is min(SOA TTL, minimum); both reach the plan."""
    z = zone("a.test", "custom.account", dns_settings={"soa": {"ttl": 300, "min_ttl": 900}})
    rrset, soa = _soa(env.load(config(account(two_sets(), [z]))), "a.test")
    assert (rrset.ttl, soa.minimum) == (300, 900)


@pytest.mark.parametrize("key,value", [
    ("refresh", 599), ("refresh", 86401), ("retry", 599), ("retry", 86401),
    ("expire", 86399), ("expire", 2419201), ("min_ttl", 59), ("min_ttl", 86401),
    ("ttl", 299), ("ttl", 86401), ("ttl", -1), ("min_ttl", -3600), ("refresh", "soon"),
])
def test_r10_soa_ranges(env, key, value):
    z = zone("a.test", "custom.account", dns_settings={"soa": {key: value}})
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert problem.rule == "R10"
    assert problem.path == f"accounts[0].zones[0].dns_settings.soa.{key}"


@pytest.mark.parametrize("key,value", [
    ("refresh", 600), ("refresh", 86400), ("retry", 600), ("expire", 86400),
    ("expire", 2419200), ("min_ttl", 60), ("min_ttl", 86400), ("ttl", 300), ("ttl", 86400),
])
def test_r10_soa_range_bounds_accepted(env, key, value):
    z = zone("a.test", "custom.account", dns_settings={"soa": {key: value}})
    rrset, soa = _soa(env.load(config(account(two_sets(), [z]))), "a.test")
    served = {"refresh": soa.refresh, "retry": soa.retry, "expire": soa.expire,
              "min_ttl": soa.minimum, "ttl": rrset.ttl}
    assert served[key] == value


@pytest.mark.parametrize("key,value", [("mname", "not a name"), ("rname", "a..b"),
                                       ("rname", "nodots")])
def test_r10_soa_names_checked(env, key, value):
    z = zone("a.test", "custom.account", dns_settings={"soa": {key: value}})
    problem = only(env.refused(config(account(two_sets(), [z]))))
    assert problem.rule == "R10"
    assert problem.path == f"accounts[0].zones[0].dns_settings.soa.{key}"


def test_r10_serial_kept_while_content_is_unchanged_and_increased_when_it_changes(env):
    cfg = config(account(two_sets(), [zone("example.com", "custom.account", 1),
                                      zone("other.org", "custom.account", 2)]))
    serial = _soa(env.load(cfg), "example.com")[1].serial
    other = _soa(env.load(cfg), "other.org")[1].serial
    for _ in range(2):
        assert _soa(env.load(cfg), "example.com")[1].serial == serial

    # The zone file changes: the serial increases; the other zone keeps its serial.
    loaded = env.load(cfg, {"example.com": DEFAULT_ZONE + "new IN A 192.0.2.99\n"})
    changed = _soa(loaded, "example.com")[1].serial
    assert changed > serial
    assert _soa(loaded, "other.org")[1].serial == other
    # A managed part changes (the set, hence apex NS and auto records): increased again.
    cfg["accounts"][0]["zones"][0]["dns_settings"]["nameservers"]["ns_set"] = 2
    cfg["accounts"][0]["zones"][1]["dns_settings"]["nameservers"]["ns_set"] = 1
    assert _soa(env.load(cfg), "example.com")[1].serial > changed
    # Reverting the content never gives an older serial back.
    cfg["accounts"][0]["zones"][0]["dns_settings"]["nameservers"]["ns_set"] = 1
    cfg["accounts"][0]["zones"][1]["dns_settings"]["nameservers"]["ns_set"] = 2
    assert _soa(env.load(cfg, {"example.com": DEFAULT_ZONE}), "example.com")[1].serial > changed


def test_r10_serial_changes_with_soa_settings(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    serial = _soa(env.load(cfg), "a.test")[1].serial
    cfg["accounts"][0]["zones"][0]["dns_settings"]["soa"] = {"refresh": 7200}
    assert _soa(env.load(cfg), "a.test")[1].serial > serial


def test_r10_serial_goes_forward_in_serial_arithmetic_after_it_wrapped(env, monkeypatch):
    """RFC 1982: a serial that wrapped to 5 must be followed by one "after" 5; the clock
    (past 2^31 from 2038) is not, and max(previous + 1, now) went back."""
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    env.load(cfg)
    state = env.state()
    state["serials"]["a.test"]["serial"] = 5
    env.set_state(state)
    monkeypatch.setattr(zonedata.time, "time", lambda: 2**31 + 100)
    cfg["accounts"][0]["zones"][0]["dns_settings"]["ns_ttl"] = 3600
    serial = _soa(env.load(cfg), "a.test")[1].serial
    assert 0 < (serial - 5) % 2**32 < 2**31  # after 5


def test_r10_zone_file_soa_replaced_with_a_warning(env):
    text = ("$TTL 3600\n@ IN SOA ns.old.test. admin.old.test. 7 3600 600 86400 300\n"
            "@ IN A 192.0.2.1\n")
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    loaded = env.load(cfg, {"a.test": text})
    _, soa = _soa(loaded, "a.test")
    assert soa.mname.to_text() == "ns1.example.com."
    assert soa.serial != 7
    warning = only(loaded.warnings, "R10")
    assert "a.test" in warning.message


def test_r10_zone_file_needs_no_soa_or_ns(env):
    loaded = env.load(config(account(two_sets(), [zone("a.test", "custom.account")])),
                      {"a.test": "www 300 IN A 192.0.2.1\n"})
    data = rrsets(loaded, "a.test")
    assert ("a.test", "SOA") in data and ("a.test", "NS") in data
    assert not loaded.warnings


def test_account_id_in_state_is_the_configured_one(env):
    env.load(config(account(two_sets(), [zone("a.test")])))
    assert env.state()["zones"]["a.test"]["account"] == ACCOUNT_ID


@pytest.mark.parametrize("text,what", [
    ("ns1 IN CNAME www\n", "CNAME"),
    ("ns1 IN NS ns.elsewhere.test.\n", "delegation"),
    ("ns2 IN DNAME elsewhere.test.\n", None),  # a DNAME owner may hold A/AAAA
])
def test_r8_managed_name_hidden_by_zone_file_data_refused(env, text, what):
    names = [ns("ns1.example.com"), ns("ns2.example.com")]
    cfg = config(account(names, [zone("example.com", "custom.account", 1)]))
    if what is None:
        env.load(cfg, {"example.com": DEFAULT_ZONE + text})
        return
    problem = only(env.refused(cfg, {"example.com": DEFAULT_ZONE + text}))
    assert problem.rule == "R8" and what in problem.message and "ns1.example.com" in (
        problem.message)


def test_r8_managed_name_below_a_delegation_refused(env):
    names = [ns("ns1.out.example.com"), ns("ns2.example.com")]
    cfg = config(account(names, [zone("example.com", "custom.account", 1)]))
    text = DEFAULT_ZONE + "out IN NS ns.elsewhere.test.\n"
    problem = only(env.refused(cfg, {"example.com": text}))
    assert problem.rule == "R8" and "out.example.com" in problem.message


def test_r8_a_name_that_is_a_zone_apex_is_served_in_that_zone(env):
    """The longest zone name that is a suffix of ns_name may be ns_name itself."""
    names = [ns("dns.example.net"), ns("ns2.example.net")]
    zones = [zone("example.net", "custom.account", 1),
             zone("dns.example.net", "cloudflare.standard")]
    loaded = env.load(config(account(names, zones)), {"dns.example.net": "$TTL 300\n"})
    addr = loaded.model.addresses["dns.example.net"]
    assert addr.served_in == "dns.example.net"
    assert [rd.address for rd in rrsets(loaded, "dns.example.net")[("dns.example.net",
                                                                     "A")]] == [addr.ipv4]
    assert ("dns.example.net", "A") not in rrsets(loaded, "example.net")
    assert loaded.model.addresses["ns2.example.net"].served_in == "example.net"


# --- what the server is given: per-address views (DESIGN.md §4) ---------------------------

def test_views_per_assigned_address(env):
    zones = [zone("example.com", "custom.account", 1), zone("sub.example.com",
                                                            "custom.account", 2),
             zone("plain.test", "cloudflare.standard")]
    cfg = config(account(two_sets(), zones), serve_assigned_addresses=True, port=5399)
    loaded = env.load(cfg)
    assert loaded.plan.view_port == 5399
    views = {v.address: v for v in loaded.plan.views}
    addrs = loaded.model.addresses
    for name, expected in (("ns1.example.com", {"example.com."}),
                           ("ns2.vanity.test", {"sub.example.com."})):
        for addr in (addrs[name].ipv4, addrs[name].ipv6):
            assert {z.to_text() for z in views[addr].zones} == expected
    assert {z.to_text() for z in views["127.53.0.1"].zones} == {"plain.test."}
    # The names whose A/AAAA are served here, reachable on every address.
    assert {n.to_text() for n in views["127.53.0.1"].names} == {"ns1.example.com.",
                                                                 "ns2.example.com."}
    assert len(views) == 2 * 4 + 2 * 2


def test_no_views_unless_serving_assigned_addresses(env):
    loaded = env.load(config(account(two_sets(), [zone("example.com", "custom.account")])))
    assert loaded.plan.views == ()
    assert loaded.plan.listen == (("127.0.0.1", 5353),)


def test_r9_cname_at_the_apex_refused(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    problem = only(env.refused(cfg, {"a.test": "$TTL 300\n@ IN CNAME elsewhere.test.\n"}))
    assert problem.rule == "R9" and "CNAME" in problem.message


# --- every rule, named with file, line and YAML path in one table ---------------------------

def _rule_cases():
    one = [ns("ns1.example.com"), ns("ns2.example.com")]
    return [
        ("R1", config(account([ns("ns1.example.com"), ns("ns2.example.com"), ns("ns3.x.test", 2),
                               ns("bad..name", 2)])),
         "accounts[0].custom_nameservers[3].ns_name", "bad..name"),
        ("R2", config(account([ns("ns1.example.com"), ns("ns2.example.com", 6)])),
         "accounts[0].custom_nameservers[1].ns_set", "ns_set: 6"),
        ("R3", config(account([*one, ns("ns1.example.com", 2)])),
         "accounts[0].custom_nameservers[2].ns_name", "ns1.example.com"),
        ("R4", config(account([*one, ns("ns1.vanity.test", 2)],
                              [zone("a.test", "custom.account", 2)])),
         "accounts[0].zones[0].dns_settings", "dns_settings:"),
        ("R5", config(account(two_sets(), [zone("example.com", "custom.account", 1),
                                           zone("sub.example.com", "custom.account", 1)])),
         "accounts[0].zones[1].dns_settings.nameservers", "nameservers:"),
        ("R6", config(account(one, [zone("example.com", "custom.account", 1),
                                    zone("sub.example.com")], DEFAULT_CUSTOM)),
         "accounts[0].zones[1]", "name: sub.example.com"),
        ("R7", config(account([ns("ns1.example.com", ipv4="10.0.0.1"),
                               ns("ns2.example.com", ipv4="10.0.0.1")])),
         "accounts[0].custom_nameservers[1].ipv4", "ipv4: 10.0.0.1"),
        ("R9", config(account(one, [zone("a.test", "custom.account",
                                         dns_settings={"ns_ttl": 29})])),
         "accounts[0].zones[0].dns_settings.ns_ttl", "ns_ttl: 29"),
        ("R10", config(account(one, [zone("a.test", "custom.account",
                                          dns_settings={"soa": {"expire": 3}})])),
         "accounts[0].zones[0].dns_settings.soa.expire", "expire: 3"),
    ]


@pytest.mark.parametrize("rule,cfg,path,needle", _rule_cases(), ids=lambda v: v
                         if isinstance(v, str) and v.startswith("R") else "")
def test_each_rule_is_named_with_file_line_and_path(env, rule, cfg, path, needle):
    problem = only(env.refused(cfg))
    assert problem.rule == rule
    assert problem.path == path
    assert problem.file == str(env.path)
    assert problem.line == env.line_of(needle, -1)  # the last: e.g. the second of two
    assert str(problem).startswith(f"{env.path}:{problem.line}: {path}: [{rule}] ")


def test_r8_is_named_with_the_zone_file(env):
    cfg = config(account(two_sets(), [zone("example.com", "custom.account", 1)]))
    problem = only(env.refused(cfg, {"example.com": DEFAULT_ZONE + "ns2 IN A 192.0.2.7\n"}))
    zone_file = env.root / "zones" / "example.com.zone"
    assert (problem.rule, problem.file) == ("R8", str(zone_file))
    assert str(problem).startswith(f"{zone_file}: [R8] ")
