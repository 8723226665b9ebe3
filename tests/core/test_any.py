"""ANY (RFC 8482 §4.1): a minimal answer, one RRset of the name (the lowest type present),
over UDP and TCP alike; NODATA, NXDOMAIN and referrals as for any other type."""

import pytest
from acnsd.dns.core import Transport

from .zonetext import ask, check, tables, zone

T = tables(
    zone(
        "example.com.",
        """
www A 192.0.2.10
www AAAA 2001:db8::10
www TXT "text"
alias CNAME www
txt TXT "only"
""",
    )
)


@pytest.mark.parametrize("transport", [Transport.UDP, Transport.TCP])
@pytest.mark.parametrize(
    "qname,answer",
    [
        ("www", ["www.example.com. 3600 IN A 192.0.2.10"]),
        ("alias", ["alias.example.com. 3600 IN CNAME www.example.com."]),
        ("txt", ['txt.example.com. 3600 IN TXT "only"']),
        ("", [f"example.com. 3600 IN NS ns{i}.example.com." for i in (1, 2)]),
    ],
)
def test_any_is_one_rrset(qname, answer, transport):
    name = f"{qname}.example.com." if qname else "example.com."
    check(ask(T, name, "ANY", transport=transport), "NOERROR", True, answer)


def test_any_for_a_missing_name():
    r = ask(T, "nx.example.com.", "ANY")
    assert r.rcode() == 3 and not r.answer
