"""SIGHUP reload (DESIGN.md §4): a valid change is served, an invalid one is rejected
with every problem logged while the old tables keep serving; view addresses follow."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

import dns.flags
import dns.rcode
import pytest
import yaml
from acnsd.cli import main
from tooling import unused_port

from .e2e_daemon import (
    EXTRA_ADDRESSES,
    daemon_env,
    kill,
    serve_command,
    start_daemon,
    write_config,
)


def www(daemon, tcp: bool = False) -> set[str]:
    response = daemon.query("www.example.com", "A", tcp=tcp)
    return {r.to_text() for rrset in response.answer for r in rrset}


def test_reload_valid_then_invalid(daemon_factory):
    daemon = daemon_factory()
    assert www(daemon) == {"192.0.2.10"}

    write_config(daemon.config.parent, daemon.port, www="192.0.2.11")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=2")
    assert www(daemon) == www(daemon, tcp=True) == {"192.0.2.11"}

    write_config(daemon.config.parent, daemon.port, www="192.0.2.12", broken=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=rejected")
    assert "event=config_error" in daemon.log()
    assert "ns_set" in daemon.log()  # the problem names the YAML path
    assert www(daemon) == www(daemon, tcp=True) == {"192.0.2.11"}

    write_config(daemon.config.parent, daemon.port, www="192.0.2.13")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=3")
    assert www(daemon) == {"192.0.2.13"}
    assert daemon.stop() == 0


def test_reload_binds_and_unbinds_view_addresses(daemon_factory):
    daemon = daemon_factory()
    with pytest.raises(OSError):  # nothing listens on set 3's address yet
        daemon.query("new.test", "SOA", address=EXTRA_ADDRESSES[0], tcp=True)

    write_config(daemon.config.parent, daemon.port, with_new_zone=True)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=2")
    for address in EXTRA_ADDRESSES:
        response = daemon.query("new.test", "SOA", address=address)
        assert response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA
        assert daemon.query("example.com", "NS", address=address).rcode() == dns.rcode.REFUSED

    write_config(daemon.config.parent, daemon.port)
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=3")
    assert f"event=unbound address={EXTRA_ADDRESSES[0]}:{daemon.port}" in daemon.log()
    with pytest.raises(OSError):
        daemon.query("new.test", "SOA", address=EXTRA_ADDRESSES[0], tcp=True)
    assert daemon.stop() == 0


def test_twenty_reloads_under_load_lose_no_query(daemon_factory):
    """Issue 5: queries run over UDP and TCP while valid and invalid configurations
    alternate; every query is answered, each with data that was valid at that time."""
    daemon = daemon_factory()
    served = {"192.0.2.10"}  # every www address some accepted configuration has had
    stop = threading.Event()
    problems: list[str] = []
    counts = {"udp": 0, "tcp": 0}

    def client(tcp: bool) -> None:
        while not stop.is_set():
            try:
                response = daemon.query("www.example.com", "A", tcp=tcp)
            except Exception as exc:  # a lost query: a timeout or a closed connection
                problems.append(f"{'tcp' if tcp else 'udp'}: {exc!r}")
                continue
            seen = {r.to_text() for rrset in response.answer for r in rrset}
            if response.rcode() != dns.rcode.NOERROR or len(seen) != 1 or not seen <= served:
                problems.append(f"wrong answer: {response}")
            counts["tcp" if tcp else "udp"] += 1

    threads = [threading.Thread(target=client, args=(tcp,)) for tcp in (False, True)]
    for thread in threads:
        thread.start()
    try:
        current = "192.0.2.10"
        for i in range(20):
            generation = 2 + i // 2
            if i % 2 == 0:
                current = f"192.0.2.{100 + i}"
                served.add(current)
                write_config(daemon.config.parent, daemon.port, www=current)
                daemon.signal(signal.SIGHUP)
                daemon.wait_log(rf"event=reload result=ok generation={generation}\b")
            else:
                write_config(daemon.config.parent, daemon.port, www="192.0.2.99", broken=True)
                daemon.signal(signal.SIGHUP)
                daemon.wait_log(r"event=reload result=rejected", count=(i + 1) // 2)
            assert www(daemon) == {current}
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not problems, problems[:5]
    assert counts["udp"] > 0 and counts["tcp"] > 0
    assert daemon.stop() == 0


def _reload_command(config, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acnsd", "reload", "--config", str(config),
                           *more], env=daemon_env(), capture_output=True, text=True, timeout=60)


def test_reload_command_asks_the_server_and_says_how_it_went(daemon_factory):
    """`acnsd reload` talks to the running server over its control socket: the server
    reloads what changed and answers; the command prints it (exit 0), or every problem in
    `acnsd check`'s words (exit 1) while the old data is served."""
    daemon = daemon_factory()
    socket_path = daemon.config.with_suffix(".ctl")
    assert socket_path.is_socket() and socket_path.stat().st_mode & 0o777 == 0o600
    write_config(daemon.config.parent, daemon.port, www="192.0.2.21")
    done = _reload_command(daemon.config)
    assert done.returncode == 0, done.stderr
    assert re.search(r"reloaded \(\d+ zone file\(s\) changed\); generation 2 is served",
                     done.stdout), done.stdout
    assert www(daemon) == {"192.0.2.21"}  # served when the command returns

    write_config(daemon.config.parent, daemon.port, www="192.0.2.22", broken=True)
    done = _reload_command(daemon.config)
    assert done.returncode == 1
    assert "ns_set" in done.stderr and "not reloaded" in done.stderr  # check's words
    assert www(daemon) == {"192.0.2.21"}

    write_config(daemon.config.parent, daemon.port, www="192.0.2.22")  # the YAML as served
    done = _reload_command(daemon.config)
    assert done.returncode == 0 and "zone file(s) changed" in done.stdout, done.stdout
    assert www(daemon) == {"192.0.2.22"}

    write_config(daemon.config.parent, daemon.port, www="192.0.2.22", with_new_zone=True)
    done = _reload_command(daemon.config)
    assert done.returncode == 0 and "loaded whole" in done.stdout, done.stdout
    assert daemon.query("new.test", "SOA").rcode() == dns.rcode.NOERROR
    assert daemon.stop() == 0
    assert not socket_path.exists()  # removed at the stop


