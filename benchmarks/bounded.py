"""Bounds on what the scale suite runs: no step outlives its time, no process its memory.

At 100,000 and 1,000,000 zones one command or server start can take minutes and gigabytes
on a machine that other work shares. `run` runs a command to its end, its timeout or its
memory bound (the proportional set size of its process tree, so that the pages forked
processes share count once), whichever comes first, and says which it was;
`Guard` is the same memory bound for a server that keeps running, checked by whoever waits
on it. A process that hits a bound is killed with its whole process group, and only that.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.procs import process_tree, pss_kib
from benchmarks.servers import die_with_parent, environment

__all__ = ["Finished", "Guard", "OverMemory", "StepTimeout", "run"]


class StepTimeout(RuntimeError):
    """A step did not finish within its time bound."""


class OverMemory(RuntimeError):
    """A process tree went over the memory bound and was stopped."""


@dataclass(frozen=True)
class Finished:
    """How a bounded command ended: `outcome` is "ok", "failed" (non-zero exit status),
    "timeout" or "memory" (the last two: killed at the bound)."""

    outcome: str
    seconds: float
    peak_rss_kib: int  # ru_maxrss of the command's own process
    returncode: int | None
    output: str

    def check(self, what: str) -> None:
        """Raise StepTimeout, OverMemory or RuntimeError (naming `what`) unless "ok"."""
        if self.outcome == "timeout":
            raise StepTimeout(f"{what}: not done within {self.seconds:.0f} s")
        if self.outcome == "memory":
            raise OverMemory(f"{what} went over the memory bound")
        if self.outcome != "ok":
            raise RuntimeError(f"{what} failed ({self.returncode}): {self.output[-1000:]}")


class Guard:
    """A memory bound on the process tree rooted at `pid`, measured at most every
    `interval` seconds, the first time `interval` seconds after it was set (the PSS of a
    process of gigabytes takes milliseconds to read, and a command of milliseconds, a
    reload, is not slowed by it)."""

    def __init__(self, pid: int, limit_kib: int, interval: float = 0.5) -> None:
        self.pid, self.limit_kib, self.interval = pid, limit_kib, interval
        self._next = time.monotonic() + interval

    def check(self) -> None:
        """Raise OverMemory when the tree's memory (PSS) is above the limit."""
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        used = pss_kib(process_tree(self.pid))
        if used > self.limit_kib:
            raise OverMemory(f"PSS {used / 1024:,.0f} MiB is over the bound of "
                             f"{self.limit_kib / 1024:,.0f} MiB (--max-rss-gib)")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(command: list[str], timeout: float, limit_kib: int, log: Path,
        tied: bool = True) -> Finished:
    """Run `command` (its output to `log`) until it exits, `timeout` seconds pass or its
    process tree's RSS passes `limit_kib`; see Finished. Its exit is seen when it happens
    (a pidfd), so `seconds` is how long it ran.

    `tied`: the command gets SIGTERM if this process dies, even by SIGKILL (set in the
    child before exec, which needs a fork of this process: 5-12 ms with the 100,000-zone
    data set held here, ~20 ms at 300 MB; a reload takes ~10 ms). A command that ends by
    itself when the servers started here do (`acnsd reload` waits on the server's control
    socket, and the server is tied) passes False: it is started as a shell would start
    it (vfork)."""
    with log.open("wb") as out:
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=environment(),
                                   start_new_session=True,
                                   preexec_fn=die_with_parent if tied else None)
    guard = Guard(process.pid, limit_kib)
    outcome = ""
    exited = os.pidfd_open(process.pid)
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            left = began + timeout - time.monotonic()
            if left <= 0:
                outcome = "timeout"
            else:
                try:
                    guard.check()
                except OverMemory:
                    outcome = "memory"
            if outcome:
                _kill_group(process.pid)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            select.select([exited], [], [], min(left, guard.interval))
    finally:
        os.close(exited)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - began
    text = log.read_text(errors="replace")
    if not outcome:
        outcome = "ok" if process.returncode == 0 else "failed"
    return Finished(outcome, seconds, usage.ru_maxrss, process.returncode, text)
