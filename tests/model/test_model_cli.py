"""`acnsd check`, `acnsd show` and `acnsd state export` on a copy of the example
configuration and on broken ones: exit codes, messages on stderr, the JSON document of
`show --json`, and the state as the JSON state file of earlier versions had it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from acnsd.cli import main
from modelkit import account, config, ns, two_sets, zone
from tooling import REPO, SERVER


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of config/acnsd.yaml and zones/ (zones_dir is ../zones), without the state."""
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "acnsd.yaml", tmp_path / "config" / "acnsd.yaml")
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    return tmp_path / "config" / "acnsd.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_check_example_exits_0_and_records_nothing(example, capsys):
    code, out, err = run(capsys, "check", "--config", str(example))
    assert code == 0, err
    assert "OK" in out and "5 zone(s)" in out
    assert "error" not in err
    assert not (example.parent / "acnsd.state.db").exists()
    assert not (example.parent / "acnsd.state.json").exists()


def test_check_with_a_store_writes_nothing(example, capsys):
    assert run(capsys, "show", "--config", str(example))[0] == 0
    store = example.parent / "acnsd.state.db"
    data = store.read_bytes()
    edit(example, lambda d: d["accounts"][0]["custom_nameservers"].append(
        {"ns_name": "ns3.example.com", "ns_set": 1}))
    code, out, err = run(capsys, "check", "--config", str(example))
    assert code == 0, err
    assert store.read_bytes() == data


def test_state_export_prints_what_show_recorded(example, capsys):
    code, out, err = run(capsys, "state", "export", "--config", str(example))
    assert (code, err) == (0, "")
    assert json.loads(out) == {"version": 1, "addresses": {}, "released": {}, "zones": {},
                               "serials": {}}  # nothing recorded yet
    assert not (example.parent / "acnsd.state.db").exists()
    code, shown, _ = run(capsys, "show", "--config", str(example), "--json")
    code, out, err = run(capsys, "state", "export", "--config", str(example))
    state = json.loads(out)
    assert code == 0 and set(state["addresses"]) == {"ns1.example.com", "ns2.example.com",
                                                    "ns1.vanity.test", "ns2.vanity.test"}
    assert state["addresses"]["ns1.example.com"]["ipv4"] in shown
    assert set(state["serials"]) == {z["name"] for z in yaml.safe_load(
        example.read_text())["accounts"][0]["zones"]}
    # the accounts broken, the server section whole: still exported (a backup)
    edit(example, lambda d: d["accounts"][0].update(custom_nameservers=7))
    assert json.loads(run(capsys, "state", "export", "--config", str(example))[1]) == state
    edit(example, lambda d: d["server"].update(port="x"))
    code, out, err = run(capsys, "state", "export", "--config", str(example))
    assert code == 1 and out == "" and "server.port" in err