def test_reload_command_imports_almost_nothing(daemon_factory):
    """Issue 16: `acnsd reload --config C` finds the control socket from acnsd.yaml's text
    (here beside a state_file of its own) and imports none of the server's modules, nor a
    YAML reader, nor socket, json, re or enum (~13 ms, as much as Python's start): what an
    edit costs is the server's reload, not the command's start."""
    daemon = daemon_factory(server_lines=("  state_file: run/acnsd.db  # elsewhere",))
    assert (daemon.config.parent / "run" / "acnsd.ctl").is_socket()
    write_config(daemon.config.parent, daemon.port, www="192.0.2.24",
                 server_lines=("  state_file: run/acnsd.db  # elsewhere",))
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "acnsd", "reload",
                           "--config", str(daemon.config)], env=daemon_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "generation 2 is served" in done.stdout
    assert www(daemon) == {"192.0.2.24"}
    imported = re.findall(r"^import time:.*\| +(\S+)$", done.stderr, re.M)
    heavy = [name for name in imported if name.split(".")[0] in ("yaml", "ruamel", "dns",
                                                                 "socket", "json", "re", "enum")
             or name.startswith(("acnsd.model", "acnsd.daemon", "acnsd.commands"))]
    assert heavy == [] and "acnsd.reload" in imported
    assert daemon.stop() == 0


def test_a_reload_after_an_editors_rename_is_found_by_the_watch(daemon_factory):
    """Issue 16: the server watches its sources once started (inotify); a zone file an
    editor replaces (a temporary file renamed over it) is found by `acnsd reload`, and
    so is an edit in place after it."""
    daemon = daemon_factory()
    daemon.wait_log(r"event=sources_watch watching=true zones=\d+")
    zone = daemon.config.parent / "zones" / "example.com.zone"
    text = zone.read_text()
    swap = zone.with_name(".example.com.zone.swp")
    swap.write_text(text.replace("192.0.2.10", "192.0.2.25"))
    os.replace(swap, zone)
    done = _reload_command(daemon.config)  # (the files just written: all read again)
    assert done.returncode == 0 and "zone file(s) changed" in done.stdout, done.stdout
    assert www(daemon) == {"192.0.2.25"}
    with open(zone, "r+") as file:  # in place, the same size
        file.write(text.replace("192.0.2.10", "192.0.2.26"))
    done = _reload_command(daemon.config)
    assert done.returncode == 0, done.stderr
    assert www(daemon) == {"192.0.2.26"}
    assert daemon.stop() == 0


