"""What the kernel says about a server: its processes, CPU time and memory, from /proc.

A server is a process tree (NSD forks, acnsd may run workers); every figure here is a
sum over the tree rooted at the process the harness started. CPU time is utime+stime
of /proc/PID/stat (all threads of each process, dead threads included); memory is
VmRSS / VmHWM of /proc/PID/status, or the proportional set size (Pss of
/proc/PID/smaps_rollup), which counts a page shared by forked processes once in all.

Also how busy one CPU is (/proc/stat): the core the load generator is pinned to, so the
report can tell when dnsperf rather than the server set the rate; and when a server has
gone quiet (its CPU use fell), so that a measurement starts on a server that is done with
the work of the one before.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["cpu_jiffies", "cpu_seconds", "memory_kib", "process_tree", "pss_kib", "wait_quiet"]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def process_tree(root: int) -> list[int]:
    """`root` and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of `pids`, in seconds."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return ticks / _CLOCK_TICKS


def memory_kib(pids: list[int], key: str = "VmHWM") -> int:
    """Sum of a /proc/PID/status memory line (VmHWM: peak RSS, VmRSS: current) in KiB."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith(key + ":"):
                total += int(line.split()[1])
    return total


def pss_kib(pids: list[int]) -> int:
    """Sum of the proportional set sizes of `pids` in KiB (shared pages split among the
    processes that map them)."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("Pss:")), 0)
    return total


def cpu_jiffies(cpu: int) -> tuple[int, int]:
    """Busy and total jiffies of CPU `cpu` since boot, from its `cpuN` line of /proc/stat.

    Total is user + nice + system + idle + iowait + irq + softirq + steal (guest time is
    already in user); busy is total minus idle and iowait.
    """
    prefix = f"cpu{cpu} "
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(prefix):
            fields = [int(field) for field in line.split()[1:9]]
            total = sum(fields)
            return total - fields[3] - fields[4], total
    raise ValueError(f"/proc/stat has no line for CPU {cpu}")


def wait_quiet(root: int, deadline: float, share: float = 0.1, window: float = 0.5) -> bool:
    """Wait until the process tree of `root` used less than `share` of one CPU over a
    `window` of seconds; False when `deadline` (time.monotonic()) came first."""
    before = cpu_seconds(process_tree(root))
    while time.monotonic() + window <= deadline:
        time.sleep(window)
        after = cpu_seconds(process_tree(root))
        if after - before < share * window:
            return True
        before = after
    return False
