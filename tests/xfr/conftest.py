"""Fixtures of the transfer tests: primaries that are always stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from e2e.e2e_daemon import Daemon, kill
from tooling import require_tool, stop_process, unused_port

from .xfrkit import KEY, SECRET, knot_config, start_primary


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


@pytest.fixture
def bind_factory(tmp_path_factory):
    """start(port, primary_port, catalog) -> log: BIND's named in the foreground in a
    temporary directory on a loopback port, consuming the primary's catalog zone
    `catalog` with KEY (catalog-zones, members in memory), stopped after the test."""
    binary = require_tool("named")
    started: list[subprocess.Popen] = []

    def start(port: int, primary_port: int, catalog: str) -> Path:
        base: Path = tmp_path_factory.mktemp("bind")
        (base / "zones").mkdir()
        primaries = f'{{ 127.0.0.1 port {primary_port} key "{KEY}"; }}'
        (base / "named.conf").write_text(f"""\
options {{
    directory "{base}";
    pid-file "{base}/named.pid";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    allow-transfer {{ 127.0.0.1; }};
    allow-new-zones yes;
    session-keyfile none;
    managed-keys-directory "{base}";
    notify no;
    catalog-zones {{
        zone "{catalog}" default-primaries {primaries}
            zone-directory "{base}/zones" in-memory yes min-update-interval 1;
    }};
}};
key "{KEY}" {{ algorithm hmac-sha256; secret "{SECRET}"; }};
controls {{ }};
zone "{catalog}" {{ type secondary; primaries {primaries}; }};
""")
        with open(base / "named.log", "wb") as log:
            started.append(subprocess.Popen([binary, "-g", "-c", str(base / "named.conf")],
                                            stdout=log, stderr=subprocess.STDOUT))
        return base / "named.log"

    yield start
    for process in started:
        stop_process(process)


@pytest.fixture
def nsd_factory(tmp_path_factory):
    """start(port, primary_port, zone, secret) -> log: NSD in the foreground in a temporary
    directory at 127.0.0.1@port, secondary of the primary 127.0.0.1@primary_port for `zone`
    with KEY (secret `secret`: request-xfr, allow-notify), giving AXFR unsigned to
    127.0.0.1, stopped after the test. NSD reloads as soon as a transfer is committed
    (xfrd-reload-timeout 0; its default batches reloads one second apart)."""
    binary = require_tool("nsd")
    started: list[subprocess.Popen] = []

    def start(port: int, primary_port: int, zone: str, secret: str = SECRET) -> Path:
        base: Path = tmp_path_factory.mktemp("nsd")
        (base / "nsd.conf").write_text(f"""\
server:
    ip-address: 127.0.0.1@{port}
    username: ""
    chroot: ""
    zonesdir: "{base}"
    pidfile: "{base}/nsd.pid"
    xfrdfile: "{base}/xfrd.state"
    xfrdir: "{base}"
    zonelistfile: "{base}/zone.list"
    database: ""
    verbosity: 2
    server-count: 1
    xfrd-reload-timeout: 0
remote-control:
    control-enable: no
key:
    name: {KEY}
    algorithm: hmac-sha256
    secret: "{secret}"
zone:
    name: {zone}
    zonefile: "{base}/{zone}zone"
    request-xfr: 127.0.0.1@{primary_port} {KEY}
    allow-notify: 127.0.0.1 {KEY}
    provide-xfr: 127.0.0.1 NOKEY
""")
        with open(base / "nsd.log", "wb") as log:
            started.append(subprocess.Popen([binary, "-d", "-c", str(base / "nsd.conf")],
                                            stdout=log, stderr=subprocess.STDOUT))
        return base / "nsd.log"

    yield start
    for process in started:
        stop_process(process)
