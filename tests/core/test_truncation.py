"""Size limits (RFC 1035 §4.2.1, RFC 6891 §6.2.5, RFC 7766): over UDP 512 octets without
EDNS, else min(client's size, ours), never below 512; a response that does not fit sets TC
and keeps only the question and the OPT; over TCP up to 65535 octets."""

import dns.flags
import dns.message
import pytest
from acnsd.dns.core import Transport, answer

from .zonetext import ask, make_query, tables, zone

TXT = "\n".join(f'big TXT "{i:03d}{"x" * 96}"' for i in range(30))  # ≈ 3.5 kB
MEDIUM = "\n".join(f'medium TXT "{i:03d}{"y" * 96}"' for i in range(8))  # ≈ 1 kB
T = tables(zone("example.com.", f"{TXT}\n{MEDIUM}\nhuge.mx MX 10 mail\n"))


def size(qname: str, **kwargs) -> tuple[int, dns.message.Message]:
    q = make_query(qname, "TXT", **kwargs)
    wire = answer(T, q.to_wire(), kwargs.get("transport", Transport.UDP))
    return len(wire), dns.message.from_wire(wire)


@pytest.mark.parametrize(
    "qname,kwargs,tc",
    [
        ("medium.example.com.", {"edns": None}, True),
        ("medium.example.com.", {"payload": 1232}, False),
        ("medium.example.com.", {"payload": 100}, True),  # below 512 counts as 512
        ("big.example.com.", {"payload": 4096}, True),  # our 1232 is the limit
        ("big.example.com.", {"payload": 1232}, True),
    ],
)
def test_udp_limit(qname, kwargs, tc):
    r = ask(T, qname, "TXT", **kwargs)
    assert bool(r.flags & dns.flags.TC) == tc
    if tc:
        assert not r.answer and not r.authority and not r.additional
        assert r.question[0].name.to_text() == qname
        assert r.edns == (-1 if kwargs.get("edns", 0) is None else 0)


@pytest.mark.parametrize("edns,limit", [(None, 512), (0, 1232)])
def test_truncated_responses_fit(edns, limit):
    q = make_query("big.example.com.", "TXT", edns=edns, payload=4096)
    assert len(answer(T, q.to_wire(), Transport.UDP)) <= limit
    q = make_query("medium.example.com.", "TXT", edns=edns, payload=4096)
    assert len(answer(T, q.to_wire(), Transport.UDP)) <= limit


@pytest.mark.parametrize("edns", [None, 0])
def test_tcp_is_not_truncated(edns):
    r = ask(T, "big.example.com.", "TXT", edns=edns, transport=Transport.TCP)
    assert not r.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in r.answer) == 30
