"""The delegation checks of a whole model: what the DNS says of every zone and every
nameserver name, resolved from the configured roots, and the results file.

Rule owned here: a zone is checked at its parent (the referral that delegates it: exactly
its assigned nameservers?) and at the servers delegated to (each answers authoritatively
for it?). A name is checked at the servers of its providing domain (its A/AAAA equal the
assigned addresses?) and in the referrals that carry glue for it (the providing domain's,
and those of the zones it serves): the glue equals the assigned addresses? Where a status is
not verified, the result says what to create and where (model/show.py's records and
glue). The results are one JSON document, written atomically beside the state file; a
missing or unreadable file means nothing was checked yet.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import dns.rcode

from ..model.show import glue, provider, records_to_create
from ..model.state import write_atomic
from ..model.types import Model, NameAddress, ResolvedZone, ServerConfig, VerifyConfig
from .compare import (
    MISMATCH,
    PENDING,
    VERIFIED,
    Finding,
    address_finding,
    combine,
    glue_finding,
    zone_finding,
)
from .resolver import Delegation, Resolver, Walk, rrset_values

__all__ = ["LastResults", "check", "read_results", "results_path", "write_results"]


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _result(finding: Finding, to_create: dict[str, Any], checked_on: str) -> dict[str, Any]:
    return {"status": finding.status, "evidence": list(finding.evidence),
            "to_create": {} if finding.status == VERIFIED else to_create,
            "checked_on": checked_on}


def _why_not(walk: Walk) -> str:
    """Why a walk found no authoritative answer, for the evidence."""
    lame = [f"{x.server} {x.why}" for x in walk.lame if x.zone == walk.zone]
    if lame:
        return f" (the servers of {walk.zone}: {'; '.join(lame)})"
    if walk.referrals:
        return f" (no address found for the nameservers of {walk.zone})"
    return " (no root server answered)"


def _not_delegated(walk: Walk) -> str:
    """Why a walk toward a zone saw no referral to it."""
    if walk.answer is None:
        return _why_not(walk)
    rcode = walk.answer.rcode()
    answered = dns.rcode.to_text(rcode) if rcode else "with no referral"
    return f" ({walk.server}, a server of {walk.zone}, answers {answered})"


def _zone(resolver: Resolver, zone: ResolvedZone) -> tuple[Finding, Delegation | None]:
    walk = resolver.walk(zone.name, "NS", stop_at=zone.name)
    delegation = next((d for d in walk.referrals if d.zone == zone.name), None)
    if delegation is None:
        return zone_finding(zone.name, zone.nameservers, None, _not_delegated(walk)), None
    parts = [zone_finding(zone.name, zone.nameservers, delegation)]
    for ns, addresses in resolver.nameservers(delegation).items():  # RFC 1034 §4.2.2
        if not addresses:
            parts.append(Finding(PENDING, (f"{zone.name}: no address found for {ns}",)))
            continue
        answered = resolver.ask(addresses, zone.name, "SOA")
        if isinstance(answered, str) or not rrset_values(answered[1], zone.name, "SOA"):
            why = answered if isinstance(answered, str) else f"{answered[0]}: no SOA"
            parts.append(Finding(MISMATCH, (f"{zone.name}: {ns} delegated to does not "
                                            f"answer for it ({why}): lame",)))
    return combine(*parts), delegation


def _name(resolver: Resolver, addr: NameAddress,
          referrals: list[Delegation]) -> tuple[Finding, Finding, str]:
    """The address part and the glue part of a name's check, and its providing domain as
    the DNS has it."""
    expected = [a for a in (addr.ipv4, addr.ipv6) if a]
    walk = resolver.walk(addr.name, "A")
    if not walk.referrals:
        domain = provider(addr)
        return (Finding(PENDING, (f"{addr.name}: not found{_why_not(walk)}",)),
                glue_finding(addr.name, expected, referrals), domain)
    delegation = walk.referrals[-1]
    # the providing domain: the zone served here; else the zone the walk ended in, unless
    # that zone says the name does not exist (the providing domain is not delegated yet)
    gone = walk.answer is not None and walk.answer.rcode() == dns.rcode.NXDOMAIN
    domain = addr.provider or (provider(addr) if gone else delegation.zone)
    if walk.answer is None:
        lame = [x for x in walk.lame if x.zone == delegation.zone]
        answers: dict[str, tuple[str, ...] | str] = {x.server: x.why for x in lame}
        part = address_finding(addr.name, delegation.zone, expected, answers)
        if not lame:
            part = Finding(part.status, (f"{addr.name}: {_why_not(walk).strip(' ()')}",))
    else:
        answers = {}
        for ns, addresses in resolver.nameservers(delegation).items():
            values: list[str] = []
            for rdtype in ("A", "AAAA"):
                answered = resolver.ask(addresses, addr.name, rdtype)
                if isinstance(answered, str):
                    answers[ns] = answered
                    break
                values += rrset_values(answered[1], addr.name, rdtype)
            else:
                answers[ns] = tuple(values)
        part = address_finding(addr.name, delegation.zone, expected, answers)
    seen = {(d.zone, d.server): d for d in (delegation, *referrals)}  # each referral once
    return part, glue_finding(addr.name, expected, seen.values()), domain


def check(model: Model, config: VerifyConfig, now: float | None = None) -> dict[str, Any]:
    """Check every zone and every nameserver name of `model` (blocking: run it off the
    event loop); the results document."""
    resolver = Resolver(config.roots, config.port, config.timeout)
    now = time.time() if now is None else now
    checked_on = _iso(now)
    zones: dict[str, Any] = {}
    referrals: list[Delegation] = []
    for zone in model.zones:
        finding, delegation = _zone(resolver, zone)
        if delegation is not None:
            referrals.append(delegation)
        zones[zone.name] = _result(finding, {"registrar": {
            "domain": zone.name, "nameservers": list(zone.nameservers),
            "records": [f"{zone.name}. {zone.ns_ttl} IN NS {n}." for n in zone.nameservers]}},
            checked_on)
    names: dict[str, Any] = {}
    for name, addr in sorted(model.addresses.items()):
        addresses, glued, domain = _name(resolver, addr, referrals)
        to_create: dict[str, Any] = {}
        if addresses.status != VERIFIED:
            to_create["dns_host"] = {"domain": domain,
                                     "records": records_to_create(model, addr)}
        if glued.status != VERIFIED:
            to_create["registrar"] = {"domain": domain, "glue": glue(addr)}
        names[name] = _result(combine(addresses, glued), to_create, checked_on)
    return {"checked_on": checked_on, "checked_at": now, "roots": list(config.roots),
            "port": config.port, "names": names, "zones": zones}


def results_path(server: ServerConfig) -> Path:
    """Where the last results are kept: beside the state file."""
    return server.state_file.with_suffix(".verify.json")


def write_results(server: ServerConfig, results: dict[str, Any]) -> None:
    write_atomic(results_path(server), json.dumps(results, indent=1, sort_keys=True))


def read_results(server: ServerConfig) -> dict[str, Any]:
    """The last results, or an empty document when none were written (or readable)."""
    try:
        doc = json.loads(results_path(server).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


class LastResults:
    """The last results as the results file holds them, read again only when the file
    changed (whoever wrote it: the server's periodic check, or `acnsd verify`). Read by
    the API and the metrics' scrape: a stat per read, the file parsed once per change."""

    def __init__(self) -> None:
        self._seen: tuple[Path, int, int] | None = None
        self._doc: dict[str, Any] = {}

    def get(self, server: ServerConfig) -> dict[str, Any]:
        path = results_path(server)
        try:
            info = os.stat(path)
        except OSError:
            return {}
        seen = (path, info.st_mtime_ns, info.st_size)
        if seen != self._seen:
            self._doc, self._seen = read_results(server), seen
        return self._doc
