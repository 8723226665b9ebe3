"""What many tests need: where the repository is, external tools (fail in CI when one is
missing, skip elsewhere) and free loopback ports.

pytest puts `server/`, `tests/` and the kit folders on sys.path (pyproject.toml,
`pythonpath`), so the tests import the source tree whether it is installed or not; a
subprocess gets `SERVER` on its PYTHONPATH.

A test that needs an external tool (dig, knotd, nsd, dnsperf, promtool) calls
`require_tool`: it skips on a developer machine without the tool, and fails in CI
(CI=true), where .ci/run installs every tool, so no test silently disappears there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SERVER = REPO / "server"


def require_tool(name: str) -> str:
    """The path of `name`; a failure in CI and a skip elsewhere when it is missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is required in CI but is not installed")
    pytest.skip(f"{name} is not installed")


_handed_out: set[int] = set()  # the ports unused_port gave this process


def unused_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 a moment ago, and not one given
    before in this process: a test picks a secondary's port, then starts a primary that
    picks its own ports before the secondary binds, and the kernel may offer a port just
    closed again (the secondary then failed to bind, and the test asked the primary)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                _handed_out.add(port)
                return port


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM `process`, and SIGKILL it if it has not exited within `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
