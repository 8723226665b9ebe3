"""`acnsd record add|list|delete`: the command-line client of the DNS records API, run
through `acnsd.cli.main` against `acnsd serve`; each change is answered by the daemon."""

from __future__ import annotations

import json

import pytest
from acnsd.cli import main
from apikit import TOKEN_A, TOKEN_ALL
from recordkit import answer, records_site


@pytest.fixture
def site(tmp_path, monkeypatch: pytest.MonkeyPatch):
    with records_site(tmp_path) as (config, daemon, client):
        monkeypatch.setenv("ACNSD_API", f"http://{client.host}:{client.port}")
        monkeypatch.setenv("ACNSD_TOKEN", TOKEN_ALL)
        yield daemon


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_delete(site, capsys: pytest.CaptureFixture[str]) -> None:
    daemon = site
    code, out, _ = run(capsys, "record", "add", "acme.test", "cli", "A", "192.0.2.50",
                       "--ttl", "120")
    assert code == 0 and "cli.acme.test  120  A  192.0.2.50" in out
    assert answer(daemon, "cli.acme.test", "A") == {"192.0.2.50"}
    record_id = out.split()[0]
    code, out, _ = run(capsys, "record", "add", "acme.test", "@", "mx", "mx.acme.test",
                       "--priority", "5")
    assert code == 0 and "MX  5 mx.acme.test" in out
    code, out, _ = run(capsys, "record", "add", "acme.test", "_s._tcp", "SRV", "--data",
                       "priority=1", "--data", "weight=2", "--data", "port=3", "--data",
                       "target=t.acme.test")
    assert code == 0 and answer(daemon, "_s._tcp.acme.test", "SRV") == {"1 2 3 t.acme.test."}
    code, out, _ = run(capsys, "record", "list", "acme.test", "--name", "cli")
    assert code == 0 and out.split()[0] == record_id and len(out.splitlines()) == 1
    code, out, _ = run(capsys, "record", "list", "acme.test")
    assert "managed (R8)" in out and "managed (R10)" in out
    code, out, _ = run(capsys, "record", "list", "acme.test", "--json")
    assert record_id in {r["id"] for r in json.loads(out)}
    code, out, _ = run(capsys, "record", "delete", "acme.test", record_id)
    assert code == 0 and out == f"deleted record {record_id}\n"
    assert answer(daemon, "cli.acme.test", "A") == set()


def test_refusals(site, capsys: pytest.CaptureFixture[str],
                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "record", "add", "acme.test", "ns1", "A", "192.0.2.9")
    assert code == 1 and "[1008]" in err and "[R8]" in err
    code, _, err = run(capsys, "record", "add", "acme.test", "x", "SRV", "--data", "port")
    assert code == 2 and "KEY=VALUE" in err
    monkeypatch.setenv("ACNSD_TOKEN", TOKEN_A)
    code, _, err = run(capsys, "record", "list", "other.test")
    assert code == 1 and "not found" in err  # another account's zone: not listed to it
