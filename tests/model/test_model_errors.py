"""How problems are reported: all at once, located (file, line, YAML path), unknown keys
with a "did you mean", YAML and zone-file syntax errors with their line."""

from __future__ import annotations

import pytest
from acnsd.errors import ConfigError
from modelkit import account, config, ns, only, two_sets, zone


def test_two_independent_errors_are_two_problems(env):
    names = [ns("ns1.example.com", 9), ns("bad_name.example.com"), ns("ns2.example.com")]
    problems = env.refused(config(account(names)))
    assert {(p.rule, p.path) for p in problems} == {
        ("R2", "accounts[0].custom_nameservers[0].ns_set"),
        ("R1", "accounts[0].custom_nameservers[1].ns_name"),
    }
    assert all(p.file == str(env.path) and p.line for p in problems)


def test_errors_of_every_section_are_reported_together(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account",
                                           dns_settings={"ns_ttl": 5, "soa": {"ttl": 1}})]),
                 port=70000)
    problems = env.refused(cfg)
    assert {p.path for p in problems} == {
        "server.port",
        "accounts[0].zones[0].dns_settings.ns_ttl",
        "accounts[0].zones[0].dns_settings.soa.ttl",
    }


def test_several_rule_violations_in_one_account_are_all_reported(env):
    zones = [zone("example.com", "custom.account", 1), zone("sub.example.com",
                                                            "custom.account", 1),
             zone("x.test", "custom.account", 4)]
    problems = env.refused(config(account(two_sets(), zones)))
    assert {p.rule for p in problems} == {"R4", "R5"}


def test_error_message_is_one_line_per_problem(env):
    names = [ns("ns1.example.com", 9), ns("bad_name.example.com"), ns("ns2.example.com")]
    env.write(config(account(names)))
    from acnsd.model.config import load

    with pytest.raises(ConfigError) as info:
        load(env.path)
    lines = str(info.value).splitlines()
    assert lines == [str(p) for p in info.value.problems]
    assert len(lines) == 2


@pytest.mark.parametrize("where,key,suggestion", [
    ("top", "acounts", "accounts"),
    ("server", "adress_pools", "address_pools"),
    ("account", "custom_nameserver", "custom_nameservers"),
    ("ns", "ns_sett", "ns_set"),
    ("zone", "vanity_nameservers", "vanity_name_servers"),
    ("settings", "ns_tll", "ns_ttl"),
    ("soa", "min_tll", "min_ttl"),
    ("nameservers", "nsset", "ns_set"),
])
def test_unknown_key_with_did_you_mean(env, where, key, suggestion):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account",
                                           dns_settings={"soa": {"ttl": 300}})]))
    acc = cfg["accounts"][0]
    target, path = {
        "top": (cfg, ""),
        "server": (cfg["server"], "server."),
        "account": (acc, "accounts[0]."),
        "ns": (acc["custom_nameservers"][1], "accounts[0].custom_nameservers[1]."),
        "zone": (acc["zones"][0], "accounts[0].zones[0]."),
        "settings": (acc["zones"][0]["dns_settings"], "accounts[0].zones[0].dns_settings."),
        "soa": (acc["zones"][0]["dns_settings"]["soa"],
                "accounts[0].zones[0].dns_settings.soa."),
        "nameservers": (acc["zones"][0]["dns_settings"]["nameservers"],
                        "accounts[0].zones[0].dns_settings.nameservers."),
    }[where]
    target[key] = 1
    problem = only(env.refused(cfg))
    assert problem.path == path + key
    assert f"did you mean {suggestion!r}" in problem.message
    assert problem.line == env.line_of(f"{key}:")


def test_unknown_key_far_from_any_lists_the_known_keys(env):
    cfg = config(account(two_sets()))
    cfg["accounts"][0]["zzzzzz"] = 1
    problem = only(env.refused(cfg))
    assert "known keys" in problem.message and "custom_nameservers" in problem.message


