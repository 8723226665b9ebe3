"""The management API under load (issue 15), against the real daemon on loopback.

Four measurements, each printed as it completes:

1. **keep-alive**: the median of sequential GET /zones, each on a fresh connection, then
   all on one keep-alive connection (they should cost the same);
2. **burst**: `--burst` simultaneous GET /zones with a valid token (every one must be
   answered, p99 ≤ 2 s), then as many without a token (401: how cheap a refusal is, in
   the server's CPU time per request);
3. **idle**: the latency of a GET on a fresh connection and of a DNS query over UDP and
   over TCP, before and while `--idle` connections sit open on the API sending nothing
   (they should stay near their idle values).

The client is asyncio (uvloop when installed) on raw sockets; its descriptor limit is
raised to the hard limit. `--source` runs another tree's `server/` (say, an older commit
extracted with `git archive`) to compare; `--nofile` starts the daemon with that
descriptor limit (soft and hard), as a default system would. Exit status 0 when every
target is met (with `--smoke`: when every request was answered), 1 otherwise.

    python -m benchmarks.api_load [--burst 2000] [--idle 5000] [--samples 100] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dns.asyncquery
import dns.message
from dns.exception import DNSException

from benchmarks.api_churn import TOKEN, make_site
from benchmarks.procs import cpu_seconds, process_tree

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 60.0  # seconds one request of a burst may take before it counts as lost
CONNECT_TIMEOUT = 10.0
BURST_P99 = 2.0  # target: seconds
NEAR_IDLE = 3.0  # target: a latency under load stays within this factor of its idle value
NEAR_IDLE_FLOOR = 0.010  # ... or within this many seconds of it (noise of a shared host)


@dataclass
class Daemon:
    process: subprocess.Popen
    dns_port: int
    api_port: int

    def cpu(self) -> float:
        return cpu_seconds(process_tree(self.process.pid))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_daemon(directory: Path, source: Path, nofile: int | None) -> Iterator[Daemon]:
    """`acnsd serve` on a small site in `directory`, stopped (SIGTERM, then SIGKILL) after."""
    port = _free_port()
    config, _ = make_site(directory, 20, port)
    log = directory / "acnsd.log"

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "acnsd.cli", "serve", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit,
            env={**os.environ, "PYTHONPATH": str(source)})
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not re.search(r"event=ready", log.read_text(errors="replace")):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"acnsd did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        api_port = int(re.findall(r"event=api_listening address=127\.0\.0\.1:(\d+)",
                                  log.read_text())[-1])
        yield Daemon(process, port, api_port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(path: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET /client/v4{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one response (head and Content-Length body); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return int(head.split(b" ", 2)[1])


async def one_request(port: int, request: bytes) -> tuple[float, int]:
    """A request on a fresh connection: (seconds from connect to the whole answer, status)."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        status = await _response(reader)
    finally:
        writer.close()
    return time.perf_counter() - started, status


@dataclass
class Sample:
    """Latencies of requests that were answered, and how many were not."""

    seconds: list[float]
    failed: int = 0
    statuses: tuple[int, ...] = ()

    def quantile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    def line(self) -> str:
        return (f"answered {len(self.seconds)}, lost {self.failed}, "
                f"median {self.median * 1000:.2f} ms, p99 {self.quantile(0.99) * 1000:.1f} ms, "
                f"max {max(self.seconds, default=float('nan')) * 1000:.1f} ms")


async def sequential(measure: Callable[[], Awaitable[float]], count: int) -> Sample:
    sample = Sample([])
    for _ in range(count):
        try:
            sample.seconds.append(await asyncio.wait_for(measure(), REQUEST_TIMEOUT))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, DNSException):
            sample.failed += 1
    return sample


