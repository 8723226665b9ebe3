"""The real daemon under test: `acnsd serve` started as a subprocess on loopback.

Every daemon is started on 127.0.0.1 and on 127.53.x.x view addresses (any 127/8
address binds on loopback without setup) with a port that was free a moment before, and
is stopped (SIGTERM, then SIGKILL) when its test ends, whatever the outcome.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import pytest
from tooling import SERVER, stop_process

START_TIMEOUT = 30.0  # the daemon imports dnspython and compiles; slow CI machines
STOP_TIMEOUT = 10.0

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
PARENT_ADDRESSES = ("127.53.1.1", "127.53.1.2")  # set 1: example.com, other.org
CHILD_ADDRESSES = ("127.53.2.1", "127.53.2.2")  # set 2: sub.example.com
EXTRA_ADDRESSES = ("127.53.3.1", "127.53.3.2")  # set 3: new.test, added by a reload

API_TOKEN = "e2e-secret-token"
BIG_TXT = 20  # records in big.example.com TXT: about 1.4 kB, more than 512 octets

EXAMPLE_ZONE = """\
$TTL 3600
@        IN A     192.0.2.10
www      IN A     {www}
www      IN AAAA  2001:db8::10
mail     IN A     192.0.2.25
@        IN MX    10 mail
sub      IN NS    ns1.vanity.test.
sub      IN NS    ns2.vanity.test.
ext      IN NS    ns1.elsewhere.net.
old      IN DNAME example.com.
""" + "".join(f'big IN TXT "record {i:02d} {"x" * 50}"\n' for i in range(BIG_TXT))

SUB_ZONE = """\
$TTL 3600
@        IN A     192.0.2.20
www      IN A     192.0.2.21
"""

OTHER_ZONE = """\
$TTL 3600
@        IN A     192.0.2.30
"""

NEW_ZONE = """\
$TTL 3600
@        IN A     192.0.2.40
"""


def write_config(
    directory: Path,
    port: int,
    *,
    www: str = "192.0.2.10",
    with_new_zone: bool = False,
    broken: bool = False,
    metrics_port: int | None = None,
    api_port: int | None = None,
) -> Path:
    """The e2e configuration (DESIGN.md §3 shape): example.com and other.org on set 1,
    sub.example.com on set 2, optionally new.test on set 3; every address pinned.
    `broken` puts a nameserver in set 9, which R2 forbids. With `metrics_port` and
    `api_port`, the Prometheus exposition and the management API (token API_TOKEN)."""
    zones = directory / "zones"
    zones.mkdir(exist_ok=True)
    (zones / "example.com.zone").write_text(EXAMPLE_ZONE.format(www=www))
    (zones / "sub.example.com.zone").write_text(SUB_ZONE)
    (zones / "other.org.zone").write_text(OTHER_ZONE)
    (zones / "new.test.zone").write_text(NEW_ZONE)
    names = [
        ("ns1.example.com", 1, PARENT_ADDRESSES[0]),
        ("ns2.example.com", 1, PARENT_ADDRESSES[1]),
        ("ns1.vanity.test", 2, CHILD_ADDRESSES[0]),
        ("ns2.vanity.test", 2, CHILD_ADDRESSES[1]),
    ]
    zone_entries = [
        ("example.com", 1),
        ("sub.example.com", 2),
        ("other.org", 1),
    ]
    if with_new_zone:
        names += [
            ("ns1.new.test", 3, EXTRA_ADDRESSES[0]),
            ("ns2.new.test", 3, EXTRA_ADDRESSES[1]),
        ]
        zone_entries.append(("new.test", 3))
    if broken:
        names.append(("ns9.example.com", 9, "127.53.9.9"))
    lines = [
        "server:",
        f'  listen: ["127.0.0.1:{port}"]',
        "  serve_assigned_addresses: true",
        f"  port: {port}",
        "  standard_nameservers:",
        "    - {name: ns1.acnsd.test, ipv4: 127.53.0.1}",
        "    - {name: ns2.acnsd.test, ipv4: 127.53.0.2}",
        '  address_pools: {ipv4: ["127.53.8.0/24"], ipv6: ["fd00:53:1::/64"]}',
        "  zones_dir: zones",
    ]
    if metrics_port is not None:
        lines.append(f'  metrics: "127.0.0.1:{metrics_port}"')
    if api_port is not None:
        (directory / "tokens.yaml").write_text(f'- {{token: "{API_TOKEN}", accounts: ["*"]}}\n')
        lines.append(f'  api: {{listen: "127.0.0.1:{api_port}", tokens_file: tokens.yaml}}')
    lines += [
        "accounts:",
        f"  - id: {ACCOUNT}",
        "    name: E2E Corp",
        "    custom_nameservers:",
    ]
    lines += [f"      - {{ns_name: {n}, ns_set: {s}, ipv4: {a}}}" for n, s, a in names]
    lines.append("    zones:")
    for zone, ns_set in zone_entries:
        lines.append(f"      - name: {zone}")
        lines.append(
            f"        dns_settings: {{nameservers: {{type: custom.account, ns_set: {ns_set}}}}}"
        )
    config = directory / "acnsd.yaml"
    config.write_text("\n".join(lines) + "\n")
    return config



@dataclass
class Daemon:
    """One running `acnsd serve` and its log."""

    process: subprocess.Popen
    log_path: Path
    port: int
    config: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, count: int = 1, timeout: float = START_TIMEOUT) -> None:
        """Wait until `pattern` (a regex) has appeared `count` times in the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.log())) >= count:
                return
            if self.process.poll() is not None:
                pytest.fail(f"acnsd exited ({self.process.returncode}):\n{self.log()}")
            time.sleep(0.05)
        pytest.fail(f"no {count} x {pattern!r} in the log after {timeout} s:\n{self.log()}")

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait for the exit; the exit code (a test fails on a hang)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"acnsd did not exit within {timeout} s of SIGTERM:\n{self.log()}")

    def query(
        self, qname: str, qtype: str = "A", *, address: str = "127.0.0.1", tcp: bool = False, **make
    ) -> dns.message.Message:
        message = dns.message.make_query(qname, qtype, **make)
        if tcp:
            return dns.query.tcp(message, address, port=self.port, timeout=3)
        return dns.query.udp(message, address, port=self.port, timeout=3)


def serve_command(config: Path, *args: str) -> list[str]:
    """`acnsd serve --config CONFIG ARGS...` with this interpreter, from the source tree."""
    return [sys.executable, "-m", "acnsd", "serve", "--config", str(config), *args]


def daemon_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER), env.get("PYTHONPATH")]))
    return env


def start_daemon(config: Path, port: int, *args: str, workers: int = 1) -> Daemon:
    """Start `acnsd serve --config CONFIG ARGS...` and wait until every worker is ready."""
    log_path = config.parent / f"acnsd-{port}.log"
    command = serve_command(config, *args)
    if workers != 1:
        command += ["--workers", str(workers)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=daemon_env(),
        )
    daemon = Daemon(process, log_path, port, config)
    try:
        daemon.wait_log(r"event=ready", count=workers)
    except BaseException:
        kill(daemon)
        raise
    return daemon


def kill(daemon: Daemon) -> None:
    stop_process(daemon.process, STOP_TIMEOUT)
