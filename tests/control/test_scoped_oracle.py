"""The oracle property of the scoped checks (issue 16 step 3): from a random accepted
configuration, a random sequence of changes, each as the management API (or a reload of a
zone file) makes it. After each, the scoped verdict (accepted or refused, and then every
problem with its message, file, line, YAML path, rule, accounts and tenant message) equals
what load() says of the configuration with the change made; after an accepted one, the
index equals one built afresh from that configuration, and every zone whose served
content changed is among those the verdict rebuilds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from acnsd.control.change import (
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from acnsd.model.config import Loaded
from controlkit import TEMPLATE, Oracle, deterministic_draws, start, writes_file
from hypothesis import event, given, settings
from hypothesis import strategies as st
from modelkit import DEFAULT_ZONE, Env

DOMAINS = ["example.com", "sub.example.com", "vanity.test", "shop.test", "other.org",
           "2.0.192.in-addr.arpa"]
ZONES = ["example.com", "sub.example.com", "deep.sub.example.com", "x.deep.sub.example.com",
         "a.example.com", "other.org", "shop.test", "a.shop.test", "vanity.test",
         "0.192.in-addr.arpa", "2.0.192.in-addr.arpa"]
LONG_ZONE = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 50, "test"])  # R10: rname too long
NEW_ZONES = [*ZONES, "test", "new.example.com", "ns1.example.com", "Shop.Test.", LONG_ZONE,
             "bad zone", "@", ""]
STANDARD = [{"name": f"ns{i}.std.test", "ipv4": f"127.53.0.{i}", "ipv6": f"fd00:53::{i}"}
            for i in range(1, 5)]
TYPES = ["custom.account", "cloudflare.standard", "custom.zone"]
DEFAULT_TYPES = ["custom.account", "cloudflare.standard", "cloudflare.standard.random"]
ZONE_FILES = [
    DEFAULT_ZONE,
    "$TTL 3600\n@ IN NS ns.elsewhere.test.\nwww IN A 192.0.2.1\n",
    "$TTL 3600\n@ IN SOA a.test. b.test. 1 2 3 4 5\nsub IN NS ns1.vanity.test.\n",
    "$TTL 3600\nsub IN NS ns1.sub.{zone}.\n",  # a delegation: R8 for names below it
    "$TTL 3600\nns1 IN A 192.0.2.53\nns2 IN TXT \"x\"\n",  # R8 when ns1.<zone> is served here
    "$TTL 3600\nns2 IN CNAME www\nwww IN A 192.0.2.1\n",  # R8: a CNAME at ns2.<zone>
    "$TTL 3600\n@ IN CNAME elsewhere.test.\n",  # R9
    "$TTL 3600\nwww IN A not-an-address\n",  # syntax
]


def rarely(bad, good, one_in: int = 8):
    return st.integers(0, one_in - 1).flatmap(lambda i: bad if i == one_in // 2 else good)


ns_names = st.builds(lambda label, domain: f"{label}.{domain}",
                     st.sampled_from(["ns1", "ns2", "ns3", "NS4"]), st.sampled_from(DOMAINS))
ns_sets = rarely(st.sampled_from([0, 6, "x"]), st.sampled_from([1, 1, 2, 2, 3]))
soas = st.sampled_from([{"ttl": 300, "min_ttl": 60}, {"rname": "dns.example.org"},
                        {"mname": "ns1.example.com", "refresh": 600}, {"retry": 1},
                        {"rname": None}])


@st.composite
def zone_settings(draw, name: str) -> dict[str, Any] | None:
    settings_: dict[str, Any] = {}
    if draw(st.integers(0, 2)):
        nameservers: dict[str, Any] = {"type": draw(rarely(st.just("custom.acount"),
                                                           st.sampled_from(TYPES)))}
        if nameservers["type"] == "custom.account" or draw(st.booleans()):
            nameservers["ns_set"] = draw(ns_sets)
        settings_["nameservers"] = nameservers
    if draw(st.integers(0, 3)) == 0:
        settings_["ns_ttl"] = draw(rarely(st.sampled_from([10, "x"]),
                                          st.sampled_from([300, 86400])))
    if draw(st.integers(0, 3)) == 0:
        settings_["multi_provider"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 0:
        settings_["soa"] = draw(soas)
    if draw(st.integers(0, 12)) == 0:
        settings_["bogus"] = 1
    return settings_ or None


@st.composite
def vanity_names(draw, name: str) -> list[Any]:
    inside = st.sampled_from([f"ns1.{name}", f"ns2.{name}", f"NS3.{name}.", f"ns4.{name}"])
    return draw(rarely(st.lists(st.sampled_from([f"ns1.{name}", "ns1.vanity.test", name,
                                                 "bad_name", 7]), max_size=6),
                       st.lists(inside, min_size=0, max_size=4, unique_by=str.lower)))


@st.composite
def configuration(draw) -> tuple[dict[str, Any], dict[str, str]]:
    count = draw(rarely(st.just(3), st.integers(1, 2), one_in=4))
    names = draw(st.lists(ns_names, max_size=10, unique_by=str.lower))
    zones = draw(st.lists(st.sampled_from(ZONES), max_size=7, unique=True))
    accounts = []
    for i in range(count):
        entry: dict[str, Any] = {"id": f"acc{i}", "name": f"Account {i}"}
        mine = names[i::count]
        if mine:
            entry["custom_nameservers"] = []
            for j, name in enumerate(mine):  # sets of two, mostly
                ns_set = draw(rarely(st.integers(1, 3), st.just(1 + j // 2)))
                ns: dict[str, Any] = {"ns_name": name, "ns_set": ns_set}
                if draw(st.integers(0, 9)) == 0:
                    ns["ipv4"] = draw(st.sampled_from(["127.53.1.1", "127.53.9.2",
                                                       "10.0.0.1"]))
                entry["custom_nameservers"].append(ns)
        default = draw(st.sampled_from([None, *DEFAULT_TYPES]))
        if default is not None:
            entry["dns_settings"] = {"zone_defaults": {"nameservers": {"type": default}}}
        entry["zones"] = []
        for zone in zones[i::count]:
            item: dict[str, Any] = {"name": zone}
            settings_ = draw(zone_settings(zone))
            if settings_:
                item["dns_settings"] = settings_
            if draw(st.integers(0, 3)) == 0:
                item["vanity_name_servers"] = draw(vanity_names(zone))
            if draw(st.integers(0, 7)) == 0:
                item["file"] = "shared.zone"  # zones reading one file
            entry["zones"].append(item)
        accounts.append(entry)
    pools = draw(rarely(st.just({"ipv4": ["127.53.9.0/30"], "ipv6": ["fd00:53:9::/126"]}),
                        st.just({"ipv4": ["127.53.1.0/24"], "ipv6": ["fd00:53:1::/64"]}),
                        one_in=4))
    cfg = {"server": {"standard_nameservers": STANDARD[:draw(rarely(st.just(1),
                                                                     st.integers(2, 4)))],
                      "address_pools": pools, "zones_dir": "zones"},
           "accounts": accounts}
    files = {zone: draw(rarely(st.sampled_from(ZONE_FILES[3:]), st.sampled_from(ZONE_FILES[:3]),
                               one_in=6)).replace("{zone}", zone) for zone in ZONES}
    return cfg, files


def changes(cfg: dict[str, Any], loaded: Loaded):
    """A strategy of one change to the accepted configuration `cfg` (loaded as `loaded`)."""
    accounts = [a["id"] for a in cfg["accounts"]]
    zones = [z.name for z in loaded.model.zones]
    names = {a.id: [ns.ns_name for ns in a.custom_nameservers] for a in loaded.model.accounts}
    options = [
        st.builds(NameserverAdded, st.sampled_from(accounts),
                  rarely(st.sampled_from(["bad_name.test", "x"]), ns_names),
                  rarely(st.sampled_from([0, 6, "x"]), st.integers(1, 3))),
        st.sampled_from(accounts).flatmap(lambda a: st.builds(
            NameserverRemoved, st.just(a), st.sampled_from(names[a] or ["ns9.example.com"]))),
        st.builds(ZoneDefaultsChanged, st.sampled_from(accounts), st.one_of(
            st.none(), st.builds(lambda t: {"nameservers": {"type": t}},
                                 st.sampled_from([*DEFAULT_TYPES, "custom.zone"])),
            st.just({"ns_ttl": 600, "soa": {"ttl": 300}}), st.just({"ns_ttl": 5}))),
        st.builds(ZoneCreated, st.sampled_from(accounts), st.sampled_from(NEW_ZONES)),
    ]
    if zones:
        zone = st.sampled_from(zones)
        options += [
            st.builds(ZoneDeleted, zone),
            zone.flatmap(lambda z: st.builds(ZoneSettingsChanged, st.just(z), zone_settings(z))),
            zone.flatmap(lambda z: st.builds(VanityNamesChanged, st.just(z), vanity_names(z))),
            st.builds(ZoneFileChanged, zone),
        ]
    return st.one_of(options)


@settings(max_examples=100)
@given(configuration(), st.data())
def test_scoped_verdicts_are_loads_verdicts(case, data):
    cfg, files = case
    with tempfile.TemporaryDirectory() as tmp, deterministic_draws():
        env = Env(Path(tmp))
        oracle = Oracle(env, cfg, start(env, cfg, files))
        for _ in range(data.draw(st.integers(3, 12))):
            change = data.draw(changes(oracle.cfg, oracle.loaded))
            content = data.draw(_content(change)) if writes_file(change) else None
            verdict, accepted = oracle.judge(change, content)
            event("out of scope" if verdict is None else
                  f"{type(change).__name__}: {'accepted' if accepted else 'refused'}")


def _content(change: Any):
    """The content of the zone file a change writes: a created zone's is the API's empty
    template, now and then a broken or a missing file (the rules' stages read it too)."""
    if isinstance(change, ZoneCreated):
        return rarely(st.sampled_from([ZONE_FILES[-1], None]), st.just(TEMPLATE), one_in=6)
    return st.sampled_from(ZONE_FILES).map(lambda text: text.replace("{zone}", change.zone))
