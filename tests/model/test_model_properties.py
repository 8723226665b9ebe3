"""Hypothesis: a random configuration (names, sets, pins, zones in hierarchies, types, zone
defaults, zone files) either loads into a model in which every rule holds, checked on the
result, or is refused with a ConfigError. No other exception, ever. A second load of an
accepted configuration decides exactly the same."""

from __future__ import annotations

import ipaddress
import tempfile
from itertools import combinations
from pathlib import Path

import dns.rdatatype
from acnsd.dns.wire import decode_rrset
from acnsd.errors import ConfigError
from acnsd.model.assign import account_sets
from acnsd.model.names import host_name_error, is_subdomain
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from modelkit import Env

DOMAINS = ["example.com", "sub.example.com", "vanity.test", "shop.test", "other.org",
           "0.192.in-addr.arpa", "2.0.192.in-addr.arpa"]
ZONES = ["example.com", "sub.example.com", "deep.sub.example.com", "other.org",
         "shop.test", "0.192.in-addr.arpa", "2.0.192.in-addr.arpa", "vanity.test"]
TYPES = ["custom.account", "cloudflare.standard", "custom.zone",
         "cloudflare.standard.random", "custom.acount"]
STANDARD = [{"name": f"ns{i}.std.test", "ipv4": f"127.53.0.{i}", "ipv6": f"fd00:53::{i}"}
            for i in range(1, 5)]

