"""Zone files around POST and DELETE /zones (in-process API, no daemon): a refused creation
puts back the file it replaced, byte for byte and with its mode; a file set aside by a
change that a crash interrupted is removed at start; DELETE removes only a file of
zones_dir that no other zone uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, TOKEN_A, ZONE_TEXT, Client, refused
from sites import two_accounts

STALE = "$TTL 300\nwww IN A 192.0.2.66\n"


@pytest.fixture
def site(tmp_path: Path):
    config = two_accounts(tmp_path)
    yield tmp_path, config


def serve(directory: Path, config: Path) -> ApiServer:
    server = ApiServer(config, ("127.0.0.1", 0), directory / "tokens.yaml", lambda made: None)
    server.start()
    return server


def test_a_refused_creation_puts_the_old_file_back(site) -> None:
    directory, config = site
    stale = directory / "zones" / "www.other.test.zone"
    stale.write_text(STALE)
    stale.chmod(0o640)
    server = serve(directory, config)
    try:
        status, envelope = Client(*server.address, token=TOKEN_A).call(
            "POST", "/zones", {"name": "www.other.test", "account": {"id": ACCOUNT_A}})
        assert status == 409 and "[R11]" in refused(status, envelope)
    finally:
        server.stop()
    assert stale.read_text() == STALE and stale.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in (directory / "zones").iterdir()) == [
        "acme.test.zone", "other.test.zone", "www.other.test.zone"]


def test_a_file_set_aside_before_a_crash_is_removed_at_start(site) -> None:
    directory, config = site
    aside = directory / "zones" / ".x.test.zone.api-old"
    aside.write_text(STALE)
    serve(directory, config).stop()
    assert not aside.exists()


def test_delete_keeps_a_file_outside_zones_dir_or_used_by_another_zone(site) -> None:
    directory, config = site
    (directory / "shared.zone").write_text(ZONE_TEXT)
    text = config.read_text().replace("      - name: acme.test\n", """\
      - name: acme.test
      - {name: one.test, file: ../shared.zone}
      - {name: two.test, file: same.zone}
      - {name: three.test, file: same.zone}
""")
    config.write_text(text)
    (directory / "zones" / "same.zone").write_text(ZONE_TEXT)
    server = serve(directory, config)
    try:
        client = Client(*server.address, token=TOKEN_A)
        for name in ("one.test", "two.test"):
            client.ok("DELETE", f"/zones/{zone_id(name)}")
        assert (directory / "shared.zone").exists() and (directory / "zones" / "same.zone").exists()
        client.ok("DELETE", f"/zones/{zone_id('three.test')}")  # the last user of same.zone
        assert not (directory / "zones" / "same.zone").exists()
        client.ok("DELETE", f"/zones/{zone_id('acme.test')}")
        assert not (directory / "zones" / "acme.test.zone").exists()
    finally:
        server.stop()
    assert os.listdir(directory / "zones") == ["other.test.zone"]
