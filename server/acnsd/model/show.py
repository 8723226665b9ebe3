"""`acnsd show`: what an operator must know and do, per account, set, name and zone.

Rule owned here: for every nameserver name, say whether its A/AAAA are served here (and
in which zone, R8) or give the exact records to create at the DNS host of the domain that
provides it and the glue to register at its registrar. The JSON form mirrors Cloudflare's
`custom_ns` result object (`ns_name`, `ns_set`, `dns_records`, `status`, `zone_tag`).
"""

from __future__ import annotations

from typing import Any

from ..verify.compare import NAME_STATUS, unchecked
from .assign import MIN_SET_NAMES, account_sets
from .types import NS_TTL_DEFAULT, Model, NameAddress, zone_id

__all__ = ["glue", "provider", "records_to_create", "render_check", "render_text", "report"]


def records_to_create(model: Model, addr: NameAddress) -> list[str]:
    """The A/AAAA records of a name, as the DNS host of its providing domain must hold
    them (TTL: the lowest ns_ttl of the zones it serves)."""
    ttl = min((z.ns_ttl for z in model.zones if addr.name in z.nameservers),
              default=NS_TTL_DEFAULT)
    lines = []
    if addr.ipv4:
        lines.append(f"{addr.name}. {ttl} IN A {addr.ipv4}")
    if addr.ipv6:
        lines.append(f"{addr.name}. {ttl} IN AAAA {addr.ipv6}")
    return lines


def provider(addr: NameAddress) -> str:
    """The domain that provides a name: the zone served here, else its parent domain."""
    return addr.provider or addr.name.split(".", 1)[1]


def glue(addr: NameAddress) -> dict[str, Any]:
    """The glue for a name, to register at the registrar of its providing domain."""
    return {"host": addr.name, "addresses": [a for a in (addr.ipv4, addr.ipv6) if a],
            "register_at": f"the registrar of {provider(addr)}"}


def _name_entry(model: Model, addr: NameAddress, ns_set: int | None,
                checks: dict[str, Any]) -> dict[str, Any]:
    check = checks.get("names", {}).get(addr.name) or unchecked()
    entry: dict[str, Any] = {
        "ns_name": addr.name,
        "dns_records": [{"type": t, "value": v} for t, v in (("A", addr.ipv4),
                                                             ("AAAA", addr.ipv6)) if v],
        "status": NAME_STATUS[check["status"]],
        "zone_tag": zone_id(addr.served_in) if addr.served_in else "",
        "served_in": addr.served_in,
        "provider": provider(addr),
        "records_to_create": [] if addr.served_in else records_to_create(model, addr),
        "glue": glue(addr),
        "verification": check,
    }
    if ns_set is not None:
        entry["ns_set"] = ns_set
    return entry


def report(model: Model, checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole picture as one JSON-ready document with stable keys; `checks`: the
    delegation checks' last results (verify/checks.py), none: every status pending."""
    checks = checks or {}
    accounts = []
    for account in model.accounts:
        zones = [z for z in model.zones if z.account == account.id]
        sets = []
        for number, names in account_sets(account).items():
            sets.append({
                "ns_set": number,
                "names": list(names),
                "available": len(names) >= MIN_SET_NAMES,
                "zones": [z.name for z in zones
                          if z.ns_type == "custom.account" and z.ns_set == number],
            })
        accounts.append({
            "id": account.id,
            "name": account.name,
            "sets": sets,
            "custom_nameservers": [_name_entry(model, model.addresses[ns.ns_name], ns.ns_set,
                                               checks)
                                   for ns in account.custom_nameservers],
            "zones": [{
                "id": zone_id(z.name),
                "name": z.name,
                "nameservers": {"type": z.ns_type, **({"ns_set": z.ns_set} if z.ns_set else {})},
                "name_servers": list(z.nameservers),
                "reason": z.reason,
                "ns_ttl": z.ns_ttl,
                "verification": checks.get("zones", {}).get(z.name) or unchecked(),
                "vanity_name_servers": [_name_entry(model, model.addresses[n], None, checks)
                                        for n in z.vanity_name_servers
                                        if z.ns_type == "custom.zone"],
            } for z in zones],
        })
    return {"config": str(model.config_file), "accounts": accounts}


def render_text(doc: dict[str, Any]) -> str:
    """The report for a terminal."""
    out: list[str] = []
    for account in doc["accounts"]:
        out.append(f"Account {account['name']} ({account['id']})")
        by_name = {n["ns_name"]: n for n in account["custom_nameservers"]}
        for s in account["sets"]:
            state = "available" if s["available"] else "UNAVAILABLE (needs 2..5 names)"
            zones = ", ".join(s["zones"]) or "no zones"
            out.append(f"  Set {s['ns_set']}: {state}; used by {zones}")
            for name in s["names"]:
                out += _render_name(by_name[name], "    ")
        out.append("  Zones:")
        for z in account["zones"]:
            kind = z["nameservers"]["type"]
            if "ns_set" in z["nameservers"]:
                kind += f" set {z['nameservers']['ns_set']}"
            out.append(f"    {z['name']}: {', '.join(z['name_servers'])} ({kind}; "
                       f"{z['reason']}; NS TTL {z['ns_ttl']})")
            out += render_check(z["verification"], "      ")
            for entry in z["vanity_name_servers"]:
                out += _render_name(entry, "      ")
        out.append("")
    return "\n".join(out)


def _render_name(entry: dict[str, Any], indent: str) -> list[str]:
    """A name, its A/AAAA (served here, or to create elsewhere) and, in both cases, the
    glue its registrar needs: a name served here still needs glue at the registrar of
    the domain that provides it."""
    addrs = "  ".join(r["value"] for r in entry["dns_records"])
    if entry["served_in"]:
        lines = [f"{indent}{entry['ns_name']}  {addrs}  (A/AAAA served here in zone "
                 f"{entry['served_in']})"]
    else:
        lines = [f"{indent}{entry['ns_name']}  {addrs}",
                 f"{indent}  create at the DNS host of {entry['provider']}:"]
        lines += [f"{indent}    {r}" for r in entry["records_to_create"]]
    glue = entry["glue"]
    lines.append(f"{indent}  register glue at {glue['register_at']}: host {glue['host']} "
                 f"with {', '.join(glue['addresses'])}")
    return lines + render_check(entry["verification"], indent + "  ")


def render_check(check: dict[str, Any], indent: str) -> list[str]:
    """A delegation check's result (verify/checks.py): its status and when, what was
    found where, and what to create where it is not verified."""
    when = f"checked {check['checked_on']}" if check["checked_on"] else "not checked yet"
    lines = [f"{indent}delegation: {check['status']} ({when})"]
    if check["checked_on"]:
        lines += [f"{indent}  found: {line}" for line in check["evidence"]]
    to_create = check["to_create"]
    if "dns_host" in to_create:
        lines.append(f"{indent}  to create at the DNS host of {to_create['dns_host']['domain']}:")
        lines += [f"{indent}    {r}" for r in to_create["dns_host"]["records"]]
    registrar = to_create.get("registrar")
    if registrar and "glue" in registrar:
        lines.append(f"{indent}  glue to register at the registrar of {registrar['domain']}: "
                     f"host {registrar['glue']['host']} with "
                     f"{', '.join(registrar['glue']['addresses'])}")
    elif registrar:
        lines.append(f"{indent}  nameservers to set at the registrar of {registrar['domain']}:")
        lines += [f"{indent}    {r}" for r in registrar["records"]]
    return lines