async def keep_alive(port: int, count: int) -> Sample:
    """`count` GET /zones one after the other on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = _request("/zones", TOKEN)

    async def once() -> float:
        started = time.perf_counter()
        writer.write(request)
        await _response(reader)
        return time.perf_counter() - started

    try:
        return await sequential(once, count)
    finally:
        writer.close()


async def burst(port: int, count: int, token: str | None,
                timeout: float = REQUEST_TIMEOUT) -> Sample:
    """`count` GET /zones started at once, each on its own connection (lost after
    `timeout` seconds)."""
    request = _request("/zones", token)
    results = await asyncio.gather(
        *(asyncio.wait_for(one_request(port, request), timeout) for _ in range(count)),
        return_exceptions=True)
    answered = [r for r in results if isinstance(r, tuple)]
    return Sample([s for s, _ in answered], count - len(answered),
                  tuple(sorted({status for _, status in answered})))


async def dns_query(port: int, tcp: bool) -> float:
    query = dns.message.make_query("zone1.bench.test", "A")
    started = time.perf_counter()
    if tcp:
        await dns.asyncquery.tcp(query, "127.0.0.1", port=port, timeout=5)
    else:
        await dns.asyncquery.udp(query, "127.0.0.1", port=port, timeout=5)
    return time.perf_counter() - started


async def latencies(daemon: Daemon, count: int) -> dict[str, Sample]:
    """GET on a fresh connection, DNS over UDP, DNS over TCP: `count` of each, in turn."""
    request = _request("/zones", TOKEN)

    async def get() -> float:
        seconds, status = await one_request(daemon.api_port, request)
        if status != 200:
            raise OSError(f"GET /zones answered {status}")
        return seconds

    kinds: dict[str, Callable[[], Awaitable[float]]] = {
        "GET /zones": get,
        "DNS UDP": lambda: dns_query(daemon.dns_port, False),
        "DNS TCP": lambda: dns_query(daemon.dns_port, True)}
    samples = {name: Sample([]) for name in kinds}
    for _ in range(count):
        for name, measure in kinds.items():
            one = await sequential(measure, 1)
            samples[name].seconds += one.seconds
            samples[name].failed += one.failed
    return samples


async def open_idle(port: int, count: int) -> list[tuple[asyncio.StreamReader,
                                                          asyncio.StreamWriter]]:
    """`count` connections to the API that send nothing (those that could connect)."""
    gate = asyncio.Semaphore(512)  # connects in flight, so the client's SYNs are not dropped

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with gate:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port),
                                          CONNECT_TIMEOUT)

    opened = await asyncio.gather(*(connect() for _ in range(count)), return_exceptions=True)
    return [pair for pair in opened if isinstance(pair, tuple)]


def near_idle(idle: Sample, loaded: Sample) -> bool:
    return not loaded.failed and loaded.median <= max(idle.median * NEAR_IDLE,
                                                      idle.median + NEAR_IDLE_FLOOR)


async def measure(daemon: Daemon, args: argparse.Namespace) -> tuple[bool, int]:
    """Run every measurement, print it; whether every target is met, and how many requests
    and queries were not answered."""
    met = True
    fresh = await sequential(lambda: _fresh_get(daemon.api_port), args.samples)
    kept = await keep_alive(daemon.api_port, args.samples)
    print(f"keep-alive  GET /zones x {args.samples}, fresh connections: {fresh.line()}")
    print(f"keep-alive  GET /zones x {args.samples}, one connection:    {kept.line()}")
    lost = fresh.failed + kept.failed

    for token, name in ((TOKEN, "GET /zones (token)"), (None, "GET /zones (no token)")):
        cpu, client = daemon.cpu(), time.process_time()
        started = time.perf_counter()
        sample = await burst(daemon.api_port, args.burst, token)
        wall = time.perf_counter() - started
        cpu, client = daemon.cpu() - cpu, time.process_time() - client
        lost += sample.failed
        print(f"burst       {args.burst} x {name}: {sample.line()}; statuses {sample.statuses}; "
              f"all done in {wall:.2f} s; CPU per request: server {cpu * 1e6 / args.burst:.0f} "
              f"µs, client {client * 1e6 / args.burst:.0f} µs")
        if token:
            ok = not sample.failed and sample.quantile(0.99) <= BURST_P99
            met &= ok
            print(f"  target: all {args.burst} answered, p99 <= {BURST_P99:g} s: "
                  f"{'met' if ok else 'MISSED'}")

    before = await latencies(daemon, args.samples)
    started = time.perf_counter()
    idle = await open_idle(daemon.api_port, args.idle)
    print(f"idle        {len(idle)} of {args.idle} connections opened in "
          f"{time.perf_counter() - started:.2f} s")
    during = await latencies(daemon, args.samples)
    await asyncio.sleep(0.2)
    still = sum(not reader.at_eof() for reader, _ in idle)
    print(f"idle        still open after the measurement (not closed by the server): {still}")
    for writer in (w for _, w in idle):
        writer.close()
    for name in before:
        lost += before[name].failed + during[name].failed
        ok = near_idle(before[name], during[name])
        met &= ok
        print(f"idle        {name:10s} no idle connections: {before[name].line()}")
        print(f"idle        {name:10s} {len(idle)} idle connections: {during[name].line()}, "
              f"first {during[name].seconds[0] * 1000 if during[name].seconds else 0:.1f} ms"
              f"  target (median <= max({NEAR_IDLE:g} x, +{NEAR_IDLE_FLOOR * 1000:g} ms)): "
              f"{'met' if ok else 'MISSED'}")
    return met, lost


async def _fresh_get(port: int) -> float:
    return (await one_request(port, _request("/zones", TOKEN)))[0]


def _run(coroutine: Awaitable[tuple[bool, int]]) -> tuple[bool, int]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=2000, help="simultaneous requests")
    parser.add_argument("--idle", type=int, default=5000, help="idle API connections")
    parser.add_argument("--samples", type=int, default=100, help="sequential requests")
    parser.add_argument("--smoke", action="store_true",
                        help="200 simultaneous, 300 idle, 5 samples; exit 0 when all answered")
    parser.add_argument("--source", type=Path, default=REPO / "server",
                        help="the server/ directory to run (default: this tree's)")
    parser.add_argument("--nofile", type=int, help="the daemon's descriptor limit")
    args = parser.parse_args(argv)
    if args.smoke:
        args.burst, args.idle, args.samples = 200, 300, 5
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"client descriptors: {hard} (was {soft}); daemon from {args.source}"
          + (f", descriptor limit {args.nofile}" if args.nofile else ""))
    with tempfile.TemporaryDirectory() as tmp, \
            running_daemon(Path(tmp), args.source.resolve(), args.nofile) as daemon:
        met, lost = _run(measure(daemon, args))
    print(f"{lost} requests or queries not answered; "
          + ("every target met" if met else "a target was missed"))
    if args.smoke:
        return 0 if lost == 0 else 1
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