def test_check_as_a_command(example):
    """The real entry point: exit status and streams."""
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    good = subprocess.run([sys.executable, "-m", "acnsd", "check", "--config", str(example)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert good.returncode == 0, good.stderr
    edit(example, lambda d: d["accounts"][0]["custom_nameservers"][0].update(ns_set=8))
    bad = subprocess.run([sys.executable, "-m", "acnsd", "check", "--config", str(example)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert "[R2]" in bad.stderr and "accounts[0].custom_nameservers[0].ns_set" in bad.stderr
    assert bad.stdout == ""


BROKEN = [
    ("R1", lambda d: d["accounts"][0]["custom_nameservers"][3].update(ns_name="ns2_vanity"),
     "accounts[0].custom_nameservers[3].ns_name: [R1]"),
    ("R2", lambda d: d["accounts"][0]["custom_nameservers"][1].update(ns_set=0),
     "accounts[0].custom_nameservers[1].ns_set: [R2]"),
    ("R3", lambda d: d["accounts"][0]["custom_nameservers"].append(
        {"ns_name": "ns1.example.com", "ns_set": 3}), "[R3]"),
    ("R4", lambda d: d["accounts"][0]["custom_nameservers"].pop(), "sub.example.com"),
    ("R5", lambda d: d["accounts"][0]["zones"][1]["dns_settings"]["nameservers"].update(
        ns_set=1), "[R5]"),
    ("R9", lambda d: d["accounts"][0]["zones"][0]["dns_settings"].update(ns_ttl=10), "[R9]"),
    ("R10", lambda d: d["accounts"][0]["zones"][0]["dns_settings"].update(soa={"ttl": 1}),
     "[R10]"),
    ("unknown key", lambda d: d["server"].update(zone_dir="x"), "did you mean 'zones_dir'"),
]


@pytest.mark.parametrize("rule,change,expected", BROKEN, ids=[b[0] for b in BROKEN])
def test_check_broken_example_exits_1_with_the_message(example, capsys, rule, change,
                                                       expected):
    edit(example, change)
    code, out, err = run(capsys, "check", "--config", str(example))
    assert code == 1
    assert out == ""
    assert expected in err
    assert err.startswith(f"error: {example}:")


def test_check_broken_zone_file(example, capsys):
    (example.parent.parent / "zones" / "other.org.zone").write_text("www IN A nope\n")
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 1
    assert "other.org.zone" in err


def test_check_r8_conflict(example, capsys):
    zone_file = example.parent.parent / "zones" / "example.com.zone"
    zone_file.write_text(zone_file.read_text() + "ns1 IN A 192.0.2.53\n")
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 1
    assert "[R8]" in err and "ns1.example.com" in err


def test_check_prints_every_error(example, capsys):
    def change(d):
        d["accounts"][0]["custom_nameservers"][0]["ns_set"] = 9
        d["accounts"][0]["custom_nameservers"][2]["ns_name"] = "bad_name.test"
    edit(example, change)
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 1
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 2


def test_check_warns_of_a_lame_delegation(example, capsys):
    zone_file = example.parent.parent / "zones" / "example.com.zone"
    text = zone_file.read_text().replace("sub             IN  NS     ns1.vanity.test.",
                                         "sub             IN  NS     ns1.example.com.")
    zone_file.write_text(text)
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 0
    lame = [line for line in err.splitlines() if "lame" in line]
    assert len(lame) == 1
    assert lame[0].startswith("warning: ")
    assert "sub.example.com" in lame[0] and "ns1.example.com" in lame[0]


def test_check_warns_of_ignored_apex_ns(example, capsys):
    zone_file = example.parent.parent / "zones" / "other.org.zone"
    zone_file.write_text(zone_file.read_text() + "@ IN NS ns.elsewhere.test.\n")
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 0
    assert "warning:" in err and "[R9]" in err and "ns.elsewhere.test" in err


def test_check_warns_of_data_below_a_dname(example, capsys):
    """RFC 6672 §2.4: occluded data is never served; the warning names file and line."""
    zone_file = example.parent.parent / "zones" / "other.org.zone"
    lines = zone_file.read_text().splitlines()
    zone_file.write_text("\n".join([*lines, "old IN DNAME other.org.", "www.old IN A 192.0.2.1",
                                    "$ORIGIN old.other.org.", "mail IN A 192.0.2.2", ""]))
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 0, err
    (warning,) = [line for line in err.splitlines() if "DNAME" in line]
    assert warning.startswith("warning: ") and f"other.org.zone:{len(lines) + 2}: " in warning
    assert "old.other.org" in warning and "www.old.other.org" in warning
    assert "mail.old.other.org" in warning and "2 name(s)" in warning
    zone_file.write_text("\n".join([*lines, "old IN DNAME other.org.", ""]))
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 0 and "DNAME" not in err


def test_check_missing_config(tmp_path, capsys):
    code, _, err = run(capsys, "check", "--config", str(tmp_path / "none.yaml"))
    assert code == 1 and "none.yaml" in err


def test_show_json_of_the_example(example, capsys):
    code, out, err = run(capsys, "show", "--config", str(example), "--json")
    assert code == 0, err
    doc = json.loads(out)
    (acc,) = doc["accounts"]
    assert acc["id"] == "023e105f4ecef8ad9ca31a8372d0c353"
    names = {n["ns_name"]: n for n in acc["custom_nameservers"]}
    assert set(names) == {"ns1.example.com", "ns2.example.com", "ns1.vanity.test",
                          "ns2.vanity.test"}
    assert [names[n]["ns_set"] for n in sorted(names)] == [1, 2, 1, 2]
    for entry in names.values():
        types = [r["type"] for r in entry["dns_records"]]
        assert types == ["A", "AAAA"]
    assert [r["value"] for r in names["ns1.vanity.test"]["dns_records"]][0] == "127.53.2.1"

    # Served here (R8): nothing to create; served elsewhere: the exact records.
    for n in ("ns1.example.com", "ns2.example.com"):
        assert names[n]["served_in"] == "example.com"
        assert names[n]["records_to_create"] == []
    for n in ("ns1.vanity.test", "ns2.vanity.test"):
        entry = names[n]
        assert entry["served_in"] is None
        v4, v6 = (r["value"] for r in entry["dns_records"])
        assert entry["records_to_create"] == [f"{n}. 3600 IN A {v4}", f"{n}. 3600 IN AAAA {v6}"]
        assert entry["glue"]["host"] == n and entry["glue"]["addresses"] == [v4, v6]
        assert "vanity.test" in entry["glue"]["register_at"]

    sets = {s["ns_set"]: s for s in acc["sets"]}
    assert sets[1]["available"] and sets[2]["available"]
    assert sets[1]["zones"] == ["example.com", "other.org"]
    assert sets[2]["zones"] == ["sub.example.com", "2.0.192.in-addr.arpa"]

    zones = {z["name"]: z for z in acc["zones"]}
    assert zones["example.com"]["name_servers"] == ["ns1.example.com", "ns2.example.com"]
    assert zones["example.com"]["reason"] == "explicit"
    assert zones["sub.example.com"]["name_servers"] == ["ns1.vanity.test", "ns2.vanity.test"]
    assert zones["plain.example.net"]["name_servers"] == ["ns1.acnsd.test", "ns2.acnsd.test"]
    assert zones["plain.example.net"]["nameservers"] == {"type": "cloudflare.standard"}
    assert zones["other.org"]["reason"] == "zone default"
    assert zones["other.org"]["nameservers"] == {"type": "custom.account", "ns_set": 1}

    # show records what it decided: the next run reports the recorded default, same addresses.
    code, out, _ = run(capsys, "show", "--config", str(example), "--json")
    again = json.loads(out)["accounts"][0]
    assert {z["name"]: z for z in again["zones"]}["other.org"]["reason"] == (
        "zone default (recorded)")
    assert again["custom_nameservers"] == acc["custom_nameservers"]


def test_show_text_of_the_example(example, capsys):
    code, out, _ = run(capsys, "show", "--config", str(example))
    assert code == 0
    assert "Set 1: available" in out and "Set 2: available" in out
    assert "ns1.vanity.test. 3600 IN A 127.53.2.1" in out
    assert "register glue" in out
    assert "A/AAAA served here in zone example.com" in out
    # issue 20: a name served here still needs its glue at the registrar, as --json says
    code, doc, _ = run(capsys, "show", "--config", str(example), "--json")
    for entry in json.loads(doc)["accounts"][0]["custom_nameservers"]:
        glue = entry["glue"]
        assert (f"register glue at {glue['register_at']}: host {glue['host']} with "
                f"{', '.join(glue['addresses'])}") in out


def test_show_broken_config_exits_1(example, capsys):
    edit(example, lambda d: d["accounts"][0]["custom_nameservers"][0].update(ns_set=8))
    code, out, err = run(capsys, "show", "--config", str(example), "--json")
    assert code == 1 and out == "" and "[R2]" in err


def test_show_json_unavailable_set_and_custom_zone(env, capsys):
    z = zone("shop.test", "custom.zone", vanity_name_servers=["ns1.shop.test", "ns2.shop.test"])
    env.write(config(account([*two_sets(), ns("ns1.spare.test", 3)], [z])))
    code, out, err = run(capsys, "show", "--config", str(env.path), "--json")
    assert code == 0, err
    acc = json.loads(out)["accounts"][0]
    sets = {s["ns_set"]: s for s in acc["sets"]}
    assert sets[3] == {"ns_set": 3, "names": ["ns1.spare.test"], "available": False,
                       "zones": []}
    (shop,) = acc["zones"]
    assert shop["nameservers"] == {"type": "custom.zone"}
    vanity = {v["ns_name"]: v for v in shop["vanity_name_servers"]}
    assert set(vanity) == {"ns1.shop.test", "ns2.shop.test"}
    assert all(v["served_in"] == "shop.test" for v in vanity.values())


@pytest.mark.parametrize("tokens, expected", [
    (None, "cannot read the tokens file"),
    ('- {token: "short", accounts: ["*"]}\n', "at least 16 characters"),
    ("- just a string\n", "exactly token and accounts"),
])
def test_check_validates_the_api_tokens_file(example, capsys, tokens, expected):
    """Issue 20: `acnsd check` said OK with a missing or bad tokens file, and `acnsd serve`
    then exited 1."""
    edit(example, lambda d: d["server"].update(api={"listen": "127.0.0.1:0",
                                                   "tokens_file": "tokens.yaml"}))
    if tokens is not None:
        (example.parent / "tokens.yaml").write_text(tokens)
    code, _, err = run(capsys, "check", "--config", str(example))
    assert code == 1
    assert "error: server.api.tokens_file:" in err and expected in err
    (example.parent / "tokens.yaml").write_text('- {token: "0123456789abcdef", accounts: ["*"]}\n')
    assert run(capsys, "check", "--config", str(example))[0] == 0
