"""The servers under test and their lifecycle: config, start, readiness, stop.

A server definition knows two things: whether it is installed (`missing`), how to
write its configuration for a data set and return the command that serves it on a
loopback port (`prepare`), and nothing else; `start` runs that command in its own
process group, times the zone load (start to the first authoritative answer to every
probe), and `Running.stop` ends that process group and only that one. A server also
gets SIGTERM from the kernel if the harness dies first, so none outlives a run.
"""

from __future__ import annotations

import compileall
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.rcode

from benchmarks.dataset import LARGE_ZONE, DataSet
from benchmarks.procs import process_tree
from benchmarks.zonefiles import write_acnsd_config

__all__ = ["DEFAULT", "REPO", "SERVERS", "Layout", "Running", "Server", "ServerError",
           "die_with_parent", "environment", "free_port", "parse_spec", "probes", "spawn",
           "start"]

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent


class ServerError(RuntimeError):
    """A server failed to start or to become ready."""


@dataclass(frozen=True)
class Layout:
    """A data set written to disk: `served` zone files and acnsd's own zone files."""

    dataset: DataSet
    served_dir: Path
    acnsd_dir: Path


class Server:
    """A DNS server that serves the data set's zones over UDP and TCP."""

    name = ""
    serves_zones = True  # answers with the zones' content (readiness, content check)
    over_tcp = True  # listens on TCP too


class Knot(Server):
    name = "knot"

    def missing(self) -> str | None:
        return None if shutil.which("knotd") else "knotd not installed (apt-get install knot)"

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        for sub in ("run", "db"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        zones = "".join(f"  - domain: {zone.name}\n" for zone in layout.dataset.zones)
        (workdir / "knot.conf").write_text(
            f"server:\n    rundir: {workdir / 'run'}\n    listen: {HOST}@{port}\n"
            f"    udp-workers: {workers}\n    tcp-workers: {workers}\n"
            "    background-workers: 1\n"
            "log:\n  - target: stderr\n    any: warning\n"
            f"database:\n    storage: {workdir / 'db'}\n"
            f"template:\n  - id: default\n    storage: {layout.served_dir}\n"
            '    file: "%s.zone"\n    zonefile-sync: -1\n    zonefile-load: whole\n'
            "    journal-content: none\n    semantic-checks: off\n"
            f"zone:\n{zones}"
        )
        return ["knotd", "-c", str(workdir / "knot.conf")]


class Nsd(Server):
    name = "nsd"

    def missing(self) -> str | None:
        return None if shutil.which("nsd") else "nsd not installed (apt-get install nsd)"

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        zones = "".join(f"zone:\n    name: {zone.name}\n    zonefile: {zone.name}.zone\n"
                        for zone in layout.dataset.zones)
        (workdir / "nsd.conf").write_text(
            f"server:\n    ip-address: {HOST}@{port}\n    server-count: {workers}\n"
            '    username: ""\n    chroot: ""\n    database: ""\n'
            f'    zonesdir: "{layout.served_dir}"\n'
            f'    zonelistfile: "{workdir}/zone.list"\n    xfrdfile: "{workdir}/xfrd.state"\n'
            f'    xfrdir: "{workdir}"\n    pidfile: "{workdir}/nsd.pid"\n'
            "    verbosity: 0\n    zonefiles-write: 0\n"
            "    rrl-ratelimit: 0\n    minimal-responses: yes\n"  # as Knot: no RRL, no extras
            "remote-control:\n    control-enable: no\n"
            f"{zones}"
        )
        return ["nsd", "-d", "-c", str(workdir / "nsd.conf")]


class Dnslib(Server):
    name = "dnslib"

    def missing(self) -> str | None:
        try:
            import dnslib  # noqa: F401
        except ImportError:
            return "dnslib not installed (pip install dnslib)"
        return None

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        return [sys.executable, "-m", "benchmarks.dnslib_server",
                "--zones-dir", str(layout.served_dir), "--address", HOST, "--port", str(port)]


def build_tree() -> None:
    """Build the acnsd measured (this tree's: see environment()) as its installation does:
    its bytecode (pip writes it for an installed package: else, with
    PYTHONDONTWRITEBYTECODE set, as on this machine, each start compiles every module
    again, ~0.2 s of a cold start) and its C reader of zone files (setup.py; a tree that
    was never installed, a git worktree, would read every file with the Python readers).
    Both are left as they are when up to date."""
    compileall.compile_dir(REPO / "server" / "acnsd", quiet=1)
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"building acnsd's C reader failed:\n{done.stderr[-2000:]}")


