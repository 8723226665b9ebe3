"""The comparison rules of the delegation checks (verify/compare.py), as properties."""

from __future__ import annotations

from acnsd.verify.compare import (
    MISMATCH,
    PENDING,
    STATUSES,
    VERIFIED,
    Finding,
    address_finding,
    combine,
    glue_finding,
    zone_finding,
)
from acnsd.verify.resolver import Delegation
from hypothesis import given
from hypothesis import strategies as st

hosts = st.sets(st.sampled_from([f"ns{i}.example.test" for i in range(6)]), min_size=1,
                max_size=5)
addresses = st.sets(st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"]),
                    max_size=3)


def referral(ns, glue=None, zone="example.test") -> Delegation:
    return Delegation(zone, "test", "127.0.0.2", tuple(sorted(ns)), glue or {})


@given(hosts, hosts, st.permutations(["", "."]))
def test_a_zone_is_verified_exactly_when_the_sets_are_equal(assigned, found, dots) -> None:
    finding = zone_finding("example.test", [n.upper() + dots[0] for n in assigned],
                           referral(found))
    assert finding.status == (VERIFIED if assigned == found else MISMATCH)
    assert len(finding.evidence) == 1 and "127.0.0.2" in finding.evidence[0]


@given(hosts)
def test_a_zone_not_delegated_is_pending(assigned) -> None:
    assert zone_finding("example.test", assigned, None, " (NXDOMAIN)").status == PENDING


@given(st.lists(st.sampled_from(STATUSES), max_size=5))
def test_combine_is_the_worst(statuses) -> None:
    status = combine(*(Finding(s, (s,)) for s in statuses)).status
    if MISMATCH in statuses:
        assert status == MISMATCH
    elif PENDING in statuses or not statuses:
        assert status == PENDING
    else:
        assert status == VERIFIED


@given(addresses, st.dictionaries(st.sampled_from(["ns1", "ns2", "ns3"]),
                                  st.one_of(addresses.map(tuple), st.just("timeout"))))
def test_addresses(expected, answers) -> None:
    """Verified when every server answers the expected set; mismatch when one answers
    other values or not at all (lame); pending when all answer or only lack some."""
    status = address_finding("ns1.example.test", "example.test", expected, answers).status
    values = list(answers.values())
    if any(v == "timeout" or (v and set(v) != expected) for v in values):
        assert status == MISMATCH
    elif values and all(set(v) == expected for v in values):
        assert status == VERIFIED
    else:
        assert status == PENDING


@given(addresses.filter(bool), addresses, st.booleans())
def test_glue(expected, found, listed) -> None:
    """Glue that differs is a mismatch, equal glue verifies, no glue is pending; a
    referral that does not list the name says nothing of its glue."""
    name = "ns1.example.test"
    ns = {name, "ns2.example.test"} if listed else {"ns2.example.test"}
    glue = {name: tuple(sorted(found))} if found else {}
    finding = glue_finding(name, expected, [referral(ns, glue)])
    if not listed or not found:
        assert finding.status == PENDING
    else:
        assert finding.status == (VERIFIED if found == expected else MISMATCH)


def test_one_matching_glue_verifies_despite_a_referral_without_it() -> None:
    name, expected = "ns1.example.test", ("192.0.2.1",)
    referrals = [referral([name]), referral([name], {name: expected}, zone="other.test")]
    assert glue_finding(name, expected, referrals).status == VERIFIED
    wrong = [*referrals, referral([name], {name: ("192.0.2.9",)}, zone="third.test")]
    assert glue_finding(name, expected, wrong).status == MISMATCH
