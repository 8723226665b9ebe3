"""Zone file data below a DNAME (RFC 6672 §2.4): occluded, never served.

The rule this module owns: a zone file's records whose owner is below the owner of a
DNAME of the same file are worth a warning (the answering core substitutes such names,
lookup.py; Knot DNS and NSD refuse such a zone), one per DNAME, located at the first
line that holds such a record when the file spells its owner on a line of its own (the
records carry no line numbers: the file is read again, only when there is one).
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdatatype

from ..dns.wire import WireRRset, decode_rrset
from ..errors import Problem

__all__ = ["occluded_warnings"]

_DNAME = dns.rdatatype.DNAME
_SHOWN = 3  # occluded names a warning lists


def occluded_warnings(zone_name: str, origin: dns.name.Name, file: str, account: str,
                      records: tuple[WireRRset, ...]) -> list[Problem]:
    """One warning per DNAME of `records` (a zone file's RRsets) with records below it."""
    dnames = {r.owner.key for r in records if r.rdtype == _DNAME}
    if not dnames:
        return []
    below: dict[bytes, list[dns.name.Name]] = {}
    for rrset in records:
        key = rrset.owner.key
        while key != b"\0":
            key = key[key[0] + 1 :]
            if key in dnames:
                names = below.setdefault(key, [])
                name = decode_rrset(rrset).name
                if name not in names:
                    names.append(name)
                break
    warnings = []
    for key, names in below.items():
        owner = dns.name.from_wire(key, 0)[0]
        listed = ", ".join(map(str, names[:_SHOWN])) + (" ..." if len(names) > _SHOWN else "")
        warnings.append(Problem(
            f"zone {zone_name}: {len(names)} name(s) with records below the DNAME at {owner} "
            f"({listed}): a DNAME hides the data below its owner, which is never served "
            "(RFC 6672 §2.4); remove them or the DNAME",
            file=file, line=_line_of(file, names[0], origin), accounts=(account,)))
    return warnings


def _line_of(path: str, owner: dns.name.Name, origin: dns.name.Name) -> int | None:
    """The first line of the file at `path` that starts with `owner` (relative to the
    origin in force: the zone's, or the last $ORIGIN's), or None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                words = line.partition(";")[0].split()
                if not words or line[0].isspace():
                    continue
                try:
                    if words[0].upper() == "$ORIGIN" and len(words) > 1:
                        origin = dns.name.from_text(words[1], origin)
                    elif dns.name.from_text(words[0], origin) == owner:
                        return number
                except dns.exception.DNSException:
                    continue
    except OSError:
        return None
    return None
