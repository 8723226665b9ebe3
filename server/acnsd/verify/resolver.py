"""A small iterative resolver for the delegation checks (RFC 1034 §5.3.3, without a cache
across runs): from the root servers, follow referrals down to the servers authoritative for
a name, and say what each step saw.

Rule owned here: every query goes to one server address with RD clear, over UDP and again
over TCP when the answer is truncated (dnspython's udp_with_fallback); a server that does
not answer, answers with an error rcode, or answers without AA and without a referral is
*lame* for that step, and the walk tries the zone's next server. Each walk is bounded: at
most MAX_REFERRALS referrals, nameserver addresses resolved MAX_DEPTH deep, and every
query waits `timeout` seconds at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

__all__ = ["Delegation", "Lame", "Resolver", "Walk"]

MAX_REFERRALS = 16
MAX_DEPTH = 3  # nameservers whose addresses need their own walk, nested
EDNS_PAYLOAD = 1232


@dataclass(frozen=True)
class Lame:
    """A server that gave no usable answer for `zone`, and why."""

    server: str
    zone: str
    why: str


@dataclass(frozen=True)
class Delegation:
    """A referral: `parent`'s server `server` delegates `zone` to `ns` with `glue`
    (A and AAAA values by nameserver name). Names are lower-case, without the final dot."""

    zone: str
    parent: str
    server: str
    ns: tuple[str, ...]
    glue: dict[str, tuple[str, ...]]


@dataclass
class Walk:
    """Where a walk went: its referrals in order, the lame servers met, and the final
    authoritative answer (None: no server answered authoritatively)."""

    referrals: list[Delegation] = field(default_factory=list)
    lame: list[Lame] = field(default_factory=list)
    server: str | None = None  # the server of the final answer
    answer: dns.message.Message | None = None

    @property
    def zone(self) -> str:
        """The zone the final answer came from (as far as the referrals say)."""
        return self.referrals[-1].zone if self.referrals else "."


def text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower() or "."


class Resolver:
    """Iterative resolution from `roots` (addresses), every server asked on `port`. One
    Resolver serves one run of checks: the zone cuts it met and the nameserver addresses
    it resolved are kept (so a run asks the roots about each TLD once)."""

    def __init__(self, roots: tuple[str, ...], port: int = 53, timeout: float = 2.0) -> None:
        self.roots = roots
        self.port = port
        self.timeout = timeout
        self._addresses: dict[str, tuple[str, ...]] = {}
        self._cuts: dict[str, Delegation] = {}  # zone → the first referral met to it

    def query(self, server: str, qname: str, rdtype: str) -> dns.message.Message | str:
        """One question to one server: its response, or why there is none."""
        q = dns.message.make_query(qname, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        q.flags &= ~dns.flags.RD
        try:
            response, _ = dns.query.udp_with_fallback(q, server, self.timeout, self.port)
        except dns.exception.Timeout:
            return "no answer (timeout)"
        except (dns.exception.DNSException, OSError) as exc:
            return f"no answer ({exc.__class__.__name__}: {exc})"
        return response

    def walk(self, qname: str, rdtype: str, stop_at: str | None = None,
             depth: int = 0) -> Walk:
        """Follow referrals toward `qname`, until an authoritative answer, or (with
        `stop_at`) the referral that delegates `stop_at`; from the deepest zone cut this
        Resolver has met above `qname`, else from the roots."""
        if stop_at in self._cuts:
            return Walk(referrals=[self._cuts[stop_at]])
        target = dns.name.from_text(qname)
        walk, zone, servers = self._start(target, depth)
        for _ in range(MAX_REFERRALS):
            for server in servers:
                response = self.query(server, qname, rdtype)
                outcome = _classify(response, zone, target)
                if isinstance(outcome, str):
                    walk.lame.append(Lame(server, zone, outcome))
                    continue
                if outcome is None:  # authoritative
                    walk.server, walk.answer = server, response  # type: ignore[assignment]
                    return walk
                delegation = Delegation(text(outcome.name), zone, server, *_ns_glue(
                    response, outcome))  # type: ignore[arg-type]
                walk.referrals.append(delegation)
                self._cuts.setdefault(delegation.zone, delegation)
                break
            else:
                return walk  # every server of `zone` was lame
            if delegation.zone == stop_at:
                return walk
            zone, servers = delegation.zone, self.addresses(delegation, depth)
        return walk

    def _start(self, target: dns.name.Name, depth: int) -> tuple[Walk, str, list[str]]:
        """Where a walk toward `target` starts: the deepest zone cut met above it whose
        nameservers have addresses (the walk begins with its referral), else the root."""
        name = target
        while name != dns.name.root:
            cut = self._cuts.get(text(name))
            if cut is not None and (servers := self.addresses(cut, depth)):
                return Walk(referrals=[cut]), cut.zone, servers
            name = name.parent()
        return Walk(), ".", list(self.roots)

    def nameservers(self, delegation: Delegation, depth: int = 0) -> dict[str, list[str]]:
        """The addresses of each of a delegation's nameservers, IPv4 first: its glue, else
        (within MAX_DEPTH) what its own authoritative servers answer."""
        found = {}
        for name in delegation.ns:
            glue = delegation.glue.get(name)
            if glue is None and depth < MAX_DEPTH:
                glue = self.resolve_addresses(name, depth + 1)
            found[name] = sorted(glue or (), key=lambda a: ":" in a)
        return found

    def addresses(self, delegation: Delegation, depth: int = 0) -> list[str]:
        """Every address of a delegation's nameservers, IPv4 first."""
        found = [a for addresses in self.nameservers(delegation, depth).values()
                 for a in addresses]
        return sorted(dict.fromkeys(found), key=lambda a: ":" in a)

    def ask(self, addresses: list[str], qname: str,
            rdtype: str) -> tuple[str, dns.message.Message] | str:
        """One nameserver's authoritative response (its addresses tried in turn), or why
        none of them gave one."""
        why = []
        for address in addresses:
            response = self.query(address, qname, rdtype)
            if isinstance(response, str):
                why.append(f"{address}: {response}")
            elif response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                why.append(f"{address}: answered {dns.rcode.to_text(response.rcode())}")
            elif not response.flags & dns.flags.AA:
                why.append(f"{address}: not authoritative (no AA)")
            else:
                return address, response
        return "; ".join(why) or "no address found"

    def resolve_addresses(self, name: str, depth: int = 0) -> tuple[str, ...]:
        """A host's A then AAAA values, as its authoritative servers give them."""
        if name not in self._addresses:
            self._addresses[name] = ()  # a loop through this name finds nothing
            values: list[str] = []
            for rdtype in ("A", "AAAA"):
                walk = self.walk(name, rdtype, depth=depth)
                if walk.answer is not None:
                    values += rrset_values(walk.answer, name, rdtype)
            self._addresses[name] = tuple(values)
        return self._addresses[name]


