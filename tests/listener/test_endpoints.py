"""What `acnsd serve` binds: ADDR:PORT parsing, --listen replacing server.listen, views."""

from __future__ import annotations

import dns.name
import pytest
from acnsd.daemon.serve import Endpoint, endpoints
from acnsd.dns.plan import ServePlan, View
from acnsd.model.schema import parse_hostport


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("[fd00:53:1::1]:53", ("fd00:53:1::1", 53)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_hostport(text, expected):
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    "text", ["127.0.0.1", "::1:53", "[::1]", "localhost:53", "127.0.0.1:65536", "1.2.3.4:x", "",
             "::1:5353", "127.0.0.1:+53", "127.0.0.1: 53", "[127.0.0.1]:53x"]
)
def test_parse_address_refuses(text):
    with pytest.raises(ValueError):
        parse_hostport(text)


def view(address: str, *zones: str) -> View:
    return View(address, frozenset(dns.name.from_text(z) for z in zones))


PLAN = ServePlan(
    zones=(),
    listen=(("127.0.0.1", 5353), ("::1", 5353)),
    views=(view("127.53.1.1", "example.com"), view("fd00:53:1::1", "example.com")),
    view_port=5353,
)


def test_listen_addresses_serve_every_zone_and_views_their_own():
    assert endpoints(PLAN) == [
        Endpoint("127.0.0.1", 5353),
        Endpoint("::1", 5353),
        Endpoint("127.53.1.1", 5353, "127.53.1.1"),
        Endpoint("fd00:53:1::1", 5353, "fd00:53:1::1"),
    ]
    assert [e.family for e in endpoints(PLAN)] == ["ipv4", "ipv6", "ipv4", "ipv6"]
    assert str(endpoints(PLAN)[1]) == "address=[::1]:5353 zones=all"


def test_listen_option_replaces_server_listen():
    assert endpoints(PLAN, (("127.0.0.2", 53),))[0] == Endpoint("127.0.0.2", 53)
    assert Endpoint("127.0.0.1", 5353) not in endpoints(PLAN, (("127.0.0.2", 53),))


def test_a_view_on_a_listen_address_is_not_bound_twice():
    wanted = endpoints(PLAN, (("127.53.1.1", 5353),))
    assert wanted == [Endpoint("127.53.1.1", 5353), Endpoint("fd00:53:1::1", 5353, "fd00:53:1::1")]
