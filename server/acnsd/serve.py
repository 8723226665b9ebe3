"""Running the server: what is bound where, which tables answer, and the process lifecycle.

The rule this module owns: the tables that answer live in one reference, replaced in one
assignment. Each query reads the reference once, so a query in flight keeps its snapshot;
a reload loads and compiles off the event loop and swaps only on success (DESIGN.md §4).

Every `listen` address (`server.listen`, or --listen which replaces it) serves every zone.
With views, each assigned ACNS address is also bound on the view port, and the core is
told that local address so it answers only that address's zones. An address that is not
configured on this host is logged and skipped. SIGHUP reloads (rebinding view addresses
that appeared or disappeared); SIGTERM and SIGINT stop accepting, let the answers already
due be written, close TCP connections and exit 0 within SHUTDOWN_GRACE seconds. With
--workers N, N forked processes each bind every address with SO_REUSEPORT and hold their
own tables; the parent forwards SIGHUP and SIGTERM to all of them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from acnsd.compiler import Tables, compile_plan
from acnsd.config import load
from acnsd.core import Transport, answer
from acnsd.errors import ConfigError, Problem
from acnsd.listener import BindError, Listener, TcpConnections, format_address, open_listener
from acnsd.plan import ServePlan

__all__ = ["SHUTDOWN_GRACE", "Endpoint", "Server", "endpoints", "main", "parse_address"]

log = logging.getLogger("acnsd.serve")

SHUTDOWN_GRACE = 5.0  # seconds between SIGTERM and exit, whatever the clients do
LOG_FORMAT = "%(asctime)s %(levelname)s acnsd[%(process)d] %(message)s"


def parse_address(text: str) -> tuple[str, int]:
    """Split "127.0.0.1:5353" or "[::1]:5353" into (host, port); ValueError if malformed."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r}: expected ADDR:PORT, e.g. 127.0.0.1:5353 or [::1]:5353")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: an IPv6 address is written in brackets, e.g. [::1]:5353")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: {host!r} is not an IP address") from None
    return host, int(port)


@dataclass(frozen=True)
class Endpoint:
    """One address and port to bind, and the view it answers for (None: every zone)."""

    host: str
    port: int
    view: str | None = None

    def __str__(self) -> str:
        scope = f"view={self.view}" if self.view is not None else "zones=all"
        return f"address={format_address(self.host, self.port)} {scope}"


def endpoints(plan: ServePlan, listen: tuple[tuple[str, int], ...] | None = None) -> list[Endpoint]:
    """What a plan asks to bind: every listen address (`listen` replaces plan.listen), then
    every view address on plan.view_port. A view address that is also a listen address is
    served there with every zone, so it is not bound twice."""
    addresses = listen if listen is not None else plan.listen
    wanted = [Endpoint(host, port) for host, port in addresses]
    taken = {(e.host, e.port) for e in wanted}
    for view in plan.views:
        if (view.address, plan.view_port) in taken:
            log.info(
                "event=skipped address=%s view=%s reason=also_a_listen_address",
                format_address(view.address, plan.view_port),
                view.address,
            )
            continue
        taken.add((view.address, plan.view_port))
        wanted.append(Endpoint(view.address, plan.view_port, view.address))
    return wanted


Loaded = tuple[ServePlan, Tables, list[Problem]]


def load_tables(config: str, save_state: bool = True) -> Loaded:
    """Load, validate and compile a configuration (blocking; raises ConfigError).

    `save_state` records new decisions (addresses, serials) in the state file; workers
    leave that to their parent, which loads first, so they never write it concurrently.
    """
    loaded = load(config, save_state=save_state)
    return loaded.plan, compile_plan(loaded.plan), list(loaded.warnings)


