"""Initial sync of N zones from acnsd to a Knot DNS secondary, and the size of one IXFR
(issue 17).

acnsd is the primary of N small zones (`dataset.zones_profile`, the benchmark's data set)
with a catalog zone (RFC 9432) of all of them and a TSIG key (hmac-sha256); knotd is
started as a secondary that consumes the catalog (`catalog-role: interpret`) with that
key, as tests/xfr/test_catalog_secondaries.py does. Measured:

- **sync seconds**: from just before knotd starts until it serves, with acnsd's serial,
  the SOA of a sample of zones (every 100th, and the last ten, which come last in the
  catalog); then every zone's SOA is checked once, untimed, and counted;
- **primary CPU seconds** over that time: utime+stime of acnsd (/proc/PID/stat);
- **bytes of one IXFR**: one record added through the management API, then an IXFR from
  the serial before, signed, read message by message; the DNS messages' octets (TSIG
  included, the TCP length prefixes not), with an AXFR of the same zone for comparison.

The machine's load average is recorded beside the numbers: on a shared machine they
vary with it. A table is printed and the results written as JSON.

    .venv/bin/python -m benchmarks.xfr_sync [--zones 10000] [--smoke] [--timeout 900]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring

from benchmarks.dataset import DataSet, generate, zones_profile
from benchmarks.procs import cpu_seconds, process_tree
from benchmarks.servers import HOST, REPO, Running, die_with_parent, environment, free_port
from benchmarks.zonefiles import write_acnsd_config, write_zone_files

__all__ = ["main", "sync", "table", "transfer"]

SMOKE_ZONES = 50
CATALOG = "catalog.invalid."
KEY = "xfr-bench."
SECRET = base64.b64encode(bytes(range(32))).decode()
KEYRING = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", SECRET)})
TOKEN = "xfr-bench-token-0123456789"
START_TIMEOUT = 600.0  # seconds for acnsd to load N zones (a first start builds its store)


def _spawn(name: str, command: list[str], workdir: Path, port: int) -> Running:
    """`command` in its own session with its output in workdir/server.log."""
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "server.log").open("wb") as log:
        began = time.monotonic()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
                                   env=environment(), stdin=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=die_with_parent)
    return Running(name, process, port, workdir, started=began)


def _start_primary(dataset: DataSet, workdir: Path, port: int, api_port: int) -> Running:
    """acnsd serving `dataset` at HOST:port with the catalog, the key, transfers allowed
    to HOST with the key, and the management API at HOST:api_port; once it is ready."""
    zones_dir = workdir / "zones"
    write_zone_files(dataset, zones_dir, served=False)
    (workdir / "tokens.yaml").write_text(f'- {{token: "{TOKEN}", accounts: ["*"]}}\n')
    config = workdir / "acnsd.yaml"
    write_acnsd_config(config, dataset, zones_dir, HOST, port,
                       api={"listen": f"{HOST}:{api_port}", "tokens_file": "tokens.yaml"},
                       server_keys={
                           "tsig_keys": [{"name": KEY, "algorithm": "hmac-sha256",
                                          "secret": SECRET}],
                           "allow_transfer": [{"prefix": f"{HOST}/32", "key": KEY}],
                           "catalogs": {"name": CATALOG},
                       })
    primary = _spawn("acnsd", [sys.executable, "-m", "acnsd", "serve", "--config", str(config)],
                     workdir, port)
    deadline = time.monotonic() + START_TIMEOUT
    while "event=ready" not in primary.log_tail(1 << 20):
        if primary.process.poll() is not None or time.monotonic() > deadline:
            primary.stop()
            raise RuntimeError(f"acnsd did not start:\n{primary.log_tail()}")
        time.sleep(0.1)
    return primary


def _knot_config(base: Path, port: int, primary_port: int) -> str:
    """knotd at HOST@port, secondary of acnsd at HOST@primary_port for the catalog's
    members (as tests/xfr/test_catalog_secondaries.py configures it)."""
    (base / "db").mkdir(parents=True, exist_ok=True)
    return f"""\
server:
    rundir: {base}
    listen: {HOST}@{port}
log:
  - target: stderr
    any: notice
database:
    storage: {base / "db"}
key:
  - id: {KEY}
    algorithm: hmac-sha256
    secret: {SECRET}
remote:
  - id: acnsd
    address: {HOST}@{primary_port}
    key: {KEY}
