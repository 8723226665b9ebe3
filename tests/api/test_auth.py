"""Authentication and scope: no token or a wrong one → 401; another account's resource
→ 403, worded exactly as for a resource that does not exist; nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, ACCOUNT_B, TOKEN_A, TOKEN_ALL, TOKENS, Client, refused, snapshot
from sites import two_accounts

MISSING_ACCOUNT = "f" * 32
MISSING_ZONE = "0" * 32
OTHER_ZONE = zone_id("other.test")

# Requests that token A may not make: (method, path, body), each on account B's
# resources and on ones that do not exist.
FOREIGN = [
    ("GET", f"/accounts/{ACCOUNT_B}/custom_ns", None),
    ("POST", f"/accounts/{ACCOUNT_B}/custom_ns", {"ns_name": "ns3.other.test"}),
    ("DELETE", f"/accounts/{ACCOUNT_B}/custom_ns/ns1.other.test", None),
    ("GET", f"/accounts/{ACCOUNT_B}/dns_settings", None),
    ("PATCH", f"/accounts/{ACCOUNT_B}/dns_settings", {"zone_defaults": {"ns_ttl": 300}}),
    ("GET", f"/zones/{OTHER_ZONE}", None),
    ("DELETE", f"/zones/{OTHER_ZONE}", None),
    ("GET", f"/zones/{OTHER_ZONE}/dns_settings", None),
    ("PATCH", f"/zones/{OTHER_ZONE}/dns_settings", {"ns_ttl": 300}),
    ("POST", "/zones", {"name": "new.test", "account": {"id": ACCOUNT_B}}),
]


@pytest.fixture
def api(tmp_path: Path):
    config = two_accounts(tmp_path)
    server = ApiServer(config, ("127.0.0.1", 0), tmp_path / "tokens.yaml", lambda made: None)
    server.start()
    try:
        yield tmp_path, Client(*server.address)
    finally:
        server.stop()


@pytest.mark.parametrize("token", [None, "", "wrong-token-0000000000000000", TOKEN_A + "x"])
def test_missing_or_wrong_token_is_401(api, token) -> None:
    directory, client = api
    before = snapshot(directory)
    for method, path, body in [*FOREIGN, ("GET", "/zones", None),
                               ("GET", f"/accounts/{ACCOUNT_A}/custom_ns", None)]:
        status, envelope = client.call(method, path, body, token=token)
        assert status == 401, (method, path, envelope)
        refused(status, envelope)
        assert envelope["errors"][0]["code"] == 10000
    assert snapshot(directory) == before


def test_other_scheme_is_401(api) -> None:
    _, client = api
    status, envelope = client.call("GET", "/zones", token=None,
                                   headers={"Authorization": f"Basic {TOKEN_ALL}"})
    assert status == 401


def test_token_is_checked_before_the_body(api) -> None:
    _, client = api
    path = f"/accounts/{ACCOUNT_A}/custom_ns"
    assert client.call("POST", path, token=None, raw=b"{not json")[0] == 401
    assert client.call("POST", path, raw=b"{not json")[0] == 400


def test_another_accounts_resources_are_403_without_a_hint(api) -> None:
    directory, client = api
    client.token = TOKEN_A
    before = snapshot(directory)
    for method, path, body in FOREIGN:
        status, envelope = client.call(method, path, body)
        assert status == 403, (method, path, envelope)
        refused(status, envelope)
        missing_path = path.replace(ACCOUNT_B, MISSING_ACCOUNT).replace(OTHER_ZONE, MISSING_ZONE)
        missing_body = body
        if body and "account" in body:
            missing_body = {**body, "account": {"id": MISSING_ACCOUNT}}
        # a resource that does not exist gets the very same answer
        assert client.call(method, missing_path, missing_body) == (status, envelope)
    assert snapshot(directory) == before


def test_scope_limits_listings(api) -> None:
    _, client = api
    client.token = TOKEN_A
    assert [z["name"] for z in client.ok("GET", "/zones")] == ["acme.test"]
    assert client.ok("GET", f"/zones?account.id={ACCOUNT_B}") == []
    assert client.ok("GET", "/zones?name=other.test") == []
    client.token = TOKEN_ALL
    assert sorted(z["name"] for z in client.ok("GET", "/zones")) == ["acme.test", "other.test"]
    status, _ = client.call("GET", f"/zones/{MISSING_ZONE}")
    assert status == 404  # a token for every account may learn that a zone does not exist


def test_own_account_is_allowed(api) -> None:
    _, client = api
    client.token = TOKEN_A
    created = client.ok("POST", f"/accounts/{ACCOUNT_A}/custom_ns", {"ns_name": "ns3.acme.test"})
    assert created["ns_set"] == 1
    zone = client.ok("POST", "/zones", {"name": "new.acme.test", "account": {"id": ACCOUNT_A}})
    assert zone["account"]["id"] == ACCOUNT_A


def test_openapi_is_public_and_tokens_are_reread(api) -> None:
    directory, client = api
    status, document = client.call("GET", "/openapi.json", token=None)
    assert status == 200 and document["openapi"].startswith("3.")
    new_token = "token-added-later-333333333333333"
    assert client.call("GET", "/zones", token=new_token)[0] == 401
    (directory / "tokens.yaml").write_text(
        TOKENS + f'- {{token: "{new_token}", accounts: ["{ACCOUNT_B}"]}}\n')
    assert [z["name"] for z in client.ok("GET", "/zones", token=new_token)] == ["other.test"]


def test_listens_on_ipv6_loopback(tmp_path: Path) -> None:
    config = two_accounts(tmp_path)
    server = ApiServer(config, ("::1", 0), tmp_path / "tokens.yaml", lambda made: None)
    server.start()
    try:
        host, port = server.address
        assert host == "::1"
        assert Client(host, port).call("GET", "/zones", token=None)[0] == 401
        assert len(Client(host, port).ok("GET", "/zones")) == 2
    finally:
        server.stop()
