"""A change rewrites only the lines of the entries it edits (apisplice), byte for byte
what dumping the whole document would write, and falls back to that dump when splicing
is not possible; the running daemon serves the change from the editor's own check.
"""

from __future__ import annotations

import difflib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from acnsd.api import edit as apiedit
from acnsd.api import splice as apisplice
from acnsd.api.server import ApiServer
from acnsd.control import document as apidocument
from acnsd.control.change import ZoneSettingsChanged
from acnsd.control.pipeline import Committed
from acnsd.model.config import Loaded
from acnsd.model.types import zone_id
from apikit import (
    ACCOUNT_A,
    ACCOUNT_B,
    ZONE_TEXT,
    Client,
    make_site,
    start_daemon,
    wait_until,
)
from ruamel.yaml import YAML
from tooling import unused_port

CONFIG = """\
# a commented site: every comment and blank line must survive every change
server:
  listen: ["127.0.0.1:{port}"]
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.54.0.0/16"], ipv6: ["fd00:54::/64"]}}
  zones_dir: zones
  api: {{listen: "127.0.0.1:0", tokens_file: tokens.yaml}}

accounts:
  # the first account
  - id: {a}
    name: Acme   # a trailing comment
    custom_nameservers:
      - {{ns_name: ns1.acme.test, ns_set: 1}}
      - {{ns_name: ns2.acme.test, ns_set: 1}}   # the second

    zones:
      - name: acme.test        # the first zone
      - name: two.test
        dns_settings:
          nameservers:
            type: custom.account   # block style
          ns_ttl: 3600
      # a comment between zones
      - name: three.test

  # the second account, after a blank line
  - id: {b}
    name: Other
    custom_nameservers:
      - {{ns_name: ns1.other.test, ns_set: 1}}
      - {{ns_name: ns2.other.test, ns_set: 1}}
    zones:
      - name: other.test
        dns_settings: {{nameservers: {{type: custom.account}}}}
# the end of the file
"""
ZONES = ("acme.test", "two.test", "three.test", "other.test")


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def whole_dump(text: str) -> str:
    """What the editor wrote before splicing: the whole document dumped again."""
    yaml = apiedit._yaml(2, 4, 2)  # the layout of CONFIG
    out = io.StringIO()
    yaml.dump(yaml.load(text), out)
    return out.getvalue()


@contextmanager
def counted_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str):
    """An API over a site with `text` as its config; yields (config, client, dumps), where
    `dumps` gets one item per whole-document dump (cleared after the start's check)."""
    config = make_site(tmp_path, text, dict.fromkeys(ZONES, ZONE_TEXT))
    dumps: list[int] = []
    dump = apidocument.dump
    monkeypatch.setattr(apidocument, "dump", lambda *a: dumps.append(1) or dump(*a))
    api = ApiServer(config, ("127.0.0.1", 0), tmp_path / "tokens.yaml", lambda made: None)
    api.start()
    dumps.clear()  # the layout check at start dumps the document once
    try:
        yield config, Client(*api.address), dumps
    finally:
        api.stop()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    text = CONFIG.format(port=53, a=ACCOUNT_A, b=ACCOUNT_B)
    with counted_api(tmp_path, monkeypatch, text) as got:
        yield got


