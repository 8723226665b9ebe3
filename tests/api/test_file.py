"""The configuration file is the one source of truth, and stays the operator's file.

A change touches only the lines it must (comments, order, quoting, flow style kept, on
the example configuration itself); an edit on disk that the server has not loaded is
never overwritten (409) until the server reloads it (refresh), and then it is kept; an
invalid edit on disk is not adopted.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.model.types import zone_id
from apikit import TOKENS, Client, refused

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def example(tmp_path: Path):
    """The example configuration (config/acnsd.yaml) and its zones, in a scratch copy."""
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config" / "acnsd.yaml", tmp_path / "config" / "acnsd.yaml")
    shutil.copytree(REPO / "zones", tmp_path / "zones")
    (tmp_path / "config" / "tokens.yaml").write_text(TOKENS)
    config = tmp_path / "config" / "acnsd.yaml"
    api = ApiServer(config, ("127.0.0.1", 0), tmp_path / "config" / "tokens.yaml",
                    lambda made: None)
    api.start()
    try:
        yield config, api, Client(*api.address)
    finally:
        api.stop()


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_change_touches_only_its_lines(example) -> None:
    config, _, client = example
    before = config.read_text()
    client.ok("PATCH", f"/zones/{zone_id('example.com')}/dns_settings", {"ns_ttl": 300})
    after = config.read_text()
    assert changed_lines(before, after) == [
        "-        dns_settings: {nameservers: {type: custom.account, ns_set: 1}}",
        "+        dns_settings: {nameservers: {type: custom.account, ns_set: 1}, ns_ttl: 300}"]
    client.ok("POST", "/accounts/023e105f4ecef8ad9ca31a8372d0c353/custom_ns",
              {"ns_name": "ns3.example.com", "ns_set": 3})
    assert changed_lines(after, config.read_text()) == [
        "+      - {ns_name: ns3.example.com, ns_set: 3}"]


def test_an_edit_on_disk_waits_for_the_reload(example) -> None:
    config, api, client = example
    operator = config.read_text().replace("ns_ttl: 86400", "ns_ttl: 7200  # the operator's")
    config.write_text(operator)
    status, envelope = client.call("PATCH", f"/zones/{zone_id('other.org')}/dns_settings",
                                   {"ns_ttl": 600})
    assert status == 409 and "changed on disk" in refused(status, envelope)
    assert config.read_text() == operator
    assert api.refresh()  # what `acnsd serve` does after a successful SIGHUP reload
    client.ok("PATCH", f"/zones/{zone_id('other.org')}/dns_settings", {"ns_ttl": 600})
    text = config.read_text()
    assert "ns_ttl: 7200  # the operator's" in text and "ns_ttl: 600" in text


def test_an_invalid_edit_on_disk_is_not_adopted(example) -> None:
    config, api, client = example
    good = config.read_text()
    config.write_text(good.replace("ns_set: 2}", "ns_set: 9}", 1))
    assert not api.refresh()
    status, envelope = client.call("PATCH", f"/zones/{zone_id('other.org')}/dns_settings",
                                   {"ns_ttl": 600})
    assert status == 409
    config.write_text(good)
    client.ok("PATCH", f"/zones/{zone_id('other.org')}/dns_settings", {"ns_ttl": 600})
