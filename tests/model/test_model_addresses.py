"""R7 static addresses and the store: assignments survive reloads and edits to other
names; released addresses are not handed out while fresh ones remain; exhaustion, double
pins, a damaged store and a damaged JSON state file (of earlier versions) are clear
errors; the store is written only when the configuration is valid and something
changed."""

from __future__ import annotations

import json

import pytest
from acnsd.errors import ConfigError
from acnsd.model.recording import export_state
from acnsd.model.state import TEMP_SUFFIX
from modelkit import account, config, ns, only, resolved, rrsets, two_sets, zone


def _addrs(loaded):
    return {n: (a.ipv4, a.ipv6) for n, a in loaded.model.addresses.items()}


def _cfg(names, **server):
    return config(account(names, [zone("example.com", "custom.account", 1)]), **server)


def test_addresses_survive_reloads_and_edits_to_other_names(env):
    names = [ns(f"ns{i}.example.com") for i in range(1, 5)]
    first = _addrs(env.load(_cfg(names)))
    assert len(set(first.values())) == 4
    assert _addrs(env.load(_cfg(names))) == first  # a restart changes nothing

    # Remove ns2, add two new names before and after the others, reorder.
    edited = [ns("ns0.example.com"), names[3], names[0], names[2], ns("ns5.example.com")]
    second = _addrs(env.load(_cfg(edited)))
    for name in ("ns1.example.com", "ns3.example.com", "ns4.example.com"):
        assert second[name] == first[name]
    # The removed name's addresses went to nobody: the pool still has fresh ones.
    removed = first["ns2.example.com"]
    for name in ("ns0.example.com", "ns5.example.com"):
        assert second[name][0] != removed[0] and second[name][1] != removed[1]
    every = [a for pair in second.values() for a in pair]
    assert len(every) == len(set(every))

    # Restart again, and move a name to another set: it keeps its addresses.
    edited[1] = ns("ns4.example.com", 2)
    edited.append(ns("ns6.example.com", 2))
    third = _addrs(env.load(_cfg(edited)))
    for name, pair in second.items():
        assert third[name] == pair


def test_a_returning_name_gets_its_addresses_back(env):
    names = [ns(f"ns{i}.example.com") for i in range(1, 4)]
    first = _addrs(env.load(_cfg(names)))
    env.load(_cfg(names[:2]))
    assert _addrs(env.load(_cfg(names)))["ns3.example.com"] == first["ns3.example.com"]


def test_the_served_records_follow_the_recorded_addresses(env):
    names = [ns("ns1.example.com"), ns("ns2.example.com")]
    env.load(_cfg(names))
    loaded = env.load(_cfg([ns("ns0.example.com"), *names]))
    data = rrsets(loaded, "example.com")
    for name, (v4, v6) in _addrs(loaded).items():
        assert [rd.address for rd in data[(name, "A")]] == [v4]
        assert [rd.address for rd in data[(name, "AAAA")]] == [v6]


def test_pool_exhaustion_is_a_clear_error(env):
    pools = {"ipv4": ["127.53.9.0/30"], "ipv6": ["fd00:53:9::/126"]}
    names = [ns("ns1.example.com"), ns("ns2.example.com")]
    env.load(_cfg(names, address_pools=pools))  # /30: two host addresses
    problems = env.refused(_cfg([*names, ns("ns3.example.com")], address_pools=pools))
    problem = only(problems)
    assert problem.rule == "R7"
    assert "exhausted" in problem.message and "127.53.9.0/30" in problem.message
    assert "ns3.example.com" in problem.message
    assert problem.path == "accounts[0].custom_nameservers[2].ipv4"
    # Nothing was half applied: the state still holds the two names only.
    assert set(env.state()["addresses"]) == {
        "ns1.example.com", "ns2.example.com"}


def test_a_released_address_is_reused_only_when_the_pool_has_nothing_fresh(env):
    pools = {"ipv4": ["127.53.9.0/30"], "ipv6": ["fd00:53:9::/64"]}
    first = _addrs(env.load(_cfg([ns("ns1.example.com"), ns("ns2.example.com")],
                                 address_pools=pools)))
    # ns2 leaves; ns3 arrives: the /30 has no fresh address, so ns2's old one is reused.
    second = _addrs(env.load(_cfg([ns("ns1.example.com"), ns("ns3.example.com")],
                                  address_pools=pools)))
    assert second["ns1.example.com"] == first["ns1.example.com"]
    assert second["ns3.example.com"][0] == first["ns2.example.com"][0]
    assert second["ns3.example.com"][1] != first["ns2.example.com"][1]  # the /64 has fresh


