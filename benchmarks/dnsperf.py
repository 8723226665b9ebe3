"""Running dnsperf against one server and reading its statistics.

Every server gets the same dnsperf command line for a mix; only the port differs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DnsperfResult", "command", "missing", "parse", "run"]

_FIELDS = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "latency": r"Average Latency \(s\):\s+([\d.]+)",
    "run_time": r"Run time \(s\):\s+([\d.]+)",
}


@dataclass(frozen=True)
class DnsperfResult:
    sent: int
    completed: int
    lost: int
    qps: float
    latency: float  # average, seconds
    run_time: float
    rcodes: dict[str, int]


def missing() -> str | None:
    return None if shutil.which("dnsperf") else "dnsperf not installed (apt-get install dnsperf)"


def parse(output: str) -> DnsperfResult:
    """The statistics block of dnsperf's output (the first one: TCP adds a second)."""
    values: dict[str, float] = {}
    for key, pattern in _FIELDS.items():
        match = re.search(pattern, output)
        if match is None:
            raise ValueError(f"dnsperf output has no {key!r}:\n{output[-1500:]}")
        values[key] = float(match.group(1))
    codes = re.search(r"Response codes:\s+(.*)", output)
    rcodes = {name: int(count) for name, count in
              re.findall(r"([A-Z]+) (\d+) \(", codes.group(1) if codes else "")}
    return DnsperfResult(int(values["sent"]), int(values["completed"]), int(values["lost"]),
                         values["qps"], values["latency"], values["run_time"], rcodes)


def command(port: int | str, queries: Path, duration: float, args: tuple[str, ...],
            outstanding: int, cpu: int | None) -> list[str]:
    """The dnsperf command line for one server; `args` are the mix's own options."""
    line = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
            "-l", f"{duration:g}", "-t", "1", "-q", str(outstanding), *args]
    return ["taskset", "-c", str(cpu), *line] if cpu is not None else line


def run(port: int, queries: Path, duration: float, args: tuple[str, ...], outstanding: int,
        cpu: int | None) -> DnsperfResult:
    cmd = command(port, queries, duration, args, outstanding, cpu)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr[-800:]}")
    return parse(done.stdout)
