"""R11 (tenants): no zone in another account's hierarchy, no ACNS name in another account's
zone; each problem says whose resources it concerns, and what the account may be told.

Also: load(forget=...) drops a deleted zone's R6 record but keeps its serial (R10).
"""

from __future__ import annotations

import pytest
from acnsd.cli import main
from acnsd.model.config import load
from modelkit import ACCOUNT_ID, DEFAULT_ZONE, account, config, ns, only, resolved, zone

A = ACCOUNT_ID
B = "b" * 32
ELSEWHERE = "the name is in a part of the DNS tree held by another account"


def alpha(zones=(), names=()) -> dict:
    return account(list(names), [zone(z, "cloudflare.standard") for z in zones], id=A)


def bravo(zones=("bravo.com",), names=()) -> dict:
    return account(list(names), [zone(z, "cloudflare.standard") for z in zones], id=B)


@pytest.mark.parametrize("mine,theirs", [
    ("www.bravo.com", "bravo.com"),  # a child
    ("a.b.bravo.com", "bravo.com"),  # a grandchild
    ("com", "bravo.com"),  # a parent
    ("com", "x.y.bravo.com"),  # a grandparent
    ("bravo.com", "bravo.com"),  # the same name
    ("2.0.192.in-addr.arpa", "0.192.in-addr.arpa"),  # reverse zones
])
def test_zone_in_another_accounts_hierarchy_is_r11(env, mine, theirs):
    problem = only(env.refused(config(alpha([mine]), bravo([theirs]))))
    assert problem.rule == "R11"
    assert problem.path == "accounts[1].zones[0].name"  # both new: the later one
    assert problem.line == env.line_of(f"name: {theirs}", -1)
    assert set(problem.accounts) == {A, B}
    assert mine in problem.message and theirs in problem.message and A in problem.message
    assert problem.tenant_message == f"zone {theirs} cannot be created: {ELSEWHERE}"


@pytest.mark.parametrize("mine,theirs", [
    ("xbravo.com", "bravo.com"),  # a suffix, but not at a label boundary
    ("bravo.net", "bravo.com"),
    ("1.0.192.in-addr.arpa", "2.0.192.in-addr.arpa"),
])
def test_zones_outside_each_others_hierarchy_are_fine(env, mine, theirs):
    env.load(config(alpha([mine]), bravo([theirs])))


def test_one_accounts_own_hierarchy_is_fine(env):
    env.load(config(alpha(["alpha.com", "www.alpha.com", "a.b.www.alpha.com"]), bravo()))


@pytest.mark.parametrize("name,provider", [
    ("ns9.bravo.com", "bravo.com"),
    ("ns9.deep.below.bravo.com", "bravo.com"),
    ("ns.bravo.com", "ns.bravo.com"),  # the name is the zone's apex
])
def test_acns_name_in_another_accounts_zone_is_r11(env, name, provider):
    names = [ns(name), ns("ns2.alpha.net")]
    problem = only(env.refused(config(alpha(names=names), bravo([provider]))))
    assert problem.rule == "R11"
    assert set(problem.accounts) == {A, B}
    assert problem.tenant_message in (f"nameserver name {name} cannot be added: {ELSEWHERE}",
                                      f"zone {provider} cannot be created: {ELSEWHERE}")


def test_acns_name_in_own_zone_below_nothing_foreign_is_fine(env):
    env.load(config(alpha(["alpha.com"], [ns("ns1.alpha.com"), ns("ns2.alpha.com")]),
                    bravo()))


def test_the_newcomer_is_located_by_the_state_file(env):
    """Bravo's zone loaded first (recorded for Bravo): Alpha's new zone below it is the
    one named, though it comes first in the file; and the other way round."""
    env.load(config(alpha(["alpha.com"]), bravo()))
    problem = only(env.refused(config(alpha(["alpha.com", "www.bravo.com"]), bravo())))
    assert problem.path == "accounts[0].zones[1].name"
    assert problem.tenant_message == f"zone www.bravo.com cannot be created: {ELSEWHERE}"
    for path in env.store_files():
        path.unlink(missing_ok=True)
    env.load(config(alpha(["www.bravo.com"]), bravo(["bravo.net"])))
    problem = only(env.refused(config(alpha(["www.bravo.com"]), bravo(["bravo.net",
                                                                        "bravo.com"]))))
    assert problem.path == "accounts[1].zones[1].name"
    assert problem.tenant_message == f"zone bravo.com cannot be created: {ELSEWHERE}"


