"""The parent of `acnsd serve --workers N`: forks the workers and relays signals to them.

The rule this module owns: the parent never answers queries; it forks N workers (each
binds every address with SO_REUSEPORT and holds its own tables), then waits for signals
with them blocked, so none is lost between checks. SIGHUP is passed to every worker once
the parent's own check of the configuration passes; SIGTERM or SIGINT is passed on as
SIGTERM, and a worker still running `grace` seconds later is killed. A worker that exits
on its own stops the others, and the exit code is then 1: a supervisor above (systemd,
a container runtime) restarts the whole, rather than this parent hiding a crash loop.
A parent that cannot stop them (killed with SIGKILL) still ends them: on Linux each
worker asks the kernel for SIGTERM at its parent's death (PR_SET_PDEATHSIG), and stops
as it would on the parent's SIGTERM; none is left serving stale data unsupervised.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

__all__ = ["Supervisor"]

log = logging.getLogger("acnsd.supervise")

SIGNALS = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
POLL = 0.5  # seconds between checks for exited workers, should a SIGCHLD be missed


class Supervisor:
    """Forks `workers` processes that each run `run_worker(index)` and exit with its code."""

    def __init__(self, workers: int, run_worker: Callable[[int], int], grace: float) -> None:
        self.workers = workers
        self.grace = grace
        self._run_worker = run_worker
        self._children: dict[int, int] = {}  # pid → worker index
        self._deadline: float | None = None  # set when stopping

    def start(self) -> None:
        """Block the relayed signals (threads started later inherit the mask), then fork.
        Call it before any thread is started: a fork copies only the calling thread. A
        worker keeps the SIGHUP disposition it inherits (ignored, until its event loop
        handles it), so an early SIGHUP cannot end it."""
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        parent = os.getpid()
        for index in range(self.workers):
            pid = os.fork()
            if pid == 0:
                self._worker(index, parent)
            self._children[pid] = index
            log.info("event=worker_started worker=%d pid=%d", index, pid)
        # blocked, a SIGHUP waits for sigtimedwait; an ignored one might be discarded
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    def _worker(self, index: int, parent: int) -> None:
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        code = 1
        try:
            code = self._run_worker(index)
        except BaseException:
            log.exception("event=worker_crashed worker=%d", index)
        finally:
            logging.shutdown()
            os._exit(code)

    def wait(self, on_reload: Callable[[], bool]) -> int:
        """Relay signals until every worker has exited; the exit code. `on_reload` runs
        on SIGHUP before the workers are told, and returns whether they should reload."""
        code = 0
        while self._children:
            timeout = POLL
            if self._deadline is not None:
                timeout = max(0.0, min(POLL, self._deadline - time.monotonic()))
            info = signal.sigtimedwait(SIGNALS, timeout)
            if info is not None and info.si_signo == signal.SIGHUP and self._deadline is None:
                log.info("event=signal signal=SIGHUP action=reload workers=%d", self.workers)
                if on_reload():
                    self._send(signal.SIGHUP)
            elif info is not None and info.si_signo in (signal.SIGTERM, signal.SIGINT):
                self.stop(signal.Signals(info.si_signo).name)
            for exit_code in self._reap():
                if exit_code != 0 or self._deadline is None:
                    code = 1
                self.stop("worker_exited")
            if self._deadline is not None and time.monotonic() >= self._deadline:
                for pid in self._children:
                    log.error("event=worker_killed pid=%d reason=shutdown_timeout", pid)
                self._send(signal.SIGKILL)
                code = 1
                self._deadline = float("inf")  # now only wait for the kills to be reaped
        return code

    def _send(self, signum: int) -> None:
        for pid in self._children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:  # exited, not reaped yet
                pass

    def stop(self, reason: str) -> None:
        """Ask every worker to stop (SIGTERM); kill those still running after `grace`."""
        if self._deadline is None:
            log.info("event=stopping_workers reason=%s", reason)
            self._deadline = time.monotonic() + self.grace
            self._send(signal.SIGTERM)

    def _reap(self) -> list[int]:
        """The exit codes of the workers that have exited since the last call."""
        codes = []
        while self._children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            index = self._children.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            log.info("event=worker_exited worker=%s pid=%d code=%d", index, pid, code)
            codes.append(code)
        return codes


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with(parent: int) -> None:
    """SIGTERM to this process when its parent dies (Linux); if it died already, now."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        log.warning("event=pdeathsig_unset reason=%r", os.strerror(ctypes.get_errno()))
    elif os.getppid() != parent:  # the parent died before the request
        os.kill(os.getpid(), signal.SIGTERM)
