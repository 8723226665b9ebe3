"""The TCP limits of the server section (issue 15): `tcp_frame_timeout`, `tcp_idle_timeout`
and `tcp_max_connections` reach the plan; a bad value is refused with file, line and path."""

from __future__ import annotations

import pytest
from modelkit import account, config, only, two_sets


def test_tcp_limits_reach_the_plan(env):
    cfg = config(account(two_sets()), tcp_frame_timeout=0.5, tcp_idle_timeout=30,
                 tcp_max_connections=64)
    options = env.load(cfg).plan.options
    assert (options.tcp_frame_timeout, options.tcp_idle_timeout) == (0.5, 30.0)
    assert options.tcp_max_connections == 64


def test_tcp_frame_timeout_defaults_to_two_seconds(env):
    assert env.load(config(account(two_sets()))).plan.options.tcp_frame_timeout == 2.0


@pytest.mark.parametrize("value", [0, 0.05, 61, "2s", True, None, [1]])
def test_bad_tcp_frame_timeout_refused(env, value):
    cfg = config(account(two_sets()), tcp_frame_timeout=value)
    problem = only(env.refused(cfg))
    assert problem.path == "server.tcp_frame_timeout"
    assert "0.1..60" in problem.message
    assert problem.file == str(env.path) and problem.line == env.line_of("tcp_frame_timeout")
