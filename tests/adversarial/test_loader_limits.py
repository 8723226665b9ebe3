"""Issue 15, loading limits: what a hostile configuration, tokens file or zone file costs.

Every attack runs in a child process with an address-space limit (RLIMIT_AS) and a
timeout, so that on code without the guard it fails the test instead of the machine:

- a 10-line YAML alias bomb ("billion laughs") is refused in well under a second, with
  the file, the line and the limit, by `acnsd check`, by the tokens file's reader and by
  the management API's editor;
- zone files: a 10⁸-record $GENERATE, a file past the byte limit, a file of a million
  records past a configured record limit, a FIFO, an $INCLUDE loop or escape are refused
  at once, with the file, the line and the limit;
- a SIGHUP reload with any of those keeps serving the old data, and a later valid reload
  works; an API change is checked by the same guarded loader;
- temporary files left by a kill -9 in the middle of a write are removed at start;
- a change through the API keeps the files' modes;
- `acnsd show` into a closed pipe says so in one line, not a traceback.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from acnsd.model.state import TEMP_SUFFIX
from e2e.e2e_daemon import (
    START_TIMEOUT,
    Daemon,
    daemon_env,
    kill,
    serve_command,
    start_daemon,
    write_config,
)
from tooling import unused_port

MEMORY = 1 << 30  # address space of a child: `acnsd check` needs ~300 MB
DAEMON_MEMORY = 3 << 29  # 1.5 GiB: a server with its threads
TIMEOUT = 20.0  # seconds; the unguarded alias bomb ran past 60 s

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""
BOMB_LINE = 6  # f: its third alias passes 250,000 nodes

# What the children run (python -c CODE ARGS...).
TOKENS = """\
import sys
from acnsd.api.auth import TokenError, Tokens
try:
    Tokens(sys.argv[1])
except TokenError as exc:
    sys.exit(f"refused: {exc}")
"""
ADOPT = """\
import shutil, sys
from acnsd.api.edit import ConfigEditor, Rejected
editor = ConfigEditor(sys.argv[1])
shutil.copy(sys.argv[2], sys.argv[1])
print("refresh", editor.refresh())
try:
    editor.change(lambda document: None)
except Rejected as exc:
    sys.exit(f"change refused: {exc.status}")
"""
CHANGE = """\
import sys
from pathlib import Path
from acnsd.api.edit import ConfigEditor, Invalid
editor = ConfigEditor(sys.argv[1])
Path(sys.argv[2]).write_text(sys.argv[3])
def ttl(document):
    document["accounts"][0]["zones"][0]["dns_settings"]["ns_ttl"] = 300
try:
    editor.change(ttl)
except Invalid as exc:
    sys.exit(f"change refused: {exc}")
"""
DIE_WRITING = """\
import os, sys, time
from pathlib import Path
from acnsd.model.state import write_atomic
def stuck(*args):
    print("written", flush=True)
    time.sleep(60)
os.replace = stuck
write_atomic(Path(sys.argv[1]), "half")
"""


def _limit(memory: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return limit


def bounded(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` from the source tree, within MEMORY and TIMEOUT (past the timeout,
    subprocess raises and the test fails)."""
    return subprocess.run([sys.executable, *args], cwd=cwd, env=daemon_env(), text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                          preexec_fn=_limit(MEMORY))


def check(config: Path) -> subprocess.CompletedProcess:
    return bounded("-m", "acnsd", "check", "--config", str(config))


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """A clean refusal: exit 1, no traceback, each of `words` on stderr."""
    assert result.returncode == 1, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr[-3000:])
    return result.stderr


def site(tmp_path: Path, **extra: str) -> Path:
    """The end-to-end configuration (three zones), with lines added to `server:`."""
    config = write_config(tmp_path, unused_port())
    text = config.read_text()
    lines = "".join(f"  {key}: {value}\n" for key, value in extra.items())
    config.write_text(text.replace("  zones_dir: zones\n", "  zones_dir: zones\n" + lines))
    return config


# --- YAML alias bombs -----------------------------------------------------------------


def test_check_refuses_an_alias_bomb_at_once(tmp_path):
    config = tmp_path / "bomb.yaml"
    config.write_text(BOMB + "accounts: *i\n")
    refused(check(config), f"bomb.yaml:{BOMB_LINE}: f[2]", "250,000")


def test_the_tokens_file_refuses_an_alias_bomb(tmp_path):
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(BOMB + 'entries: [{token: "0123456789abcdef", accounts: *i}]\n')
    result = bounded("-c", TOKENS, str(tokens))
    refused(result, "refused:", f"tokens.yaml:{BOMB_LINE}", "250,000")


def test_the_api_editor_never_adopts_an_alias_bomb(tmp_path):
    """The management API edits only a text the guarded loader accepted: with a bomb
    written over the configuration, it refuses to adopt it (refresh) and to change it."""
    config = site(tmp_path)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB + config.read_text())
    result = bounded("-c", ADOPT, str(config), str(bomb))
    assert "refresh False" in result.stdout
    refused(result, "change refused: 409")


