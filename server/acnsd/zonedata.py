"""A zone's served content: its zone file plus what acnsd manages (rules R8, R9, R10).

- R8: the A/AAAA of nameserver names provided by this zone are part of its data,
  read-only, with the zone's `ns_ttl`; a zone file record of the same name and type is an
  error.
- R9: the apex NS RRset is synthesized from the assigned nameservers with TTL `ns_ttl`;
  apex NS records in the zone file are ignored with a warning unless `multi_provider`, in
  which case both are served.
- R10: the SOA is managed (mname = first nameserver, rname = hostmaster.<zone>, timers
  from dns_settings.soa), and its serial increases whenever the served content changes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from .errors import Problem
from .model import ResolvedZone
from .plan import ZonePlan
from .state import State

__all__ = ["ZoneFileData", "build_zone", "read_zone_file"]

ZoneFileData = dict[tuple[dns.name.Name, int], dns.rrset.RRset]
Locate = Callable[[str, str, str | None], Problem]


def read_zone_file(zone: ResolvedZone, locate: Locate) -> tuple[ZoneFileData | None,
                                                                 list[Problem]]:
    """Parse a zone's RFC 1035 master file with dnspython; (owner, type) → RRset."""
    origin = dns.name.from_text(zone.name)
    try:
        parsed = dns.zone.from_file(str(zone.file), origin=origin, relativize=False,
                                    check_origin=False)
    except FileNotFoundError as exc:
        if exc.filename and exc.filename != str(zone.file):  # a $INCLUDE of the zone file
            return None, [Problem(f"zone {zone.name}: included file {exc.filename} does not "
                                  "exist", file=str(zone.file))]
        return None, [locate(f"{zone.path}.file", f"zone file {zone.file} of zone "
                             f"{zone.name} does not exist", None)]
    except OSError as exc:
        return None, [locate(f"{zone.path}.file", f"cannot read zone file {zone.file}: "
                             f"{exc.strerror}", None)]
    except UnicodeDecodeError as exc:
        return None, [Problem(f"zone {zone.name}: the zone file is not UTF-8 text (byte "
                              f"{exc.start}: {exc.reason})", file=str(zone.file))]
    except dns.exception.DNSException as exc:
        return None, [_zone_file_problem(zone, exc)]
    data: ZoneFileData = {}
    for name, node in parsed.nodes.items():
        for rdataset in node.rdatasets:
            rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype)
            rrset.update(rdataset)
            data[(name, rdataset.rdtype)] = rrset
    return data, []


def _zone_file_problem(zone: ResolvedZone, exc: Exception) -> Problem:
    text = str(exc)
    file, line = str(zone.file), None
    head, sep, rest = text.partition(": ")
    if sep and head.rpartition(":")[2].isdigit():
        file, _, number = head.rpartition(":")
        line, text = int(number), rest
    return Problem(f"zone {zone.name}: {text}", file=file, line=line)


