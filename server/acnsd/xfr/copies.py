"""The secondary's copies of its zones, on disk and as the tables serve them.

The rules owned here: a zone transferred in is kept as a zone file `<apex>zone` (RFC 1035
master format, absolute names) in `server.secondary.dir`, written atomically and synced
(state.write_atomic) before it is served, so that a restart, even after kill -9, serves
the last accepted transfer at once. The file's modification time is when the primary
last confirmed the copy (a transfer, or an SOA check that found the serial unchanged):
the zone's SOA expire is counted from it, across restarts too (as Knot DNS keeps its
timers). A copy is served exactly as transferred: its records, in the wire form the
compiler reads (plan.ZonePlan).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.rrset
import dns.zone

from ..dns.plan import ZonePlan, zone_plan
from ..dns.wire import encode_rrset
from ..model.state import write_atomic

__all__ = ["Copy", "load", "path_of", "plan_of", "remove", "save", "soa_of", "touch"]

log = logging.getLogger("acnsd.xfr")


class Copy(dns.zone.Zone):
    """A zone transferred in (names absolute), noting how the last transfer wrote it:
    dnspython's inbound transfer replaces the zone for an AXFR (or an IXFR answered
    whole, RFC 1995 §4) and changes it for an incremental IXFR."""

    replaced = True

    def writer(self, replacement: bool = False) -> dns.zone.Transaction:
        self.replaced = replacement
        return super().writer(replacement)


def soa_of(zone: dns.zone.Zone) -> dns.rdtypes.ANY.SOA.SOA:
    return zone.find_rdataset(zone.origin, dns.rdatatype.SOA)[0]  # type: ignore[arg-type,return-value]


def path_of(directory: Path, apex: str) -> Path:
    """The file of the zone `apex` ("example.com", lower-case)."""
    return directory / f"{apex}.zone"


def save(directory: Path, zone: dns.zone.Zone) -> None:
    """Write the copy (blocking: the zone's size); its time is now."""
    apex = zone.origin.to_text().rstrip(".")  # type: ignore[union-attr]
    write_atomic(path_of(directory, apex), zone.to_text(relativize=False, want_origin=True))


def touch(directory: Path, apex: str) -> None:
    """The primary confirmed the copy now (an SOA check found its serial)."""
    try:
        os.utime(path_of(directory, apex))
    except OSError as exc:
        log.warning("event=secondary_copy_untouched zone=%s reason=%r", apex, exc.strerror)


def load(directory: Path, apex: str) -> tuple[Copy, float] | None:
    """The copy of `apex` and when the primary last confirmed it; None: no (readable) copy."""
    path = path_of(directory, apex)
    try:
        confirmed = path.stat().st_mtime
        zone = dns.zone.from_file(str(path), apex + ".", relativize=False,
                                  zone_factory=Copy)
    except FileNotFoundError:
        return None
    except (OSError, dns.exception.DNSException) as exc:
        log.warning("event=secondary_copy_unreadable zone=%s path=%s reason=%r", apex, path,
                    str(exc))
        return None
    return zone, min(confirmed, time.time())  # type: ignore[return-value]


def remove(directory: Path, apex: str) -> None:
    path_of(directory, apex).unlink(missing_ok=True)


def plan_of(zone: dns.zone.Zone) -> ZonePlan:
    """What the tables serve of a copy: every RRset, as transferred."""
    return zone_plan(zone.origin, (encode_rrset(_rrset(name, rdataset))  # type: ignore[arg-type]
                                   for name, node in zone.items() for rdataset in node))


def _rrset(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
    rrset.update(rdataset)
    return rrset
