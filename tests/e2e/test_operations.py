"""The running daemon's operations side (issue 5, issue 6): /metrics counts what was
asked and passes promtool; an accepted API change is served as soon as the call returns."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import dns.rcode
from prometheus_client.parser import text_string_to_metric_families
from tooling import unused_port

from .e2e_daemon import ACCOUNT, API_TOKEN


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(**values: str) -> tuple:
    return tuple(sorted(values.items()))


def test_metrics_count_the_queries_of_the_running_server(daemon_factory, require):
    metrics_port = unused_port()
    daemon = daemon_factory(metrics_port=metrics_port)
    for _ in range(3):
        daemon.query("www.example.com", "A")
    daemon.query("missing.example.com", "A", tcp=True)
    daemon.query("www.sub.example.com", "A", address="127.53.1.1")  # a referral
    text = scrape(metrics_port)
    got = samples(text)
    udp_a = labels(transport="udp", family="ipv4", qtype="A", outcome="answer", rcode="NOERROR")
    tcp_nx = labels(transport="tcp", family="ipv4", qtype="A", outcome="nxdomain", rcode="NXDOMAIN")
    referral = labels(
        transport="udp", family="ipv4", qtype="A", outcome="referral", rcode="NOERROR"
    )
    assert got[("acnsd_queries_total", udp_a)] == 3
    assert got[("acnsd_queries_total", tcp_nx)] == 1
    assert got[("acnsd_queries_total", referral)] == 1
    assert got[("acnsd_zones_loaded", ())] == 3
    assert got[("acnsd_zones_compiled_total", ())] == 1  # example.com: only it was reached
    promtool = require("promtool")
    check = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_api_change_is_served_when_the_call_returns(daemon_factory):
    api_port = unused_port()
    daemon = daemon_factory(api_port=api_port)
    assert daemon.query("created.test", "SOA").rcode() == dns.rcode.REFUSED
    _create_zone(api_port, "created.test")
    response = daemon.query("created.test", "SOA")
    assert response.rcode() == dns.rcode.NOERROR and response.answer
    assert "event=change result=ok generation=2 zones=1 " in daemon.log()  # a delta


def test_api_change_under_workers_reaches_every_worker(daemon_factory):
    """Under --workers the supervisor runs the API: an accepted change is written, the
    supervisor reloads, and the workers serve it (the API failed to start there before)."""
    api_port = unused_port()
    daemon = daemon_factory(api_port=api_port, workers=2)
    daemon.wait_log(r"event=api_listening")  # (the supervisor's, after the workers are ready)
    _create_zone(api_port, "created.test")
    deadline = time.monotonic() + 30
    while daemon.query("created.test", "SOA").rcode() != dns.rcode.NOERROR:
        assert time.monotonic() < deadline, daemon.log()[-3000:]
        time.sleep(0.1)
    assert daemon.stop() == 0


def _create_zone(api_port: int, name: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{api_port}/client/v4/zones",
        data=json.dumps({"name": name, "account": {"id": ACCOUNT}}).encode(),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert json.load(reply)["success"] is True