# --- zone files -----------------------------------------------------------------------


def zone_file(config: Path, text: str | bytes) -> Path:
    path = config.parent / "zones" / "other.org.zone"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_check_refuses_a_generate_of_a_hundred_million_records_at_once(tmp_path):
    config = site(tmp_path)
    zone_file(config, "$TTL 300\n$GENERATE 1-100000000 host$ A 192.0.2.1\n")
    refused(check(config), "other.org.zone:2:", "more than 1,000,000 records",
            "server.limits.max_records_per_zone")


def test_check_refuses_a_zone_file_past_the_byte_limit_without_reading_it(tmp_path):
    """A 200 MB file (sparse: the check looks at its size, not its bytes)."""
    config = site(tmp_path)
    with zone_file(config, "").open("wb") as handle:
        handle.truncate(200 << 20)
    refused(check(config), "other.org.zone: zone other.org: the zone file is larger than "
            "134,217,728 bytes", "server.limits.max_zone_file_bytes")


def test_check_stops_reading_at_the_configured_record_limit(tmp_path):
    """A million records (15 MB) against a limit of 10,000: refused at the 10,001st
    record, the rest never read."""
    config = site(tmp_path, limits="{max_records_per_zone: 10000}")
    zone_file(config, "$TTL 300\n" + "".join(f"h{i:x} A 192.0.2.1\n" for i in range(10**6)))
    refused(check(config), "other.org.zone:10002:", "more than 10,000 records")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_check_refuses_a_zone_file_that_is_not_a_regular_file(tmp_path, special):
    """A FIFO nobody writes to would block the load forever; /dev/zero never ends."""
    config = site(tmp_path)
    path = zone_file(config, "")
    path.unlink()
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    refused(check(config), "other.org.zone: zone other.org: the zone file is not a regular "
            "file")


@pytest.mark.parametrize(("include", "words"), [
    ("other.org.zone", "other.org.zone:3: zone other.org: $INCLUDE other.org.zone: a loop: "
     "{zones}/other.org.zone includes {zones}/other.org.zone"),
    ("one.inc", "two.inc:1: zone other.org: $INCLUDE one.inc: a loop: {zones}/one.inc "
     "includes {zones}/two.inc includes {zones}/one.inc"),
    ("/etc/passwd", "other.org.zone:3: zone other.org: $INCLUDE /etc/passwd: /etc/passwd is "
     "outside zones_dir"),
    ("../acnsd.yaml", "{root}/acnsd.yaml is outside zones_dir"),
    ("pipe.inc", "{zones}/pipe.inc is not a regular file"),
])
def test_check_refuses_include_loops_escapes_and_fifos(tmp_path, include, words):
    config = site(tmp_path)
    zones = config.parent / "zones"
    zone_file(config, f"$TTL 300\n@ A 192.0.2.30\n$INCLUDE {include}\n")
    (zones / "one.inc").write_text("$INCLUDE two.inc\n")
    (zones / "two.inc").write_text("$INCLUDE one.inc\n")
    os.mkfifo(zones / "pipe.inc")
    refused(check(config), words.format(zones=zones.resolve(), root=tmp_path.resolve()))


# --- reloads and API changes ----------------------------------------------------------


def start_bounded(config: Path, port: int) -> Daemon:
    """`acnsd serve` as e2e_daemon.start_daemon starts it, within DAEMON_MEMORY."""
    log_path = config.parent / f"acnsd-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(serve_command(config), stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=daemon_env(), preexec_fn=_limit(DAEMON_MEMORY))
    daemon = Daemon(process, log_path, port, config)
    try:
        daemon.wait_log(r"event=ready", timeout=START_TIMEOUT)
    except BaseException:
        kill(daemon)
        raise
    return daemon


def other_org(daemon: Daemon) -> set[str]:
    response = daemon.query("other.org", "A", tcp=True)
    return {rdata.to_text() for rrset in response.answer for rdata in rrset}


