"""Issue 19, isolation between accounts in the DNS records API: account A's token against
account B's zone (other.test) on a real `acnsd serve`. Every endpoint is a 403 that quotes
nothing of B (as the other endpoints: a zone id that does not exist alike), B's records
are served and its zone file is unchanged; a record id of B's zone asked under A's own
zone is not found; B's own token sees and edits its zone."""

from __future__ import annotations

import pytest
from apikit import TOKEN_A, TOKEN_B, refused
from recordkit import ACME, OTHER, answer, import_file, records_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    with records_site(tmp_path_factory.mktemp("records_tenants")) as served:
        yield served


def listed(client, zone: str, **query: str) -> list[dict]:
    text = "&".join(f"{k}={v}" for k, v in {"per_page": "1000", **query}.items())
    return client.ok("GET", f"/zones/{zone}/dns_records?{text}")


def test_another_accounts_records(site) -> None:
    config, daemon, client = site
    other_file = config.parent / "zones" / "other.test.zone"
    before = other_file.read_bytes()
    record = listed(client, OTHER, name="secret")[0]
    for token in (TOKEN_A,):
        for method, path, body in (
                ("GET", f"/zones/{OTHER}/dns_records", None),
                ("POST", f"/zones/{OTHER}/dns_records",
                 {"type": "A", "name": "x", "content": "192.0.2.1"}),
                ("GET", f"/zones/{OTHER}/dns_records/{record['id']}", None),
                ("PATCH", f"/zones/{OTHER}/dns_records/{record['id']}", {"ttl": 60}),
                ("PUT", f"/zones/{OTHER}/dns_records/{record['id']}",
                 {"type": "A", "name": "x", "content": "192.0.2.1"}),
                ("DELETE", f"/zones/{OTHER}/dns_records/{record['id']}", None),
                ("GET", f"/zones/{OTHER}/dns_records/export", None),
                ("GET", f"/zones/{'0' * 32}/dns_records", None)):
            status, envelope = client.call(method, path, body, token=token)
            assert status == 403, (method, path, envelope)
            message = refused(status, envelope)
            assert "secret" not in message and "other" not in message
    client.token = TOKEN_A
    try:
        status, envelope = import_file(client, OTHER, "$TTL 60\nx A 192.0.2.1\n")
    finally:
        client.token = "token-all-accounts-00000000000000"
    assert status == 403 and "other" not in refused(status, envelope)
    # an id of another account's zone asked under one's own zone: not found
    status, envelope = client.call("GET", f"/zones/{ACME}/dns_records/{record['id']}",
                                   token=TOKEN_A)
    assert status == 404
    assert answer(daemon, "secret.other.test", "TXT") == {'"other\'s"'}
    assert listed(client, OTHER, name="secret") == [record]
    assert other_file.read_bytes() == before
    mine = client.ok("GET", f"/zones/{OTHER}/dns_records", token=TOKEN_B)
    assert record in mine
    patched = client.ok("PATCH", f"/zones/{OTHER}/dns_records/{record['id']}", {"ttl": 60},
                        token=TOKEN_B)
    assert patched["id"] == record["id"] and patched["ttl"] == 60