class Server:
    """The listeners of one process and the tables they answer from."""

    def __init__(
        self,
        config: str,
        plan: ServePlan,
        tables: Tables,
        *,
        listen: tuple[tuple[str, int], ...] | None = None,
        reuse_port: bool = False,
        save_state: bool = True,
    ) -> None:
        self.config = config
        self.tables = tables  # the one reference every query reads
        self.generation = 1
        self.listeners: dict[Endpoint, Listener] = {}
        self._plan = plan
        self._listen = listen
        self._reuse_port = reuse_port
        self._save_state = save_state
        self._connections = TcpConnections(
            plan.options.tcp_max_connections, plan.options.tcp_idle_timeout
        )
        self._reload_task: asyncio.Task[None] | None = None
        self._reload_again = False

    def _responders(self, view: str | None) -> tuple[Callable, Callable]:
        udp, tcp = Transport.UDP, Transport.TCP

        def respond_udp(query: bytes) -> bytes | None:
            return answer(self.tables, query, udp, view)

        def respond_tcp(query: bytes) -> bytes | None:
            return answer(self.tables, query, tcp, view)

        return respond_udp, respond_tcp

    async def bind(self, *, strict: bool = False) -> None:
        """Make the bound listeners match the current plan: close those no longer wanted,
        open the new ones. An address not on this host is skipped; with `strict` (at
        startup) any other bind error (port in use, permission) is raised."""
        wanted = endpoints(self._plan, self._listen)
        for endpoint in [e for e in self.listeners if e not in wanted]:
            self.listeners.pop(endpoint).stop_accepting()
            log.info("event=unbound %s", endpoint)
        for endpoint in wanted:
            if endpoint in self.listeners:
                continue
            udp, tcp = self._responders(endpoint.view)
            try:
                listener = await open_listener(
                    endpoint.host,
                    endpoint.port,
                    udp,
                    tcp,
                    self._connections,
                    reuse_port=self._reuse_port,
                )
            except BindError as exc:
                if strict and not exc.not_on_this_host:
                    raise BindError(exc.errno, f"{endpoint}: {exc.strerror}") from exc
                log.warning("event=skipped %s reason=%r", endpoint, exc.strerror)
                continue
            self.listeners[endpoint] = listener
            log.info("event=listening transports=udp,tcp %s", endpoint)
            if endpoint.port == 0:  # port 0: report the one chosen
                log.info("event=port_chosen %s port=%d", endpoint, listener.port)

    def request_reload(self) -> None:
        """SIGHUP: reload now, or once more after the reload in progress."""
        if self._reload_task is not None and not self._reload_task.done():
            self._reload_again = True
            return
        self._reload_task = asyncio.get_running_loop().create_task(self._reload_loop())

    async def _reload_loop(self) -> None:
        while True:
            self._reload_again = False
            await self.reload()
            if not self._reload_again:
                return

    async def reload(self) -> bool:
        """Load and compile the configuration in a thread; swap the tables on success.
        On failure every problem is logged and the old tables keep serving."""
        started = time.monotonic()
        log.info("event=reload_started generation=%d config=%s", self.generation, self.config)
        loop = asyncio.get_running_loop()
        try:
            plan, tables, warnings = await loop.run_in_executor(
                None, load_tables, self.config, self._save_state
            )
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("event=config_error %s", problem)
            log.error(
                "event=reload result=rejected problems=%d generation=%d",
                len(exc.problems),
                self.generation,
            )
            return False
        except Exception:
            log.exception("event=reload result=failed generation=%d", self.generation)
            return False
        for problem in warnings:
            log.warning("event=config_warning %s", problem)
        self.tables = tables
        self.generation += 1
        self._plan = plan
        self._connections.max_connections = plan.options.tcp_max_connections
        self._connections.idle_timeout = plan.options.tcp_idle_timeout
        await self.bind()
        log.info(
            "event=reload result=ok generation=%d zones=%d seconds=%.3f",
            self.generation,
            len(plan.zones),
            time.monotonic() - started,
        )
        return True

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop accepting, write the answers already due, close TCP connections."""
        if self._reload_task is not None:
            self._reload_task.cancel()
        for listener in self.listeners.values():
            listener.stop_accepting()
        self.listeners.clear()
        aborted = await self._connections.drain(grace)
        log.info("event=stopped tcp_aborted=%d", aborted)


async def serve(
    config: str,
    plan: ServePlan,
    tables: Tables,
    *,
    listen: tuple[tuple[str, int], ...] | None = None,
    worker: bool = False,
) -> int:
    """Bind, serve until SIGTERM or SIGINT, shut down gracefully; the exit code.

    A `worker` (one of --workers N) shares its ports with SO_REUSEPORT and leaves the
    state file to its parent."""
    server = Server(config, plan, tables, listen=listen, reuse_port=worker, save_state=not worker)
    try:
        await server.bind(strict=True)
    except BindError as exc:
        log.error("event=bind_failed %s", exc.strerror)
        await server.shutdown(0)
        return 1
    if not server.listeners:
        log.error("event=no_listeners reason='no address could be bound'")
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_stop(signum: int) -> None:
        log.info("event=signal signal=%s action=shutdown", signal.Signals(signum).name)
        stop.set()

    def on_hup() -> None:
        log.info("event=signal signal=SIGHUP action=reload")
        server.request_reload()

    loop.add_signal_handler(signal.SIGHUP, on_hup)
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_stop, signum)
    log.info(
        "event=ready listeners=%d zones=%d views=%d",
        len(server.listeners),
        len(plan.zones),
        len(plan.views),
    )
    await stop.wait()
    await server.shutdown()
    return 0


Listen = tuple[tuple[str, int], ...] | None


def _run(config: str, plan: ServePlan, tables: Tables, listen: Listen, worker: bool) -> int:
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(serve(config, plan, tables, listen=listen, worker=worker))


SUPERVISED = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}


def _supervise(config: str, plan: ServePlan, tables: Tables, listen: Listen, workers: int) -> int:
    """Fork `workers` processes that share the ports; forward SIGHUP and SIGTERM to them.
    A worker that exits on its own stops the others: the exit code is then 1."""
    signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISED)
    children: dict[int, int] = {}
    for index in range(workers):
        pid = os.fork()
        if pid == 0:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISED)
            code = 1
            try:
                code = _run(config, plan, tables, listen, worker=True)
            except BaseException:
                log.exception("event=worker_crashed worker=%d", index)
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = index
        log.info("event=worker_started worker=%d pid=%d", index, pid)
    code = 0
    deadline: float | None = None

    def stop_all(reason: str) -> None:
        nonlocal deadline
        if deadline is None:
            log.info("event=stopping_workers reason=%s", reason)
            deadline = time.monotonic() + SHUTDOWN_GRACE + 2.0
            for pid in children:
                os.kill(pid, signal.SIGTERM)

    while children:
        timeout = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
        info = signal.sigtimedwait(SUPERVISED, timeout)
        if info is not None and info.si_signo == signal.SIGHUP and deadline is None:
            log.info("event=signal signal=SIGHUP action=reload workers=%d", len(children))
            if _validate(config):  # and record new decisions in the state file, once
                for pid in children:
                    os.kill(pid, signal.SIGHUP)
        elif info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
            stop_all(signal.Signals(info.si_signo).name)
        while children:  # reap every worker that has exited
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            index = children.pop(pid, None)
            exit_code = os.waitstatus_to_exitcode(status)
            log.info("event=worker_exited worker=%s pid=%d code=%d", index, pid, exit_code)
            if exit_code != 0 or deadline is None:
                code = 1
            stop_all("worker_exited")
        if deadline is not None and time.monotonic() >= deadline and children:
            for pid in children:
                log.error("event=worker_killed pid=%d reason=shutdown_timeout", pid)
                os.kill(pid, signal.SIGKILL)
            code = 1
            deadline = float("inf")  # wait for the kills to be reaped
    return code


def _validate(config: str) -> bool:
    """The parent's check before its workers reload: they reload only a valid config."""
    try:
        load(config)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("event=config_error %s", problem)
        log.error("event=reload result=rejected problems=%d", len(exc.problems))
        return False
    except Exception:
        log.exception("event=reload result=failed")
        return False
    return True


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)


def main(config: str, listen: list[str] | None, workers: int) -> int:
    """`acnsd serve`: load, compile, bind and serve until stopped; the exit code."""
    _configure_logging()
    try:
        override = tuple(parse_address(text) for text in listen) if listen else None
    except ValueError as exc:
        log.error("event=bad_listen %s", exc)
        return 2
    if workers < 1:
        log.error("event=bad_workers workers=%d reason='at least 1'", workers)
        return 2
    try:
        plan, tables, warnings = load_tables(config)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("event=config_error %s", problem)
        log.error("event=start_failed problems=%d config=%s", len(exc.problems), config)
        return 1
    for problem in warnings:
        log.warning("event=config_warning %s", problem)
    log.info("event=loaded config=%s zones=%d views=%d", config, len(plan.zones), len(plan.views))
    ports = [port for _, port in override or plan.listen] + [plan.view_port] * bool(plan.views)
    if workers > 1 and 0 in ports:
        log.error("event=bad_workers workers=%d reason='port 0 would differ per worker'", workers)
        return 2
    if workers == 1:
        return _run(config, plan, tables, override, worker=False)
    return _supervise(config, plan, tables, override, workers)
