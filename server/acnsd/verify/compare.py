"""What a delegation check concludes from what it saw: pure comparisons, no IO.

Rule owned here: a status is `verified` when everything found equals what acnsd assigned,
`mismatch` when something found differs from it (or a server delegated to does not answer
authoritatively: a lame delegation), and `pending` otherwise: nothing found yet, or not
delegated. A status made of parts is the worst of them (mismatch, then pending). Every
finding carries its evidence: what was found where, one line each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .resolver import Delegation

__all__ = ["MISMATCH", "NAME_STATUS", "PENDING", "STATUSES", "VERIFIED", "ZONE_STATUS",
           "Finding", "address_finding", "combine", "glue_finding", "unchecked",
           "zone_finding"]

PENDING = "pending"
VERIFIED = "verified"
MISMATCH = "mismatch"
STATUSES = (PENDING, VERIFIED, MISMATCH)
# Cloudflare's words (reference §1, §6): a custom_ns `status` and a zone's `status`.
NAME_STATUS = {PENDING: "pending", VERIFIED: "verified", MISMATCH: "moved"}
ZONE_STATUS = {PENDING: "pending", VERIFIED: "active", MISMATCH: "moved"}


def unchecked() -> dict[str, object]:
    """The verification of a name or zone not checked yet."""
    return {"status": PENDING, "evidence": ["not checked yet"], "to_create": {},
            "checked_on": None}


@dataclass(frozen=True)
class Finding:
    status: str
    evidence: tuple[str, ...]


def combine(*findings: Finding) -> Finding:
    """The worst status of the parts, with all their evidence."""
    statuses = {f.status for f in findings}
    status = (MISMATCH if MISMATCH in statuses else PENDING if PENDING in statuses or not
              findings else VERIFIED)
    return Finding(status, tuple(line for f in findings for line in f.evidence))


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "nothing"


def zone_finding(zone: str, assigned: Iterable[str], delegation: Delegation | None,
                 why_none: str = "") -> Finding:
    """Does the parent delegate `zone` to exactly its `assigned` nameservers?"""
    want = {n.lower().rstrip(".") for n in assigned}
    if delegation is None:
        return Finding(PENDING, (f"{zone}: not delegated yet{why_none}",))
    found = set(delegation.ns)
    where = (f"{zone}: the parent {delegation.parent} (server {delegation.server}) "
             f"delegates to {_names(found)}")
    if found == want:
        return Finding(VERIFIED, (where,))
    return Finding(MISMATCH, (f"{where}; assigned {_names(want)} (missing: "
                              f"{_names(want - found)}; not assigned: {_names(found - want)})",))


def address_finding(name: str, provider: str, expected: Iterable[str],
                    answers: Mapping[str, tuple[str, ...] | str]) -> Finding:
    """Do the servers of the providing domain answer `name`'s A/AAAA with exactly the
    `expected` values? `answers` holds, by server address, the values it answered
    (authoritatively) or why it gave none."""
    want = set(expected)
    if not answers:
        return Finding(PENDING, (f"{name}: no server of {provider} could be asked",))
    lines, statuses = [], set()
    for server, got in sorted(answers.items()):
        if isinstance(got, str):
            statuses.add(MISMATCH)
            lines.append(f"{name}: server {server} of {provider}: {got} (lame)")
            continue
        statuses.add(VERIFIED if set(got) == want else PENDING if not got else MISMATCH)
        lines.append(f"{name}: server {server} of {provider} answers A/AAAA {_names(got)}"
                     + ("" if set(got) == want else f"; assigned {_names(want)}"))
    return combine(*(Finding(s, ()) for s in statuses), Finding(VERIFIED, tuple(lines)))


def glue_finding(name: str, expected: Iterable[str],
                 referrals: Iterable[Delegation]) -> Finding:
    """Does the parent hold glue for `name` equal to its `expected` addresses? Glue is
    seen in referrals to zones that `name` serves (the providing domain's, the zones'):
    any that differs is a mismatch, one that matches (and none differing) verifies it."""
    want = set(expected)
    lines, statuses = [], set()
    for referral in referrals:
        if name not in referral.ns:
            continue
        glue = set(referral.glue.get(name, ()))
        where = (f"{name}: glue in {referral.parent} (server {referral.server}) with the "
                 f"delegation of {referral.zone}")
        if not glue:
            lines.append(f"{where}: none")
            statuses.add(PENDING)
            continue
        statuses.add(VERIFIED if glue == want else MISMATCH)
        lines.append(f"{where}: {_names(glue)}"
                     + ("" if glue == want else f"; assigned {_names(want)}"))
    if not lines:
        return Finding(PENDING, (f"{name}: no delegation to it seen, so no glue",))
    if MISMATCH in statuses:
        return Finding(MISMATCH, tuple(lines))
    return Finding(VERIFIED if VERIFIED in statuses else PENDING, tuple(lines))
