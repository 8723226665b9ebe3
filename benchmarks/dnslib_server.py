"""The Python baseline: dnslib's own threaded `DNSServer` answering from the zone files.

Run as `python -m benchmarks.dnslib_server --zones-dir DIR --port N`. Zones are parsed
with dnslib's zone parser; the resolver implements the authoritative lookup of RFC 1034
§4.3.2 (closest zone, referral at a zone cut with glue, exact match, CNAME chain,
wildcard, NODATA and NXDOMAIN with the SOA) well enough to serve the same answers as
the other servers. It is a baseline, deliberately written the plain way.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer

__all__ = ["ZoneResolver", "main"]


class _Zone:
    def __init__(self, apex: str, records: list[RR]) -> None:
        self.apex = apex
        self.nodes: dict[str, dict[int, list[RR]]] = {}
        for rr in records:
            owner = str(rr.rname).lower()
            self.nodes.setdefault(owner, {}).setdefault(rr.rtype, []).append(rr)
        self.soa = self.nodes[apex][QTYPE.SOA][0]
        self.parents = {self._parent(name) for name in self.nodes}  # for empty non-terminals

    @staticmethod
    def _parent(name: str) -> str:
        return name.split(".", 1)[1] if "." in name.rstrip(".") else "."


class ZoneResolver(BaseResolver):
    """Answers authoritatively from a set of zones."""

    def __init__(self, zones: dict[str, _Zone]) -> None:
        self.zones = zones

    def _find_zone(self, qname: str) -> _Zone | None:
        labels = qname.split(".")
        for start in range(len(labels) - 1):
            zone = self.zones.get(".".join(labels[start:]))
            if zone is not None:
                return zone
        return None

    def _negative(self, reply: DNSRecord, zone: _Zone, rcode: int) -> DNSRecord:
        reply.header.rcode = rcode
        soa = zone.soa
        reply.add_auth(RR(soa.rname, QTYPE.SOA, ttl=min(soa.ttl, soa.rdata.times[4]),
                          rdata=soa.rdata))
        return reply

    def _referral(self, reply: DNSRecord, zone: _Zone, cut: str) -> DNSRecord:
        for ns in zone.nodes[cut][QTYPE.NS]:
            reply.add_auth(ns)
            glue = zone.nodes.get(str(ns.rdata.label).lower(), {})
            for rtype in (QTYPE.A, QTYPE.AAAA):
                for rr in glue.get(rtype, ()):
                    reply.add_ar(rr)
        return reply

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply(ra=0)
        qname = str(request.q.qname).lower()
        qtype = request.q.qtype
        zone = self._find_zone(qname)
        if zone is None:
            reply.header.rcode = RCODE.REFUSED
            reply.header.aa = 0
            return reply
        for _ in range(8):  # CNAME chain, bounded
            # a zone cut between the apex and qname: referral (RFC 1034 §4.3.2 step 3b)
            labels = qname[: -len(zone.apex) - 1].split(".") if qname != zone.apex else []
            for depth in range(len(labels), 0, -1):
                cut = ".".join(labels[depth - 1:]) + "." + zone.apex
                if QTYPE.NS in zone.nodes.get(cut, {}):
                    reply.header.aa = 0
                    return self._referral(reply, zone, cut)
            node = zone.nodes.get(qname)
            owner = qname
            if node is None and qname not in zone.parents:
                node = self._wildcard(zone, qname)
            if node is None:
                if qname in zone.parents:
                    return self._negative(reply, zone, RCODE.NOERROR)
                return self._negative(reply, zone, RCODE.NXDOMAIN)
            if qtype in node:
                for rr in node[qtype]:
                    reply.add_answer(RR(owner, rr.rtype, ttl=rr.ttl, rdata=rr.rdata))
                return reply
            if QTYPE.CNAME not in node:
                return self._negative(reply, zone, RCODE.NOERROR)
            cname = node[QTYPE.CNAME][0]
            reply.add_answer(RR(owner, QTYPE.CNAME, ttl=cname.ttl, rdata=cname.rdata))
            qname = str(cname.rdata.label).lower()
            zone = self._find_zone(qname)
            if zone is None:
                return reply
        return reply

    @staticmethod
    def _wildcard(zone: _Zone, qname: str) -> dict[int, list[RR]] | None:
        """The wildcard node at the closest encloser of qname (RFC 4592), if any."""
        name = qname
        while name != zone.apex:
            name = _Zone._parent(name)
            if name in zone.nodes or name in zone.parents:
                return zone.nodes.get("*." + name)
        return None


def load_zones(directory: Path) -> dict[str, _Zone]:
    zones = {}
    for path in sorted(directory.glob("*.zone")):
        apex = DNSLabel(path.name[: -len(".zone")]).idna().lower()
        zones[apex] = _Zone(apex, RR.fromZone(path.read_text(), origin=apex))
    return zones


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--zones-dir", type=Path, required=True)
    parser.add_argument("--address", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    resolver = ZoneResolver(load_zones(args.zones_dir))
    quiet = DNSLogger("-request,-reply,-truncated,-error")
    servers = [DNSServer(resolver, port=args.port, address=args.address, tcp=tcp, logger=quiet)
               for tcp in (False, True)]
    for server in servers:
        server.start_thread()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
