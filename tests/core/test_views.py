"""Per-address views (DESIGN.md §4): an assigned address answers only its zones (plus the
names of R8 held elsewhere); a parent on another set refers its child; addresses without a
view answer every zone."""

import dns.name
import pytest
from acnsd.dns.core import Transport
from acnsd.dns.plan import View

from .zonetext import ask, check, lines, tables, zone


def names(*texts: str) -> frozenset[dns.name.Name]:
    return frozenset(dns.name.from_text(t) for t in texts)


PARENT = zone(
    "example.com.",
    """
@ NS ns1.other.org.
sub NS ns1.vanity.test.
www A 192.0.2.10
""",
)
CHILD = zone("sub.example.com.", "@ NS ns1.vanity.test.\nwww A 192.0.2.20")
OTHER = zone("other.org.", "ns1 A 198.51.100.1\nns2 A 198.51.100.2\nwww A 198.51.100.80")

T = tables(
    PARENT,
    CHILD,
    OTHER,
    views=(
        View("127.53.1.1", names("example.com."), names("ns1.other.org.")),
        View("127.53.1.2", names("sub.example.com.")),
        View("fd00:53:1::1", names("other.org.")),
    ),
)
CHILD_WWW = ["www.sub.example.com. 3600 IN A 192.0.2.20"]


def test_parent_address_refers_the_child():
    r = ask(T, "www.sub.example.com.", "A", local="127.53.1.1")
    check(r, "NOERROR", False, [], ["sub.example.com. 3600 IN NS ns1.vanity.test."])


def test_child_address_answers_the_child():
    check(ask(T, "www.sub.example.com.", "A", local="127.53.1.2"), "NOERROR", True, CHILD_WWW)


@pytest.mark.parametrize("local", ["127.53.1.2", "fd00:53:1::1"])
def test_zone_not_in_the_view_is_refused(local):
    check(ask(T, "www.example.com.", "A", local=local), "REFUSED", False)


def test_r8_names_are_answered_outside_the_view_zones():
    check(
        ask(T, "ns1.other.org.", "A", local="127.53.1.1"),
        "NOERROR",
        True,
        ["ns1.other.org. 3600 IN A 198.51.100.1"],
    )
    check(ask(T, "ns2.other.org.", "A", local="127.53.1.1"), "REFUSED", False)


def test_additional_data_is_limited_to_the_view():
    apex_ns = ask(T, "example.com.", "NS", local="127.53.1.1")
    assert lines(apex_ns.additional) == ["ns1.other.org. 3600 IN A 198.51.100.1"]
    everything = ask(T, "example.com.", "NS")
    assert lines(everything.additional) == ["ns1.other.org. 3600 IN A 198.51.100.1"]
    assert not ask(T, "sub.example.com.", "NS", local="127.53.1.2").additional


@pytest.mark.parametrize("local", [None, "127.0.0.1", "::1", "127.53.9.9"])
def test_addresses_without_a_view_answer_every_zone(local):
    check(ask(T, "www.sub.example.com.", "A", local=local), "NOERROR", True, CHILD_WWW)
    assert ask(T, "www.other.org.", "A", local=local).answer


def test_ipv6_view_in_any_spelling_and_over_tcp():
    for local in ("fd00:53:1::1", "fd00:0053:0001:0000:0000:0000:0000:0001"):
        r = ask(T, "www.other.org.", "A", local=local, transport=Transport.TCP)
        check(r, "NOERROR", True, ["www.other.org. 3600 IN A 198.51.100.80"])


def test_caches_are_per_view():
    # the same query octets at two addresses: one answer each, cached separately
    for _ in range(2):
        check(ask(T, "www.example.com.", "A", local="127.53.1.2"), "REFUSED", False)
        check(
            ask(T, "www.example.com.", "A", local="127.53.1.1"),
            "NOERROR",
            True,
            ["www.example.com. 3600 IN A 192.0.2.10"],
        )
