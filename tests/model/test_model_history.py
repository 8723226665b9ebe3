"""Hypothesis over histories: a configuration edited step by step (names added, removed and
moved between sets, zones added and removed, zone defaults changed, zone files edited),
loaded after every step like a restart or reload. Across the whole history:

- a name keeps its addresses for as long as it stays configured (R7);
- a new name never receives an address another name ever had (the pool has fresh ones);
- a zone that received the zone defaults keeps what it received (R6);
- a zone's serial never goes back, and stays put while the zone is untouched (R10);
- a refused step leaves the state file exactly as it was.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from acnsd.dns.wire import decode_rrset
from acnsd.errors import ConfigError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from modelkit import DEFAULT_ZONE, Env, account, config, ns, zone

NAMES = [f"ns{i}.{d}" for i in range(1, 5) for d in ("example.com", "vanity.test", "other.org")]
ZONES = ["example.com", "sub.example.com", "other.org", "0.192.in-addr.arpa",
         "2.0.192.in-addr.arpa", "shop.test"]
DEFAULTS = [None, "custom.account", "cloudflare.standard"]

ops = st.one_of(
    st.tuples(st.just("add_name"), st.sampled_from(NAMES), st.integers(1, 3)),
    st.tuples(st.just("remove_name"), st.integers(0, 20)),
    st.tuples(st.just("move_name"), st.integers(0, 20), st.integers(1, 3)),
    st.tuples(st.just("add_zone"), st.sampled_from(ZONES), st.sampled_from([None, 1, 2, 3])),
    st.tuples(st.just("remove_zone"), st.integers(0, 10)),
    st.tuples(st.just("defaults"), st.sampled_from(DEFAULTS)),
    st.tuples(st.just("edit_file"), st.sampled_from(ZONES)),
)


def apply(cfg, files, op) -> None:
    acc = cfg["accounts"][0]
    names = acc.setdefault("custom_nameservers", [])
    zones = acc.setdefault("zones", [])
    kind = op[0]
    if kind == "add_name" and all(n["ns_name"] != op[1] for n in names):
        names.append(ns(op[1], op[2]))
    elif kind == "remove_name" and names:
        names.pop(op[1] % len(names))
    elif kind == "move_name" and names:
        names[op[1] % len(names)]["ns_set"] = op[2]
    elif kind == "add_zone" and all(z["name"] != op[1] for z in zones):
        zones.append(zone(op[1], "custom.account" if op[2] else None, op[2]))
    elif kind == "remove_zone" and zones:
        zones.pop(op[1] % len(zones))
    elif kind == "defaults":
        acc["dns_settings"] = ({"zone_defaults": {"nameservers": {"type": op[1]}}}
                               if op[1] else {})
    elif kind == "edit_file":
        files[op[1]] = files.get(op[1], DEFAULT_ZONE) + f"r{len(files[op[1]])} IN A 192.0.2.9\n"


def serials(loaded):
    return {p.origin.to_text(omit_final_dot=True): decode_rrset(next(
        r for r in p.rrsets if r.rdtype == 6))[0].serial for p in loaded.plan.zones}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=1, max_size=10))
def test_histories_keep_addresses_defaults_and_serials(history):
    cfg = config(account([ns("ns1.example.com", 1), ns("ns2.example.com", 1)],
                         [zone("example.com", "custom.account", 1)]))
    files = {z: DEFAULT_ZONE for z in ZONES}
    owner_of: dict[str, str] = {}  # every address ever handed out → its name
    addresses: dict[str, tuple[str, str]] = {}  # configured names → their addresses
    received: dict[str, tuple] = {}  # zones on zone defaults → what they received
    last_serial: dict[str, int] = {}
    touched: set[str] = set()
    accepted = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = Env(Path(tmp))
        for step in [("start",), *history]:
            previous = copy.deepcopy(cfg)
            apply(cfg, files, step) if step[0] != "start" else None
            if step[0] == "edit_file":
                touched.add(step[1])
            before = env.state_file.read_bytes() if env.state_file.exists() else None
            try:
                loaded = env.load(cfg, files)
            except ConfigError:
                after = env.state_file.read_bytes() if env.state_file.exists() else None
                assert after == before, "a refused configuration changed the state file"
                cfg = previous  # the operator fixes it: back to the last good one
                continue
            accepted += 1
            now = {n: (a.ipv4, a.ipv6) for n, a in loaded.model.addresses.items()}
            for name, pair in now.items():
                if name in addresses:
                    assert pair == addresses[name], f"{name} moved"
                for addr in pair:
                    assert owner_of.setdefault(addr, name) == name, (
                        f"{addr} of {owner_of[addr]} went to {name}")
            addresses = now
            for z in loaded.model.zones:
                if z.reason.startswith("zone default"):
                    got = (z.ns_type, z.ns_set)
                    assert received.setdefault(z.name, got) == got, f"{z.name} moved"
            for name, serial in serials(loaded).items():
                if name in last_serial:
                    assert serial >= last_serial[name]
                    if name not in touched and step[0] in ("edit_file", "start"):
                        assert serial == last_serial[name]
                last_serial[name] = serial
            touched.clear()
    event(f"accepted {min(accepted, 5)}+ of {min(len(history) + 1, 5)}+ loads")
