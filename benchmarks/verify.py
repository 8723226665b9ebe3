"""Checking that every server serves the same content before any of them is measured.

A sample of the mix's questions is sent to each server; rcode, the AA flag and the
answer and authority sections (as sorted RRsets, SOA serials ignored) must match the
reference server's. The additional section is not compared: which glue and addresses
a server adds is its own choice.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

__all__ = ["compare", "fingerprint"]


def _section(rrsets: list[dns.rrset.RRset]) -> list[str]:
    lines = []
    for rrset in rrsets:
        for rdata in rrset:
            if rrset.rdtype == dns.rdatatype.SOA:
                rdata = rdata.replace(serial=0)
            lines.append(f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} "
                         f"{rdata}".lower())
    return sorted(lines)


def fingerprint(port: int, name: str, rdtype: str) -> str:
    """What a server answers to (name, rdtype) over UDP, in a comparable form."""
    query = dns.message.make_query(name, rdtype)
    try:
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
    except dns.exception.Timeout:
        return "timeout"
    aa = "aa" if reply.flags & dns.flags.AA else "-"
    return "; ".join([dns.rcode.to_text(reply.rcode()), aa, *_section(reply.answer), "|",
                      *_section(reply.authority)])


def compare(ports: dict[str, int], questions: list[tuple[str, str]],
            reference: str) -> dict[str, list[str]]:
    """Per server, the differences from `reference` (at most 5 shown, then a count)."""
    differences: dict[str, list[str]] = {}
    for name, rdtype in questions:
        expected = fingerprint(ports[reference], name, rdtype)
        for server, port in ports.items():
            if server == reference:
                continue
            got = fingerprint(port, name, rdtype)
            if got != expected:
                differences.setdefault(server, []).append(
                    f"{name} {rdtype}: {reference} [{expected}] {server} [{got}]")
    return {server: found[:5] + ([f"... {len(found) - 5} more"] if len(found) > 5 else [])
            for server, found in differences.items()}
