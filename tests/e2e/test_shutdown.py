"""Graceful shutdown (issue 5): on SIGTERM or SIGINT the daemon stops accepting, writes
the answers due, closes TCP connections and exits 0 within the bound; with --workers,
SIGHUP reaches every worker and SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.rcode
import pytest

from .e2e_daemon import daemon_env, serve_command, write_config

BOUND = 5.0 + 2.0  # SHUTDOWN_GRACE, plus the interpreter's exit


def framed(qname: str, qid: int) -> bytes:
    query = dns.message.make_query(qname, "A", id=qid).to_wire()
    return len(query).to_bytes(2, "big") + query


def read_answers(sock: socket.socket) -> list[dns.message.Message]:
    """Every framed response until the server closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    answers = []
    while len(data) >= 2:
        length = int.from_bytes(data[:2], "big")
        assert len(data) >= 2 + length, "a response was cut short"
        answers.append(dns.message.from_wire(data[2 : 2 + length]))
        data = data[2 + length :]
    assert not data
    return answers


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_under_load_exits_zero(daemon_factory, signum):
    daemon = daemon_factory()
    stop = threading.Event()
    wrong: list[str] = []

    def udp_load() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            qid = 0
            while not stop.is_set():
                qid = (qid + 1) % 65536
                sock.sendto(framed("www.example.com", qid)[2:], ("127.0.0.1", daemon.port))
                try:
                    response = dns.message.from_wire(sock.recv(4096))
                except (TimeoutError, ConnectionRefusedError):
                    continue  # the server is gone: unanswered, never answered wrong
                except dns.exception.DNSException as exc:
                    wrong.append(repr(exc))
                    continue
                if response.rcode() != dns.rcode.NOERROR or not response.answer:
                    wrong.append(str(response))

    loaders = [threading.Thread(target=udp_load) for _ in range(2)]
    for loader in loaders:
        loader.start()
    # a pipelining TCP client whose queries were all answered, and an idle one
    busy = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    idle = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    burst = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # sent just before the signal
    burst.settimeout(2)
    try:
        busy.sendall(b"".join(framed("www.example.com", i) for i in range(50)))
        time.sleep(0.5)
        for i in range(100):
            burst.sendto(framed("www.example.com", i)[2:], ("127.0.0.1", daemon.port))
        started = time.monotonic()
        daemon.signal(signum)
        code = daemon.stop(timeout=BOUND)
        elapsed = time.monotonic() - started
        answers = read_answers(busy)
        assert read_answers(idle) == []  # closed by the server, not left to time out
        burst_ids = sorted(dns.message.from_wire(burst.recv(4096)).id for _ in range(100))
    finally:
        stop.set()
        for loader in loaders:
            loader.join(5)
        busy.close()
        idle.close()
        burst.close()
    assert code == 0, daemon.log()
    assert elapsed < BOUND
    assert [a.id for a in answers] == list(range(50))
    assert burst_ids == list(range(100))  # read before the signal, or drained at the stop
    assert not wrong, wrong[:3]
    assert "event=stopped" in daemon.log()


def test_workers_reload_together_and_stop(daemon_factory):
    daemon = daemon_factory(workers=2)
    log = daemon.log()
    assert log.count("event=worker_started") == 2
    write_config(daemon.config.parent, daemon.port, www="192.0.2.11")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=2", count=2)  # one line per worker
    for tcp in (False, True) * 10:  # whichever worker the kernel picks has the new data
        response = daemon.query("www.example.com", tcp=tcp)
        assert {r.to_text() for r in response.answer[0]} == {"192.0.2.11"}

    write_config(daemon.config.parent, daemon.port, broken=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=rejected")
    assert {r.to_text() for r in daemon.query("www.example.com").answer[0]} == {"192.0.2.11"}

    assert daemon.stop(timeout=BOUND) == 0
    assert daemon.log().count("code=0") == 2


def test_port_in_use_fails_at_startup(daemon_factory, tmp_path):
    first = daemon_factory()
    directory = tmp_path / "second"
    directory.mkdir()
    result = subprocess.run(
        serve_command(write_config(directory, first.port)),
        capture_output=True,
        text=True,
        timeout=30,
        env=daemon_env(),
    )
    assert result.returncode == 1, result.stderr
    assert "event=start_failed" in result.stderr
    assert f"127.0.0.1:{first.port}: Address already in use" in result.stderr
    assert first.query("www.example.com").answer  # the first one is undisturbed


def test_a_worker_that_dies_stops_the_others_with_exit_1(daemon_factory):
    daemon = daemon_factory(workers=2)
    pids = [int(p) for p in re.findall(r"event=worker_started worker=\d+ pid=(\d+)", daemon.log())]
    assert len(pids) == 2
    os.kill(pids[0], signal.SIGKILL)
    assert daemon.process.wait(BOUND + 5) == 1
    log = daemon.log()
    assert f"pid={pids[0]} code=-9" in log
    assert f"pid={pids[1]} code=0" in log  # stopped gracefully by the parent


def test_workers_stop_when_their_supervisor_is_killed(daemon_factory):
    """A supervisor killed with SIGKILL cannot stop its workers: each asked the kernel for
    SIGTERM at its parent's death (PR_SET_PDEATHSIG), so none is left serving orphaned."""
    daemon = daemon_factory(workers=2)
    pids = [int(p) for p in re.findall(r"event=worker_started worker=\d+ pid=(\d+)", daemon.log())]
    assert len(pids) == 2
    daemon.process.kill()
    daemon.process.wait(BOUND)
    deadline = time.monotonic() + BOUND + 5
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [pid for pid in pids if _running(pid)]
    for pid in alive:  # (stop them anyway: the test must not leave them running)
        os.kill(pid, signal.SIGKILL)
    assert not alive
    assert daemon.log().count("event=stopped") == 2  # each stopped as on SIGTERM


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting for its new parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