def test_each_change_rewrites_only_its_entries(site) -> None:
    config, client, dumps = site
    steps = [
        # (method, path, body, the lines removed and added)
        ("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 600},
         ["-          ns_ttl: 3600", "+          ns_ttl: 600"]),
        ("PATCH", f"/zones/{zone_id('acme.test')}/dns_settings",
         {"nameservers": {"type": "custom.account"}},
         ["+        dns_settings:", "+          nameservers:",
          "+            type: custom.account"]),
        ("POST", f"/accounts/{ACCOUNT_A}/custom_ns", {"ns_name": "ns3.acme.test"},
         ["+      - {ns_name: ns3.acme.test, ns_set: 1}"]),
        ("PATCH", f"/zones/{zone_id('other.test')}/dns_settings", {"ns_ttl": 300},
         ["-        dns_settings: {nameservers: {type: custom.account}}",
          "+        dns_settings: {nameservers: {type: custom.account}, ns_ttl: 300}"]),
        ("POST", "/zones", {"name": "new.test", "account": {"id": ACCOUNT_B}},
         ["+      - name: new.test"]),
        ("DELETE", f"/zones/{zone_id('two.test')}", None,
         ["-      - name: two.test", "-        dns_settings:", "-          nameservers:",
          "-            type: custom.account   # block style", "-          ns_ttl: 600",
          "-      # a comment between zones"]),
        ("DELETE", f"/accounts/{ACCOUNT_A}/custom_ns/ns3.acme.test", None,
         ["-      - {ns_name: ns3.acme.test, ns_set: 1}"]),
        ("PATCH", f"/zones/{zone_id('three.test')}", {"vanity_name_servers": []}, []),
        ("PATCH", f"/accounts/{ACCOUNT_B}/dns_settings",
         {"zone_defaults": {"ns_ttl": 7200}},
         ["+    dns_settings:", "+      zone_defaults:", "+        ns_ttl: 7200"]),
    ]
    for method, path, body, lines in steps:
        before = config.read_text()
        client.ok(method, path, body)
        after = config.read_text()
        assert changed_lines(before, after) == lines, (method, path)
        if not lines:
            assert after == before
        # exactly what dumping the whole edited document writes, without dumping it
        assert whole_dump(after) == after
        assert dumps == [], (method, path)
    text = config.read_text()
    for comment in re.findall(r"#.*", CONFIG):
        if "block style" not in comment and "between zones" not in comment:
            assert comment in text  # (those two went with the deleted zone)
    assert "\n\n  # the second account, after a blank line\n" in text