def build_zone(zone: ResolvedZone, data: ZoneFileData,
               auto: dict[str, tuple[str | None, str | None]], state: State,
               locate: Locate) -> tuple[ZonePlan, list[Problem], list[Problem]]:
    """Merge the managed records into the file's; returns (plan, errors, warnings).

    `auto` maps each nameserver name whose A/AAAA this zone serves to (ipv4, ipv6).
    """
    errors: list[Problem] = []
    warnings: list[Problem] = []
    origin = dns.name.from_text(zone.name)
    records = dict(data)
    file_soa = records.pop((origin, dns.rdatatype.SOA), None)
    file_ns = records.pop((origin, dns.rdatatype.NS), None)
    if (origin, dns.rdatatype.CNAME) in records:
        errors.append(Problem(f"zone {zone.name}: the zone file has a CNAME at the apex, "
                              "where acnsd serves the SOA and NS; a CNAME cannot have other "
                              "data beside it (RFC 1034 §3.6.2)", file=str(zone.file),
                              rule="R9"))

    ns = dns.rrset.RRset(origin, dns.rdataclass.IN, dns.rdatatype.NS)
    for name in zone.nameservers:
        ns.add(_rdata("NS", f"{name}."), zone.ns_ttl)
    if file_ns is not None:
        if zone.multi_provider:
            for rd in file_ns:
                ns.add(rd, zone.ns_ttl)
        else:
            listed = ", ".join(sorted(str(rd.target) for rd in file_ns))
            warnings.append(Problem(f"zone {zone.name}: the NS records at the apex ({listed}) "
                                    "are ignored; the apex NS are the zone's assigned "
                                    "nameservers (set multi_provider: true to serve both)",
                                    file=str(zone.file), rule="R9"))
    records[(origin, dns.rdatatype.NS)] = ns

    for name, (v4, v6) in sorted(auto.items()):
        owner = dns.name.from_text(name)
        hidden = _hidden_by(owner, origin, data)
        if hidden:
            errors.append(Problem(f"zone {zone.name}: {name} is a nameserver name whose A/AAAA "
                                  f"acnsd serves in this zone, but the zone file has {hidden};"
                                  " remove it from the zone file", file=str(zone.file),
                                  rule="R8"))
            continue
        for rdtype, value in (("A", v4), ("AAAA", v6)):
            if value is None:
                continue
            key = (owner, dns.rdatatype.from_text(rdtype))
            if key in records:
                errors.append(Problem(f"zone {zone.name}: the zone file has {rdtype} records "
                                      f"for {name}, whose {rdtype} is managed by acnsd "
                                      f"(assigned {value}); remove them from the zone file",
                                      file=str(zone.file), rule="R8"))
                continue
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, key[1])
            rrset.add(_rdata(rdtype, value), zone.ns_ttl)
            records[key] = rrset

    if zone.soa.rname is None and len(f"hostmaster.{zone.name}") > 253:
        errors.append(locate(zone.path, f"zone {zone.name}: the default SOA rname "
                             f"hostmaster.{zone.name} is longer than a DNS name may be; set "
                             "dns_settings.soa.rname", "R10"))
        return ZonePlan(origin=origin, rrsets=tuple(records.values())), errors, warnings
    soa = _managed_soa(zone, origin, records, state)
    if file_soa is not None and _soa_fields(file_soa[0]) != _soa_fields(soa[0]):
        warnings.append(Problem(f"zone {zone.name}: the zone file's SOA ({file_soa[0]}) is "
                                f"replaced by the managed SOA ({soa[0]})", file=str(zone.file),
                                rule="R10"))
    records[(origin, dns.rdatatype.SOA)] = soa
    plan = ZonePlan(origin=origin, rrsets=tuple(records.values()),
                    nameservers=tuple(dns.name.from_text(n) for n in zone.nameservers))
    return plan, errors, warnings


def _hidden_by(owner: dns.name.Name, origin: dns.name.Name, data: ZoneFileData) -> str | None:
    """What in the zone file would make A/AAAA at `owner` invalid or unreachable: a CNAME
    at the name (RFC 1034 §3.6.2), or a delegation or DNAME between it and the apex."""
    if (owner, dns.rdatatype.CNAME) in data:
        return f"a CNAME at {owner}"
    name = owner
    while name != origin and name.is_subdomain(origin):
        if (name, dns.rdatatype.NS) in data:
            return f"a delegation (NS records) at {name}"
        if name != owner and (name, dns.rdatatype.DNAME) in data:
            return f"a DNAME at {name}"
        name = name.parent()
    return None


def _rdata(rdtype: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)


def _soa_fields(rd: dns.rdata.Rdata) -> tuple[object, ...]:
    return (rd.mname, rd.rname, rd.refresh, rd.retry, rd.expire, rd.minimum)


def _managed_soa(zone: ResolvedZone, origin: dns.name.Name,
                 records: ZoneFileData, state: State) -> dns.rrset.RRset:
    """The SOA of R10, with a serial bumped whenever the content digest changes."""
    s = zone.soa
    mname = s.mname or (zone.nameservers[0] if zone.nameservers else zone.name)
    rname = s.rname or f"hostmaster.{zone.name}"
    fields = f"{mname}. {rname}. {{serial}} {s.refresh} {s.retry} {s.expire} {s.min_ttl}"
    digest = hashlib.sha256(f"{fields} {s.ttl}".encode())
    for key in sorted(records):
        digest.update(records[key].to_text().encode())
    digest_text = digest.hexdigest()
    recorded = state.serials.get(zone.name)
    if recorded and recorded.get("digest") == digest_text:
        serial = int(recorded["serial"])
    else:
        previous = int(recorded["serial"]) if recorded else 0
        serial = max(previous + 1, int(time.time())) % 2**32
        state.serials[zone.name] = {"serial": serial, "digest": digest_text}
    soa = dns.rrset.RRset(origin, dns.rdataclass.IN, dns.rdatatype.SOA)
    soa.add(_rdata("SOA", fields.format(serial=serial)), s.ttl)
    return soa