def rarely(bad, good, one_in: int = 40):
    """Mostly `good`, now and then `bad`: most examples are valid, some break one rule."""
    # Not i == 0: Hypothesis favours the bounds of a range, and shrinks towards "good".
    return st.integers(0, one_in - 1).flatmap(lambda i: bad if i == one_in // 2 else good)


valid_host_names = st.builds(lambda label, domain, dot: f"{label}.{domain}{'.' if dot else ''}",
                             st.sampled_from(["ns1", "ns2", "ns3", "NS4", "a", "b-c"]),
                             st.sampled_from(DOMAINS), st.booleans())
host_names = rarely(st.one_of(st.sampled_from(["x_y.test", "-x.test", "ns1", ""]),
                              st.text(alphabet="ab.-_ ", max_size=8)), valid_host_names)
ns_sets = rarely(st.sampled_from([0, 6, "x"]), st.one_of(st.none(), st.integers(1, 5)))
pins4 = rarely(st.sampled_from(["127.53.1.1", "10.0.0.1", "10.0.0.2", "127.53.0.1",
                                "fd00::1", "nope"]), st.none(), 8)
pins6 = rarely(st.sampled_from(["fd00:53:1::1", "2001:db8::1", "10.0.0.1"]), st.none(), 12)


@st.composite
def custom_nameserver(draw, name):
    entry = {"ns_name": name}
    for key, strategy in (("ns_set", ns_sets), ("ipv4", pins4), ("ipv6", pins6)):
        value = draw(strategy)
        if value is not None:
            entry[key] = value
    return entry


@st.composite
def zone_entry(draw, name):
    entry: dict = {"name": name}
    settings_: dict = {}
    ns_type = draw(st.one_of(st.none(), rarely(st.sampled_from(TYPES[3:]),
                                               st.sampled_from(TYPES[:3]))))
    if ns_type is not None:
        nameservers = {"type": ns_type}
        ns_set = draw(ns_sets)
        if ns_set is not None:
            nameservers["ns_set"] = ns_set
        settings_["nameservers"] = nameservers
    ttl = draw(rarely(st.sampled_from([10, 90000]), st.sampled_from([None, 300, 86400])))
    if ttl is not None:
        settings_["ns_ttl"] = ttl
    if draw(st.booleans()):
        settings_["multi_provider"] = draw(st.booleans())
    soa = draw(rarely(st.just({"refresh": 1}), st.sampled_from([
        None, {"ttl": 300, "min_ttl": 60},
        {"rname": "dns.example.org", "mname": "ns1.example.com"}])))
    if soa is not None:
        settings_["soa"] = soa
    if settings_:
        entry["dns_settings"] = settings_
    if ns_type == "custom.zone" or draw(st.integers(0, 5)) == 0:
        vanity = st.sampled_from([f"ns1.{name}", f"ns2.{name}", f"NS3.{name}.", f"ns4.{name}"])
        entry["vanity_name_servers"] = draw(rarely(
            st.lists(st.sampled_from([f"ns1.{name}", "ns1.vanity.test", name]), max_size=6),
            st.lists(vanity, min_size=2, max_size=4, unique_by=str.lower)))
    return entry


@st.composite
def account_entry(draw, index, names, zones):
    entry: dict = {"id": draw(rarely(st.just("acc0"), st.just(f"acc{index}")))}
    entry["custom_nameservers"] = [draw(custom_nameserver(n)) for n in names]
    default = draw(st.sampled_from([None, "custom.account", "cloudflare.standard",
                                    "cloudflare.standard.random"]))
    if default is not None:
        entry["dns_settings"] = {"zone_defaults": {"nameservers": {"type": default}}}
    entry["zones"] = [draw(zone_entry(z)) for z in zones]
    return entry


ZONE_FILES = [
    "$TTL 3600\n@ IN A 192.0.2.1\n",
    "$TTL 3600\n@ IN NS ns.elsewhere.test.\nwww IN A 192.0.2.1\n",
    "$TTL 3600\n@ IN SOA a.test. b.test. 1 2 3 4 5\nsub IN NS ns1.vanity.test.\n",
]
BAD_ZONE_FILES = [
    "$TTL 3600\nns1 IN A 192.0.2.53\nns1 IN TXT \"x\"\n",  # R8 when ns1.<zone> is ACNS
    "$TTL 3600\nwww IN A not-an-address\n",
]


@st.composite
def configuration(draw):
    count = draw(st.integers(1, 2))
    names = draw(st.lists(host_names, max_size=12, unique_by=lambda n: n.lower().rstrip(".")))
    names += draw(rarely(st.lists(st.sampled_from(names or ["ns1.example.com"]), max_size=1),
                         st.just([])))  # now and then a name twice (R3)
    zones = draw(st.lists(rarely(st.text(alphabet="ab.@\\", max_size=5),
                                 st.sampled_from(ZONES)), min_size=1, max_size=6, unique=True))
    accounts = []
    for i in range(count):
        mine_n = names[i::count]
        mine_z = zones[i::count]
        accounts.append(draw(account_entry(i, mine_n, mine_z)))
    pools = draw(rarely(st.sampled_from([
        {"ipv4": ["127.53.9.0/30"], "ipv6": ["fd00:53:9::/126"]},
        {"ipv4": ["127.53.1.0/24"]},
    ]), st.just({"ipv4": ["127.53.1.0/24"], "ipv6": ["fd00:53:1::/64"]})))
    cfg = {"server": {"standard_nameservers": STANDARD[:draw(rarely(st.just(1),
                                                                     st.integers(2, 4)))],
                      "address_pools": pools, "zones_dir": "zones"},
           "accounts": accounts}
    files = {z: draw(rarely(st.sampled_from(BAD_ZONE_FILES), st.sampled_from(ZONE_FILES)))
             for z in ZONES}
    return cfg, files


def check_rules(loaded) -> None:
    """Every rule of DESIGN.md §2, checked on an accepted model and its plan."""
    model = loaded.model
    server = model.server
    standard = {s.name for s in server.standard_nameservers}
    all_names: list[str] = []
    for account in model.accounts:
        sets = account_sets(account)
        assert set(sets) <= {1, 2, 3, 4, 5}  # R2
        for names in sets.values():
            assert len(names) <= 5  # R3
        for ns in account.custom_nameservers:
            assert host_name_error(ns.ns_name) is None  # R1
            assert ns.ns_name == ns.ns_name.lower() and not ns.ns_name.endswith(".")
            all_names.append(ns.ns_name)
        zones = [z for z in model.zones if z.account == account.id]
        custom = [z for z in zones if z.ns_type == "custom.account"]
        for z in custom:
            assert z.ns_set in sets and 2 <= len(sets[z.ns_set]) <= 5  # R4
            assert z.nameservers == sets[z.ns_set]
        for a, b in combinations(custom, 2):  # R5
            if is_subdomain(a.name, b.name) or is_subdomain(b.name, a.name):
                assert a.ns_set != b.ns_set, (a.name, b.name)
        for z in custom:  # R6: a new zone got the lowest set that is available and keeps R5
            if z.reason != "zone default":
                continue
            for lower in range(1, z.ns_set):
                usable = lower in sets and len(sets[lower]) >= 2
                clash = any(o.ns_set == lower and o.name != z.name and (
                    is_subdomain(o.name, z.name) or is_subdomain(z.name, o.name))
                    for o in custom)
                assert not usable or clash, (z.name, z.ns_set, lower)
    for z in model.zones:
        if z.ns_type == "custom.zone":
            assert 2 <= len(z.vanity_name_servers) <= 5
            assert all(is_subdomain(n, z.name) and n != z.name for n in z.nameservers)
            all_names += z.nameservers
        elif z.ns_type.startswith("cloudflare.standard"):
            assert len(set(z.nameservers)) == 2 and set(z.nameservers) <= standard
        assert 30 <= z.ns_ttl <= 86400  # R9
    assert len(all_names) == len(set(all_names))  # R3: one place per name
    assert not set(all_names) & standard
    assert set(model.addresses) == set(all_names)

    # R7: one IPv4 and one IPv6 each, all distinct, none a standard nameserver's.
    reserved = {a for s in server.standard_nameservers for a in (s.ipv4, s.ipv6) if a}
    v4 = [a.ipv4 for a in model.addresses.values()]
    v6 = [a.ipv6 for a in model.addresses.values()]
    assert all(ipaddress.ip_address(a).version == 4 for a in v4)
    assert all(ipaddress.ip_address(a).version == 6 for a in v6)
    assert len(set(v4)) == len(v4) and len(set(v6)) == len(v6)
    assert not (set(v4) | set(v6)) & reserved
    for account in model.accounts:
        for ns in account.custom_nameservers:
            for family in ("ipv4", "ipv6"):
                pin = getattr(ns, family)
                if pin is not None:
                    assert getattr(model.addresses[ns.ns_name], family) == pin

    # R8-R10 on the plan.
    plans = {p.origin.to_text(omit_final_dot=True): p for p in loaded.plan.zones}
    assert set(plans) == {z.name for z in model.zones}
    for z in model.zones:
        data = {(r.name.to_text(omit_final_dot=True), r.rdtype): r
                for r in map(decode_rrset, plans[z.name].rrsets)}
        apex_ns = data[(z.name, dns.rdatatype.NS)]
        targets = {rd.target.to_text(omit_final_dot=True) for rd in apex_ns}
        assert set(z.nameservers) <= targets and apex_ns.ttl == z.ns_ttl
        if not z.multi_provider:
            assert targets == set(z.nameservers)
        soa = data[(z.name, dns.rdatatype.SOA)]
        assert len(soa) == 1
        rd = soa[0]
        assert 600 <= rd.refresh <= 86400 and 600 <= rd.retry <= 86400
        assert 86400 <= rd.expire <= 2419200 and 60 <= rd.minimum <= 86400
        assert 300 <= soa.ttl <= 86400
        if z.soa.mname is None:
            assert rd.mname.to_text(omit_final_dot=True) == z.nameservers[0]
    for addr in model.addresses.values():
        if addr.served_in:
            zone = next(z for z in model.zones if z.name == addr.served_in)
            plan = plans[zone.name]
            data = {(r.name.to_text(omit_final_dot=True), r.rdtype): r
                    for r in map(decode_rrset, plan.rrsets)}
            a = data[(addr.name, dns.rdatatype.A)]
            aaaa = data[(addr.name, dns.rdatatype.AAAA)]
            assert [r.address for r in a] == [addr.ipv4] and a.ttl == zone.ns_ttl
            assert [r.address for r in aaaa] == [addr.ipv6] and aaaa.ttl == zone.ns_ttl


def decisions(loaded):
    zones = {z.name: (z.ns_type, z.ns_set, z.nameservers, z.ns_ttl) for z in loaded.model.zones}
    serials = {p.origin.to_text(): decode_rrset(next(
        r for r in p.rrsets if r.rdtype == dns.rdatatype.SOA))[0].serial
        for p in loaded.plan.zones}
    return zones, loaded.model.addresses, serials


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(configuration())
def test_random_configurations_load_with_every_rule_or_are_refused(case):
    cfg, files = case
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(Path(tmp))
        try:
            loaded = env.load(cfg, files)
        except ConfigError as exc:
            assert exc.problems
            event(f"refused: {sorted({str(p.rule) for p in exc.problems})}")
            for problem in exc.problems:
                assert problem.message and str(problem)
            return
        event(f"accepted: {len(loaded.model.zones)} zone(s)")
        check_rules(loaded)
        assert decisions(env.load()) == decisions(loaded)  # a restart decides the same


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="ab:-[]{}#&*!|>'\"\n ,.0123456789", max_size=80))
def test_random_yaml_text_is_a_config_error_or_loads(text):
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(Path(tmp))
        try:
            env.load(text)
        except ConfigError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)


