"""A zone's DNS records as the management API shows and edits them (Cloudflare's dns_records).

Rule owned here: a zone's records are what it serves. Those of its zone file are the
client's to edit; those acnsd manages are listed read-only (`locked`, `meta.managed_by`)
with the rule that makes them: the SOA (R10), the apex NS (R9: the assigned nameservers)
and the A/AAAA of the nameserver names the zone provides (R8). The file's own SOA, and its
apex NS unless multi_provider, are not served (build_zone ignores them) and not listed.

- A record's id is derived from what it is: 32 hex digits of SHA-256 over (zone, owner,
  type, rdata in canonical wire form, RFC 4034 §6.2). A record listed again, exported
  and imported, or whose TTL is edited keeps its id; an edit of its name, type or data
  makes another record, with another id (returned by PUT/PATCH).
- A TTL belongs to the RRset (RFC 2181 §5.2): a record written with a TTL sets it for the
  records of its owner and type. `ttl: 1` (Cloudflare's "automatic") is the zone file's
  $TTL, or AUTO_TTL when it has none; a record written without `ttl` (POST, PUT) takes
  its RRset's TTL, or the automatic one when it is alone in its RRset; PATCH without `ttl`
  keeps the record's.
- The API rewrites the zone file canonically: its leading comment lines, $ORIGIN and
  $TTL are kept; then one line per record, in the file's order (other comments and
  $GENERATE ranges are not kept: each generated record gets its line). A file with
  $INCLUDE is not rewritten (edit it on disk).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.TXT
import dns.ttl
import dns.zone

from ..model.types import Model, ResolvedZone, zone_id

__all__ = ["AUTO_TTL", "EDITABLE", "Record", "RecordError", "ZoneText", "export", "managed",
           "owner_of", "rdata_of", "record_id", "record_object", "records_of", "served",
           "ttl_of"]

AUTO_TTL = 300  # seconds: `ttl: 1` when the zone file has no $TTL (Cloudflare's automatic)
MIN_TTL, MAX_TTL = 30, 86400
EDITABLE = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA", "PTR", "DNAME")
_IN = dns.rdataclass.IN
_SOA, _NS = dns.rdatatype.SOA, dns.rdatatype.NS
_TTL_LINE = re.compile(r"^\$TTL[ \t]+(\S+)", re.IGNORECASE | re.MULTILINE)
_INCLUDE = re.compile(r"^\$INCLUDE", re.IGNORECASE | re.MULTILINE)
_TARGETS = ("CNAME", "NS", "PTR", "DNAME")  # content: one domain name
_TXT_CHUNK = 255  # octets of one TXT character-string (RFC 1035 §3.3)
# TXT_DOC: a TXT record's content is its text, cut in strings of _TXT_CHUNK octets; content
# that begins with a double quote is the presentation form (one or more quoted strings,
# RFC 1035 §5.1), and a record of several strings, or whose text begins with a double
# quote, is listed in that form, so that what is listed can be written back as it is.


class RecordError(ValueError):
    """A record request that cannot be made: its message, and the rule it would break."""

    def __init__(self, message: str, rule: str | None = None):
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Record:
    """One record: absolute owner, TTL (its RRset's), rdata; `rule`: the rule by which
    acnsd manages it (None: the zone file's)."""

    name: dns.name.Name
    ttl: int
    rdata: dns.rdata.Rdata
    rule: str | None = None

    @property
    def type(self) -> str:
        return dns.rdatatype.to_text(self.rdata.rdtype)

    def same(self, other: Record) -> bool:
        """The same record (owner, type, rdata; TTL aside)."""
        return (self.name == other.name and self.rdata.rdtype == other.rdata.rdtype
                and self.rdata == other.rdata)


def record_id(zone: str, record: Record) -> str:
    """The record's id (module doc)."""
    digest = hashlib.sha256(zone.encode() + b"\0")
    digest.update(record.name.canonicalize().to_wire())
    digest.update(record.rdata.rdtype.to_bytes(2, "big"))
    digest.update(record.rdata.to_digestable(dns.name.root))
    return digest.hexdigest()[:32]


@dataclass
class ZoneText:
    """A zone file as the API rewrites it: leading comments, $TTL, records in order."""

    origin: dns.name.Name
    header: list[str]
    default_ttl: int | None
    records: list[Record] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str, origin: dns.name.Name) -> ZoneText:
        """The file's text parsed (by dnspython: most of a change's time in a zone of
        10,000 records), or as the API's last rewrite to this text left it (rewritten)."""
        key = (origin, hashlib.sha256(text.encode("utf-8")).digest())
        known = _PARSED.get(key)
        if known is not None:
            _PARSED.move_to_end(key)
            return known.copy()
        parsed = cls._parse(text, origin)
        _remember(key, parsed.copy())
        return parsed

    @classmethod
    def _parse(cls, text: str, origin: dns.name.Name) -> ZoneText:
        if _INCLUDE.search(text):
            raise RecordError("the zone file uses $INCLUDE; edit its records on disk")
        header = []
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith(";"):
                break
            header.append(line)
        while header and not header[-1].strip():
            header.pop()
        ttl = _TTL_LINE.search(text)
        try:
            parsed = dns.zone.from_text(text, origin, relativize=False, check_origin=False)
            default_ttl = dns.ttl.from_text(ttl[1]) if ttl else None
        except dns.exception.DNSException as exc:
            raise RecordError(f"the zone file cannot be read: {exc}; fix it on disk") from None
        records = [Record(name, ttl, rdata) for name, ttl, rdata in parsed.iterate_rdatas()]
        return cls(origin, header, default_ttl, records)

    def copy(self) -> ZoneText:
        return replace(self, header=list(self.header), records=list(self.records))

    def rewritten(self) -> str:
        """text(), with what parse() makes of it remembered: the records as dns.zone
        reads them back (_as_read), so that the next change does not parse the file again.
        (Not with a CNAME: dnspython applies its node rules to it.)"""
        text = self.text()
        if all(r.rdata.rdtype != dns.rdatatype.CNAME for r in self.records):
            key = (self.origin, hashlib.sha256(text.encode("utf-8")).digest())
            _remember(key, replace(self.copy(), records=_as_read(self.records)))
        return text

    @property
    def auto_ttl(self) -> int:
        return self.default_ttl if self.default_ttl is not None else AUTO_TTL

    def text(self) -> str:
        lines = [*self.header, f"$ORIGIN {self.origin}"]
        if self.default_ttl is not None:
            lines.append(f"$TTL {self.default_ttl}")
        for r in self.records:
            owner = r.name.relativize(self.origin).to_text()
            lines.append(f"{owner} {r.ttl} IN {r.type} "
                         f"{r.rdata.to_text(origin=self.origin, relativize=True)}")
        return "\n".join(lines) + "\n"

    def add(self, record: Record) -> None:
        """Add a record (RecordError when it is there already), its TTL set on its RRset."""
        if any(r.same(record) for r in self.records):
            raise RecordError(f"an identical record already exists: {record.name} "
                              f"{record.type} {record.rdata}")
        self.records.append(record)
        self.set_ttl(record.name, record.rdata.rdtype, record.ttl)

    def remove(self, record: Record) -> None:
        self.records = [r for r in self.records if not r.same(record)]

    def rrset_ttl(self, name: dns.name.Name, rdtype: int) -> int | None:
        return next((r.ttl for r in self.records
                     if r.name == name and r.rdata.rdtype == rdtype), None)

    def set_ttl(self, name: dns.name.Name, rdtype: int, ttl: int) -> None:
        self.records = [replace(r, ttl=ttl) if r.name == name and r.rdata.rdtype == rdtype
                        else r for r in self.records]


_PARSED: OrderedDict[tuple[dns.name.Name, bytes], ZoneText] = OrderedDict()
_PARSED_MAX = 8  # zone files: the last ones the API read or wrote


def _remember(key: tuple[dns.name.Name, bytes], parsed: ZoneText) -> None:
    _PARSED[key] = parsed
    _PARSED.move_to_end(key)
    while len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)


