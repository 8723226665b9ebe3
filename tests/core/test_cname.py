"""CNAME (RFC 1034 §4.3.2 step 3a, RFC 6604): followed inside the zone and into other zones
served here, bounded, loops cut; the rcode is the last name's, AA the first name's."""

import pytest
from acnsd.dns.lookup import MAX_CHAIN

from .zonetext import ask, check, tables, zone

CHAIN = "\n".join(f"c{i} CNAME c{i + 1}" for i in range(MAX_CHAIN + 2))
T = tables(
    zone(
        "example.com.",
        f"""
www A 192.0.2.10
alias CNAME www
chain1 CNAME chain2
chain2 CNAME alias
dangling CNAME nothere
empty CNAME ent
x.ent A 192.0.2.1
loop1 CNAME loop2
loop2 CNAME loop1
self CNAME self
out CNAME www.elsewhere.net.
cross CNAME host.other.org.
crossnx CNAME nx.other.org.
tocut CNAME x.deleg
deleg NS ns.deleg
ns.deleg A 192.0.2.53
{CHAIN}
c{MAX_CHAIN + 2} A 192.0.2.99
""",
    ),
    zone("other.org.", "host A 198.51.100.1"),
)

SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"
OTHER_SOA = "other.org. 1800 IN SOA ns1.other.org. hostmaster.other.org. 1 10000 2400 604800 1800"
WWW = "www.example.com. 3600 IN A 192.0.2.10"


def cname(owner: str, target: str) -> str:
    return f"{owner}.example.com. 3600 IN CNAME {target}"


CASES = [
    # (qname, qtype, rcode, answer, authority, additional)
    ("alias", "A", "NOERROR", [cname("alias", "www.example.com."), WWW], [], []),
    ("alias", "CNAME", "NOERROR", [cname("alias", "www.example.com.")], [], []),
    ("chain1", "A", "NOERROR",
     [cname("chain1", "chain2.example.com."), cname("chain2", "alias.example.com."),
      cname("alias", "www.example.com."), WWW], [], []),
    ("alias", "TXT", "NOERROR", [cname("alias", "www.example.com.")], [SOA], []),
    ("dangling", "A", "NXDOMAIN", [cname("dangling", "nothere.example.com.")], [SOA], []),
    ("empty", "A", "NOERROR", [cname("empty", "ent.example.com.")], [SOA], []),
    ("loop1", "A", "NOERROR",
     [cname("loop1", "loop2.example.com."), cname("loop2", "loop1.example.com.")], [], []),
    ("self", "A", "NOERROR", [cname("self", "self.example.com.")], [], []),
    ("out", "A", "NOERROR", [cname("out", "www.elsewhere.net.")], [], []),
    ("cross", "A", "NOERROR",
     [cname("cross", "host.other.org."), "host.other.org. 3600 IN A 198.51.100.1"], [], []),
    ("crossnx", "A", "NXDOMAIN", [cname("crossnx", "nx.other.org.")], [OTHER_SOA], []),
    ("tocut", "A", "NOERROR", [cname("tocut", "x.deleg.example.com.")],
     ["deleg.example.com. 3600 IN NS ns.deleg.example.com."],
     ["ns.deleg.example.com. 3600 IN A 192.0.2.53"]),
]  # fmt: skip


@pytest.mark.parametrize("qname,qtype,rcode,answer,authority,additional", CASES)
def test_cname(qname, qtype, rcode, answer, authority, additional):
    r = ask(T, f"{qname}.example.com.", qtype)
    check(r, rcode, True, answer, authority, additional)


def test_chain_is_bounded():
    r = ask(T, "c0.example.com.", "A")
    assert len(r.answer) == MAX_CHAIN
    assert all(rrset.rdtype == 5 for rrset in r.answer)
    check(r, "NOERROR", True, [cname(f"c{i}", f"c{i + 1}.example.com.") for i in range(MAX_CHAIN)])