def _paths(value, prefix=()):
    """Every path (tuple of keys and indexes) into a nested dict/list value."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


EXAMPLE = {
    "server": {"listen": ["127.0.0.1:5353"], "port": 5353, "standard_nameservers": STANDARD[:2],
               "address_pools": {"ipv4": ["127.53.1.0/24"], "ipv6": ["fd00:53:1::/64"]},
               "zones_dir": "zones", "chaos": {"version.bind": "x"}},
    "accounts": [{
        "id": "acc0", "name": "A",
        "custom_nameservers": [{"ns_name": "ns1.example.com", "ns_set": 1},
                               {"ns_name": "ns2.example.com", "ipv4": "10.0.0.1"},
                               {"ns_name": "ns1.vanity.test", "ns_set": 2},
                               {"ns_name": "ns2.vanity.test", "ns_set": 2}],
        "dns_settings": {"zone_defaults": {"nameservers": {"type": "custom.account"},
                                           "ns_ttl": 600, "soa": {"ttl": 300}}},
        "zones": [
            {"name": "example.com", "dns_settings": {"nameservers": {"type": "custom.account",
                                                                     "ns_set": 1}}},
            {"name": "sub.example.com"},
            {"name": "shop.test", "dns_settings": {"nameservers": {"type": "custom.zone"},
                                                   "multi_provider": True},
             "vanity_name_servers": ["ns1.shop.test", "ns2.shop.test"]},
        ],
    }],
}
EXAMPLE_PATHS = [p for p in _paths(EXAMPLE) if p]
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False),
              st.text(max_size=6), st.sampled_from(["custom.account", "ns3.example.com",
                                                    "10.0.0.1", "fd00::1", "a.test"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["name", "type", "ns_set",
                                                             "ns_name", "soa", "x"]),
                                            inner, max_size=3)),
    max_leaves=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(EXAMPLE_PATHS), junk), min_size=1, max_size=3))
def test_any_value_in_any_place_is_a_config_error_or_loads(replacements):
    """Type confusion: put a random value anywhere in a valid configuration."""
    import copy

    cfg = copy.deepcopy(EXAMPLE)
    for path, value in replacements:
        target = cfg
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this place
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(Path(tmp))
        try:
            loaded = env.load(cfg)
        except ConfigError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)
            return
        check_rules(loaded)