def _as_read(records: list[Record]) -> list[Record]:
    """`records`, listed in this order, as dns.zone reads them back: each owner's
    records together, the owners in the order they first appear (spelled so), their types
    in the order they last appear (a record added to an RRset puts it last), an RRset's
    TTL its smallest, each rdata once."""
    owners: dict[dns.name.Name, dict[int, list[Record]]] = {}
    for record in records:
        types = owners.setdefault(record.name, {})
        rrset = types.pop(record.rdata.rdtype, [])
        types[record.rdata.rdtype] = rrset
        if all(r.rdata != record.rdata for r in rrset):
            rrset.append(record)
    read = []
    for owner, types in owners.items():  # (a dict keeps the key it was first given)
        for rrset in types.values():
            ttl = min(r.ttl for r in rrset)
            read += [r if r.ttl == ttl and r.name.labels == owner.labels
                     else replace(r, name=owner, ttl=ttl) for r in rrset]
    return read


def managed(model: Model, zone: ResolvedZone, serial: int | None) -> list[Record]:
    """What acnsd serves in the zone beside its file: SOA (R10), apex NS (R9), the A/AAAA
    of the nameserver names it provides (R8)."""
    origin = dns.name.from_text(zone.name)
    s = zone.soa
    mname = s.mname or (zone.nameservers[0] if zone.nameservers else zone.name)
    rname = s.rname or f"hostmaster.{zone.name}"
    soa = (f"{_fqdn(mname)} {_fqdn(rname)} {serial or 0} {s.refresh} {s.retry} {s.expire} "
           f"{s.min_ttl}")
    records = [Record(origin, s.ttl, _rdata("SOA", soa), "R10")]
    records += [Record(origin, zone.ns_ttl, _rdata("NS", _fqdn(ns)), "R9")
                for ns in dict.fromkeys(zone.nameservers)]
    for address in sorted(model.addresses.values(), key=lambda a: a.name):
        if address.served_in != zone.name:
            continue
        owner = dns.name.from_text(address.name)
        for rdtype, value in (("A", address.ipv4), ("AAAA", address.ipv6)):
            if value is not None:
                records.append(Record(owner, zone.ns_ttl, _rdata(rdtype, value), "R8"))
    return records


