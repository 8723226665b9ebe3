"""What a refusal tells each token: the operator everything, an account its own problems
(another account's side of a shared problem only as its tenant message), nothing of the
rest but one generic line; and never an absolute server path."""

from __future__ import annotations

from pathlib import Path

import pytest
from acnsd.api.auth import Grant
from acnsd.api.redact import OUTSIDE, Paths, refusal
from acnsd.errors import Problem
from acnsd.model.assign import UNIQUE
from modelkit import Env, account, config, two_sets, zone

BASE = Path("/srv/acnsd/config")
PATHS = Paths(BASE)
OPERATOR, ALPHA, BRAVO = Grant(frozenset("*")), Grant(frozenset({"a"})), Grant(frozenset({"b"}))

MINE = Problem("ns_ttl must be 30..86400", file=str(BASE / "acnsd.yaml"), line=7,
               path="accounts[0].zones[0].dns_settings.ns_ttl", rule="R9", accounts=("a",))
THEIRS = Problem("zone bravo.com: bad record", file=str(BASE / "zones" / "bravo.com.zone"),
                 line=3, accounts=("b",))
SHARED = Problem("zone www.bravo.com of account a is inside zone bravo.com of account b",
                 file=str(BASE / "acnsd.yaml"), line=9, path="accounts[0].zones[1].name",
                 rule="R11", accounts=("a", "b"), tenant_message="zone www.bravo.com cannot "
                 "be created: the name is in a part of the DNS tree held by another account")
SERVER = Problem(f"the state file is corrupt: {BASE}/acnsd.state.json", rule="R7")


@pytest.mark.parametrize("text,shown", [
    (f"{BASE}/acnsd.yaml:3: x", "acnsd.yaml:3: x"),
    (f"zone file {BASE}/zones/a.test.zone of zone a.test", "zone file zones/a.test.zone of "
                                                           "zone a.test"),
    ("cannot write /var/lib/acnsd/acnsd.state.json", "cannot write acnsd.state.json"),
    ("included file /etc/shadow does not exist", "included file shadow does not exist"),
    ("pool 127.54.0.0/24 and fd00:54::/64 are full", "pool 127.54.0.0/24 and fd00:54::/64 "
                                                      "are full"),
    ("zone 0/25.2.0.192.in-addr.arpa", "zone 0/25.2.0.192.in-addr.arpa"),
])
def test_paths_are_told_relative_to_the_configuration(text, shown) -> None:
    assert PATHS.text(text) == shown


def test_a_file_outside_the_configurations_directory_is_named_by_its_last_part() -> None:
    assert PATHS.file("/var/lib/acnsd/zones/a.test.zone") == "a.test.zone"
    assert PATHS.file(str(BASE / "zones" / "a.test.zone")) == "zones/a.test.zone"


def test_the_operator_sees_everything_without_absolute_paths() -> None:
    rejected = refusal([MINE, THEIRS, SHARED, SERVER], OPERATOR, PATHS)
    assert rejected.status == 409
    messages = [m for _, m in rejected.errors]
    assert messages[0] == "acnsd.yaml:7: accounts[0].zones[0].dns_settings.ns_ttl: [R9] " \
                          "ns_ttl must be 30..86400"
    assert messages[1].startswith("zones/bravo.com.zone:3: zone bravo.com")
    assert "account b" in messages[2]
    assert messages[3] == "<config>: [R7] the state file is corrupt: acnsd.state.json"
    assert all(str(BASE) not in m for m in messages)


def test_an_account_sees_its_own_and_a_generic_line_for_the_rest() -> None:
    rejected = refusal([MINE, THEIRS, SHARED, SERVER], ALPHA, PATHS)
    assert rejected.status == 409
    assert rejected.errors == [
        (1009, "acnsd.yaml:7: accounts[0].zones[0].dns_settings.ns_ttl: [R9] ns_ttl must be "
               "30..86400"),
        (1011, f"[R11] {SHARED.tenant_message}"),
        OUTSIDE]


def test_nothing_of_ones_own_is_503() -> None:
    rejected = refusal([THEIRS, SERVER], ALPHA, PATHS)
    assert (rejected.status, rejected.errors) == (503, [OUTSIDE])
    rejected = refusal([THEIRS], BRAVO, PATHS)
    assert rejected.status == 400 and "bravo.com" in rejected.errors[0][1]


def test_a_shared_problem_without_a_tenant_message_is_not_told() -> None:
    shared = Problem("ns1.x.net is already configured at accounts[1]", rule="R3",
                     accounts=("a", "b"))
    assert refusal([shared], ALPHA, PATHS).errors == [OUTSIDE]


def test_the_same_words_are_told_once() -> None:
    twice = [SHARED, Problem("zone www.bravo.com would provide ns1.www.bravo.com of b",
                             rule="R11", accounts=("a", "b"),
                             tenant_message=SHARED.tenant_message)]
    assert len(refusal(twice, ALPHA, PATHS).errors) == 1


def test_status_and_code_come_from_the_rule_not_the_words() -> None:
    """Issue 20: a duplicate zone had no rule, so the API chose 409 by matching its text."""
    duplicate = Problem("zone a.test appears twice", rule=UNIQUE, accounts=("a",))
    answer = refusal([duplicate], OPERATOR, PATHS)
    assert answer.status == 409 and answer.errors[0][0] == 1061
    worded = Problem("ns1.x.net is already configured somewhere", accounts=("a",))
    answer = refusal([worded], OPERATOR, PATHS)
    assert answer.status == 400 and answer.errors[0][0] == 1000


def test_every_duplicate_the_loader_finds_has_a_rule(tmp_path) -> None:
    env = Env(tmp_path)
    twice = config(account(two_sets(), [zone("a.test"), zone("a.test")]),
                   account([], id="a" * 32), account([], id="a" * 32))
    assert {(p.rule, p.path) for p in env.refused(twice)} >= {
        (UNIQUE, "accounts[0].zones[1].name"), (UNIQUE, "accounts[2].id")}