class Acnsd(Server):
    name = "acnsd"
    server_keys: dict[str, Any] = {}  # more keys of the server section

    @staticmethod
    def executable() -> str | None:
        beside = Path(sys.executable).parent / "acnsd"
        return str(beside) if beside.exists() else shutil.which("acnsd")

    def missing(self) -> str | None:
        exe = self.executable()
        if exe is None:
            return "acnsd not installed (make test installs it into .venv)"
        probe = subprocess.run([exe, "serve", "--help"], capture_output=True, timeout=30)
        if probe.returncode != 0:
            return "`acnsd serve --help` fails: " + probe.stderr.decode(errors="replace")[-200:]
        return None

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        build_tree()
        config = workdir / "acnsd.yaml"
        write_acnsd_config(config, layout.dataset, layout.acnsd_dir, HOST, port,
                           server_keys=self.server_keys)
        return self.command(config, port, workers)

    def command(self, config: Path, port: int, workers: int) -> list[str]:
        """`acnsd serve` of `config` on HOST:`port` with `workers` processes."""
        return [str(self.executable()), "serve", "--config", str(config),
                "--listen", f"{HOST}:{port}", "--workers", str(workers)]


class AcnsdBare(Acnsd):
    """acnsd without DNS Cookies (on by default) or RRL: what they cost is its q/s less
    acnsd-guarded's, measured in the same rounds."""

    name = "acnsd-bare"
    server_keys = {"cookies": {"enabled": False}}


class AcnsdGuarded(Acnsd):
    """acnsd with DNS Cookies and response rate limiting at a rate no mix reaches: every
    answer is accounted, none is limited."""

    name = "acnsd-guarded"
    server_keys = {"cookies": {"enabled": True}, "rrl": {"rate": 1_000_000_000}}


class NullResponder(Server):
    """Not a DNS server: each UDP query comes back as its own answer (null_responder.c),
    so what dnsperf reaches against it is the ceiling of the load generator on this host."""

    name = "null"
    serves_zones = False
    over_tcp = False
    SOURCE = Path(__file__).resolve().parent / "null_responder.c"

    def missing(self) -> str | None:
        return (None if shutil.which("cc")
                else "no C compiler for null_responder.c (apt-get install gcc)")

    def prepare(self, layout: Layout, workdir: Path, port: int, workers: int) -> list[str]:
        if workers != 1:
            raise ServerError("the null responder runs one process: use `null`")
        workdir.mkdir(parents=True, exist_ok=True)
        binary = workdir / "null_responder"
        built = subprocess.run(["cc", "-O2", "-o", str(binary), str(self.SOURCE)],
                               capture_output=True, text=True, timeout=120)
        if built.returncode != 0:
            raise ServerError(f"cc {self.SOURCE.name} failed:\n{built.stderr[-800:]}")
        return [str(binary), HOST, str(port)]


SERVERS = {server.name: server for server in (Acnsd(), AcnsdBare(), AcnsdGuarded(), Knot(), Nsd(),
                                              Dnslib(), NullResponder())}
# acnsd:2 shows how workers scale; null the ceiling of the load generator
DEFAULT = ("acnsd", "acnsd:2", "knot", "nsd", "dnslib", "null")


