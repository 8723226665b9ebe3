"""The dashboard in a real browser: headless Chromium (Selenium) drives `acnsd serve` over
loopback through the seed's flows, and after each step the daemon's DNS answers are
checked with dnspython.

Sign in; add two names to set 2; put a zone on set 2; set the zone defaults and add a
zone that receives them; delete a name that would leave set 2 unavailable and see the
refusal (R4); add a record. Also: no session → the sign-in form; a form sent without its
CSRF token → 403; another account's token sees nothing of the first. A screenshot of
each screen is written to build/dashboard-screenshots/ (not committed). Every browser
command is bounded by a timeout, and the browser is always quit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from acnsd.model.types import zone_id
from apikit import (
    ACCOUNT_A,
    ACCOUNT_B,
    TOKEN_A,
    TOKEN_B,
    ZONE_TEXT,
    Daemon,
    addresses,
    make_site,
    ns_names,
    start_daemon,
    wait_until,
)
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait
from tooling import REPO, require_tool, unused_port

SCREENSHOTS = REPO / "build" / "dashboard-screenshots"
PAGE_TIMEOUT = 30  # seconds a page may take to load
WAIT = 10  # seconds to wait for the page a form leads to

CONFIG = """\
# acnsd dashboard test
server:
  listen: ["127.0.0.1:{port}"]
  port: {port}
  standard_nameservers:
    - {{name: ns1.acnsd.test, ipv4: 127.53.0.1}}
    - {{name: ns2.acnsd.test, ipv4: 127.53.0.2}}
  address_pools: {{ipv4: ["127.55.0.0/24"], ipv6: ["fd00:55::/64"]}}
  zones_dir: zones
  api: {{listen: "127.0.0.1:0", tokens_file: tokens.yaml}}
accounts:
  - id: {a}
    name: Acme
    custom_nameservers:
      - {{ns_name: ns1.example.com, ns_set: 1}}
      - {{ns_name: ns2.example.com, ns_set: 1}}
      - {{ns_name: ns1.vanity.test, ns_set: 3}}  # provided elsewhere: records to create
      - {{ns_name: ns2.vanity.test, ns_set: 3}}
    zones:
      - name: example.com
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 1}}}}
      - name: shop.example.com
      - name: brand.org
        dns_settings: {{nameservers: {{type: custom.account, ns_set: 3}}}}
  - id: {b}
    name: Other
    zones:
      - name: other.net
"""



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, str]]:
    directory = tmp_path_factory.mktemp("dashboard")
    port = unused_port()
    config = make_site(directory, CONFIG.format(port=port, a=ACCOUNT_A, b=ACCOUNT_B), {
        name: ZONE_TEXT for name in ("example.com", "shop.example.com", "brand.org",
                                     "other.net")})
    daemon = start_daemon(config, port)
    try:
        client = daemon.api()
        yield daemon, f"http://{client.host}:{client.port}"
    finally:
        daemon.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = require_tool("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-sync",
                     "--window-size=1280,1500", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=require_tool("chromedriver"),
                                      log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(PAGE_TIMEOUT)
        driver.set_script_timeout(WAIT)
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def submit(driver: WebDriver, form: str, fields: dict[str, str] | None = None,
           selects: dict[str, str] | None = None, button: str = "button[type=submit]") -> None:
    """Fill the form (a CSS selector) as a user does, press its button, wait for the next
    page."""
    element = driver.find_element(By.CSS_SELECTOR, form)
    for name, value in (fields or {}).items():
        field = element.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    for name, value in (selects or {}).items():
        Select(element.find_element(By.NAME, name)).select_by_value(value)
    click(driver, element.find_element(By.CSS_SELECTOR, button))


def click(driver: WebDriver, element) -> None:
    """Click and wait until the page is replaced. While the next document comes in,
    Chromium may answer a question about the old page's element with an error of its own
    ("Node with given id does not belong to the document") instead of "stale": such an
    answer is asked again, not taken as a failure."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.staleness_of(page))


def flashes(driver: WebDriver) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".flash")]


def sign_in(driver: WebDriver, base: str, token: str) -> None:
    driver.get(f"{base}/")
    assert driver.current_url == f"{base}/sign-in"  # no session: the sign-in form
    submit(driver, "form[action='/sign-in']", {"token": token})
    assert driver.current_url == f"{base}/"