def rrset_values(response: dns.message.Message, name: str, rdtype: str) -> list[str]:
    """The values of the answer's RRset of `name` and `rdtype` (none: an empty list)."""
    owner = dns.name.from_text(name)
    kind = dns.rdatatype.from_text(rdtype)
    return sorted(rr.to_text().lower() for rrset in response.answer
                  if rrset.name == owner and rrset.rdtype == kind for rr in rrset)


def _classify(response: dns.message.Message | str, zone: str,
              target: dns.name.Name) -> dns.rrset.RRset | str | None:
    """None for an authoritative answer, the NS RRset of a referral below `zone`, or
    why the response is neither (the server is lame for this step)."""
    if isinstance(response, str):
        return response
    rcode = response.rcode()
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return f"answered {dns.rcode.to_text(rcode)}"
    if response.flags & dns.flags.AA:
        return None
    above = dns.name.from_text(zone)
    for rrset in response.authority:
        if (rrset.rdtype == dns.rdatatype.NS and rrset.name != above
                and rrset.name.is_subdomain(above) and target.is_subdomain(rrset.name)):
            return rrset
    return "not authoritative (no AA, no referral)"


def _ns_glue(response: dns.message.Message,
             ns: dns.rrset.RRset) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    names = tuple(sorted(text(rr.target) for rr in ns))
    glue: dict[str, list[str]] = {}
    for rrset in response.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and text(rrset.name) in names:
            glue.setdefault(text(rrset.name), []).extend(rr.to_text().lower() for rr in rrset)
    return names, {name: tuple(sorted(values)) for name, values in glue.items()}
