"""The running daemon's operations side: exact metrics after known queries and reloads,
JSON log lines, the query log, and the privilege drop (issue 5).

Each test starts `acnsd serve` on a free loopback port with the e2e configuration
(tests/e2e/e2e_daemon.py) plus the server keys under test, and stops it at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import sys
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import pytest
from e2e.e2e_daemon import ACCOUNT, Daemon, kill, start_daemon, write_config
from tooling import unused_port

from .opskit import parse, promtool_check, scrape

EXTRA_KEYS = ("log_format", "query_log", "user", "tcp_max_connections")


def configure(directory: Path, port: int, metrics_port: int | None = None, **server) -> Path:
    """The e2e configuration with extra `server` keys (EXTRA_KEYS)."""
    keys = {k: server.pop(k) for k in EXTRA_KEYS if k in server}
    config = write_config(directory, port, metrics_port=metrics_port, **server)
    extra = "".join(f"  {key}: {json.dumps(value)}\n" for key, value in keys.items())
    config.write_text(config.read_text().replace("server:\n", "server:\n" + extra, 1))
    return config


@pytest.fixture
def daemons(tmp_path):
    started: list[Daemon] = []

    def start(
        directory: Path | None = None,
        metrics_port: int | None = None,
        workers: int = 1,
        args: tuple[str, ...] = (),
        **server,
    ) -> Daemon:
        port = unused_port()
        config = configure(directory or tmp_path, port, metrics_port, **server)
        daemon = start_daemon(config, port, *args, workers=workers)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        kill(daemon)


def labels(**values: str) -> tuple:
    return tuple(sorted(values.items()))


def queries(transport: str, qtype: str, outcome: str, rcode: str) -> tuple:
    return (
        "acnsd_queries_total",
        labels(transport=transport, family="ipv4", qtype=qtype, outcome=outcome, rcode=rcode),
    )


def test_exact_counts_by_zone_set_truncation_and_reload(daemons, tmp_path):
    metrics_port = unused_port()
    daemon = daemons(metrics_port=metrics_port)
    for _ in range(3):
        daemon.query("www.example.com", "A")
    big = daemon.query("big.example.com", "TXT")  # no EDNS: 512 octets, so TC
    assert big.flags & dns.flags.TC
    daemon.query("www.sub.example.com", "A")  # the deepest zone answers: set 2
    daemon.query("example.org", "A")  # not ours
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"\x00\x01\x02", ("127.0.0.1", daemon.port))  # too short: dropped
    daemon.query("www.example.com", "A", tcp=True)  # answered after the garbage was read
    got = parse(scrape("127.0.0.1", metrics_port))
    assert got[queries("udp", "A", "answer", "NOERROR")] == 4
    assert got[queries("udp", "TXT", "answer", "NOERROR")] == 1
    assert got[queries("udp", "A", "refused", "REFUSED")] == 1
    assert got[queries("udp", "other", "dropped", "none")] == 1
    assert got[queries("tcp", "A", "answer", "NOERROR")] == 1
    assert sum(v for (name, _), v in got.items() if name == "acnsd_queries_total") == 8
    assert got[("acnsd_zone_queries_total", labels(zone="example.com."))] == 5
    assert got[("acnsd_zone_queries_total", labels(zone="sub.example.com."))] == 1
    assert got[("acnsd_acns_set_queries_total", labels(account=ACCOUNT, ns_set="1"))] == 5
    assert got[("acnsd_acns_set_queries_total", labels(account=ACCOUNT, ns_set="2"))] == 1
    assert got[("acnsd_responses_truncated_total", labels(transport="udp"))] == 1
    assert got[("acnsd_response_size_bytes_count", labels(transport="udp"))] == 6
    assert got[("acnsd_response_size_bytes_count", labels(transport="tcp"))] == 1
    assert got[("acnsd_internal_errors_total", ())] == 0
    assert got[("acnsd_zones_loaded", ())] == 3
    assert got[("acnsd_config_generation", ())] == 1

    configure(tmp_path, daemon.port, metrics_port, broken=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=rejected")
    got = parse(scrape("127.0.0.1", metrics_port))
    assert got[("acnsd_last_reload_success", ())] == 0
    assert got[("acnsd_reloads_total", labels(result="rejected"))] == 1
    assert got[("acnsd_config_generation", ())] == 1

    configure(tmp_path, daemon.port, metrics_port, with_new_zone=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok")
    text = scrape("127.0.0.1", metrics_port)
    got = parse(text)
    assert got[("acnsd_last_reload_success", ())] == 1
    assert got[("acnsd_reloads_total", labels(result="ok"))] == 1
    assert got[("acnsd_config_generation", ())] == 2
    assert got[("acnsd_zones_loaded", ())] == 4
    assert got[queries("udp", "A", "answer", "NOERROR")] == 4  # counts survive a reload
    promtool_check(text)


def two_free_ports() -> int:
    """A port P such that P and P + 1 were both free a moment ago."""
    while True:
        port = unused_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


def test_each_worker_counts_its_own_queries(daemons):
    metrics_port = two_free_ports()
    daemon = daemons(metrics_port=metrics_port, workers=2)
    sent = 40
    for i in range(sent):
        daemon.query(f"host{i}.example.com", "A", tcp=i % 2 == 1)
    per_worker = []
    for port in (metrics_port, metrics_port + 1):  # worker i: the metrics port + i
        got = parse(scrape("127.0.0.1", port))
        per_worker.append(sum(v for (n, _), v in got.items() if n == "acnsd_queries_total"))
    assert sum(per_worker) == sent


def test_json_log_lines_and_the_query_log(daemons):
    daemon = daemons(log_format="json", query_log=True)
    daemon.query("www.example.com", "AAAA")
    daemon.query("nothing.example.com", "A", tcp=True)
    daemon.wait_log(r"event=query", count=2)
    lines = daemon.log().splitlines()
    docs = [json.loads(line) for line in lines]  # every line is one JSON object
    asked = [d for d in docs if d.get("event") == "query"]
    assert [(d["transport"], d["qname"], d["qtype"], d["outcome"], d["zone"]) for d in asked] == [
        ("udp", "www.example.com.", "AAAA", "answer", "example.com."),
        ("tcp", "nothing.example.com.", "A", "nxdomain", "example.com."),
    ]
    assert any(d.get("event") == "ready" for d in docs)


def test_command_line_log_options(daemons):
    daemon = daemons(args=("--log-format", "json", "--query-log"))  # the config says neither
    daemon.query("www.example.com", "A")
    daemon.wait_log(r"event=query")
    docs = [json.loads(line) for line in daemon.log().splitlines()]
    assert [d["qname"] for d in docs if d.get("event") == "query"] == ["www.example.com."]


def test_no_query_log_unless_switched_on(daemons):
    daemon = daemons()
    for _ in range(20):
        daemon.query("www.example.com", "A")
    daemon.query("www.example.com", "A", tcp=True)
    assert "event=query" not in daemon.log()
    assert daemon.stop() == 0
    assert "event=query" not in daemon.log()


def test_connections_past_the_cap_wait_evict_the_idle_one_and_are_not_logged(daemons):
    """A cap of one connection, taken by a client that sends nothing: a flood of TCP
    clients is answered in turn (each waits in the backlog while the place is taken),
    the idle connection is evicted and counted, and the log has at most logs.BURST
    lines about the cap, however long the flood."""
    metrics_port = unused_port()
    daemon = daemons(metrics_port=metrics_port, tcp_max_connections=1)
    flood = 100
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as held:
        daemon.wait_log(r"event=ready")  # the held connection takes the only place
        for _ in range(flood):
            assert daemon.query("www.example.com", "A", tcp=True).answer
        try:
            assert held.recv(1) == b""
        except ConnectionResetError:
            pass  # evicted: aborted, the client sees a reset
        got = parse(scrape("127.0.0.1", metrics_port))
        assert got[("acnsd_tcp_connections_evicted_total", ())] == 1
        assert got[("acnsd_tcp_connections_open", ())] <= 1  # the last one may be closing
    assert daemon.log().count("event=tcp_full") <= 10  # logs.BURST per minute
    assert "event=tcp_evicted" not in daemon.log()  # a DEBUG line


def test_root_drops_to_the_configured_user(daemons, tmp_path):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the privilege test needs root (CI runs as root)")
        pytest.skip("the privilege test needs root")
    nobody = pwd.getpwnam("nobody")
    daemon = daemons(user="nobody")
    assert daemon.query("www.example.com", "A").answer
    assert daemon.query("www.example.com", "A", tcp=True).answer
    status = Path(f"/proc/{daemon.process.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
    assert set(uids) == {str(nobody.pw_uid)}
    assert set(gids) == {str(nobody.pw_gid)}
    assert f"event=privileges_dropped user=nobody uid={nobody.pw_uid}" in daemon.log()
    assert daemon.stop() == 0


def test_serve_loads_before_importing_the_api():
    """`acnsd serve` imports the management API's modules (aiohttp, the dashboard's
    templates: 0.2 s of CPU) and the editor's (the change pipeline, ruamel.yaml: 60-80 ms)
    only once the DNS answers, not before its load."""
    import acnsd

    code = ("import sys, acnsd.cli, acnsd.commands, acnsd.daemon.serve; "
            "print(sorted(m for m in ('aiohttp', 'jinja2', 'acnsd.api.server', "
            "'acnsd.api.edit', 'acnsd.control.pipeline', 'ruamel.yaml') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(Path(acnsd.__file__).parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