def test_a_reload_of_any_of_these_keeps_serving_the_old_data(tmp_path):
    port = unused_port()
    config = write_config(tmp_path, port)
    zone = tmp_path / "zones" / "other.org.zone"  # other.org A 192.0.2.30
    daemon = start_bounded(config, port)
    try:
        attacks = [(config, BOMB + config.read_text(), "250,000"),
                   (zone, "$TTL 300\n$GENERATE 1-100000000 h$ A 192.0.2.1\n",
                    "more than 1,000,000 records"),
                   (zone, "$TTL 300\n$INCLUDE other.org.zone\n", "a loop")]
        for rejected, (path, text, words) in enumerate(attacks, 1):
            kept = path.read_text()
            path.write_text(text)
            daemon.signal(signal.SIGHUP)
            daemon.wait_log(r"event=reload result=rejected", count=rejected, timeout=TIMEOUT)
            assert words in daemon.log()
            assert other_org(daemon) == {"192.0.2.30"}
            path.write_text(kept)
        zone.write_text("$TTL 3600\n@ IN A 192.0.2.31\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(r"event=reload result=ok", timeout=TIMEOUT)
        assert other_org(daemon) == {"192.0.2.31"}
        assert daemon.stop() == 0
    finally:
        kill(daemon)


def test_an_api_change_is_checked_by_the_same_guarded_loader(tmp_path):
    """A change made while a zone file on disk asks for 10⁸ records is refused at once,
    with the limit, and the configuration is left as it was."""
    config = site(tmp_path)
    before = config.read_text()
    result = bounded("-c", CHANGE, str(config), str(tmp_path / "zones" / "other.org.zone"),
                     "$TTL 300\n$GENERATE 1-100000000 h$ A 192.0.2.1\n")
    refused(result, "change refused:", "other.org.zone:2:", "more than 1,000,000 records")
    assert config.read_text() == before


# --- files written --------------------------------------------------------------------


def leave_temporary(path: Path) -> None:
    """Have a process die by SIGKILL in the middle of write_atomic(path): after the
    temporary file is written, before it is renamed over `path`."""
    process = subprocess.Popen([sys.executable, "-c", DIE_WRITING, str(path)], env=daemon_env(),
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "written\n"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(TIMEOUT)
        process.stdout.close()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_temporary_files_a_kill_9_left_are_removed_at_start(tmp_path):
    port = unused_port()
    config = write_config(tmp_path, port, api_port=unused_port())
    state = config.with_suffix(".state.json")
    zone = tmp_path / "zones" / "other.org.zone"
    for path in (config, state, zone):
        leave_temporary(path)
    (tmp_path / ".acnsd.yaml.original").write_text("an operator's file\n")
    assert len(leftovers(tmp_path)) == 3 and len(leftovers(zone.parent)) == 1
    daemon = start_daemon(config, port)
    try:
        daemon.wait_log(r"event=snapshot_written")  # its temporary file is gone
        assert leftovers(tmp_path) == [".acnsd.yaml.original"]
        assert leftovers(zone.parent) == []
        assert daemon.log().count("event=stale_temporary_removed") == 3
        assert daemon.query("other.org", "A").answer  # the real files are whole
    finally:
        kill(daemon)


def test_a_second_server_of_the_same_configuration_removes_nothing(tmp_path):
    """Only the server holding the pid file's lock cleans: a temporary file may be a
    write of the running server in progress."""
    port = unused_port()
    config = write_config(tmp_path, port)
    daemon = start_daemon(config, port)
    try:
        temporary = tmp_path / f".acnsd.yaml.0123abcd{TEMP_SUFFIX}"
        temporary.write_text("half")
        second = subprocess.run(serve_command(config), env=daemon_env(), text=True,
                                capture_output=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
        assert second.returncode == 1 and "another acnsd serve" in second.stderr
        assert temporary.exists()
    finally:
        kill(daemon)


def test_an_api_change_keeps_the_files_modes(tmp_path):
    """The configuration stays 0644 (mkstemp made it 0600), the store 0640 (written in
    place); a new zone file is 0644 less the umask."""
    from acnsd.api.edit import ConfigEditor, to_yaml
    from acnsd.model.store import Store

    config = site(tmp_path)
    editor = ConfigEditor(config)
    state = config.with_suffix(".state.db")
    Store.open(state).close()
    config.chmod(0o644)
    state.chmod(0o640)
    new_file = tmp_path / "zones" / "new.test.zone"

    def add_zone(document):
        document["accounts"][0]["zones"].append(to_yaml({
            "name": "new.test",
            "dns_settings": {"nameservers": {"type": "custom.account", "ns_set": 1}}}))

    editor.change(add_zone, new_files={new_file: "$TTL 300\n"})
    umask = os.umask(0)
    os.umask(umask)
    assert "new.test" in config.read_text() and new_file.exists()
    assert [oct(p.stat().st_mode & 0o777) for p in (config, state, new_file)] == [
        oct(0o644), oct(0o640), oct(0o644 & ~umask)]


# --- the command line -----------------------------------------------------------------


@pytest.mark.parametrize("json", [False, True])
def test_show_into_a_closed_pipe_says_so_in_one_line(tmp_path, json):
    config = site(tmp_path)
    command = [sys.executable, "-m", "acnsd", "show", "--config", str(config)]
    read, write = os.pipe()
    os.close(read)  # the reader is gone before acnsd writes a byte (`| head -0`)
    try:
        result = subprocess.run(command + ["--json"] * json, stdout=write, text=True,
                                stderr=subprocess.PIPE, env=daemon_env(), timeout=TIMEOUT)
    finally:
        os.close(write)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "acnsd: the output was closed before all of it was written (broken pipe)"]
