"""CHAOS TXT (the `version.bind` convention): configured names answer their text with AA;
other CH names are REFUSED; an empty `chaos` option disables the class entirely."""

import pytest
from acnsd.dns.plan import ServerOptions

from .zonetext import ask, check, tables, zone

CHAOS = (("version.bind", "acnsd 0.1.0"), ("id.server", "ns-a"), ("hostname.bind", "host-a"))
Z = zone("example.com.", "www A 192.0.2.10")
T = tables(Z, options=ServerOptions(chaos=CHAOS))
OFF = tables(Z)


@pytest.mark.parametrize(
    "qname,text",
    [("version.bind.", "acnsd 0.1.0"), ("ID.Server.", "ns-a"), ("hostname.bind.", "host-a")],
)
def test_configured_names(qname, text):
    r = ask(T, qname, "TXT", rdclass="CH")
    check(r, "NOERROR", True, [f'{qname} 0 CH TXT "{text}"'])


def test_other_types_are_nodata():
    check(ask(T, "version.bind.", "A", rdclass="CH"), "NOERROR", True)


@pytest.mark.parametrize("qname", ["authors.bind.", "www.example.com.", "bind."])
def test_other_names_are_refused(qname):
    check(ask(T, qname, "TXT", rdclass="CH"), "REFUSED", False)


def test_disabled():
    check(ask(OFF, "version.bind.", "TXT", rdclass="CH"), "REFUSED", False)


def test_in_class_is_unaffected():
    check(ask(T, "version.bind.", "TXT"), "REFUSED", False)
    check(
        ask(T, "www.example.com.", "A"), "NOERROR", True, ["www.example.com. 3600 IN A 192.0.2.10"]
    )
