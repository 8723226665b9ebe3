"""Fixtures of the transfer tests: primaries that are always stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e.e2e_daemon import Daemon, kill
from tooling import require_tool, stop_process, unused_port

from .xfrkit import knot_config, start_primary


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


@pytest.fixture
def knot_factory(tmp_path_factory):
    """start(port, primary_port, zones) -> log: knotd in a temporary directory (BASE in
    `zones`) on a loopback port, secondary of the primary (xfrkit.knot_config) for `zones`
    (the configuration's `zone:` section and what it needs), stopped after the test."""
    binary = require_tool("knotd")
    started: list[subprocess.Popen] = []

    def start(port: int, primary_port: int, zones: str) -> Path:
        base: Path = tmp_path_factory.mktemp("knot")
        (base / "knot.conf").write_text(knot_config(base, port, primary_port)
                                        + zones.replace("BASE", str(base)))
        with open(base / "knotd.log", "wb") as log:
            started.append(subprocess.Popen([binary, "-c", str(base / "knot.conf")],
                                            stdout=log, stderr=subprocess.STDOUT))
        return base / "knotd.log"

    yield start
    for process in started:
        stop_process(process)
