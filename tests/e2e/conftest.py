"""Fixtures for the end-to-end tests: daemons that are always stopped, and dig."""

from __future__ import annotations

import os
import shutil

import pytest
from tooling import unused_port

from .e2e_daemon import Daemon, kill, start_daemon, write_config


@pytest.fixture
def daemon_factory(tmp_path):
    """Start daemons for one test; every one still running at the end is stopped."""
    started: list[Daemon] = []

    def start(*args: str, workers: int = 1, **config) -> Daemon:
        port = unused_port()
        daemon = start_daemon(write_config(tmp_path, port, **config), port, *args, workers=workers)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        kill(daemon)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One daemon with the standard e2e configuration, shared by the read-only tests."""
    directory = tmp_path_factory.mktemp("acnsd")
    port = unused_port()
    daemon = start_daemon(write_config(directory, port), port)
    yield daemon
    kill(daemon)


@pytest.fixture(scope="session")
def require():
    """require(tool): its path; a missing tool fails in CI (env CI set), skips elsewhere."""

    def find(name: str) -> str:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if path is None:
            if os.environ.get("CI"):
                pytest.fail(f"{name} is required in CI but is not installed")
            pytest.skip(f"{name} is not installed")
        return path

    return find


@pytest.fixture(scope="session")
def dig(require) -> str:
    """The dig binary (Debian package bind9-dnsutils)."""
    return require("dig")
