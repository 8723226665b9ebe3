"""The delegation checks against a DNS hierarchy on loopback (hierarchy.py): `acnsd
verify` prints each zone's and name's status with its evidence, exits 2 on a mismatch and
keeps the results that `acnsd show` then prints; the running server checks at its start
and shows the statuses in the API's results and its metrics."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import dns.message
import dns.query
from apikit import Client
from e2e.e2e_daemon import daemon_env
from ops.opskit import parse, scrape
from tooling import REPO

from .conftest import TOKEN
from .hierarchy import ACCOUNT

CLI_TIMEOUT = 120


def acnsd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acnsd", *args], capture_output=True,
                          text=True, env=daemon_env(), timeout=CLI_TIMEOUT)


def verify_json(config) -> tuple[int, dict]:
    done = acnsd("verify", "--config", str(config), "--json")
    assert done.returncode in (0, 2), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_verify_finds_each_case(hierarchy) -> None:
    code, results = verify_json(hierarchy.config)
    assert code == 2  # there are mismatches
    zones, names = results["zones"], results["names"]
    status = {k: v["status"] for k, v in {**zones, **names}.items()}
    assert status == {
        "good.test": "verified", "ns1.good.test": "verified", "ns2.good.test": "verified",
        "noglue.test": "pending", "ns1.noglue.test": "pending", "ns2.noglue.test": "pending",
        "badglue.test": "mismatch", "ns1.badglue.test": "mismatch",
        "ns2.badglue.test": "mismatch",
        "moved.test": "mismatch", "notyet.test": "pending",
        "ns1.lame.test": "mismatch", "ns2.lame.test": "mismatch",
        "ns1.nowhere.test": "pending", "ns2.nowhere.test": "pending",
    }, json.dumps(results, indent=1)
    evidence = {k: "\n".join(v["evidence"]) for k, v in {**zones, **names}.items()}
    # what was found where
    assert "the parent test (server 127.54.0.2) delegates to ns1.good.test, ns2.good.test" \
        in evidence["good.test"]
    assert "missing: ns2.good.test; not assigned: ns.elsewhere.example" in evidence["moved.test"]
    assert "not delegated yet" in evidence["notyet.test"] and "NXDOMAIN" in evidence["notyet.test"]
    assert ("glue in test (server 127.54.0.2) with the delegation of badglue.test: 127.54.9.9, "
            "fd00:54:3::1; assigned 127.54.3.1, fd00:54:3::1") in evidence["ns1.badglue.test"]
    assert "glue in test (server 127.54.0.2) with the delegation of noglue.test: none" \
        in evidence["ns1.noglue.test"]
    assert "REFUSED" in evidence["ns1.lame.test"] and "lame" in evidence["ns1.lame.test"]
    assert evidence["ns1.good.test"].count("with the delegation of good.test") == 1
    # what to create where it is not verified
    assert zones["good.test"]["to_create"] == {} == names["ns1.good.test"]["to_create"]
    assert zones["moved.test"]["to_create"]["registrar"]["records"] == [
        "moved.test. 86400 IN NS ns1.good.test.", "moved.test. 86400 IN NS ns2.good.test."]
    glue = names["ns1.noglue.test"]["to_create"]["registrar"]
    assert glue["domain"] == "noglue.test"
    assert glue["glue"]["addresses"] == ["127.54.2.1", "fd00:54:2::1"]
    assert names["ns1.lame.test"]["to_create"]["dns_host"] == {
        "domain": "lame.test",
        "records": ["ns1.lame.test. 86400 IN A 127.54.4.1",
                    "ns1.lame.test. 86400 IN AAAA fd00:54:4::1"]}
    # the providing domain is not delegated: its records go to it, not to its parent
    assert names["ns1.nowhere.test"]["to_create"]["dns_host"]["domain"] == "nowhere.test"


def test_show_prints_the_last_results(hierarchy) -> None:
    verify_json(hierarchy.config)
    shown = acnsd("show", "--config", str(hierarchy.config))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "delegation: mismatch (checked " in text
    assert "found: moved.test: the parent test (server 127.54.0.2) delegates to " \
        "ns.elsewhere.example, ns1.good.test" in text
    assert "nameservers to set at the registrar of moved.test:" in text
    doc = json.loads(acnsd("show", "--config", str(hierarchy.config), "--json").stdout)
    account = doc["accounts"][0]
    by_name = {e["ns_name"]: e for e in account["custom_nameservers"]}
    assert by_name["ns1.good.test"]["status"] == "verified"
    assert by_name["ns1.badglue.test"]["status"] == "moved"  # Cloudflare's word
    assert by_name["ns1.noglue.test"]["verification"]["status"] == "pending"
    zones = {z["name"]: z for z in account["zones"]}
    assert zones["moved.test"]["verification"]["status"] == "mismatch"


def _readme_example() -> list[str]:
    """The lines of the README's `acnsd verify` example, its times left out."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("`acnsd verify` on that hierarchy prints, for example:\n\n```\n")[1]
    return [re.sub(r"checked [0-9TZ:-]+", "checked", line)
            for line in block.split("```")[0].splitlines()]


