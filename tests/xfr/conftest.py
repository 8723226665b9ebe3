"""Fixtures of the transfer tests: primaries that are always stopped."""

from __future__ import annotations

import pytest
from e2e.e2e_daemon import Daemon, kill
from tooling import unused_port

from .xfrkit import start_primary


@pytest.fixture
def primary_factory(tmp_path):
    """start(**options): a primary (xfrkit.primary_config) for one test, stopped after it."""
    started: list[Daemon] = []

    def start(**options) -> Daemon:
        daemon = start_primary(tmp_path, unused_port(), **options)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        kill(daemon)


@pytest.fixture(scope="module")
def primary(tmp_path_factory):
    """One primary with the default rules, shared by the read-only tests."""
    daemon = start_primary(tmp_path_factory.mktemp("primary"), unused_port())
    yield daemon
    kill(daemon)
