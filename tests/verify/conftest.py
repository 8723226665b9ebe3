"""The loopback hierarchy (hierarchy.py), started once for the module that asks for it:
two knotd instances and one acnsd (with its metrics and API), all stopped at its end."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e.e2e_daemon import Daemon, kill, start_daemon
from tooling import stop_process, unused_port

from .hierarchy import ROOT, ROOT_ZONE, TLD, TLD_ZONE, acnsd_config, start_knot

TOKEN = "verify-test-token"


@dataclass
class Hierarchy:
    daemon: Daemon
    port: int
    metrics_port: int
    api_port: int

    @property
    def config(self) -> Path:
        return self.daemon.config


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    """The root and test. in knotd, the zones below in acnsd, which checks them at start."""
    base = tmp_path_factory.mktemp("hierarchy")
    port, metrics_port, api_port = unused_port(), unused_port(), unused_port()
    knots = []
    try:
        knots.append(start_knot(base / "root", ROOT, port, ".", ROOT_ZONE))
        knots.append(start_knot(base / "tld", TLD, port, "test", TLD_ZONE))
        (base / "acnsd").mkdir()
        (base / "acnsd" / "tokens.yaml").write_text(f'- {{token: "{TOKEN}", accounts: ["*"]}}\n')
        config = acnsd_config(base / "acnsd", port, server_lines=(
            f'  metrics: "127.0.0.1:{metrics_port}"',
            f'  api: {{listen: "127.0.0.1:{api_port}", tokens_file: tokens.yaml}}'))
        daemon = start_daemon(config, port)
        try:
            yield Hierarchy(daemon, port, metrics_port, api_port)
        finally:
            kill(daemon)
    finally:
        for knot in knots:
            stop_process(knot.process)
