"""`acnsd ns ...` and `acnsd zone ...`: the command-line client against a real API.

Each command is run through `acnsd.cli.main`, as an operator types it; its output, its
exit code (0 done, 1 refused by the API, 2 API unreachable or usage) and the effect on
the configuration file are checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.cli import main
from acnsd.model.config import load
from apikit import ACCOUNT_A, ACCOUNT_B, TOKEN_A, TOKEN_ALL
from sites import two_accounts
from tooling import unused_port


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    config = two_accounts(tmp_path)
    server = ApiServer(config, ("127.0.0.1", 0), tmp_path / "tokens.yaml", lambda made: None)
    server.start()
    host, port = server.address
    monkeypatch.setenv("ACNSD_API", f"http://{host}:{port}")
    monkeypatch.setenv("ACNSD_TOKEN", TOKEN_ALL)
    monkeypatch.delenv("ACNSD_ACCOUNT", raising=False)
    try:
        yield config
    finally:
        server.stop()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_names_and_zones(api: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = ("--account", ACCOUNT_A)
    code, out, _ = run(capsys, "ns", "add", "ns3.acme.test", "--set", "2", *a)
    assert code == 0 and out.startswith("ns3.acme.test  set 2  A ")
    run(capsys, "ns", "add", "ns4.acme.test", "--set", "2", *a)
    code, out, _ = run(capsys, "ns", "list", *a)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "ns1.acme.test", "ns2.acme.test", "ns3.acme.test", "ns4.acme.test"]
    code, out, _ = run(capsys, "zone", "create", "shop.acme.test", *a)
    assert code == 0 and out.startswith("shop.acme.test  ")
    code, out, _ = run(capsys, "zone", "set-nameservers", "shop.acme.test",
                       "--type", "custom.account", "--set", "2")
    assert code == 0 and out.split()[2:] == ["ns3.acme.test,", "ns4.acme.test"]
    code, out, _ = run(capsys, "zone", "list", *a)
    assert [line.split()[0] for line in out.splitlines()] == ["acme.test", "shop.acme.test"]
    zones = {z.name: z for z in load(api, save_state=False).model.zones}
    assert zones["shop.acme.test"].ns_set == 2
    code, _, err = run(capsys, "ns", "delete", "ns4.acme.test", *a)
    assert code == 1 and "[1004]" in err and "shop.acme.test" in err  # R4, naming the zone
    code, out, _ = run(capsys, "zone", "delete", "shop.acme.test")
    assert code == 0
    assert run(capsys, "ns", "delete", "ns4.acme.test", *a)[0] == 0
    code, out, _ = run(capsys, "zone", "list", "--json")
    assert code == 0 and '"other.test"' in out


def test_refusals_and_errors(api: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "ns", "add", "bad_name.acme.test", "--account", ACCOUNT_A)
    assert code == 1 and "[R1]" in err
    monkeypatch.setenv("ACNSD_TOKEN", TOKEN_A)
    code, _, err = run(capsys, "ns", "list", "--account", ACCOUNT_B)
    assert code == 1 and "[9109]" in err
    code, _, err = run(capsys, "ns", "list")
    assert code == 2 and "--account" in err
    code, _, err = run(capsys, "zone", "set-nameservers", "nowhere.test", "--type",
                       "cloudflare.standard")
    assert code == 1 and "not found" in err
    code, _, err = run(capsys, "zone", "list", "--api", f"http://127.0.0.1:{unused_port()}")
    assert code == 2 and "cannot reach" in err


def test_the_small_things_a_newcomer_tried(api: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: --version; vanity names for custom.zone; --api without a scheme; aligned
    columns in the lists."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("acnsd ")
    a = ("--account", ACCOUNT_A)
    run(capsys, "zone", "create", "shop.acme.test", *a)
    code, out, err = run(capsys, "zone", "set-nameservers", "shop.acme.test", "--type",
                         "custom.zone", "--vanity", "ns1.shop.acme.test",
                         "--vanity", "ns2.shop.acme.test")
    assert code == 0, err
    assert out.split()[2:] == ["ns1.shop.acme.test,", "ns2.shop.acme.test"]
    zones = {z.name: z for z in load(api, save_state=False).model.zones}
    assert zones["shop.acme.test"].nameservers == ("ns1.shop.acme.test", "ns2.shop.acme.test")
    code, _, err = run(capsys, "zone", "set-nameservers", "shop.acme.test", "--type",
                       "custom.account", "--vanity", "ns1.shop.acme.test")
    assert code == 2 and "--vanity goes with --type custom.zone" in err
    monkeypatch.setenv("ACNSD_API", os.environ["ACNSD_API"].removeprefix("http://"))
    code, out, _ = run(capsys, "zone", "list", *a)
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["acme.test", "shop.acme.test"]
    assert len({line.index(line.split()[1]) for line in lines}) == 1  # the ids line up
    code, out, _ = run(capsys, "ns", "list", *a)
    assert len({line.index(" set ") for line in out.splitlines()}) == 1
