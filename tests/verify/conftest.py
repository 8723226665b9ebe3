"""The loopback hierarchy (hierarchy.py), started once for the module that asks for it:
two knotd instances and one acnsd, all stopped at its end."""

from __future__ import annotations

import pytest
from e2e.e2e_daemon import kill, start_daemon
from tooling import stop_process, unused_port

from .hierarchy import ROOT, ROOT_ZONE, TLD, TLD_ZONE, acnsd_config, start_knot


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    """(acnsd Daemon, port): the root and test. in knotd, the zones below in acnsd."""
    base = tmp_path_factory.mktemp("hierarchy")
    port = unused_port()
    knots = []
    try:
        knots.append(start_knot(base / "root", ROOT, port, ".", ROOT_ZONE))
        knots.append(start_knot(base / "tld", TLD, port, "test", TLD_ZONE))
        daemon = start_daemon(acnsd_config(base / "acnsd", port), port)
        try:
            yield daemon, port
        finally:
            kill(daemon)
    finally:
        for knot in knots:
            stop_process(knot.process)