def served(zone: ResolvedZone, file: ZoneText) -> list[Record]:
    """The zone file's records that are served: not its SOA, nor its apex NS unless
    multi_provider (R9, R10)."""
    origin = file.origin
    return [r for r in file.records if r.rdata.rdtype != _SOA and not (
        r.name == origin and r.rdata.rdtype == _NS and not zone.multi_provider)]


def records_of(model: Model, zone: ResolvedZone, file: ZoneText,
               serial: int | None) -> list[Record]:
    """Every record the zone serves, in DNS order (owner, type, rdata): RFC 4034 §6."""
    everything = managed(model, zone, serial) + served(zone, file)
    return sorted(everything, key=lambda r: (r.name, r.rdata.rdtype,
                                             r.rdata.to_digestable(dns.name.root)))


def export(model: Model, zone: ResolvedZone, file: ZoneText, serial: int | None) -> str:
    """The zone as served, a BIND zone file (SOA first)."""
    records = records_of(model, zone, file, serial)
    records.sort(key=lambda r: r.rdata.rdtype != _SOA)
    text = ZoneText(file.origin, [f";; {zone.name}: exported by the acnsd management API"],
                    None, records)
    return text.text()


def record_object(zone: ResolvedZone, record: Record) -> dict[str, Any]:
    """Cloudflare's DNS record object."""
    rd = record.rdata
    kind = record.type
    result: dict[str, Any] = {
        "id": record_id(zone.name, record), "zone_id": zone_id(zone.name),
        "zone_name": zone.name, "name": record.name.to_text(omit_final_dot=True),
        "type": kind, "content": _content(rd, kind), "ttl": record.ttl,
        "proxiable": False, "proxied": False, "locked": record.rule is not None,
        "meta": {"auto_added": False, "managed_by": "acnsd" if record.rule else None,
                 "read_only": record.rule is not None, "rule": record.rule},
        "comment": None, "tags": [],
    }
    if kind == "MX":
        result["priority"] = rd.preference
    elif kind == "SRV":
        result["priority"] = rd.priority
        result["data"] = {"priority": rd.priority, "weight": rd.weight, "port": rd.port,
                          "target": rd.target.to_text(omit_final_dot=True)}
    elif kind == "CAA":
        result["data"] = {"flags": rd.flags, "tag": rd.tag.decode(),
                          "value": rd.value.decode(errors="backslashreplace")}
    return result