def test_a_duplicate_zone_does_not_unsettle_the_owners_recorded_defaults(env):
    """Alpha (first in the file) creates Bravo's zone: refused by R11 alone. Bravo's zone
    keeps what it received from Bravo's zone defaults when it was created (R6), though
    Alpha's newcomer of the same name is judged first."""
    owner = account([], [zone("bravo.com")], id=B,
                    defaults={"nameservers": {"type": "cloudflare.standard"}})
    env.load(config(alpha(), owner))
    owner["dns_settings"]["zone_defaults"] = {"nameservers": {"type": "custom.account"}}
    assert resolved(env.load(config(alpha(), owner)), "bravo.com").ns_type == (
        "cloudflare.standard")  # (Bravo has no set a new zone could receive)
    problem = only(env.refused(config(alpha(["bravo.com"]), owner)))
    assert problem.rule == "R11" and problem.path == "accounts[0].zones[0].name"


def test_a_new_name_is_located_at_the_name(env):
    env.load(config(alpha(), bravo()))
    problem = only(env.refused(config(alpha(names=[ns("ns1.bravo.com")]), bravo())))
    assert problem.path == "accounts[0].custom_nameservers[0].ns_name"
    assert problem.tenant_message == (f"nameserver name ns1.bravo.com cannot be added: "
                                      f"{ELSEWHERE}")


def test_r3_across_accounts_tells_the_account_no_place(env):
    problems = env.refused(config(alpha(names=[ns("ns1.shared.net")]),
                                  bravo(names=[ns("ns1.shared.net")])))
    problem = only(problems, "R3")
    assert set(problem.accounts) == {A, B}
    assert "accounts[0]" in problem.message  # the operator is told where
    assert "accounts" not in problem.tenant_message
    assert problem.tenant_message.startswith("ns1.shared.net is already in use on this server")


def test_problems_name_the_account_they_lie_in(env):
    """A problem under accounts[i] concerns that account; one in a zone file, the zone's
    account; one of the server section, none."""
    cfg = config(alpha(["alpha.com"]),
                 account([], [zone("bravo.com", dns_settings={"ns_ttl": 5})], id=B))
    assert only(env.refused(cfg)).accounts == (B,)
    cfg = config(alpha(["alpha.com"]), bravo())
    broken = {"bravo.com": DEFAULT_ZONE + "x IN A not-an-address\n"}
    problem = only(env.refused(cfg, broken))
    assert (problem.accounts, problem.file) == ((B,), str(env.root / "zones" / "bravo.com.zone"))
    problems = env.refused(config(alpha(), bravo(), port=0))  # (the zone file is still bad)
    assert {p.path: p.accounts for p in problems}["server.port"] == ()


def test_forget_drops_what_a_deleted_zone_received_but_keeps_its_serial(env):
    custom = {"nameservers": {"type": "custom.account"}}
    names = [ns("ns1.alpha.net"), ns("ns2.alpha.net")]
    env.load(config(account(names, [zone("a.test"), zone("b.test")], custom)))
    state = env.state()
    assert state["zones"]["a.test"]["nameservers"]["type"] == "custom.account"
    serial = state["serials"]["a.test"]["serial"]
    env.write(config(account(names, [zone("b.test")], custom)))
    load(env.path, forget=["a.test", "b.test"])  # b.test is still configured: kept
    state = env.state()
    assert "a.test" not in state["zones"] and "b.test" in state["zones"]
    assert state["serials"]["a.test"]["serial"] == serial
    # created again under other defaults: a new zone, which receives them (R6)
    loaded = env.load(config(account(names, [zone("b.test"), zone("a.test")], {})))
    assert resolved(loaded, "a.test").ns_type == "cloudflare.standard"


def test_acnsd_check_reports_r11_with_file_line_and_path(env, capsys):
    env.write(config(alpha(["www.bravo.com"]), bravo()))
    assert main(["check", "--config", str(env.path)]) == 1
    err = capsys.readouterr().err
    line = env.line_of("name: bravo.com")
    assert f"{env.path}:{line}: accounts[1].zones[0].name: [R11] zone bravo.com of account " \
           f"{B} contains zone www.bravo.com of account {A}" in err