def test_unknown_nameserver_type_with_did_you_mean(env):
    problem = only(env.refused(config(account(two_sets(), [zone("a.test", "custom.acount")]))))
    assert "did you mean 'custom.account'" in problem.message


def test_missing_required_keys(env):
    problems = env.refused(config({"name": "no id"}))
    assert "'id'" in only(problems).message
    problems = env.refused({"server": {}})
    assert "'accounts'" in only(problems).message


@pytest.mark.parametrize("text,line,context", [
    ("server:\n  port: 53\naccounts:\n  - id: a\n    name: [unclosed\n", 6, "line 5"),
    ("accounts:\n  - id: a\n - id: b\n", 3, ""),
    ("accounts:\n\t- id: a\n", 2, ""),
    # An unclosed quote is found at the end of the file; the message says where it began.
    ('accounts: []\nserver: {port: "53}\n', 3, "line 2"),
])
def test_yaml_syntax_error_names_the_line(env, text, line, context):
    problem = only(env.refused(text))
    assert problem.file == str(env.path)
    assert "YAML" in problem.message
    assert problem.line == line
    assert context in problem.message
    assert str(problem).startswith(f"{env.path}:{line}: ")


def test_duplicate_key_refused_with_its_line(env):
    text = "accounts:\n  - id: a\n    name: one\n    name: two\n"
    problem = only(env.refused(text))
    assert problem.line == 4 and "duplicate" in problem.message
    assert problem.path == "accounts[0].name"


@pytest.mark.parametrize("text", [
    "accounts:\n  - id: !custom a\n",  # an unknown tag
    "accounts:\n  - id: !!python/name:os.system a\n",  # an unsafe tag
    "accounts:\n  - id: a\n    zones:\n      - name: a.test\n        dns_settings:"
    " {ns_ttl: !!int abc}\n",  # an explicit tag that does not fit its value
    "accounts: &a [*a]\n",  # a recursive alias
])
def test_odd_yaml_is_a_config_error(env, text):
    problem = only(env.refused(text))
    assert problem.file == str(env.path)
    assert problem.line is not None


def test_not_a_mapping(env):
    assert "mapping" in only(env.refused("- just\n- a list\n")).message
    assert "'accounts'" in only(env.refused("")).message


def test_missing_config_file(env):
    from acnsd.model.config import load

    with pytest.raises(ConfigError) as info:
        load(env.root / "nope.yaml")
    assert only(info.value.problems).file.endswith("nope.yaml")


