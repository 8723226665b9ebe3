"""`server.verify` (issue 19): the delegation checks' roots, port, interval and timeout;
`{}` means every default (the IANA root hints); a bad value is refused with its path."""

from __future__ import annotations

import pytest
from acnsd.model.types import ROOT_HINTS, VerifyConfig
from modelkit import account, config, only, two_sets


def test_verify_absent_is_off(env):
    assert env.load(config(account(two_sets()))).model.server.verify is None


def test_verify_empty_takes_the_defaults(env):
    verify = env.load(config(account(two_sets()), verify={})).model.server.verify
    assert verify == VerifyConfig()
    assert verify.roots == ROOT_HINTS and "198.41.0.4" in verify.roots
    assert (verify.port, verify.interval, verify.timeout) == (53, 3600.0, 2.0)


def test_verify_keys_reach_the_model(env):
    cfg = config(account(two_sets()), verify={"roots": ["127.54.0.1", "::1"], "port": 5353,
                                              "interval": 0, "timeout": 0.5})
    assert env.load(cfg).model.server.verify == VerifyConfig(("127.54.0.1", "::1"), 5353,
                                                             0.0, 0.5)


@pytest.mark.parametrize(("value", "path"), [
    ({"roots": ["a.root-servers.net"]}, "server.verify.roots[0]"),
    ({"roots": []}, "server.verify.roots"),
    ({"port": 0}, "server.verify.port"),
    ({"interval": -1}, "server.verify.interval"),
    ({"timeout": 0}, "server.verify.timeout"),
    ({"every": 5}, "server.verify.every"),
])
def test_bad_verify_keys_refused(env, value, path):
    problem = only(env.refused(config(account(two_sets()), verify=value)))
    assert problem.path == path
