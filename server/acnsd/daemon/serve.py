"""Running the server: what is bound where, which tables answer, and the process lifecycle.

The rule this module owns: the tables that answer live in one reference, replaced in one
assignment. Each query reads the reference once, so a query in flight keeps its snapshot;
a reload loads and compiles off the event loop and swaps only on success (DESIGN.md §4).

Every `listen` address (`server.listen`, or --listen which replaces it) serves every zone.
With views, each assigned ACNS address is also bound on the view port, and the core is
told that local address so it answers only that address's zones. An address that is not
configured on this host is logged and skipped. SIGHUP (or an accepted API change)
reloads, rebinding the addresses that appeared or disappeared; SIGTERM and SIGINT stop
accepting, let the answers already due be written, close TCP connections and exit 0
within SHUTDOWN_GRACE seconds. With --workers N, N forked processes (supervise.py) each
bind every address with SO_REUSEPORT and hold their own tables.

Read once at startup, not at reload: the log format and query log, the metrics and API
addresses, the API's limits and server.user. The exposition of worker i listens on the
metrics port + i. At start the descriptor limit is raised to the hard limit, and the API's
connections are capped within what the DNS side leaves (descriptors.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from acnsd.aio import loop_factory, off_loop
from acnsd.api.auth import TokenError
from acnsd.daemon import logs, snapshot
from acnsd.daemon.control import control_path, open_control
from acnsd.daemon.descriptors import api_limits, raise_limit
from acnsd.daemon.guards import rate_limiter, server_cookies
from acnsd.daemon.metrics import (
    Exposition,
    Metrics,
    acns_sets,
    start_exposition,
)
from acnsd.daemon.pidfile import PidFile, pid_path
from acnsd.daemon.privileges import drop_privileges
from acnsd.daemon.release import dismantle_later
from acnsd.daemon.responders import counting_responder
from acnsd.daemon.supervise import Supervisor
from acnsd.daemon.verifier import recheck
from acnsd.dns.compiler import Tables, compile_plan
from acnsd.dns.core import Transport
from acnsd.dns.delta import Delta, ZoneDelta, apply_delta
from acnsd.dns.plan import ServePlan
from acnsd.errors import AcnsdError, ConfigError, Problem, StateError
from acnsd.gcpause import freeze_survivors, gc_paused, log_pauses
from acnsd.model.config import Loaded, load, record
from acnsd.model.recording import FirstContents, store_path
from acnsd.model.schema import parse_hostport
from acnsd.model.state import State, remove_stale_temporaries
from acnsd.model.types import ApiConfig, Model, ResolvedZone
from acnsd.net.listener import BindError, Listener, TcpConnections, format_address, open_listener
from acnsd.verify.checks import LastResults
from acnsd.xfr.notify import Notifier, changed_zones
from acnsd.xfr.primary import Primary
from acnsd.xfr.secondary import Secondary

if TYPE_CHECKING:
    from acnsd.api.edit import ConfigEditor
    from acnsd.api.server import ApiServer
    from acnsd.control.pipeline import Committed

__all__ = [
    "SHUTDOWN_GRACE",
    "Endpoint",
    "Server",
    "endpoints",
    "load_tables",
    "main",
    "off_loop",
    "serve",
]

log = logging.getLogger("acnsd.serve")

SHUTDOWN_GRACE = 5.0  # seconds between SIGTERM and exit, whatever the clients do
APPLY_TIMEOUT = 60.0  # seconds an API change waits for the reload that makes it live
INLINE = 5_000  # RRs of a delta applied on the event loop; more: in a thread

Listen = tuple[tuple[str, int], ...] | None
T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint:
    """One address and port to bind, and the view it answers for (None: every zone)."""

    host: str
    port: int
    view: str | None = None

    @property
    def family(self) -> str:
        return "ipv6" if ":" in self.host else "ipv4"

    def __str__(self) -> str:
        scope = f"view={self.view}" if self.view is not None else "zones=all"
        return f"address={format_address(self.host, self.port)} {scope}"


def endpoints(plan: ServePlan, listen: Listen = None) -> list[Endpoint]:
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


def load_tables(config: str, save_state: bool = True, later: FirstContents | None = None
                ) -> tuple[Loaded, Tables, State]:
    """Load, validate and compile a configuration (blocking; raises ConfigError); with the
    State the load decided (the pipeline of the server's editor starts from it).

    `save_state` records new decisions (addresses, serials, content) in the store;
    workers leave that to their parent, which records first, so their plans carry the
    serials it recorded. `later` takes the contents of the zones not served yet, written
    once the server answers (recording.FirstContents: a start's).
    """

    def load_and_compile() -> tuple[Loaded, Tables, State]:
        loaded = load(config, save_state=False)
        state = loaded.state
        assert state is not None
        if save_state:
            loaded = record(loaded, later)
        return loaded, compile_plan(loaded.plan), state

    return frozen(load_and_compile)


def compile_frozen(loaded: Loaded) -> Tables:
    """Compile what was already loaded and checked (the API's change), as load_tables."""
    return frozen(compile_plan, loaded.plan)


def frozen(function: Callable[..., T], *args: object, **keywords: object) -> T:
    """Call `function` with cyclic garbage collection paused, and gc.freeze() what is alive
    afterwards: the tables hold no reference cycles (reference counting frees them), and
    a full collection walking millions of table objects would hold the GIL, and so stop
    answering, for hundreds of milliseconds during a reload."""
    with gc_paused():
        result = function(*args, **keywords)
        gc.freeze()
    return result


def make_editor(config: str, apply: Callable[[Committed | Loaded], None] | None,
                loaded: Loaded, state: State, later: FirstContents | None = None
                ) -> ConfigEditor:
    """The server's editor, from what it loaded (not a load), frozen as the tables are:
    its index and sources are millions of objects at 100,000 zones, and left to the
    collector, a full collection walking them (after enough changes) stopped answering
    for ~0.24 s (benchmarks/scale, the idle probe after the API's changes). Its writes
    come after the first contents `later` (written first, when still pending)."""
    from acnsd.api.edit import ConfigEditor  # (imported once the DNS answers: 60-80 ms)

    return frozen(ConfigEditor, config, apply, loaded=(loaded, state),
                  prefetch=loaded.model.server.api is not None, first_contents=later)


def _write_first_contents(later: FirstContents) -> None:
    """Write a start's first contents (recording.FirstContents), once it answers, logged.
    After a store error they are written before the editor's next write."""
    started, zones = time.monotonic(), later.pending
    try:
        later.write()  # (or waits for the editor's first change writing them)
    except StateError as exc:
        log.error("event=first_contents_unwritten reason=%r action=written_before_next_change",
                  str(exc))
        return
    log.info("event=first_contents_written zones=%d seconds=%.3f", zones,
             time.monotonic() - started)


def _remove_stale_temporaries(model: Model) -> None:
    """Remove what a crash (kill -9) left of atomic writes in the directories acnsd writes
    to: the configuration's, the state file's, zones_dir and the secondary's. Called
    holding the pid file's lock, so that no other server of this configuration is writing
    there."""
    server = model.server
    directories = {model.config_file.parent, server.state_file.parent, server.zones_dir}
    if server.secondary is not None and server.secondary.directory.is_dir():
        directories.add(server.secondary.directory)
    for directory in directories:
        for path in remove_stale_temporaries(directory):
            log.info("event=stale_temporary_removed path=%s", path)


def _log_problems(error: ConfigError) -> None:
    for problem in error.problems:
        log.error("event=config_error %s", problem)


def _log_warnings(warnings: Iterable[Problem]) -> None:
    for problem in warnings:
        log.warning("event=config_warning %s", problem)


def _follow_sets(sets: dict[str, tuple[str, int]],
                 zones: Mapping[str, ResolvedZone | None]) -> None:
    """acns_sets() after a change, kept up to date zone by zone."""
    for name, zone in zones.items():
        sets.pop(name, None)
        if zone is not None and zone.ns_type == "custom.account" and zone.ns_set is not None:
            sets[name] = (zone.account, zone.ns_set)


class Server:
    """The listeners of one process and the tables they answer from."""

    def __init__(
        self,
        config: str,
        loaded: Loaded,
        tables: Tables,
        *,
        listen: Listen = None,
        worker: bool = False,
        notify: bool = True,
    ) -> None:
        self.config = config
        self.tables = tables  # the one reference every query reads
        # our DNS Cookie secrets (None: off), read like the tables, swapped at reload
        self.cookies = server_cookies(loaded.model.server)
        self.rrl = rate_limiter(loaded.model.server.rrl)  # over UDP; None: off
        self.generation = 1
        self.listeners: dict[Endpoint, Listener] = {}
        self.metrics = Metrics(counting=loaded.model.server.metrics is not None)
        # the primary side (xfr/): transfers and signed queries; NOTIFY from one process
        self.primary = Primary(self, loaded.model.server)
        self.metrics.primary = self.primary
        self.metrics.limits = self
        self.notifier = Notifier(self.primary.counters) if notify else None
        # the secondary side (xfr/secondary.py): zones transferred in, added to the tables
        secondary = loaded.model.server.secondary
        self.secondary = None if secondary is None else Secondary(
            secondary, self.primary.keys, self._transferred)
        self.metrics.secondary = self.secondary
        if self.notifier is not None:
            self.notifier.configure(loaded.model.server.notify, self.primary.keys)
        self.api: ApiServer | None = None
        self._plan = loaded.plan
        # kept until the next swap, then freed off the loop with the plan and tables
        self._model = loaded.model
        self._listen = listen
        self._worker = worker  # SO_REUSEPORT, and the state file is the parent's
        # on when logs.configure enabled it (server.query_log, or --query-log)
        self._query_log = logging.getLogger(logs.QUERY_LOGGER).isEnabledFor(logging.INFO)
        options = loaded.plan.options
        self._connections = TcpConnections(
            options.tcp_max_connections, options.tcp_idle_timeout, options.tcp_frame_timeout
        )
        self.metrics.tcp = self._connections
        # the delegation checks' last results (verify/), read by the API and the metrics
        self.checks = LastResults()
        self.metrics.checks = lambda: self.checks.get(self._model.server)
        self._verifier: asyncio.Task[None] | None = None
        self._sets = self._acns_sets(loaded.model)
        self.metrics.loaded(len(loaded.plan.zones), tables.records, self._sets, self.generation)
        self._reload_lock = asyncio.Lock()
        # the configuration's control plane: changes (the API's, an operator's reload)
        # made by the pipeline; None under --workers (each worker loads whole)
        self.editor: ConfigEditor | None = None
        self.control: asyncio.Server | None = None  # the control socket (daemon/control.py)
        self._reload_task: asyncio.Task[None] | None = None
        self._reload_again = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._skipped: dict[Endpoint, str] = {}  # addresses not bound, and why

    def _responders(self, endpoint: Endpoint) -> tuple[Callable, Callable]:
        """Per transport: read self.tables once, answer, count (and log, with the query
        log on)."""
        udp, tcp = (
            counting_responder(
                self.metrics, self, transport, endpoint.family, endpoint.view, self._query_log,
                self.primary.handoff(transport, endpoint.view),
            )
            for transport in (Transport.UDP, Transport.TCP)
        )
        return udp, tcp

    async def bind(self, *, strict: bool = False) -> None:
        """Make the bound listeners match the current plan: close those no longer wanted,
        open the new ones. An address not on this host is skipped; with `strict` (at
        startup) any other bind error (port in use, permission) is raised. Skipped
        addresses are logged when the set of them or a reason changes, not again at every
        reload: one INFO line per address (never rate-limited), then one WARNING counts
        them."""
        self._loop = asyncio.get_running_loop()
        skipped: dict[Endpoint, str] = {}
        wanted = endpoints(self._plan, self._listen)
        for endpoint in [e for e in self.listeners if e not in wanted]:
            self.listeners.pop(endpoint).stop_accepting()
            log.info("event=unbound %s", endpoint)
        for endpoint in wanted:
            if endpoint in self.listeners:
                continue
            udp, tcp = self._responders(endpoint)
            try:
                listener = await open_listener(
                    endpoint.host,
                    endpoint.port,
                    udp,
                    tcp,
                    self._connections,
                    reuse_port=self._worker,
                )
            except BindError as exc:
                if strict and not exc.not_on_this_host:
                    where = format_address(endpoint.host, endpoint.port)
                    raise AcnsdError(f"{where}: {exc.strerror}{exc.hint}") from exc
                skipped[endpoint] = exc.strerror
                continue
            self.listeners[endpoint] = listener
            log.info("event=listening transports=udp,tcp %s", endpoint)
            if endpoint.port == 0:  # port 0: report the one chosen
                log.info("event=port_chosen %s port=%d", endpoint, listener.port)
        if skipped != self._skipped:
            for endpoint, reason in skipped.items():
                if self._skipped.get(endpoint) != reason:
                    log.info("event=skipped %s reason=%r", endpoint, reason)
            if skipped:
                log.warning("event=addresses_skipped count=%d bound=%d", len(skipped),
                            len(self.listeners))
            self._skipped = skipped

    def request_reload(self) -> None:
        """SIGHUP: reload now, or once more after the reload in progress."""
        if self._reload_task is not None and not self._reload_task.done():
            self._reload_again = True
            return
        self._reload_task = asyncio.get_running_loop().create_task(self._reload_on_signal())

    async def _reload_on_signal(self) -> None:
        while True:
            self._reload_again = False
            await self.reload()  # the editor's: the API's base follows
            if not self._reload_again:
                return

    def apply(self, made: Committed | Loaded, source: str = "api") -> None:
        """The editor's hook, called from its thread after a change (`source`: "api", or
        "file" for an operator's reload) was written and recorded: returns once the tables
        that serve it are swapped in. A change the pipeline made comes as a delta of the
        tables served; one loaded whole, as loaded (compiled in a thread, then swapped in
        as a reload is)."""
        if self._loop is None:
            raise RuntimeError("the server is not running")
        work = (self._apply_loaded(made, source) if isinstance(made, Loaded)
                else self._publish(made))
        asyncio.run_coroutine_threadsafe(work, self._loop).result(APPLY_TIMEOUT)

    async def _apply_loaded(self, loaded: Loaded, source: str) -> None:
        async with self._reload_lock:
            started = time.monotonic()
            try:
                tables = await off_loop(compile_frozen, loaded)
            except Exception:
                self.metrics.reload_failed()
                log.exception("event=reload result=failed source=%s generation=%d",
                              source, self.generation)
                raise
            await self._swap(loaded, tables, started, source)

    async def _apply_delta(self, delta: Delta) -> Tables:
        """Apply `delta` to the tables being served, copy-on-write, and swap them in (one
        assignment); then drop the answers it may change from the caches; the tables it
        replaced. A small delta is applied on the loop (well under a millisecond a zone),
        a large one in a thread. Called holding the reload lock."""
        delta = dataclasses.replace(delta, generation=self.generation + 1)
        changed = itertools.chain(delta.zones, delta.catalogs)  # a catalog of 10,000 zones
        if sum(z.plan.records for z in changed if z.plan is not None) < INLINE:
            tables, names = apply_delta(self.tables, delta)
        else:
            tables, names = await off_loop(apply_delta, self.tables, delta)
        previous, self.tables = self.tables, tables
        tables.cache.invalidate(names)
        self.generation += 1
        return previous

    def _acns_sets(self, model: Model) -> dict[str, tuple[str, int]]:
        """acns_sets(model), which only the exposition reads (its queries by ACNS set):
        without one, none (a map of every zone: ~4 MiB at 100,000 zones)."""
        return acns_sets(model) if self.metrics.counting else {}

    async def _transferred(self, zones: tuple[ZoneDelta, ...],
                           unavailable: frozenset[bytes]) -> None:
        """The secondary side's hook (xfr/secondary.py): serve the zones transferred in,
        stop serving those dropped or expired, answer SERVFAIL for those `unavailable`.
        Raises ConfigError for a zone that cannot be served (nothing changed then)."""
        async with self._reload_lock:
            await self._apply_delta(Delta(self.generation + 1, zones, unavailable=unavailable))
            self.metrics.loaded(len(self.tables.zones), self.tables.records, self._sets,
                                self.generation)

    async def _publish(self, committed: Committed) -> None:
        """Serve an accepted change: its delta applied (_apply_delta), a NOTIFY for each
        serial it changed, its model, sets, metrics and views adopted."""
        async with self._reload_lock:
            started = time.monotonic()
            delta = committed.delta
            previous = await self._apply_delta(delta)
            tables = self.tables
            if self.notifier is not None and committed.model.server.notify:
                self.notifier.notify(changed_zones(previous, tables,
                                                   [zone.key for zone in delta.zones]))
            self._model = committed.model
            if self.metrics.counting:
                _follow_sets(self._sets, committed.zones)
            self.metrics.loaded(len(tables.zones), tables.records, self._sets, self.generation)
            _log_warnings(committed.warnings)
            if committed.views is not None:
                self._plan = dataclasses.replace(self._plan, views=committed.views)
                await self.bind()
            log.info("event=change result=ok generation=%d zones=%d seconds=%.4f",
                     self.generation, len(delta.zones), time.monotonic() - started)

    async def reload(self) -> bool:
        """Load what changed on disk (the editor's reload: zone files by the pipeline, or
        the whole configuration), or without an editor (workers) load and compile the
        whole configuration in a thread; swap the tables on success. On failure every
        problem is logged and the old tables keep serving. Reloads run one at a time, so
        a slower, older load never replaces a newer one."""
        return (await self.reload_report())["ok"]

    async def reload_report(self, zones: list[str] | None = None) -> dict[str, Any]:
        """reload(), and how it went (the control socket's answer: daemon/control.py);
        `zones`: only those zones' files (the editor's reload; without an editor, the
        whole configuration)."""
        if self.editor is not None:
            return await self._reload(zones)
        async with self._reload_lock:
            return await self._reload()

    async def _reload(self, zones: list[str] | None = None) -> dict[str, Any]:
        started = time.monotonic()
        log.info("event=reload_started generation=%d config=%s", self.generation, self.config)
        try:
            if self.editor is not None:
                made = await off_loop(self.editor.reload,
                                      functools.partial(self.apply, source="file"), zones)
                if made.zone_files >= 0:
                    log.info("event=reload result=ok generation=%d source=file zone_files=%d "
                             "yaml_files=%d seconds=%.3f", self.generation, made.zone_files,
                             made.yaml_files, time.monotonic() - started)
                return {"ok": True, "generation": self.generation, **made._asdict()}
            loaded, tables, _ = await off_loop(load_tables, self.config, not self._worker)
        except ConfigError as exc:
            _log_problems(exc)
            self.metrics.reload_failed()
            log.error(
                "event=reload result=rejected problems=%d generation=%d",
                len(exc.problems),
                self.generation,
            )
            return {"ok": False, "problems": [str(problem) for problem in exc.problems]}
        except Exception:
            self.metrics.reload_failed()
            log.exception("event=reload result=failed generation=%d", self.generation)
            return {"ok": False, "problems": ["the reload failed: the server's log says why"]}
        await self._swap(loaded, tables, started, "file")
        return {"ok": True, "generation": self.generation, "zone_files": -1, "yaml_files": -1}

    async def _swap(self, loaded: Loaded, tables: Tables, started: float, source: str) -> None:
        """Serve `tables` from now on (one assignment) and adopt the new options, metrics
        and listening addresses; then free the old tables, plan and model off the loop.
        What takes time over many zones is done in threads: a stop of the event loop is a
        gap in the answers."""
        sets = self._sets = await off_loop(self._acns_sets, loaded.model)
        notifier = self.notifier
        settings = loaded.model.server
        if self.secondary is not None:  # the zones transferred in, served as before
            delta = Delta(tables.generation, self.secondary.deltas(),  # compiled: shared
                          unavailable=self.secondary.unavailable())
            tables = (await off_loop(apply_delta, tables, delta))[0]
        changed = []
        if notifier is not None and settings.notify:  # RFC 1996: the serials that changed
            changed = await off_loop(changed_zones, self.tables, tables)
        _log_warnings(loaded.warnings)
        cookies = await off_loop(server_cookies, settings, self.cookies)
        previous = (self.tables, self._plan, self._model)
        self.tables = tables
        self.generation += 1
        self._plan, self._model = loaded.plan, loaded.model
        self.primary.configure(settings)
        if self.secondary is not None and settings.secondary is not None:
            self.secondary.configure(settings.secondary, self.primary.keys)
        elif (self.secondary is None) != (settings.secondary is None):
            log.warning("event=secondary_unchanged reason='server.secondary is turned on or "
                        "off at a restart'")
        self.cookies = cookies
        self.rrl = rate_limiter(settings.rrl, self.rrl)
        if notifier is not None:
            notifier.configure(settings.notify, self.primary.keys)
            notifier.notify(changed)
        self.metrics.loaded(len(loaded.plan.zones), tables.records, sets, self.generation)
        self._connections.max_connections = loaded.plan.options.tcp_max_connections
        self._connections.idle_timeout = loaded.plan.options.tcp_idle_timeout
        self._connections.frame_timeout = loaded.plan.options.tcp_frame_timeout
        await self.bind()
        log.info(
            "event=reload result=ok generation=%d source=%s zones=%d seconds=%.3f",
            self.generation,
            source,
            len(loaded.plan.zones),
            time.monotonic() - started,
        )
        dismantle_later(*previous)

    def start_checks(self) -> None:
        """The periodic delegation checks (daemon/verifier.py), over the model served."""
        self._verifier = asyncio.get_running_loop().create_task(recheck(lambda: self._model))

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Stop accepting, write the answers already due, close TCP connections."""
        if self._reload_task is not None:
            self._reload_task.cancel()
        if self._verifier is not None:
            self._verifier.cancel()
        if self.notifier is not None:
            self.notifier.close()
        if self.secondary is not None:
            self.secondary.close()
        drained = sum(listener.stop_accepting() for listener in self.listeners.values())
        self.listeners.clear()
        aborted = await self._connections.drain(grace)
        log.info("event=stopped udp_drained=%d tcp_aborted=%d", drained, aborted)


def _start_exposition(metrics: Metrics, address: tuple[str, int], worker: int | None) -> Exposition:
    host, port = address
    if worker is not None and port != 0:
        port += worker  # one exposition per worker process
    exposition = start_exposition(metrics, host, port)
    log.info("event=metrics_listening address=%s", format_address(host, exposition.port))
    return exposition


async def serve(
    config: str,
    loaded: Loaded,
    tables: Tables,
    *,
    listen: Listen = None,
    worker: int | None = None,
    state: State | None = None,
    later: FirstContents | None = None,
) -> int:
    """Bind, serve until SIGTERM or SIGINT, shut down gracefully; the exit code.

    `worker` is this process's index under --workers (None: the only process): a worker
    shares its ports with SO_REUSEPORT, leaves the state file and the API to its parent.
    `later`: the first contents the start left to write once it answers: written off the
    loop before the privileges are dropped (the store's files, made by then, are handed
    to the user) and before it is ready; an API change made meanwhile waits for them (the
    editor's writes)."""
    server = Server(config, loaded, tables, listen=listen, worker=worker is not None,
                    notify=worker in (None, 0))
    settings = loaded.model.server
    exposition: Exposition | None = None
    try:
        if server.secondary is not None:  # the copies on disk served before listening
            await server.secondary.start()
        await server.bind(strict=True)
        if not server.listeners:
            raise AcnsdError("no address could be bound")
        if settings.metrics is not None:
            exposition = _start_exposition(server.metrics, settings.metrics, worker)
        if worker is None:  # the editor starts from what the server loaded, not a load
            server.editor = await off_loop(make_editor, config, server.apply, loaded, state,
                                           later)
            server.control = await open_control(
                control_path(loaded.model.config_file, settings), server.reload_report)
        if settings.api is not None and server.editor is not None:
            dns = settings.tcp_max_connections + 2 * len(server.listeners)
            server.api = await off_loop(_api_server, server.editor, settings.api, dns,
                                        server.checks)
            server.api.start()
        if worker in (None, 0):  # the checks are made once: by the only process or worker 0
            server.start_checks()
        if later is not None and later.pending:  # the DNS answers: the store's turn, and
            await off_loop(_write_first_contents, later)  # done before its files change hands
        # the state file is written by the only process, or by the parent of workers
        drop_privileges(settings.user, store_path(settings.state_file) if worker is None else None)
    except (OSError, AcnsdError, TokenError) as exc:
        log.error("event=start_failed reason=%r", str(exc))
        await _stop(server, exposition, 0)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    stop_freezing = freeze_survivors(loop)
    stop_logging_pauses = log_pauses(log)

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
        len(loaded.plan.zones),
        len(loaded.plan.views),
    )
    if server.editor is not None:  # (a reload or an API change waits for it)
        threading.Thread(target=frozen, args=(server.editor.watch_sources,),
                         name="acnsd-watch", daemon=True).start()
    await stop.wait()
    stop_freezing()
    stop_logging_pauses()
    await _stop(server, exposition, SHUTDOWN_GRACE)
    return 0


def _api_server(editor: ConfigEditor, api: ApiConfig, dns_descriptors: int,
                checks: LastResults) -> ApiServer:
    """The management API over the server's editor, its connections capped within the
    descriptors that the DNS side's `dns_descriptors` leave it; its results show the
    delegation checks' `checks`. (Called off the event loop: the API's modules, aiohttp
    among them, are imported here, once the DNS answers, not before the load.)"""
    from acnsd.api.server import ApiServer  # (0.2 s of CPU)

    return ApiServer(editor.path, api.listen, api.tokens_file, editor.apply,
                     api_limits(api.limits, dns_descriptors), editor=editor, checks=checks)


async def _stop(server: Server, exposition: Exposition | None, grace: float) -> None:
    if server.control is not None:
        paths = [sock.getsockname() for sock in server.control.sockets]
        server.control.close()
        for path in paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
    if server.api is not None:
        await off_loop(server.api.stop)
    await server.shutdown(grace)
    if server.editor is not None:  # after the changes in progress
        await off_loop(server.editor.close)
    if exposition is not None:
        exposition.close()


def _run(config: str, loaded: Loaded, tables: Tables, listen: Listen, worker: int | None,
         state: State | None = None, later: FirstContents | None = None) -> int:
    """One process's event loop (uvloop when it is installed) from start to exit."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(serve(config, loaded, tables, listen=listen, worker=worker,
                                state=state, later=later))


def _supervise(config: str, loaded: Loaded, tables: Tables, listen: Listen, workers: int) -> int:
    """--workers N: fork the workers; this parent relays signals, checks the configuration
    before its workers reload (recording new decisions in the state file, once) and runs
    the API, whose accepted changes it relays as a SIGHUP to itself."""
    supervisor = Supervisor(
        workers, lambda index: _run(config, loaded, tables, listen, index), SHUTDOWN_GRACE + 2
    )
    supervisor.start()
    settings = loaded.model.server
    api: ApiServer | None = None

    def on_reload() -> bool:
        try:
            load(config)
        except ConfigError as exc:
            _log_problems(exc)
            log.error("event=reload result=rejected problems=%d", len(exc.problems))
            return False
        except Exception:
            log.exception("event=reload result=failed")
            return False
        if api is not None:
            api.refresh()
        return True

    code = 0
    try:
        if settings.api is not None:
            from acnsd.api.server import ApiServer  # (see _api_server)

            # every accepted change makes the supervisor reload its workers (DNS: theirs)
            api = ApiServer(config, settings.api.listen, settings.api.tokens_file,
                            lambda made: _signal_self_hup(), api_limits(settings.api.limits, 0))
            api.start()
        drop_privileges(settings.user, store_path(settings.state_file))
    except (OSError, AcnsdError, TokenError) as exc:
        log.error("event=start_failed reason=%r", str(exc))
        code = 1
        supervisor.stop("start_failed")
    try:
        return supervisor.wait(on_reload) or code
    finally:
        if api is not None:
            api.stop()


def _signal_self_hup() -> None:
    os.kill(os.getpid(), signal.SIGHUP)  # (Python runs its handler in the main thread)


# How long a thread that holds the GIL keeps it while another waits (Python's default is
# 5 ms). The event loop gives up the GIL in every system call; while a reload or an API
# change compiles in a thread, a shorter turn lets the loop take it back sooner. Measured
# at 1,000 zones with changes applied back to back (benchmarks/api_churn.py): 9.5k q/s
# answered at 5 ms, 12.8k at 1 ms, 17.4k at 0.5 ms, 24.5k at 0.2 ms (95k idle), the
# changes themselves slowing from 2.6 to 1.8 per second. With no second thread it costs
# nothing.
SWITCH_INTERVAL = 0.0005


def _listen_option(text: str) -> tuple[str, int]:
    try:
        return parse_hostport(text)
    except ValueError as exc:
        raise ValueError(f"--listen {text!r}: {exc}") from None


def main(config: str, listen: list[str] | None, workers: int) -> int:
    """`acnsd serve`: load, compile, bind and serve until stopped; the exit code."""
    logs.configure()
    raise_limit()
    sys.setswitchinterval(SWITCH_INTERVAL)
    # SIGHUP's default action ends the process: until the loop handles it, ignore it
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        override = tuple(_listen_option(text) for text in listen) if listen else None
    except ValueError as exc:
        log.error("event=bad_listen reason=%r", str(exc))
        return 2
    if workers < 1:
        log.error("event=bad_workers workers=%d reason='at least 1'", workers)
        return 2
    restored = snapshot.restore(config)
    began = time.time_ns()
    # a single process writes the zones' first contents once it answers; the parent of
    # workers writes them before it forks
    later = FirstContents() if workers == 1 else None
    try:
        loaded, tables, state = restored or load_tables(config, later=later)
    except ConfigError as exc:
        _log_problems(exc)
        log.error("event=start_failed problems=%d config=%s", len(exc.problems), config)
        return 1
    settings = loaded.model.server
    logs.configure(settings.log_format, query_log=settings.query_log)
    _log_warnings(loaded.warnings)
    plan = loaded.plan
    log.info("event=loaded config=%s zones=%d views=%d", config, len(plan.zones), len(plan.views))
    ports = [port for _, port in override or plan.listen] + [plan.view_port] * bool(plan.views)
    if workers > 1 and settings.secondary is not None:
        log.error("event=bad_workers workers=%d reason='a secondary runs one process'", workers)
        return 2
    if workers > 1 and 0 in ports:
        log.error("event=bad_workers workers=%d reason='port 0 would differ per worker'", workers)
        return 2
    with contextlib.ExitStack() as stack:
        pid_file = PidFile(pid_path(loaded.model))
        try:
            stack.enter_context(pid_file)
        except AcnsdError as exc:
            log.error("event=start_failed reason=%r", str(exc))
            return 1
        except OSError as exc:
            log.warning("event=pid_file_unwritable path=%s reason=%r", pid_file.path,
                        exc.strerror)
        else:  # no other server of this configuration is writing its files
            _remove_stale_temporaries(loaded.model)
        if not settings.snapshot:
            snapshot.discard(config)
        elif restored is None:
            snapshot.write_later(config, loaded, tables, state, began, later)
        if workers == 1:
            return _run(config, loaded, tables, override, None, state, later)
        return _supervise(config, loaded, tables, override, workers)