def test_missing_zone_file(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account", file="missing.zone")]))
    env.write(cfg)
    (env.root / "zones" / "missing.zone").unlink()
    problem = only(env.refused())
    assert problem.path == "accounts[0].zones[0].file"
    assert "missing.zone" in problem.message


def test_zone_file_syntax_error_names_the_zone_file_and_line(env):
    text = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A not-an-address\n"
    problem = only(env.refused(config(account(two_sets(), [zone("a.test", "custom.account")])),
                               {"a.test": text}))
    assert problem.file.endswith("a.test.zone")
    # dnspython counts the line after the faulty rdata once it has read its end of line.
    assert problem.line in (3, 4)
    assert "a.test" in problem.message


def test_zone_file_not_utf8_is_a_config_error(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    env.write(cfg)
    (env.root / "zones" / "a.test.zone").write_bytes(b"$TTL 300\n@ IN TXT \"\xff\xfe\"\n")
    problem = only(env.refused())
    assert "a.test" in problem.message


def test_zone_files_of_all_zones_reported_together(env):
    bad = "$TTL 3600\nwww IN A nope\n"
    problems = env.refused(config(account(two_sets(), [zone("a.test", "custom.account"),
                                                       zone("b.test", "custom.account")])),
                           {"a.test": bad, "b.test": bad})
    assert sorted(p.file.rsplit("/", 1)[1] for p in problems) == ["a.test.zone", "b.test.zone"]


def test_duplicate_zone_refused(env):
    problems = env.refused(config(account(two_sets(), [zone("a.test"), zone("A.test.")])))
    assert only(problems).path == "accounts[0].zones[1].name"


@pytest.mark.parametrize("name", ["", ".", "a..b", "a b.test", "@", "a\\", "x" * 64 + ".test"])
def test_bad_zone_name_refused(env, name):
    cfg = config(account(two_sets(), [zone(name, file="z.zone")]))
    problem = only(env.refused(cfg, {"z": "$TTL 300\n"}))
    assert problem.path == "accounts[0].zones[0].name"


def test_server_values_checked(env):
    cfg = config(account(two_sets()), listen=["127.0.0.1", "[::1]:99999", "nohost:53"],
                 edns_udp_size=100, serve_assigned_addresses="yes")
    paths = {p.path for p in env.refused(cfg)}
    assert paths == {"server.listen[0]", "server.listen[1]", "server.listen[2]",
                     "server.edns_udp_size", "server.serve_assigned_addresses"}


def test_listen_addresses_are_parsed_as_serve_parses_them(env):
    """Issue 20: the configuration took `::1:5353`, `:+53` and `: 53`, which --listen
    refused; one parser serves both now."""
    cfg = config(account(two_sets()), listen=["::1:5353", "127.0.0.1:+53", "127.0.0.1: 53"],
                 metrics="::1:9153")
    problems = env.refused(cfg)
    assert {p.path for p in problems} == {"server.listen[0]", "server.listen[1]",
                                          "server.listen[2]", "server.metrics"}
    assert "an IPv6 address is written in brackets" in str(problems[0])


def test_long_zone_name_needs_an_explicit_rname(env):
    name = ".".join(["a" * 60] * 4)  # valid, but hostmaster.<name> is too long
    cfg = config(account(two_sets(), [zone(name, "custom.account", file="z.zone")]))
    problem = only(env.refused(cfg, {"z": "$TTL 300\n"}))
    assert problem.rule == "R10" and "rname" in problem.message
    cfg["accounts"][0]["zones"][0]["dns_settings"]["soa"] = {"rname": "dns.example.org"}
    env.load(cfg)


def test_missing_include_is_not_a_missing_zone_file(env):
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    problem = only(env.refused(cfg, {"a.test": "$TTL 300\n$INCLUDE nowhere.inc\n"}))
    assert "nowhere.inc" in problem.message and "included" in problem.message
    assert problem.file.endswith("a.test.zone")


@pytest.mark.parametrize("value", [False, 1.5, 42, ["a.test"]])
def test_zone_name_must_be_a_string(env, value):
    """`name: no` would otherwise become a zone called "false"."""
    cfg = config(account(two_sets(), [{"name": value, "file": "z.zone"}]))
    problem = only(env.refused(cfg, {"z": "$TTL 300\n"}))
    assert problem.path == "accounts[0].zones[0].name"


def test_duplicate_account_id_refused(env):
    other = account([ns("ns1.other.test"), ns("ns2.other.test")])
    problem = only(env.refused(config(account(two_sets()), other)))
    assert problem.path == "accounts[1].id"
    assert "accounts[0]" in problem.message


def test_duplicate_standard_nameserver_refused(env):
    standard = [{"name": "ns1.std.test"}, {"name": "NS1.std.test."}]
    problem = only(env.refused(config(account(two_sets()), standard_nameservers=standard)))
    assert problem.rule == "R3"
    assert problem.path == "server.standard_nameservers[1].name"


def test_a_problem_with_a_block_value_is_on_the_line_of_its_key(env):
    text = ("accounts:\n"
            "  - id: a\n"
            "    dns_settings:\n"
            "      - zone_defaults\n")
    problem = only(env.refused(text))
    assert problem.path == "accounts[0].dns_settings"
    assert problem.line == 3


def test_yaml_anchors_aliases_and_merge_keys(env):
    text = """\
server:
  standard_nameservers: [{name: ns1.std.test}, {name: ns2.std.test}]
  address_pools: {ipv4: ["127.53.1.0/24"], ipv6: ["fd00:53:1::/64"]}
accounts:
  - id: a
    custom_nameservers: [{ns_name: ns1.a.test}, {ns_name: ns2.a.test},
                         {ns_name: ns1.b.test, ns_set: 2}, {ns_name: ns2.b.test, ns_set: 2}]
    zones:
      - name: a.test
        dns_settings: &set1 {nameservers: {type: custom.account, ns_set: 1}, ns_ttl: 600}
      - name: sub.a.test
        <<: {dns_settings: {nameservers: {type: custom.account, ns_set: 2}}}
      - name: c.test
        dns_settings:
          <<: *set1
          ns_ttl: 900
      - name: d.test
        dns_settings:
          ns_ttl: 5
          <<: *set1
"""
    (env.root / "zones").mkdir()
    for name in ("a.test", "sub.a.test", "c.test", "d.test"):
        (env.root / "zones" / f"{name}.zone").write_text("$TTL 300\n")
    problem = only(env.refused(text))
    # d.test's own ns_ttl wins over the merged one, and is reported on its own line.
    assert problem.path == "accounts[0].zones[3].dns_settings.ns_ttl"
    assert problem.line == 19
    env.path.write_text(text.replace("ns_ttl: 5", "ns_ttl: 60"))
    loaded = env.load()
    got = {z.name: (z.ns_set, z.ns_ttl) for z in loaded.model.zones}
    assert got == {"a.test": (1, 600), "sub.a.test": (2, 86400), "c.test": (1, 900),
                   "d.test": (1, 60)}


def test_yaml_merge_of_a_non_mapping_is_a_problem(env):
    problems = env.refused("accounts:\n  - id: a\n    <<: [1, {name: x}]\n")
    problem = only(problems)
    assert "merge" in problem.message and problem.line == 3


def test_config_not_utf8_is_a_config_error_with_its_line(env):
    env.path.write_bytes(b"accounts: []\nserver:\n  nsid: \"\xff\"\n")
    problem = only(env.refused())
    assert problem.line == 3 and "UTF-8" in problem.message


def test_schema_problems_do_not_hide_rule_and_zone_file_problems(env):
    """Issue 20: an unknown key or a bad name stopped the load before the rules and the
    zone files were looked at; every problem is reported at once now."""
    names = [ns("ns1.example.com"), ns("ns2.example.com"), ns("bad_name.example.com", 2),
             ns("ns9.example.com", 2), ns("ns8.example.com", 2)]
    zones = [zone("example.com", "custom.account", 1),
             zone("sub.example.com", "custom.account", 1, colour="blue"),
             zone("broken.test", "custom.account", 2)]
    problems = env.refused(config(account(names, zones)),
                           {"broken.test": "$TTL 3600\nx IN A not-an-address\n"})
    found = {(p.rule, p.path) for p in problems}
    assert (None, "accounts[0].zones[1].colour") in found  # unknown key
    assert ("R1", "accounts[0].custom_nameservers[2].ns_name") in found  # bad name
    assert ("R5", "accounts[0].zones[1].dns_settings.nameservers") in found  # a rule
    assert any(p.file and p.file.endswith("broken.test.zone") for p in problems)  # zone file
    assert len(problems) == 4


def test_a_problem_that_follows_from_a_refused_entry_is_not_reported(env):
    """Set 2 is short of a name only because that name was refused (R1): no R4 then; a
    custom.zone zone is short of a vanity name only because it was refused: no count."""
    names = [*two_sets()[:2], ns("bad_name.example.com", 2), ns("ns2.vanity.test", 2)]
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test", "n_s.shop.test"])
    problems = env.refused(config(account(names, [zone("a.test", "custom.account", 2), z])))
    assert {p.rule for p in problems} == {"R1"}
