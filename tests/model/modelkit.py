"""Helpers for the model tests: write a configuration dict as YAML, with its zone files,
into a temporary directory, and load it.

`Env.write(config, zones)` writes `<dir>/acnsd.yaml` and one zone file per configured zone
(a small default file unless `zones` gives the text); `Env.load()` loads it; `Env.refused()`
expects a ConfigError and returns its problems; `Env.state()` is the recorded state in
the JSON state file's shape (as `acnsd state export` prints it), `Env.set_state()` records
one. The `env` fixture is in conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from acnsd.dns.wire import decode_rrset
from acnsd.errors import ConfigError, Problem
from acnsd.model.config import Loaded, load
from acnsd.model.recording import export_state
from acnsd.model.store import Store, import_state_json

DEFAULT_ZONE = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A 192.0.2.2\n"
ACCOUNT_ID = "023e105f4ecef8ad9ca31a8372d0c353"


def config(*accounts: dict[str, Any], **server: Any) -> dict[str, Any]:
    """A whole configuration: a usable server section (overridable) and the accounts."""
    s: dict[str, Any] = {
        "listen": ["127.0.0.1:5353"],
        "port": 5353,
        "standard_nameservers": [
            {"name": "ns1.std.test", "ipv4": "127.53.0.1", "ipv6": "fd00:53::1"},
            {"name": "ns2.std.test", "ipv4": "127.53.0.2", "ipv6": "fd00:53::2"},
        ],
        "address_pools": {"ipv4": ["127.53.1.0/24"], "ipv6": ["fd00:53:1::/64"]},
        "zones_dir": "zones",
    }
    s.update(server)
    return {"server": s, "accounts": list(accounts)}


def ns(name: str, ns_set: int | None = None, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"ns_name": name}
    if ns_set is not None:
        entry["ns_set"] = ns_set
    entry.update(extra)
    return entry


def zone(name: str, ns_type: str | None = None, ns_set: int | None = None,
         **extra: Any) -> dict[str, Any]:
    """A zone entry; ns_type None means no nameservers key (zone defaults apply)."""
    entry: dict[str, Any] = {"name": name}
    settings: dict[str, Any] = dict(extra.pop("dns_settings", {}))
    if ns_type is not None:
        nameservers: dict[str, Any] = {"type": ns_type}
        if ns_set is not None:
            nameservers["ns_set"] = ns_set
        settings["nameservers"] = nameservers
    if settings:
        entry["dns_settings"] = settings
    entry.update(extra)
    return entry


def account(names: list[dict[str, Any]] = (), zones: list[dict[str, Any]] = (),
            defaults: dict[str, Any] | None = None, id: str = ACCOUNT_ID,
            **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": id, "name": f"Account {id[:6]}"}
    if names:
        entry["custom_nameservers"] = list(names)
    if defaults is not None:
        entry["dns_settings"] = {"zone_defaults": defaults}
    if zones:
        entry["zones"] = list(zones)
    entry.update(extra)
    return entry


def two_sets() -> list[dict[str, Any]]:
    """Set 1 provided by example.com (a zone here), set 2 by vanity.test (elsewhere)."""
    return [ns("ns1.example.com", 1), ns("ns2.example.com"), ns("ns1.vanity.test", 2),
            ns("ns2.vanity.test", 2)]


class Env:
    """A configuration directory under tmp_path."""

    def __init__(self, root: Path):
        self.root = root
        self.path = root / "acnsd.yaml"
        self.state_file = root / "acnsd.state.db"  # the store
        self.legacy_file = root / "acnsd.state.json"  # the JSON state file it took over

    def state(self) -> dict[str, Any]:
        """The recorded state, in the JSON state file's shape."""
        return export_state(self.state_file)

    def set_state(self, data: dict[str, Any]) -> None:
        """Make `data` (a JSON state file's content) the recorded state: a new store that
        it is imported into."""
        for path in self.store_files():
            path.unlink(missing_ok=True)
        source = self.root / "set-state.json"
        source.write_text(json.dumps(data), encoding="utf-8")
        with Store.open(self.state_file) as store:
            import_state_json(source, store)
        source.unlink()

    def store_files(self) -> list[Path]:
        """The store and its write-ahead log files."""
        return [self.state_file.with_name(self.state_file.name + suffix)
                for suffix in ("", "-wal", "-shm")]

    def zones_dir(self, cfg: dict[str, Any]) -> Path:
        server = cfg.get("server")
        zones_dir = server.get("zones_dir", "zones") if isinstance(server, dict) else "zones"
        return self.root / (zones_dir if isinstance(zones_dir, str) else "zones")

    def write(self, cfg: dict[str, Any] | str, zones: dict[str, str] | None = None) -> Path:
        """Write the config (a dict, or YAML text) and its zone files; return its path."""
        text = cfg if isinstance(cfg, str) else yaml.safe_dump(cfg, sort_keys=False)
        self.path.write_text(text, encoding="utf-8")
        if isinstance(cfg, dict):
            zdir = self.zones_dir(cfg)
            zdir.mkdir(parents=True, exist_ok=True)
            zones = dict(zones or {})
            accounts = cfg.get("accounts")
            for acc in accounts if isinstance(accounts, list) else []:
                acc_zones = acc.get("zones") if isinstance(acc, dict) else None
                for z in acc_zones if isinstance(acc_zones, list) else []:
                    if not isinstance(z, dict) or not isinstance(z.get("name"), str):
                        continue
                    name = z["name"].lower().rstrip(".")
                    file = zdir / str(z.get("file", f"{name}.zone"))
                    text = zones.pop(name, None)
                    try:
                        if not file.resolve().is_relative_to(self.root.resolve()):
                            continue  # a strange name or file: leave it to the loader
                        if text is not None or not file.exists():
                            file.parent.mkdir(parents=True, exist_ok=True)
                            file.write_text(DEFAULT_ZONE if text is None else text,
                                            encoding="utf-8")
                    except (OSError, ValueError):
                        continue
            for name, text in zones.items():  # zone files of zones not in the config
                (zdir / f"{name}.zone").write_text(text, encoding="utf-8")
        return self.path

    def load(self, cfg: dict[str, Any] | str | None = None, zones: dict[str, str] | None = None,
             save_state: bool = True) -> Loaded:
        if cfg is not None:
            self.write(cfg, zones)
        return load(self.path, save_state=save_state)

    def refused(self, cfg: dict[str, Any] | str | None = None,
                zones: dict[str, str] | None = None) -> list[Problem]:
        with pytest.raises(ConfigError) as info:
            self.load(cfg, zones)
        assert info.value.problems, "a ConfigError must list its problems"
        return info.value.problems

    def line_of(self, needle: str, occurrence: int = 0) -> int:
        """The 1-based line of the config text that contains `needle` (nth occurrence)."""
        hits = [i for i, line in enumerate(self.path.read_text().splitlines(), 1)
                if needle in line]
        return hits[occurrence]


def only(problems: list[Problem], rule: str | None = None) -> Problem:
    """The single problem (of `rule`, when given)."""
    if rule is not None:
        problems = [p for p in problems if p.rule == rule]
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def rrsets(loaded: Loaded, zone_name: str) -> dict[tuple[str, str], Any]:
    """(owner text without the final dot, type text) → RRset of a zone of the plan, decoded
    to dnspython's form."""
    import dns.rdatatype

    for plan in loaded.plan.zones:
        if plan.origin.to_text(omit_final_dot=True) == zone_name:
            return {(r.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(r.rdtype)): r
                    for r in map(decode_rrset, plan.rrsets)}
    raise AssertionError(f"zone {zone_name} is not in the plan")


def resolved(loaded: Loaded, zone_name: str):
    return next(z for z in loaded.model.zones if z.name == zone_name)