def test_pinned_addresses_and_pool_addresses_never_collide(env):
    names = [ns("ns1.example.com", ipv4="127.53.1.1"), ns("ns2.example.com"),
             ns("ns3.example.com")]
    addrs = _addrs(env.load(_cfg(names)))
    assert addrs["ns1.example.com"][0] == "127.53.1.1"
    v4 = [a for a, _ in addrs.values()]
    assert len(v4) == len(set(v4))


def test_two_names_pinned_to_one_address_is_an_error(env):
    names = [ns("ns1.example.com", ipv4="10.0.0.1"), ns("ns2.example.com", ipv4="10.0.0.1")]
    problem = only(env.refused(_cfg(names)))
    assert problem.rule == "R7"
    assert problem.path == "accounts[0].custom_nameservers[1].ipv4"
    assert "ns1.example.com" in problem.message and "10.0.0.1" in problem.message


def test_pinned_ipv6_written_differently_is_still_one_address(env):
    names = [ns("ns1.example.com", ipv6="fd00::1"), ns("ns2.example.com",
                                                        ipv6="FD00:0:0::0001")]
    assert only(env.refused(_cfg(names))).rule == "R7"


def test_pinning_another_names_recorded_address_is_an_error(env):
    names = [ns("ns1.example.com"), ns("ns2.example.com")]
    taken = _addrs(env.load(_cfg(names)))["ns1.example.com"][0]
    names[1] = ns("ns2.example.com", ipv4=taken)
    problem = only(env.refused(_cfg(names)))
    assert problem.rule == "R7" and "ns1.example.com" in problem.message


def test_a_pin_is_recorded_and_unpinning_keeps_the_address(env):
    names = [ns("ns1.example.com", ipv4="10.0.0.7"), ns("ns2.example.com")]
    env.load(_cfg(names))
    names[0] = ns("ns1.example.com")
    assert _addrs(env.load(_cfg(names)))["ns1.example.com"][0] == "10.0.0.7"


def test_vanity_names_get_addresses_too(env):
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test", "ns2.shop.test"])
    first = _addrs(env.load(config(account(two_sets(), [z]))))
    assert len(first) == 6
    assert len({a for pair in first.values() for a in pair}) == 12
    assert _addrs(env.load(config(account(two_sets(), [z])))) == first


# --- the store, and the JSON state file it takes over -----------------------------------

def _prepared(env):
    names = [ns("ns1.example.com"), ns("ns2.example.com")]
    env.load(_cfg(names))
    assert env.state_file.exists()
    return _cfg(names)


def _state_refused(env, cfg, file):
    with pytest.raises(ConfigError) as info:
        env.load(cfg)
    problem = only(info.value.problems)
    assert problem.file == str(file)
    assert str(problem).startswith(str(file))
    return problem


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 4096, 0.5])
def test_truncated_store_is_a_clear_error(env, cut):
    cfg = _prepared(env)
    data = env.state_file.read_bytes()
    size = int(len(data) * cut) if isinstance(cut, float) else cut
    env.state_file.write_bytes(data[:size])
    before = env.state_file.read_bytes()
    problem = _state_refused(env, cfg, env.state_file)
    assert "acnsd will not start afresh" in problem.message
    assert env.state_file.read_bytes() == before  # nothing reassigned, nothing rewritten


def test_store_with_damaged_pages_is_a_clear_error(env):
    cfg = _prepared(env)
    data = bytearray(env.state_file.read_bytes())
    data[100:] = bytes(len(data) - 100)  # the header page's schema and every table: zeros
    env.state_file.write_bytes(bytes(data))
    problem = _state_refused(env, cfg, env.state_file)
    assert "acnsd will not start afresh" in problem.message


@pytest.mark.parametrize("cut", [0, 1, 10, 0.5, -2])
def test_truncated_json_state_file_is_a_clear_error(env, cut):
    cfg = _legacy(env)
    text = env.legacy_file.read_text()
    size = int(len(text) * cut) if isinstance(cut, float) else cut
    env.legacy_file.write_text(text[:size])
    before = env.legacy_file.read_text()
    problem = _state_refused(env, cfg, env.legacy_file)
    assert "corrupt" in problem.message
    assert problem.line is not None  # the JSON error's line
    assert env.legacy_file.read_text() == before  # nothing reassigned, nothing rewritten
    assert not env.state_file.exists()  # nor imported


def _legacy(env):
    """A deployment of an earlier version: its state in the JSON state file, no store."""
    cfg = _prepared(env)
    env.legacy_file.write_text(json.dumps(env.state()))
    for path in env.store_files():
        path.unlink(missing_ok=True)
    return cfg