def test_verify_text_and_exit_code(hierarchy) -> None:
    done = acnsd("verify", "--config", str(hierarchy.config))
    assert done.returncode == 2, done.stderr
    printed = re.sub(r"checked [0-9TZ:-]+", "checked", done.stdout).splitlines()
    for line in _readme_example():  # the README shows what it prints
        assert line in printed
    assert "zone good.test\n  delegation: verified (checked " in done.stdout
    assert "name ns1.noglue.test\n  delegation: pending" in done.stdout
    assert "glue to register at the registrar of noglue.test: host ns1.noglue.test with " \
        "127.54.2.1, fd00:54:2::1" in done.stdout


def test_the_server_checks_and_shows_it(hierarchy) -> None:
    """The server checks at its start, off the event loop: it answers while it checks;
    the API's custom_ns and zone results carry the statuses (Cloudflare's words) and the
    verification; the metrics count them."""
    daemon = hierarchy.daemon
    answered = 0
    while "event=verify" not in daemon.log() and answered < 200:  # bounded
        reply = dns.query.udp(dns.message.make_query("good.test", "SOA"), "127.0.0.1",
                              port=hierarchy.port, timeout=2)
        assert reply.answer
        answered += 1
    daemon.wait_log(r"event=verify result=ok zones=5 names=10 pending=6 verified=3 "
                    r"mismatch=6")
    client = Client("127.0.0.1", hierarchy.api_port, TOKEN)
    names = {e["ns_name"]: e for e in client.ok("GET", f"/accounts/{ACCOUNT}/custom_ns")}
    assert {n: e["status"] for n, e in names.items()} == {
        "ns1.good.test": "verified", "ns2.good.test": "verified",
        "ns1.noglue.test": "pending", "ns2.noglue.test": "pending",
        "ns1.badglue.test": "moved", "ns2.badglue.test": "moved",
        "ns1.lame.test": "moved", "ns2.lame.test": "moved",
        "ns1.nowhere.test": "pending", "ns2.nowhere.test": "pending"}
    assert names["ns1.noglue.test"]["verification"]["to_create"]["registrar"]["glue"][
        "host"] == "ns1.noglue.test"
    zones = {z["name"]: z for z in client.ok("GET", "/zones")}
    assert {n: z["status"] for n, z in zones.items()} == {
        "good.test": "active", "moved.test": "moved", "notyet.test": "pending",
        "noglue.test": "pending", "badglue.test": "moved"}
    assert zones["moved.test"]["verification"]["status"] == "mismatch"
    samples = parse(scrape("127.0.0.1", hierarchy.metrics_port))
    counts = {labels: value for (name, labels), value in samples.items()
              if name == "acnsd_delegation_status"}
    assert counts == {
        (("kind", "zone"), ("status", "pending")): 2,
        (("kind", "zone"), ("status", "verified")): 1,
        (("kind", "zone"), ("status", "mismatch")): 2,
        (("kind", "name"), ("status", "pending")): 4,
        (("kind", "name"), ("status", "verified")): 2,
        (("kind", "name"), ("status", "mismatch")): 4,
    }
    assert samples[("acnsd_delegation_last_check_timestamp_seconds", ())] > 0