def _content(rd: dns.rdata.Rdata, kind: str) -> str:
    if kind in ("A", "AAAA"):
        return str(rd.address)
    if kind in _TARGETS:
        return str(rd.target.to_text(omit_final_dot=True))
    if kind == "MX":
        return str(rd.exchange.to_text(omit_final_dot=True))
    if kind == "SRV":
        return f"{rd.weight} {rd.port} {rd.target.to_text(omit_final_dot=True)}"
    if kind == "TXT" and len(rd.strings) == 1 and not rd.strings[0].startswith(b'"'):
        return str(rd.strings[0].decode(errors="backslashreplace"))  # (else quoted: TXT_DOC)
    if kind == "SOA":
        return (f"{rd.mname.to_text(omit_final_dot=True)} {rd.rname.to_text(omit_final_dot=True)}"
                f" {rd.serial} {rd.refresh} {rd.retry} {rd.expire} {rd.minimum}")
    return str(rd.to_text(origin=dns.name.root, relativize=False))


def owner_of(text: str, zone: str) -> dns.name.Name:
    """A record name as Cloudflare takes it: `@` or the zone's name for the apex, a name
    ending in the zone's name as it is, any other relative to the zone."""
    name = text.strip().rstrip(".").lower()
    try:
        if name in ("@", "", zone):
            return dns.name.from_text(zone)
        if name.endswith("." + zone):
            return dns.name.from_text(name + ".")
        return dns.name.from_text(f"{name}.{zone}.")
    except dns.exception.DNSException as exc:
        raise RecordError(f"invalid record name {text!r}: {exc}") from None


def rdata_of(kind: str, content: Any, priority: Any, data: Any) -> dns.rdata.Rdata:
    """The rdata of a record of type `kind` from Cloudflare's fields (content; priority for
    MX; data for SRV and CAA)."""
    try:
        if kind in ("A", "AAAA"):
            return _rdata(kind, _need(content, "content"))
        if kind in _TARGETS:
            return _rdata(kind, _fqdn(_need(content, "content")))
        if kind == "MX":
            return _rdata(kind, f"{_need(priority, 'priority')} "
                                f"{_fqdn(_need(content, 'content'))}")
        if kind == "TXT":  # TXT_DOC
            text = _need(content, "content")
            if text.startswith('"'):
                return _rdata(kind, text)
            raw = text.encode()
            chunks = [raw[i:i + _TXT_CHUNK] for i in range(0, len(raw), _TXT_CHUNK)] or [b""]
            return dns.rdtypes.ANY.TXT.TXT(_IN, dns.rdatatype.TXT, chunks)
        if kind == "SRV":
            d = _fields(data, ("priority", "weight", "port", "target"))
            return _rdata(kind, f"{d['priority']} {d['weight']} {d['port']} "
                                f"{_fqdn(d['target'])}")
        if kind == "CAA":
            d = _fields(data, ("flags", "tag", "value"))
            return dns.rdtypes.ANY.CAA.CAA(_IN, dns.rdatatype.CAA, d["flags"],
                                           str(d["tag"]).encode(), str(d["value"]).encode())
    except (dns.exception.DNSException, ValueError, TypeError) as exc:
        raise RecordError(f"invalid {kind} record: {exc}") from None
    raise RecordError(f"records of type {kind!r} cannot be written through the API "
                      f"(types: {', '.join(EDITABLE)}); edit the zone file on disk")


def _need(value: Any, name: str) -> Any:
    if value is None:
        raise RecordError(f"{name} is required for this record type")
    return value


def _fields(data: Any, names: Iterable[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RecordError(f"data ({', '.join(names)}) is required for this record type")
    missing = [n for n in names if data.get(n) is None]
    if missing:
        raise RecordError(f"data: missing {', '.join(missing)}")
    return data


def ttl_of(value: int, file: ZoneText) -> int:
    """A requested TTL: 1 is automatic (module doc); else MIN_TTL..MAX_TTL."""
    if value == 1:
        return file.auto_ttl
    if not MIN_TTL <= value <= MAX_TTL:
        raise RecordError(f"ttl must be 1 (automatic) or {MIN_TTL}..{MAX_TTL}, not {value}")
    return value


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _rdata(kind: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(_IN, kind, text, origin=dns.name.root, relativize=False)

