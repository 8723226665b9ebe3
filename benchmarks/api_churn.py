"""dnsperf queries/s of `acnsd serve` with its management API idle, and while a client
sends a steady stream of accepted changes (issue 6).

Each change is a PATCH of one zone's ns_ttl: the API edits, checks and writes the
configuration, then the server compiles what the check loaded and swaps its tables, all
inside the serving process (the API's threads share the interpreter with the DNS path),
and the 200 comes once the new tables serve. Rounds alternate idle and churn; the medians
are printed with the changes applied per second, and the time of one change with no DNS
load.

    .venv/bin/python -m benchmarks.api_churn [--zones 50] [--duration 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import dnsperf

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"
TOKEN = "benchmark-token-0123456789abcdef"
ZONE = "$TTL 3600\n@ IN A 192.0.2.1\nwww IN A 192.0.2.2\nmail IN A 192.0.2.3\n@ IN MX 10 mail\n"


def make_site(directory: Path, zones: int, port: int) -> tuple[Path, list[str]]:
    (directory / "zones").mkdir()
    names = [f"zone{i}.bench.test" for i in range(zones)]
    for name in names:
        (directory / "zones" / f"{name}.zone").write_text(ZONE)
    (directory / "tokens.yaml").write_text(f'- {{token: "{TOKEN}", accounts: ["*"]}}\n')
    lines = ["server:", f'  listen: ["127.0.0.1:{port}"]', f"  port: {port}",
             "  standard_nameservers:", "    - {name: ns1.acnsd.test, ipv4: 127.53.0.1}",
             "    - {name: ns2.acnsd.test, ipv4: 127.53.0.2}",
             '  address_pools: {ipv4: ["127.54.0.0/16"], ipv6: ["fd00:54::/64"]}',
             "  zones_dir: zones", '  api: {listen: "127.0.0.1:0", tokens_file: tokens.yaml}',
             "accounts:", f"  - id: {ACCOUNT}", "    name: Bench", "    custom_nameservers:",
             "      - {ns_name: ns1.bench.test, ns_set: 1}",
             "      - {ns_name: ns2.bench.test, ns_set: 1}", "    zones:"]
    lines += [f"      - name: {n}\n        dns_settings: {{nameservers: {{type: custom.account}}}}"
              for n in names]
    config = directory / "acnsd.yaml"
    config.write_text("\n".join(lines) + "\n")
    queries = directory / "queries.txt"
    queries.write_text("".join(f"{n} {t}\n" for n in names for t in ("A", "NS", "MX")))
    return config, names


def _patch(port: int, zone_name: str, ttl: int) -> None:
    from acnsd.model.types import zone_id

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("PATCH", f"/client/v4/zones/{zone_id(zone_name)}/dns_settings",
                           body=json.dumps({"ns_ttl": ttl}),
                           headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"PATCH answered {response.status}")
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if reason := dnsperf.missing():
        print(reason, file=sys.stderr)
        return 2
    sys.path.insert(0, str(REPO / "server"))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with __import__("socket").socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config, names = make_site(directory, args.zones, port)
        env = {**os.environ, "PYTHONPATH": str(REPO / "server")}
        log = directory / "acnsd.log"
        with open(log, "wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "acnsd.cli", "serve", "--config",
                                       str(config)], stdout=out, stderr=subprocess.STDOUT,
                                      env=env)
        try:
            deadline = time.monotonic() + 60
            while not re.search(r"event=ready", log.read_text()):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(log.read_text())
                time.sleep(0.1)
            api_port = int(re.findall(r"event=api_listening address=127\.0\.0\.1:(\d+)",
                                      log.read_text())[-1])
            latencies = []
            for i in range(5):  # with no DNS load: from the request to the 200 (served)
                started = time.monotonic()
                _patch(api_port, names[i], 400 + i)
                latencies.append(time.monotonic() - started)
            results: dict[str, list[float]] = {"idle": [], "churn": []}
            rates: list[float] = []
            for _ in range(args.rounds):
                for mode in ("idle", "churn"):
                    stop = threading.Event()
                    done = [0]

                    def churn(stop: threading.Event = stop, done: list[int] = done) -> None:
                        while not stop.is_set():
                            _patch(api_port, names[done[0] % len(names)], 300 + done[0] % 2)
                            done[0] += 1

                    worker = threading.Thread(target=churn) if mode == "churn" else None
                    if worker:
                        worker.start()
                    started = time.monotonic()
                    result = dnsperf.run(port, directory / "queries.txt", args.duration, (),
                                         100, None)
                    elapsed = time.monotonic() - started
                    stop.set()
                    if worker:
                        worker.join()
                        rates.append(done[0] / elapsed)
                    results[mode].append(result.qps)
                    print(f"{mode:5s} {result.qps:10.0f} q/s  lost {result.lost}"
                          + (f"  {done[0] / elapsed:.1f} changes/s" if worker else ""))
            idle, busy = statistics.median(results["idle"]), statistics.median(results["churn"])
            print(f"\nzones {args.zones}, dnsperf -l {args.duration:g} -q 100, "
                  f"{args.rounds} rounds (medians)")
            print(f"one change, request to 200 (served), no DNS load: median "
                  f"{statistics.median(latencies):.3f} s")
            print(f"API idle:  {idle:10.0f} q/s")
            print(f"API churn: {busy:10.0f} q/s ({busy / idle:.0%} of idle) while applying "
                  f"{statistics.median(rates):.1f} changes/s")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