def test_seed_flows_in_a_browser(site, browser: WebDriver) -> None:
    daemon, base = site
    driver = browser
    driver.get(f"{base}/accounts/{ACCOUNT_A}")
    assert driver.current_url == f"{base}/sign-in"
    shot(driver, "1-sign-in")
    sign_in(driver, base, TOKEN_A)
    assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "main a")] == ["Acme"]
    shot(driver, "2-accounts")
    driver.find_element(By.LINK_TEXT, "Acme").click()

    # Add two names to set 2: each is answered at once with its assigned address (R7, R8).
    for name in ("ns3.example.com", "ns4.example.com"):
        submit(driver, "#add-name", {"ns_name": name}, {"ns_set": "2"})
        assert flashes(driver) == [f"{name} added to set 2"]
        wait_until(lambda name=name: addresses(daemon.query(name, "A")))
    row = driver.find_element(By.CSS_SELECTOR, "#set-2 tr.name[data-name='ns3.example.com']")
    assert wait_until(lambda: addresses(daemon.query("ns3.example.com", "A")))[0] in row.text
    assert "available" in driver.find_element(By.CSS_SELECTOR, "#set-2 h3").text

    # Put shop.example.com on set 2.
    driver.find_element(By.LINK_TEXT, "shop.example.com").click()
    assert driver.current_url == f"{base}/zones/{zone_id('shop.example.com')}"
    driver.find_element(By.ID, "type-account").click()
    submit(driver, "#nameservers form", selects={"ns_set": "2"})
    assert flashes(driver) == ["nameservers set to custom.account set 2"]
    set2 = ["ns3.example.com", "ns4.example.com"]
    wait_until(lambda: ns_names(daemon.query("shop.example.com", "NS")) == set2)
    delegation = driver.find_element(By.ID, "delegation").text
    assert "shop.example.com. IN NS ns3.example.com." in delegation
    assert "A/AAAA served here in zone example.com" in delegation
    shot(driver, "4-zone")

    # A zone on names provided elsewhere: the exact records and glue to create.
    driver.get(f"{base}/zones/{zone_id('brand.org')}")
    vanity = addresses(daemon.query("ns1.vanity.test", "A", address="127.0.0.1"))
    assert vanity == []  # not served here: vanity.test is no zone of this server
    delegation = driver.find_element(By.ID, "delegation").text
    assert "at the DNS host of vanity.test" in delegation
    assert "ns1.vanity.test. 86400 IN A 127.55.0." in delegation
    assert "at the registrar of vanity.test: host ns1.vanity.test" in delegation
    shot(driver, "5-zone-delegation")

    # Zone defaults: a zone added now lands on set 1, its child on set 2 (R5, R6).
    driver.get(f"{base}/accounts/{ACCOUNT_A}")
    submit(driver, "#zone-defaults form", {"ns_ttl": "3600"}, {"type": "custom.account"})
    assert flashes(driver) == ["zone defaults saved"]
    for zone, wanted in (("new.test", ["ns1.example.com", "ns2.example.com"]),
                         ("child.example.com", set2)):
        submit(driver, "#add-zone", {"name": zone})
        assert flashes(driver) == [f"zone {zone} added"]
        wait_until(lambda zone=zone, wanted=wanted: ns_names(daemon.query(zone, "NS"))
                   == wanted)
        answer = daemon.query(zone, "NS").answer[0]
        assert answer.ttl == 3600

    # Deleting a name would leave set 2 unavailable while zones use it: refused (R4).
    form = driver.find_element(By.CSS_SELECTOR, "#set-2 tr.name[data-name='ns4.example.com']")
    click(driver, form.find_element(By.CSS_SELECTOR, "button.delete-name"))
    [refusal] = flashes(driver)
    assert "[R4]" in refusal and "shop.example.com" in refusal
    assert "child.example.com" in refusal
    shot(driver, "3-account-refusal")
    assert ns_names(daemon.query("shop.example.com", "NS")) == set2
    assert addresses(daemon.query("ns4.example.com", "A"))

    # Add a record to shop.example.com.
    driver.get(f"{base}/zones/{zone_id('shop.example.com')}")
    submit(driver, "#add-record", {"name": "api", "content": "192.0.2.77", "ttl": "300"},
           {"type": "A"})
    assert flashes(driver) == ["A record api added"]
    wait_until(lambda: addresses(daemon.query("api.shop.example.com", "A")) == ["192.0.2.77"])
    row = driver.find_element(By.CSS_SELECTOR, "tr.record[data-name='api.shop.example.com']")
    assert "192.0.2.77" in row.text
    shot(driver, "6-records")

    # A form sent without its CSRF token: 403, nothing changes.
    driver.execute_script("document.querySelector('#add-record input[name=csrf]').remove()")
    submit(driver, "#add-record", {"name": "evil", "content": "192.0.2.66"}, {"type": "A"})
    assert driver.title.startswith("Forbidden")
    assert "CSRF" in driver.find_element(By.TAG_NAME, "main").text
    assert daemon.query("evil.shop.example.com", "A").rcode() == 3  # NXDOMAIN

    # Sign out: the pages ask for a sign-in again.
    driver.get(f"{base}/")
    click(driver, driver.find_element(By.ID, "sign-out"))
    assert driver.current_url == f"{base}/sign-in"
    driver.get(f"{base}/zones/{zone_id('shop.example.com')}")
    assert driver.current_url == f"{base}/sign-in"


def test_another_accounts_token_sees_nothing(site, browser: WebDriver) -> None:
    daemon, base = site
    driver = browser
    sign_in(driver, base, TOKEN_B)
    assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "main a")] == ["Other"]
    for path in (f"/accounts/{ACCOUNT_A}", f"/zones/{zone_id('example.com')}"):
        driver.get(base + path)
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "Unauthorized to access requested resource" in text
        assert "Acme" not in text and "example.com" not in text
    shot(driver, "7-other-account")