template:
  - id: member
    storage: {base}
    master: acnsd
    zonefile-sync: -1
zone:
  - domain: {CATALOG}
    storage: {base}
    master: acnsd
    zonefile-sync: -1
    catalog-role: interpret
    catalog-template: member
"""


def _serial(port: int, zone: str) -> int | None:
    """The serial of `zone` served with authority at HOST:port, or None."""
    try:
        reply = dns.query.udp(dns.message.make_query(zone, "SOA"), HOST, port=port,
                              timeout=0.5)
    except (OSError, dns.exception.DNSException):
        return None
    if reply.rcode() != dns.rcode.NOERROR or len(reply.answer) != 1:
        return None
    return reply.answer[0][0].serial


def _wait_served(port: int, serials: dict[str, int], deadline: float,
                 knot: Running) -> None:
    """Until the server at `port` serves every zone of `serials` with its serial."""
    pending = dict(serials)
    while pending:
        if knot.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Knot does not serve {len(pending)} zones, e.g. "
                               f"{next(iter(pending))}:\n{knot.log_tail()}")
        pending = {zone: serial for zone, serial in pending.items()
                   if _serial(port, zone) != serial}
        if pending:
            time.sleep(0.05)


def transfer(port: int, zone: str, rdtype: str, serial: int = 0) -> dict[str, int | bool]:
    """An AXFR, or an IXFR from `serial`, of `zone` at HOST:port signed with KEY: its
    messages, RRs and octets (the DNS messages, TSIG RRs included), and whether it was
    incremental (the second RR the SOA of `serial`, RFC 1995 §4)."""
    query = dns.message.make_query(zone, rdtype)
    if rdtype == "IXFR":
        soa = dns.rrset.from_text(zone, 0, "IN", "SOA", f". . {serial} 0 0 0 0")
        query.authority.append(soa)
    query.use_tsig(KEYRING, KEY)
    wire = query.to_wire()
    origin = dns.name.from_text(zone)
    messages = octets = 0
    rrs: list[Any] = []
    context = None
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.sendall(struct.pack(">H", len(wire)) + wire)
        reader = sock.makefile("rb")
        while True:
            (size,) = struct.unpack(">H", reader.read(2))
            data = reader.read(size)
            message = dns.message.from_wire(data, keyring=KEYRING, request_mac=query.mac,
                                            xfr=True, origin=origin, tsig_ctx=context,
                                            multi=messages > 0, one_rr_per_rrset=True)
            if message.rcode() != dns.rcode.NOERROR:
                raise RuntimeError(f"{rdtype} of {zone}: {dns.rcode.to_text(message.rcode())}")
            context = message.tsig_ctx
            messages += 1
            octets += size
            rrs += [rdata for rrset in message.answer for rdata in rrset]
            if _complete(rrs):
                break
    return {"messages": messages, "rrs": len(rrs), "octets": octets,
            "incremental": _incremental(rrs)}


def _incremental(rrs: list[Any]) -> bool:
    """Whether a transfer's RRs are an incremental answer (RFC 1995 §4: a second SOA,
    of an older serial, right after the first)."""
    return (len(rrs) > 1 and rrs[1].rdtype == dns.rdatatype.SOA
            and rrs[1].serial != rrs[0].serial)


def _complete(rrs: list[Any]) -> bool:
    """Whether the RRs so far are a whole transfer of differences or of the zone: the
    newest SOA three times (first, the last difference's, last) or twice (first, last)."""
    newest = rrs[0].serial
    ends = sum(rdata.rdtype == dns.rdatatype.SOA and rdata.serial == newest for rdata in rrs)
    return ends == (3 if _incremental(rrs) else 2) and rrs[-1].rdtype == dns.rdatatype.SOA


def _add_record(api_port: int, zone: str) -> None:
    """One A record added to `zone` through the management API (answered once served)."""
    from acnsd.model.types import zone_id

    body = {"type": "A", "name": "xfr-bench", "content": "192.0.2.123", "ttl": 300}
    request = urllib.request.Request(
        f"http://{HOST}:{api_port}/client/v4/zones/{zone_id(zone.rstrip('.'))}/dns_records",
        data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        if not json.load(reply).get("success"):
            raise RuntimeError(f"the API refused the record in {zone}")


def sync(zones: int, workdir: Path, timeout: float) -> dict[str, Any]:
    """Run the benchmark on `zones` zones in `workdir`; its results."""
    dataset = generate(zones_profile(zones))
    names = [zone.name + "." for zone in dataset.zones]
    sample = sorted(set(names[::100] + names[-10:]))
    port, api_port, knot_port = free_port(), free_port(), free_port()
    load_before = os.getloadavg()
    began = time.monotonic()
    primary = _start_primary(dataset, workdir / "acnsd", port, api_port)
    knot: Running | None = None
    try:
        primary_start = time.monotonic() - began
        serials = {zone: serial for zone in sample if (serial := _serial(port, zone))}
        if len(serials) != len(sample):
            raise RuntimeError(f"acnsd does not serve every zone of {sample}")
        base = workdir / "knot"
        base.mkdir()
        (base / "knot.conf").write_text(_knot_config(base, knot_port, port))
        pids = process_tree(primary.process.pid)
        cpu_before = cpu_seconds(pids)
        knot = _spawn("knot", ["knotd", "-c", str(base / "knot.conf")], base, knot_port)
        _wait_served(knot_port, serials, knot.started + timeout, knot)
        sync_seconds = time.monotonic() - knot.started
        primary_cpu = cpu_seconds(pids) - cpu_before
        served = sum(_serial(knot_port, zone) is not None for zone in names)
        if served != len(names):
            raise RuntimeError(f"Knot serves {served} of {len(names)} zones after the sample")

        changed = names[-1]
        before = serials[changed]
        _add_record(api_port, changed)
        after = _serial(port, changed)
        ixfr = transfer(port, changed, "IXFR", before)
        axfr = transfer(port, changed, "AXFR")
        return {
            "zones": len(names),
            "sample": len(sample),
            "primary_start_seconds": round(primary_start, 2),
            "sync_seconds": round(sync_seconds, 2),
            "primary_cpu_seconds": round(primary_cpu, 2),
            "zones_served": served,
            "ixfr_zone": changed,
            "serials": [before, after],
            "ixfr": ixfr,
            "axfr": axfr,
            "loadavg_before": [round(value, 2) for value in load_before],
            "loadavg_after": [round(value, 2) for value in os.getloadavg()],
            "cpus": os.cpu_count(),
            "knotd": subprocess.run(["knotd", "--version"], capture_output=True,
                                    text=True).stdout.strip(),
            "python": platform.python_version(),
        }
    finally:
        if knot is not None:
            knot.stop()
        primary.stop()


def table(result: dict[str, Any]) -> str:
    """The results as a markdown table."""
    ixfr, axfr = result["ixfr"], result["axfr"]
    rows = [
        ("zones (all served by Knot)", f"{result['zones']} ({result['zones_served']})"),
        ("initial sync to Knot, s (sample of "
         f"{result['sample']} SOAs)", f"{result['sync_seconds']:.2f}"),
        ("acnsd CPU during the sync, s", f"{result['primary_cpu_seconds']:.2f}"),
        ("one-record IXFR: octets / messages / RRs",
         f"{ixfr['octets']} / {ixfr['messages']} / {ixfr['rrs']}"
         + ("" if ixfr["incremental"] else " (not incremental)")),
        ("AXFR of that zone: octets / messages / RRs",
         f"{axfr['octets']} / {axfr['messages']} / {axfr['rrs']}"),
        ("acnsd start, s", f"{result['primary_start_seconds']:.2f}"),
        ("load average before / after (1 min), "
         f"{result['cpus']} CPUs", f"{result['loadavg_before'][0]} / "
                                   f"{result['loadavg_after'][0]}"),
    ]
    lines = ["| measure | value |", "|---|---|"]
    return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zones", type=int, default=10000)
    parser.add_argument("--smoke", action="store_true",
                        help=f"{SMOKE_ZONES} zones: the test suite's run")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds the sync may take before the run fails")
    parser.add_argument("--out", type=Path, help="the JSON file "
                        "(benchmarks/out/xfr_sync-<zones>.json)")
    args = parser.parse_args()
    zones = SMOKE_ZONES if args.smoke else args.zones
    with tempfile.TemporaryDirectory(prefix="xfr-sync-") as tmp:
        result = sync(zones, Path(tmp), args.timeout)
    out = args.out or REPO / "benchmarks" / "out" / f"xfr_sync-{zones}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\n{out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
