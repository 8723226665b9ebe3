"""What the management-API tests share: a site on disk, an HTTP client, a real daemon.

A *site* is a directory with a configuration (comments included, so that keeping them is
tested), zone files and a tokens file. The API runs in the test process (ApiServer on
127.0.0.1 port 0) or inside `acnsd serve`; the DNS side is always the real daemon,
started as a subprocess and stopped (SIGTERM, then SIGKILL) whatever the outcome.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
from tooling import SERVER, stop_process

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

ACCOUNT_A = "023e105f4ecef8ad9ca31a8372d0c353"
ACCOUNT_B = "5b2a4ae53ed93c0b8e2fa1e0b4e4c1d7"
TOKEN_ALL = "token-all-accounts-00000000000000"
TOKEN_A = "token-account-a-1111111111111111"
TOKEN_B = "token-account-b-2222222222222222"

TOKENS = f"""\
# API tokens of the tests
- {{token: "{TOKEN_ALL}", accounts: ["*"]}}
- {{token: "{TOKEN_A}", accounts: ["{ACCOUNT_A}"]}}
- {{token: "{TOKEN_B}", accounts: ["{ACCOUNT_B}"]}}
"""

ZONE_TEXT = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A 192.0.2.2\n"



def make_site(directory: Path, config: str, zones: dict[str, str]) -> Path:
    """Write the configuration, its zone files and the tokens file; the config's path."""
    (directory / "zones").mkdir(parents=True, exist_ok=True)
    for name, text in zones.items():
        (directory / "zones" / f"{name}.zone").write_text(text)
    (directory / "tokens.yaml").write_text(TOKENS)
    path = directory / "acnsd.yaml"
    path.write_text(config)
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of a site (config, state, zone files), byte for byte; not the compiled
    snapshot (a cache the server writes after its start, when it likes)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.name.endswith(".log") and ".snapshot" not in p.name}


@dataclass
class Client:
    """A minimal HTTP client of the API: (status, envelope) for each call."""

    host: str
    port: int
    token: str | None = TOKEN_ALL

    def call(self, method: str, path: str, body: Any = None, *, token: Any = "default",
             raw: bytes | None = None, headers: dict[str, str] | None = None
             ) -> tuple[int, dict[str, Any]]:
        token = self.token if token == "default" else token
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, "/client/v4" + path, body=data, headers=sent)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        return response.status, json.loads(payload)

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """The result of a call that must succeed."""
        status, envelope = self.call(method, path, body, **kwargs)
        assert status == 200 and envelope["success"] is True, (status, envelope)
        assert envelope["errors"] == []
        return envelope["result"]


def refused(status: int, envelope: dict[str, Any]) -> str:
    """Check Cloudflare's failure envelope; all its messages, joined."""
    assert envelope["success"] is False, envelope
    assert envelope["result"] is None
    assert envelope["messages"] == []
    assert envelope["errors"], envelope
    for error in envelope["errors"]:
        assert isinstance(error["code"], int) and error["code"] >= 1000, error
    return "\n".join(e["message"] for e in envelope["errors"])


def daemon_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER), env.get("PYTHONPATH")]))
    return env


@dataclass
class Daemon:
    """One running `acnsd serve`, its log and its DNS port."""

    process: subprocess.Popen
    log_path: Path
    port: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def wait_log(self, pattern: str, count: int = 1, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(pattern) >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"acnsd exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.02)
        raise AssertionError(f"no {count} x {pattern!r} after {timeout} s:\n{self.log()}")

    def hup(self) -> None:
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT)

    def query(self, qname: str, qtype: str = "A",
              address: str = "127.0.0.1") -> dns.message.Message:
        return dns.query.udp(dns.message.make_query(qname, qtype), address,
                             port=self.port, timeout=3)

    def api(self) -> Client:
        """A client of the daemon's own API (server.api on port 0: the port from the log)."""
        self.wait_log(r"event=api_listening")
        port = re.findall(r"event=api_listening address=127\.0\.0\.1:(\d+)", self.log())[-1]
        return Client("127.0.0.1", int(port))


def start_daemon(config: Path, port: int) -> Daemon:
    """`acnsd serve --config CONFIG` from the source tree; returns once it is ready."""
    log_path = config.parent / f"acnsd-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "acnsd.cli", "serve", "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT, env=daemon_env(), cwd=config.parent)
    daemon = Daemon(process, log_path, port)
    try:
        daemon.wait_log(r"event=ready")
    except BaseException:
        daemon.stop()
        raise
    return daemon


def ns_names(message: dns.message.Message) -> list[str]:
    """The NS targets in a response's answer section, sorted, without the final dot."""
    return sorted(rd.target.to_text(omit_final_dot=True) for rrset in message.answer
                  if rrset.rdtype == dns.rdatatype.NS for rd in rrset)


def addresses(message: dns.message.Message) -> list[str]:
    return sorted(rd.address for rrset in message.answer
                  if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) for rd in rrset)


def wait_until(check: Any, timeout: float = 10.0) -> Any:
    """Poll `check()` until it returns a true value; that value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(0.02)
