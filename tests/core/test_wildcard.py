"""Wildcards (RFC 4592): synthesis from the closest encloser's `*` child, no match below
an existing name, NODATA from a wildcard, wildcard CNAME, the literal `*` name."""

import pytest

from .zonetext import ask, check, tables, zone

T = tables(
    zone(
        "example.com.",
        """
*.wild TXT "wild"
*.wild MX 10 mail
mail A 192.0.2.25
sub.wild A 192.0.2.77
x.ent.wild A 192.0.2.1
a.deep.wild A 192.0.2.2
*.wcname CNAME www
www A 192.0.2.10
*.wdangling CNAME nothere
""",
    ),
)

SOA = "example.com. 1800 IN SOA ns1.example.com. hostmaster.example.com. 1 10000 2400 604800 1800"

CASES = [
    # (qname, qtype, rcode, answer, authority, additional)
    ("x.wild", "TXT", "NOERROR", ['x.wild.example.com. 3600 IN TXT "wild"'], [], []),
    ("a.b.c.wild", "TXT", "NOERROR", ['a.b.c.wild.example.com. 3600 IN TXT "wild"'], [], []),
    ("x.wild", "MX", "NOERROR", ["x.wild.example.com. 3600 IN MX 10 mail.example.com."], [],
     ["mail.example.com. 3600 IN A 192.0.2.25"]),
    ("x.wild", "A", "NOERROR", [], [SOA], []),
    ("*.wild", "TXT", "NOERROR", ['*.wild.example.com. 3600 IN TXT "wild"'], [], []),
    # an existing name is never matched by the wildcard, nor is anything below it
    ("sub.wild", "TXT", "NOERROR", [], [SOA], []),
    ("x.sub.wild", "TXT", "NXDOMAIN", [], [SOA], []),
    # an empty non-terminal is an existing name too (RFC 4592 §2.2.2)
    ("ent.wild", "TXT", "NOERROR", [], [SOA], []),
    ("y.ent.wild", "TXT", "NXDOMAIN", [], [SOA], []),
    ("deep.wild", "TXT", "NOERROR", [], [SOA], []),
    ("wild", "TXT", "NOERROR", [], [SOA], []),
    ("y.wcname", "A", "NOERROR",
     ["y.wcname.example.com. 3600 IN CNAME www.example.com.",
      "www.example.com. 3600 IN A 192.0.2.10"], [], []),
    ("y.wdangling", "A", "NXDOMAIN",
     ["y.wdangling.example.com. 3600 IN CNAME nothere.example.com."], [SOA], []),
]  # fmt: skip


@pytest.mark.parametrize("qname,qtype,rcode,answer,authority,additional", CASES)
def test_wildcard(qname, qtype, rcode, answer, authority, additional):
    check(ask(T, f"{qname}.example.com.", qtype), rcode, True, answer, authority, additional)


def test_synthesized_owner_echoes_the_query_case():
    r = ask(T, "HeLLo.WILD.example.com.", "TXT")
    assert [rrset.name.to_text() for rrset in r.answer] == ["HeLLo.WILD.example.com."]
