"""`server.cookies` and `server.rrl` (issue 18): their values reach the server settings,
the secret file is read and checked, a bad value is refused with file and path."""

from __future__ import annotations

import pytest
from modelkit import account, config, only, two_sets

SECRET = "e5e973e5a6b2a43f48e7dc849e37bfcf"
PREVIOUS = "000102030405060708090a0b0c0d0e0f"


def test_cookies_are_on_by_default_and_rrl_off(env):
    server = env.load(config(account(two_sets()))).model.server
    assert server.cookies.enabled and not server.cookies.require and not server.cookies.secrets
    assert server.rrl is None


def test_cookie_secret_file_current_then_previous(env):
    (env.path.parent / "cookie.key").write_text(f"{SECRET}\n{PREVIOUS}\n")
    cfg = config(account(two_sets()), cookies={"secret_file": "cookie.key", "require": True})
    cookies = env.load(cfg).model.server.cookies
    assert cookies.secrets == (bytes.fromhex(SECRET), bytes.fromhex(PREVIOUS)) and cookies.require


@pytest.mark.parametrize("text", ["", "abcd", "zz" * 16, f"{SECRET} {SECRET} {SECRET}"])
def test_bad_cookie_secret_file_refused(env, text):
    (env.path.parent / "cookie.key").write_text(text)
    problem = only(env.refused(config(account(two_sets()), cookies={"secret_file": "cookie.key"})))
    assert problem.path == "server.cookies.secret_file" and problem.file == str(env.path)


def test_a_missing_secret_file_is_refused(env):
    problem = only(env.refused(config(account(two_sets()), cookies={"secret_file": "nope"})))
    assert problem.path == "server.cookies.secret_file"


def test_rrl_reaches_the_settings(env):
    cfg = config(account(two_sets()), rrl={"rate": 20, "slip": 0, "ipv4_prefix": 32})
    rrl = env.load(cfg).model.server.rrl
    assert (rrl.rate, rrl.slip, rrl.ipv4_prefix, rrl.ipv6_prefix) == (20, 0, 32, 56)


@pytest.mark.parametrize(("value", "path"), [
    ({"slip": 2}, "server.rrl"),
    ({"rate": 0}, "server.rrl.rate"),
    ({"rate": 5, "ipv6_prefix": 129}, "server.rrl.ipv6_prefix"),
    ({"rate": 5, "window": 15}, "server.rrl.window"),
])
def test_bad_rrl_refused(env, value, path):
    problem = only(env.refused(config(account(two_sets()), rrl=value)))
    assert problem.path == path
