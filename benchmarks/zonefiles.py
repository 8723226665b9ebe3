"""Writing a data set to disk: zone files for every server and the acnsd configuration.

Two flavours of zone file: `served` files hold every record a server answers with (SOA,
apex NS, ACNS A/AAAA, data) for Knot DNS, NSD and dnslib; acnsd's files hold only the
data records, since acnsd synthesizes the rest (DESIGN.md R8-R10).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from benchmarks.dataset import DEFAULT_NS_TTL, DataSet

__all__ = ["LAYOUTS", "acnsd_config", "write_acnsd_config", "write_acnsd_tree",
           "write_zone_files"]

LAYOUTS = ("directory", "single")  # acnsd's configuration layouts (README "Directory layout")


def write_zone_files(dataset: DataSet, directory: Path, served: bool) -> None:
    """Write `<zone>.zone` for every zone; `served` adds the records acnsd synthesizes."""
    directory.mkdir(parents=True, exist_ok=True)
    for zone in dataset.zones:
        lines = dataset.served_records(zone) if served else list(zone.records)
        (directory / f"{zone.name}.zone").write_text("\n".join(lines) + "\n")


def acnsd_config(dataset: DataSet, zones_dir: Path, host: str, port: int,
                 api: dict[str, str] | None = None,
                 server_keys: dict[str, Any] | None = None) -> dict[str, Any]:
    """The acnsd configuration (DESIGN.md §3) serving `dataset` on host:port only, with the
    management API section `api` (`{listen, tokens_file}`) when given, and `server_keys`
    in its server section."""
    accounts = []
    for index, account in enumerate(dataset.accounts):
        zones = []
        for zone in dataset.zones:
            if zone.account != index:
                continue
            settings: dict[str, Any] = {
                "nameservers": {"type": "custom.account", "ns_set": zone.ns_set}
            }
            if zone.ns_ttl != DEFAULT_NS_TTL:
                settings["ns_ttl"] = zone.ns_ttl
            zones.append({"name": zone.name, "dns_settings": settings})
        accounts.append({
            "id": account.id,
            "name": account.name,
            "custom_nameservers": [
                {"ns_name": ns.name, "ns_set": ns.ns_set, "ipv4": ns.ipv4, "ipv6": ns.ipv6}
                for ns in account.nameservers
            ],
            "dns_settings": {"zone_defaults": {"nameservers": {"type": "custom.account"}}},
            "zones": zones,
        })
    server: dict[str, Any] = {
        "listen": [f"{host}:{port}"],
        "port": port,
        "serve_assigned_addresses": False,
        "standard_nameservers": [
            {"name": "ns1.acnsd.test", "ipv4": "127.52.0.1", "ipv6": "fd00:52::1"},
            {"name": "ns2.acnsd.test", "ipv4": "127.52.0.2", "ipv6": "fd00:52::2"},
        ],
        "address_pools": {"ipv4": ["127.53.0.0/16"], "ipv6": ["fd00:53::/48"]},
        "zones_dir": str(zones_dir),
    }
    if api is not None:
        server["api"] = api
    server.update(server_keys or {})
    return {"server": server, "accounts": accounts}


def write_acnsd_config(path: Path, dataset: DataSet, zones_dir: Path, host: str,
                       port: int, api: dict[str, str] | None = None,
                       server_keys: dict[str, Any] | None = None) -> None:
    """Write `acnsd_config` as YAML (libyaml's emitter when PyYAML has it: 100,000 zones
    take seconds instead of a minute)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    config = acnsd_config(dataset, zones_dir, host, port, api, server_keys)
    path.write_text(yaml.dump(config, Dumper=dumper, sort_keys=False))


def write_acnsd_tree(path: Path, dataset: DataSet, zones_dir: Path, host: str, port: int,
                     api: dict[str, str] | None = None,
                     server_keys: dict[str, Any] | None = None,
                     accounts_dir: str = "accounts") -> None:
    """Write `acnsd_config` in the directory layout (README "Directory layout"), as
    `acnsd migrate-layout` would: `path` with `accounts_dir:` instead of `accounts:`, and
    under it `<id>/account.yaml` and one `<id>/zones/<zone>.yaml` (a one-entry list, block
    style) per zone."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump(value: Any) -> str:
        return yaml.dump(value, Dumper=dumper, sort_keys=False, default_flow_style=False)

    config = acnsd_config(dataset, zones_dir, host, port, api, server_keys)
    for account in config.pop("accounts"):
        home = path.parent / accounts_dir / account["id"]
        (home / "zones").mkdir(parents=True, exist_ok=True)
        zones = account.pop("zones")
        (home / "account.yaml").write_text(dump(account))
        for zone in zones:
            (home / "zones" / f"{zone['name']}.yaml").write_text(dump([zone]))
    path.write_text(dump({**config, "accounts_dir": accounts_dir}))
