"""The web dashboard over HTTP: sign-in, sessions, CSRF and origin checks, the token's
scope, and refusals in the API's words (tests/e2e/test_dashboard_browser.py drives the
screens in a real browser against the daemon)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from acnsd.api.server import ApiServer
from acnsd.api.sessions import IDLE, LIFETIME, MAX_SESSIONS, Sessions
from acnsd.model.types import zone_id
from apikit import ACCOUNT_A, ACCOUNT_B, TOKEN_A, TOKEN_ALL, Client, refused, snapshot
from dashkit import WebClient
from sites import two_accounts

ACME = zone_id("acme.test")
OTHER = zone_id("other.test")


@pytest.fixture
def site(tmp_path: Path):
    config = two_accounts(tmp_path)
    server = ApiServer(config, ("127.0.0.1", 0), tmp_path / "tokens.yaml", lambda made: None)
    server.start()
    try:
        yield tmp_path, server
    finally:
        server.stop()


def web(server: ApiServer) -> WebClient:
    return WebClient(*server.address)


@pytest.mark.parametrize("path", ["/", f"/accounts/{ACCOUNT_A}", f"/zones/{ACME}"])
def test_no_session_redirects_to_sign_in(site, path: str) -> None:
    _, server = site
    page = web(server).request("GET", path)
    assert page.status == 303 and page.headers["location"] == "/sign-in"
    assert "Sign in" in web(server).follow(page).text


def test_sign_in_sets_a_strict_http_only_cookie_not_the_token(site) -> None:
    _, server = site
    client = web(server)
    page = client.request("POST", "/sign-in", {"token": TOKEN_A})
    assert page.status == 303 and page.headers["location"] == "/"
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN_A not in cookie and TOKEN_A not in page.headers["location"]
    assert page.headers["server"] == "acnsd-api" and page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    home = client.follow(page)
    assert home.status == 200 and "Acme" in home.text and TOKEN_A not in home.text
    assert "Other" not in home.text  # token A's accounts only


@pytest.mark.parametrize("token", ["", "wrong-token-0000000000000000", TOKEN_A + "x"])
def test_wrong_token_is_refused(site, token: str) -> None:
    _, server = site
    client = web(server)
    page = client.request("POST", "/sign-in", {"token": token})
    assert page.status == 401 and "set-cookie" not in page.headers
    assert "not one of the API&#39;s tokens" in page.text
    assert client.request("GET", "/").status == 303


def test_post_without_csrf_token_is_403_and_changes_nothing(site) -> None:
    directory, server = site
    client = web(server)
    client.sign_in(TOKEN_A)
    before = snapshot(directory)
    form = {"ns_name": "ns3.acme.test", "ns_set": "2"}
    path = f"/accounts/{ACCOUNT_A}/custom_ns"
    assert client.request("POST", path, form).status == 403
    assert client.request("POST", path, {**form, "csrf": "x" * 43}).status == 403
    assert snapshot(directory) == before
    csrf = client.request("GET", f"/accounts/{ACCOUNT_A}").csrf
    assert client.request("POST", path, {**form, "csrf": csrf}).status == 303
    assert "ns3.acme.test" in (directory / "acnsd.yaml").read_text()


@pytest.mark.parametrize("header", [{"Origin": "http://evil.test"}, {"Origin": "null"},
                                    {"Origin": "", "Referer": "http://evil.test/x"}])
def test_post_from_another_origin_is_403(site, header: dict[str, str]) -> None:
    directory, server = site
    client = web(server)
    client.sign_in(TOKEN_A)
    csrf = client.request("GET", f"/accounts/{ACCOUNT_A}").csrf
    before = snapshot(directory)
    page = client.request("POST", f"/accounts/{ACCOUNT_A}/custom_ns",
                          {"ns_name": "ns3.acme.test", "ns_set": "2", "csrf": csrf},
                          headers=header)
    assert page.status == 403 and "another site" in page.text
    assert snapshot(directory) == before


def test_another_accounts_token_sees_nothing_of_it(site) -> None:
    directory, server = site
    client = web(server)
    client.sign_in(TOKEN_A)
    csrf = client.request("GET", "/").csrf
    before = snapshot(directory)
    for path in (f"/accounts/{ACCOUNT_B}", f"/zones/{OTHER}", f"/zones/{'0' * 32}"):
        page = client.request("GET", path)
        assert page.status == 403, path
        assert "other.test" not in page.text and "Other" not in page.text
        assert "Unauthorized to access requested resource" in page.text
    for path, form in ((f"/accounts/{ACCOUNT_B}/custom_ns", {"ns_name": "ns3.other.test"}),
                       (f"/accounts/{ACCOUNT_B}/custom_ns/ns1.other.test/delete", {}),
                       (f"/zones/{OTHER}/records", {"type": "A", "name": "x",
                                                    "content": "192.0.2.9"})):
        page = client.request("POST", path, {**form, "csrf": csrf})
        assert page.status == 303 and page.headers["location"] == "/"
        shown = client.follow(page)
        assert shown.flashes == ["Unauthorized to access requested resource"]
    assert snapshot(directory) == before


def test_refusal_shows_the_apis_message(site) -> None:
    """A name of another account (R3, R11): the page says what the API says to that token."""
    directory, server = site
    body = {"ns_name": "ns1.other.test", "ns_set": 2}
    status, envelope = Client(*server.address, token=TOKEN_A).call(
        "POST", f"/accounts/{ACCOUNT_A}/custom_ns", body)
    messages = refused(status, envelope).split("\n")
    client = web(server)
    client.sign_in(TOKEN_A)
    csrf = client.request("GET", f"/accounts/{ACCOUNT_A}").csrf
    page = client.follow(client.request("POST", f"/accounts/{ACCOUNT_A}/custom_ns",
                                        {"ns_name": "ns1.other.test", "ns_set": "2",
                                         "csrf": csrf}))
    assert page.flashes == messages
    assert "ns1.other.test" not in (directory / "acnsd.yaml").read_text().split("Other")[0]


def test_screens_change_through_the_api(site) -> None:
    """Names, zone defaults, a zone's set and a record: each shown after the change, as
    the API then lists it."""
    directory, server = site
    api = Client(*server.address, token=TOKEN_A)
    client = web(server)
    client.sign_in(TOKEN_A)
    account = f"/accounts/{ACCOUNT_A}"
    csrf = client.request("GET", account).csrf
    for name in ("ns3.acme.test", "ns4.acme.test"):
        page = client.follow(client.request("POST", f"{account}/custom_ns",
                                            {"ns_name": name, "ns_set": "2", "csrf": csrf}))
        assert page.flashes == [f"{name} added to set 2"]
    assert {e["ns_name"]: e["ns_set"] for e in api.ok("GET", f"{account}/custom_ns")} == {
        "ns1.acme.test": 1, "ns2.acme.test": 1, "ns3.acme.test": 2, "ns4.acme.test": 2}
    assert 'id="set-2"' in page.text

    page = client.follow(client.request("POST", f"{account}/zone_defaults", {
        "type": "custom.account", "ns_ttl": "3600", "csrf": csrf}))
    assert page.flashes == ["zone defaults saved"]
    defaults = api.ok("GET", f"{account}/dns_settings")["zone_defaults"]
    assert defaults["nameservers"] == {"type": "custom.account"} and defaults["ns_ttl"] == 3600
    page = client.follow(client.request("POST", f"{account}/zones", {
        "name": "fresh.test", "csrf": csrf}))
    assert page.flashes == ["zone fresh.test added"]
    fresh = api.ok("GET", f"/zones/{zone_id('fresh.test')}")
    assert fresh["name_servers"] == ["ns1.acme.test", "ns2.acme.test"]  # the defaults: set 1
    assert (directory / "zones" / "fresh.test.zone").exists()

    zone = f"/zones/{ACME}"
    page = client.follow(client.request("POST", f"{zone}/nameservers", {
        "type": "custom.account", "ns_set": "2", "csrf": csrf}))
    assert page.flashes == ["nameservers set to custom.account set 2"]
    assert api.ok("GET", zone)["name_servers"] == ["ns3.acme.test", "ns4.acme.test"]
    assert "acme.test. IN NS ns3.acme.test." in page.text
    # the A/AAAA to create at the DNS host of acme.test: what `acnsd show` prints
    ns3 = next(e for e in api.ok("GET", f"{account}/custom_ns") if e["ns_name"] == "ns3.acme.test")
    assert all(r["value"] in page.text for r in ns3["dns_records"])

    page = client.follow(client.request("POST", f"{zone}/records", {
        "type": "TXT", "name": "hello", "content": "made <here>", "ttl": "", "csrf": csrf}))
    assert page.flashes == ["TXT record hello added"]
    listed = api.ok("GET", f"{zone}/dns_records?type=TXT")
    assert [(r["name"], r["content"]) for r in listed] == [("hello.acme.test", "made <here>")]
    assert html.escape("made <here>") in page.text and "made <here>" not in page.text
    page = client.follow(client.request(
        "POST", f"{zone}/records/{listed[0]['id']}/delete", {"csrf": csrf}))
    assert page.flashes == ["record deleted"]
    assert api.ok("GET", f"{zone}/dns_records?type=TXT") == []


def test_zone_custom_nameservers_and_back_to_standard(site) -> None:
    _, server = site
    api = Client(*server.address, token=TOKEN_A)
    client = web(server)
    client.sign_in(TOKEN_A)
    zone = f"/zones/{ACME}"
    csrf = client.request("GET", zone).csrf
    page = client.follow(client.request("POST", f"{zone}/nameservers", {
        "type": "custom.zone", "vanity_name_servers": "ns8.acme.test, ns9.acme.test",
        "csrf": csrf}))
    assert page.flashes == ["nameservers set to custom.zone"], page.flashes
    assert api.ok("GET", zone)["name_servers"] == ["ns8.acme.test", "ns9.acme.test"]
    assert "ns8.acme.test ns9.acme.test" in page.text  # the form shows them
    page = client.follow(client.request("POST", f"{zone}/nameservers", {
        "type": "cloudflare.standard", "csrf": csrf}))
    assert page.flashes == ["nameservers set to cloudflare.standard"]
    assert api.ok("GET", zone)["name_servers"] == ["ns1.acnsd.test", "ns2.acnsd.test"]


def test_status_fields_the_api_adds_are_shown(site, monkeypatch) -> None:
    """What the API's custom_ns and zone results carry beyond the fields the screens place
    (a delegation check's status and evidence) is shown with them."""
    from acnsd.api.resources import Resources, Response

    def with_fields(method, added):
        def wrapped(self, req):
            got = method(self, req)
            result = ([{**e, **added} for e in got.result] if isinstance(got.result, list)
                      else {**got.result, **added})
            return Response(got.status, result, got.result_info)
        return wrapped

    monkeypatch.setattr(Resources, "list_custom_ns", with_fields(
        Resources.list_custom_ns, {"status": "mismatch",
                                   "evidence": {"glue": "found 192.0.2.99 <at parent>"}}))
    monkeypatch.setattr(Resources, "get_zone", with_fields(
        Resources.get_zone, {"delegation": {"status": "pending", "found": ["ns9.x.test"]}}))
    _, server = site
    Client(*server.address, token=TOKEN_A).ok("PATCH", f"/zones/{ACME}/dns_settings", {
        "nameservers": {"type": "custom.account", "ns_set": 1}})
    client = web(server)
    client.sign_in(TOKEN_A)
    pages = [client.request("GET", path).text for path in (f"/accounts/{ACCOUNT_A}",
                                                           f"/zones/{ACME}")]
    for text in pages:  # each name's status and evidence
        assert text.count('<span class="badge mismatch">mismatch</span>') == 2
        assert text.count("found 192.0.2.99 &lt;at parent&gt;") == 2
    assert "<strong>delegation</strong>" in pages[1] and "ns9.x.test" in pages[1]


def test_sign_out_ends_the_session(site) -> None:
    _, server = site
    client = web(server)
    home = client.sign_in(TOKEN_ALL)
    kept = dict(client.cookies)
    page = client.request("POST", "/sign-out", {"csrf": home.csrf})
    assert page.status == 303 and page.headers["location"] == "/sign-in"
    assert "Max-Age=0" in page.headers["set-cookie"]
    client.cookies = kept  # the old cookie, replayed, is no session any more
    assert client.request("GET", "/").status == 303


def test_a_token_removed_from_the_file_ends_its_sessions(site) -> None:
    directory, server = site
    client = web(server)
    client.sign_in(TOKEN_A)
    assert client.request("GET", "/").status == 200
    tokens = directory / "tokens.yaml"
    tokens.write_text("\n".join(line for line in tokens.read_text().splitlines()
                                if TOKEN_A not in line) + "\n# removed\n")
    assert client.request("GET", "/").status == 303


def test_sessions_expire_when_idle_or_old() -> None:
    now = [0.0]
    sessions = Sessions(clock=lambda: now[0])
    idle = sessions.open("t")
    now[0] = IDLE - 1
    assert sessions.find(idle.id) is idle  # used: idle again from now
    now[0] += IDLE - 1
    assert sessions.find(idle.id) is idle
    now[0] += IDLE
    assert sessions.find(idle.id) is None and len(sessions) == 0

    old = sessions.open("t")
    while now[0] - old.opened < LIFETIME:
        assert sessions.find(old.id) is old
        now[0] += IDLE / 2
    assert sessions.find(old.id) is None
    assert sessions.find(None) is None and sessions.find("nope") is None


def test_sessions_are_bounded_and_ids_random() -> None:
    sessions = Sessions(clock=lambda: 0.0)
    first = sessions.open("t")
    opened = [sessions.open("t") for _ in range(MAX_SESSIONS)]
    assert len(sessions) == MAX_SESSIONS and sessions.find(first.id) is None
    ids = {s.id for s in opened} | {s.csrf for s in opened}
    assert len(ids) == 2 * MAX_SESSIONS and min(len(i) for i in ids) >= 43
    assert not opened[0].csrf_ok(None) and not opened[0].csrf_ok(opened[1].csrf)
    assert opened[0].csrf_ok(opened[0].csrf)