def test_reload_command_without_a_server(tmp_path):
    config = write_config(tmp_path, 53)
    done = _reload_command(config)
    assert done.returncode == 1
    assert "no running acnsd serve" in done.stderr


def test_a_second_server_of_the_same_configuration_leaves_the_first_alone(daemon_factory):
    """Issue 20: a second `acnsd serve` failed to bind and deleted the running server's pid
    file, so `acnsd reload` said no server ran."""
    daemon = daemon_factory()
    second = subprocess.run(serve_command(daemon.config), env=daemon_env(), capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1
    assert f"another acnsd serve (pid {daemon.process.pid})" in second.stderr
    assert daemon.config.with_suffix(".ctl").is_socket()  # its control socket kept too
    write_config(daemon.config.parent, daemon.port, www="192.0.2.23")
    done = _reload_command(daemon.config)
    assert done.returncode == 0, done.stderr
    assert "generation 2 is served" in done.stdout
    assert www(daemon) == {"192.0.2.23"}
    assert daemon.stop() == 0


def test_a_reload_reads_only_the_zone_files_that_changed(daemon_factory):
    """Issue 16: SIGHUP after one zone file was edited makes that zone alone (the
    pipeline's delta, no whole load); a broken zone file is refused, the old data served;
    a reload with nothing changed does nothing. (A file is trusted unread only once its
    mtime is settled: the files are dated a minute back, as files not just written are.)"""
    daemon = daemon_factory()
    zones = daemon.config.parent / "zones"
    text = (zones / "example.com.zone").read_text()

    past = time.time() - 60

    def settle(*names: str) -> None:
        """Date files a minute back (each time a second later: a new stat)."""
        nonlocal past
        past += 1
        for path in [zones / name for name in names] or list(zones.iterdir()):
            os.utime(path, (past, past))

    settle()
    daemon.signal(signal.SIGHUP)  # every file read again, now settled
    daemon.wait_log(r"event=reload result=ok generation=\d+ source=file zone_files=\d+ ")
    before = daemon.log().count("event=reload result=ok")

    (zones / "example.com.zone").write_text(text.replace("192.0.2.10", "192.0.2.21"))
    settle("example.com.zone")
    daemon.signal(signal.SIGHUP)
    wait_for_count(daemon, "event=reload result=ok", before + 1)
    assert re.search(r"event=reload result=ok generation=\d+ source=file zone_files=1 ",
                     daemon.log())
    assert www(daemon) == www(daemon, tcp=True) == {"192.0.2.21"}
    assert "event=reload_started" in daemon.log() and "source=api" not in daemon.log()

    (zones / "example.com.zone").write_text(text.replace("192.0.2.10", "not-an-address"))
    settle("example.com.zone")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=rejected")
    assert "example.com.zone" in daemon.log()
    assert www(daemon) == {"192.0.2.21"}

    daemon.signal(signal.SIGHUP)  # still broken: refused again, nothing else read
    wait_for_count(daemon, "event=reload result=rejected", 2)
    assert daemon.stop() == 0


def wait_for_count(daemon, text: str, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while daemon.log().count(text) < count:
        assert time.monotonic() < deadline, (text, count, daemon.log()[-2000:])
        time.sleep(0.05)


def test_reload_of_named_zones_reads_only_their_files(daemon_factory):
    """`acnsd reload --zone NAME`: only that zone's file is read (no scan of every file):
    another zone's edited file is left until it is named or a plain reload scans it; an
    unknown zone is an error and nothing is made."""
    daemon = daemon_factory()
    zones = daemon.config.parent / "zones"
    text = (zones / "example.com.zone").read_text()
    (zones / "example.com.zone").write_text(text.replace("192.0.2.10", "192.0.2.31"))
    other = (zones / "other.org.zone").read_text()
    (zones / "other.org.zone").write_text(other + "extra IN TXT \"x\"\n")
    done = _reload_command(daemon.config, "--zone", "Example.COM.")
    assert done.returncode == 0 and "1 zone file(s) changed" in done.stdout, done.stdout
    assert www(daemon) == {"192.0.2.31"}
    assert not daemon.query("extra.other.org", "TXT").answer  # not named: not read

    done = _reload_command(daemon.config, "--zone", "nowhere.test")
    assert done.returncode == 1 and "zone nowhere.test is not served here" in done.stderr

    done = _reload_command(daemon.config)  # a plain reload finds the other file
    assert done.returncode == 0, done.stderr
    assert daemon.query("extra.other.org", "TXT").answer
    assert daemon.stop() == 0


def test_a_yaml_file_edited_in_the_directory_layout_is_made_alone(tmp_path):
    """Issue 16: in the directory layout, an operator's edit of one zone's YAML file (as
    one API change would make it) is checked over the index and made by the pipeline on
    `acnsd reload` — no whole load — and on `acnsd reload --zone` (no scan); a refused
    edit names its file, and what is served stays."""
    port = unused_port()
    config = write_config(tmp_path, port)
    assert main(["migrate-layout", "--config", str(config)]) == 0
    daemon = start_daemon(config, port)
    try:
        zone_yaml = next(tmp_path.glob("accounts/*/zones/other.org.yaml"))
        entries = yaml.safe_load(zone_yaml.read_text())
        entries[0].setdefault("dns_settings", {})["ns_ttl"] = 600
        zone_yaml.write_text(yaml.safe_dump(entries, sort_keys=False))
        done = _reload_command(config)
        assert done.returncode == 0 and "1 YAML file(s) changed" in done.stdout, daemon.log()
        assert {rrset.ttl for rrset in daemon.query("other.org", "NS").answer} == {600}
        assert re.search(r"event=reload result=ok generation=\d+ source=file zone_files=\d+ "
                         r"yaml_files=1 ", daemon.log())  # (zone files just written: read)
        assert "source=file zones=" not in daemon.log()  # (a whole load logs its zones)

        entries[0]["dns_settings"]["ns_ttl"] = 900  # named: its files alone are looked at
        zone_yaml.write_text(yaml.safe_dump(entries, sort_keys=False))
        done = _reload_command(config, "--zone", "other.org")
        assert done.returncode == 0 and "1 YAML file(s) changed" in done.stdout, done.stderr
        assert {rrset.ttl for rrset in daemon.query("other.org", "NS").answer} == {900}

        entries[0]["dns_settings"]["ns_ttl"] = 5  # below the range: refused
        zone_yaml.write_text(yaml.safe_dump(entries, sort_keys=False))
        done = _reload_command(config)
        assert done.returncode == 1, done
        assert f"{zone_yaml}:" in done.stderr and "ns_ttl" in done.stderr, done.stderr
        assert {rrset.ttl for rrset in daemon.query("other.org", "NS").answer} == {900}
    finally:
        kill(daemon)


def test_reload_drops_the_nxdomain_template_below_a_dname(daemon_factory):
    """r1.old.example.com makes the template below the DNAME (old → example.com), r2 is
    answered from it; a reload that adds r3.example.com drops it: r3.old.example.com
    then follows the CNAME to r3's address."""
    daemon = daemon_factory()
    for label in ("r1", "r2"):
        response = daemon.query(f"{label}.old.example.com", "A", use_edns=0)
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert [rrset.to_text() for rrset in response.answer] == [
            "old.example.com. 3600 IN DNAME example.com.",
            f"{label}.old.example.com. 3600 IN CNAME {label}.example.com.",
        ]
    config = write_config(daemon.config.parent, daemon.port)
    zone_file = config.parent / "zones" / "example.com.zone"
    zone_file.write_text(zone_file.read_text() + "r3       IN A     192.0.2.33\n")
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(r"event=reload result=ok generation=2")
    response = daemon.query("r3.old.example.com", "A", use_edns=0)
    assert response.rcode() == dns.rcode.NOERROR
    assert response.answer[-1].to_text() == "r3.example.com. 3600 IN A 192.0.2.33"
    assert daemon.query("r4.old.example.com", "A", use_edns=0).rcode() == dns.rcode.NXDOMAIN
    assert daemon.stop() == 0