@dataclass
class Running:
    """A started server."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    load_seconds: float = 0.0
    started: float = 0.0  # time.monotonic() just before the server was started

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def log_tail(self, size: int = 2000) -> str:
        try:
            return (self.workdir / "server.log").read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it after 10 s."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the harness dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    """A port that is free for both UDP and TCP on HOST right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port


def probes(dataset: DataSet) -> list[str]:
    """Zones whose SOA must be answered before a server counts as loaded."""
    names = [zone.name for zone in dataset.zones]
    return sorted({names[0], names[len(names) // 2], names[-1], LARGE_ZONE})


def _answers(port: int, zone: str, serves_zones: bool) -> bool:
    """Whether the zone's SOA is answered with authority (any reply at all when the server
    does not serve zones). Asked from a connected socket: until the server binds its port,
    ICMP port unreachable refuses the query at once, so that a server is found answering
    within ~10 ms of it (an unconnected socket waited out its 0.2 s timeout each time)."""
    query = dns.message.make_query(zone, "SOA")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((HOST, port))
        sock.settimeout(0.2)
        try:
            sock.send(query.to_wire())
            reply = dns.message.from_wire(sock.recv(65535))
        except (OSError, dns.exception.DNSException):
            return False
    if not query.is_response(reply):
        return False
    return not serves_zones or (reply.rcode() == dns.rcode.NOERROR
                                and bool(reply.flags & dns.flags.AA) and len(reply.answer) == 1)


def parse_spec(spec: str) -> tuple[str, int]:
    """A server spec is a server name, optionally with `:N` workers: `acnsd`, `acnsd:2`."""
    name, _, workers = spec.partition(":")
    if name not in SERVERS or not (workers or "1").isdigit() or int(workers or 1) < 1:
        raise ValueError(f"bad server {spec!r}: use NAME or NAME:WORKERS, NAME one of "
                         + ", ".join(SERVERS))
    return name, int(workers or 1)


def environment() -> dict[str, str]:
    """The environment of every server and acnsd command: this tree's `server/` first on
    PYTHONPATH, so that the `acnsd` measured is the code beside the benchmark even when
    the installed `acnsd` (an editable install) points at another checkout."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join((str(REPO / "server"), str(REPO))))


def spawn(server: Server, spec: str, workers: int, layout: Layout, workdir: Path,
          cpu: int | None, port: int | None = None) -> Running:
    """Start `server` on `port` (a free one by default), pinned to `cpu`; do not wait.

    A server with several workers is not pinned: one core would defeat the workers.
    """
    port = port or free_port()
    command = server.prepare(layout, workdir, port, workers)
    if cpu is not None and workers == 1:
        command = ["taskset", "-c", str(cpu), *command]
    with (workdir / "server.log").open("wb") as log:
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                   env=environment(), stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=die_with_parent)
    return Running(spec, process, port, workdir, started=began)


def start(spec: str, layout: Layout, workdir: Path, cpu: int | None, timeout: float) -> Running:
    """Start server `spec` on a free port, pinned to `cpu` (see `spawn`), and wait until it
    answers the SOA of every zone of `probes`."""
    name, workers = parse_spec(spec)
    running = spawn(SERVERS[name], spec, workers, layout, workdir, cpu)
    process, began = running.process, running.started
    pending = probes(layout.dataset)
    while pending:
        if process.poll() is not None:
            raise ServerError(f"{spec} exited with {process.returncode}:\n{running.log_tail()}")
        if time.monotonic() - began > timeout:
            running.stop()
            raise ServerError(f"{spec} not ready after {timeout:.0f} s (no answer for "
                              f"{pending[0]} SOA):\n{running.log_tail()}")
        pending = [zone for zone in pending
                   if not _answers(running.port, zone, SERVERS[name].serves_zones)]
        if pending:
            time.sleep(0.01)
    running.load_seconds = time.monotonic() - began
    return running