DAMAGE = [
    lambda d: d.__setitem__("version", 99),
    lambda d: d.__setitem__("addresses", []),
    lambda d: d["addresses"].__setitem__("ns1.example.com", "127.53.1.1"),
    lambda d: d["addresses"]["ns1.example.com"].__setitem__("ipv4", 17),
    lambda d: d["addresses"]["ns1.example.com"].__setitem__("ipv4", "not-an-address"),
    lambda d: d["addresses"]["ns1.example.com"].__setitem__("ipv4", "fd00::1"),
    lambda d: d["addresses"]["ns1.example.com"].__setitem__("ipv6", "127.0.0.1"),
    lambda d: d["zones"]["example.com"].__setitem__("soa", {"bogus": 1}),
    lambda d: d["zones"]["example.com"].__setitem__("soa", {"ttl": "long"}),
    lambda d: d["zones"]["example.com"].__setitem__("ns_ttl", "x"),
    lambda d: d["zones"]["example.com"].__setitem__("nameservers", {"ns_set": 1}),
    lambda d: d["zones"]["example.com"].__setitem__("nameservers", {"type": "custom.account",
                                                                    "ns_set": "one"}),
    lambda d: d["serials"]["example.com"].__setitem__("serial", "x"),
    lambda d: d["serials"]["example.com"].pop("serial"),
    lambda d: d.__setitem__("serials", None),
]


@pytest.mark.parametrize("damage", DAMAGE, ids=[f"damage{i}" for i in range(len(DAMAGE))])
def test_corrupted_json_state_file_is_a_clear_error(env, damage):
    cfg = _legacy(env)
    data = json.loads(env.legacy_file.read_text())
    data["zones"].setdefault("example.com", {"account": "x"})
    damage(data)
    env.legacy_file.write_text(json.dumps(data))
    problem = _state_refused(env, cfg, env.legacy_file)
    assert "corrupt" in problem.message
    assert not env.state_file.exists()


def test_store_that_cannot_be_read_is_a_clear_error(env):
    cfg = _prepared(env)
    for path in env.store_files():
        path.unlink(missing_ok=True)
    env.state_file.mkdir()
    _state_refused(env, cfg, env.state_file)


def test_store_is_written_only_when_valid(env):
    cfg = _prepared(env)
    cfg["accounts"][0]["custom_nameservers"].append(ns("ns3.example.com"))
    env.load(cfg)
    assert not list(env.root.glob(f"*{TEMP_SUFFIX}"))  # no temporary file left behind
    assert "ns3.example.com" in env.state()["addresses"]
    # An invalid configuration writes nothing.
    before = env.state_file.read_bytes()
    cfg["accounts"][0]["custom_nameservers"].append(ns("ns4.example.com", 7))
    env.refused(cfg)
    assert env.state_file.read_bytes() == before


def test_unchanged_state_is_not_rewritten(env):
    cfg = _prepared(env)
    data, stamp = env.state_file.read_bytes(), env.state_file.stat().st_mtime_ns
    env.load(cfg)
    assert not env.state_file.with_name(env.state_file.name + "-wal").exists()
    assert (env.state_file.read_bytes(), env.state_file.stat().st_mtime_ns) == (data, stamp)


@pytest.mark.parametrize("named, store", [("var/acnsd.db", "var/acnsd.db"),
                                          ("var/acnsd.json", "var/acnsd.db")])
def test_store_location_from_the_config(env, named, store):
    """server.state_file names the store; a name of the JSON state file of earlier
    versions stands for the store beside it."""
    cfg = _cfg([ns("ns1.example.com"), ns("ns2.example.com")], state_file=named)
    env.load(cfg)
    assert (env.root / store).is_file()
    assert not (env.root / named).with_suffix(".json").exists()
    assert set(export_state(env.root / named)["addresses"]) == {"ns1.example.com",
                                                                "ns2.example.com"}
    assert not env.state_file.exists()


def test_state_records_zone_defaults_received(env):
    cfg = config(account(two_sets(), [zone("a.test"), zone("b.test", "custom.account", 2)],
                         {"nameservers": {"type": "custom.account"}}))
    loaded = env.load(cfg)
    state = env.state()
    assert state["zones"]["a.test"]["nameservers"] == {"type": "custom.account", "ns_set": 1}
    assert "nameservers" not in state["zones"]["b.test"]  # explicit: nothing received
    assert resolved(loaded, "b.test").reason == "explicit"


@pytest.mark.parametrize("garbage", [b"\x00\xff\xfe garbage \x80", b'{"version": 1}\n'])
def test_store_of_garbage_is_a_clear_error(env, garbage):
    """Binary garbage, or a JSON state file where the store should be: refused by name."""
    cfg = _prepared(env)
    for path in env.store_files():
        path.unlink(missing_ok=True)
    env.state_file.write_bytes(garbage)
    problem = _state_refused(env, cfg, env.state_file)
    assert "not a database" in problem.message
    assert env.state_file.read_bytes() == garbage