def test_a_refused_change_leaves_nothing_behind(site) -> None:
    config, client, dumps = site
    before = config.read_text()
    status, _ = client.call("PATCH", f"/zones/{zone_id('two.test')}/dns_settings",
                            {"nameservers": {"type": "custom.account", "ns_set": 7}})
    assert status == 400 and config.read_text() == before  # no set 7 in the account
    # the edited document was dropped (parsed again): the next change is still spliced
    client.ok("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 60})
    assert changed_lines(before, config.read_text()) == ["-          ns_ttl: 3600",
                                                         "+          ns_ttl: 60"]
    assert dumps == []


def test_a_splice_that_does_not_round_trip_falls_back(site, monkeypatch) -> None:
    config, client, dumps = site
    before = config.read_text()
    # a wrong position tree: the spliced text would not read as the edited document
    monkeypatch.setattr(apidocument, "compose", lambda text: apisplice.compose(
        text.replace("      - name: two.test\n", "      - name: two.test\n\n")))
    client.ok("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 900})
    assert dumps == [1]  # the whole document was dumped instead
    assert changed_lines(before, config.read_text()) == ["-          ns_ttl: 3600",
                                                         "+          ns_ttl: 900"]


def test_splice_refuses_a_lost_comment() -> None:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    text = "a:\n  b: 1\n  # about c\n  c: 2\n"
    document = yaml.load(text)
    before = apisplice.plain(document)
    document["a"]["b"] = 5
    tree = apisplice.compose(text)
    spliced = apisplice.splice(yaml, text, tree, before, apisplice.plain(document), document)
    assert spliced is not None and spliced[0] == "a:\n  b: 5\n  # about c\n  c: 2\n"
    document["a"].ca.items.pop("b")  # the comment no longer comes with b
    document["a"]["b"] = 6
    assert apisplice.splice(yaml, text, tree, before, apisplice.plain(document),
                            document) is None


def test_an_unreproducible_layout_is_dumped_whole_once(tmp_path: Path, monkeypatch) -> None:
    text = CONFIG.format(port=53, a=ACCOUNT_A, b=ACCOUNT_B).replace(
        "        dns_settings: {nameservers: {type: custom.account}}",
        "        dns_settings:   {nameservers: {type: custom.account}}")
    with counted_api(tmp_path, monkeypatch, text) as (config, client, dumps):
        client.ok("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 60})
        assert dumps == [1]  # the layout is rewritten once, as before
        assert "# the end of the file" in config.read_text()
        client.ok("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 61})
        assert dumps == [1]  # then the text is the dumper's own: spliced


def test_the_daemon_serves_the_change_as_a_delta(tmp_path: Path) -> None:
    port = unused_port()
    config = make_site(tmp_path, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B),
                       dict.fromkeys(ZONES, ZONE_TEXT))
    daemon = start_daemon(config, port)
    try:
        client = daemon.api()
        client.ok("PATCH", f"/zones/{zone_id('two.test')}/dns_settings", {"ns_ttl": 1234})
        # the 200 comes once the change is served: no wait needed
        assert {rrset.ttl for rrset in daemon.query("two.test", "NS").answer} == {1234}
        # the pipeline's delta (one zone), not a reload, nor a whole compile
        assert daemon.count(r"event=change result=ok generation=\d+ zones=1 ") == 1
        assert daemon.count(r"event=reload") == 0
        # an operator's edit on disk: the next apply loads the file, not a stale check
        text = config.read_text()
        config.write_text(text.replace("ns_ttl: 1234", "ns_ttl: 4321"))
        daemon.hup()
        daemon.wait_log(r"event=reload result=ok generation=\d+ source=file")
        assert {rrset.ttl for rrset in daemon.query("two.test", "NS").answer} == {4321}
        # (the API adopts the operator's text just after the reload: until then, 409)
        wait_until(lambda: client.call("PATCH", f"/zones/{zone_id('other.test')}/dns_settings",
                                       {"ns_ttl": 99})[0] == 200)
        assert {rrset.ttl for rrset in daemon.query("other.test", "NS").answer} == {99}
        assert {rrset.ttl for rrset in daemon.query("two.test", "NS").answer} == {4321}
        # concurrent changes: each 200 comes once its own change (or a later one) serves
        wanted = {name: 500 + i for i, name in enumerate(ZONES)}

        def change(name: str) -> None:
            client.ok("PATCH", f"/zones/{zone_id(name)}/dns_settings",
                      {"ns_ttl": wanted[name]})
            assert {r.ttl for r in daemon.query(name, "NS").answer} == {wanted[name]}

        with ThreadPoolExecutor(len(ZONES)) as pool:
            list(pool.map(change, ZONES))
        for name, ttl in wanted.items():
            assert {r.ttl for r in daemon.query(name, "NS").answer} == {ttl}
    finally:
        daemon.stop()


def test_a_change_is_handed_to_the_server_as_made(tmp_path: Path) -> None:
    config = make_site(tmp_path, CONFIG.format(port=53, a=ACCOUNT_A, b=ACCOUNT_B),
                       dict.fromkeys(ZONES, ZONE_TEXT))
    made: list[Any] = []
    editor = apiedit.ConfigEditor(config, made.append)

    def edit(document) -> None:
        document["accounts"][0]["zones"][2]["dns_settings"] = apiedit.to_yaml({"ns_ttl": 77})

    model = editor.change(edit)  # a document edit: loaded whole
    (loaded,) = made
    assert isinstance(loaded, Loaded) and loaded.model is model and loaded.state is None
    assert loaded.model.config_file == config
    assert loaded.model.server.state_file == config.with_suffix(".state.db")
    assert next(z for z in loaded.model.zones if z.name == "three.test").ns_ttl == 77
    model = editor.change(ZoneSettingsChanged("three.test", {"ns_ttl": 78}))  # the pipeline
    committed = made[-1]
    assert isinstance(committed, Committed) and committed.model is model
    assert next(z for z in model.zones if z.name == "three.test").ns_ttl == 78
    assert [z.key for z in committed.delta.zones] == [b"\x05three\x04test\x00"]
