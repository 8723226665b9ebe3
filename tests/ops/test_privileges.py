"""privileges.py: started as root, acnsd binds, then becomes server.user for good.

Runs in a child process (the test process must stay root) with the `nobody` user that
every Debian system has; no user is created.
"""

from __future__ import annotations

import json
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from acnsd.model.store import Store
from tooling import SERVER

CHILD = """
import json, logging, os, socket, sys
from pathlib import Path
from acnsd.daemon.privileges import PrivilegeError, drop_privileges
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
address = sys.argv[2]
bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
bound.bind((address, 53))  # port 53: needs root
try:
    became = drop_privileges(sys.argv[1] or None, Path(sys.argv[3]))
except PrivilegeError as exc:
    print(json.dumps({"error": str(exc)}))
    sys.exit(0)
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.settimeout(5)
client.sendto(b"ping", (address, 53))
bound.settimeout(5)
data, _ = bound.recvfrom(16)
try:
    os.setuid(0)
    regained = True
except PermissionError:
    regained = False
print(json.dumps({"became": became, "uid": os.getuid(), "euid": os.geteuid(),
                  "gid": os.getgid(), "groups": os.getgroups(), "received": data.decode(),
                  "regained": regained}))
"""


def run_child(user: str, state_dir: Path) -> tuple[dict, str]:
    address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    env = dict(os.environ, PYTHONPATH=str(SERVER))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, user, address, str(state_dir / "acnsd.state.db")],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture(autouse=True)
def as_root():
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the privilege tests need root (CI runs as root)")
        pytest.skip("the privilege tests need root")


def test_root_binds_then_becomes_nobody(tmp_path):
    nobody = pwd.getpwnam("nobody")
    report, log = run_child("nobody", tmp_path)
    assert report["became"] == "nobody"
    assert (report["uid"], report["euid"], report["gid"]) == (
        nobody.pw_uid, nobody.pw_uid, nobody.pw_gid,
    )  # fmt: skip
    assert 0 not in report["groups"]
    assert report["regained"] is False
    assert report["received"] == "ping"  # the socket bound as root still serves
    assert f"event=privileges_dropped user=nobody uid={nobody.pw_uid}" in log
    # tmp_path belongs to root, mode 0700: nobody could not record state there
    assert "event=state_not_writable user=nobody" in log


def test_a_writable_state_directory_is_not_reported():
    # pytest's tmp_path lies in a root-only directory: nobody needs a path it can reach
    shared = Path(tempfile.mkdtemp(prefix="acnsd-state-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        _, log = run_child("nobody", shared)
    finally:
        shutil.rmtree(shared)
    assert "event=privileges_dropped" in log
    assert "state_not_writable" not in log


WRITER = """
import sys
from pathlib import Path
from acnsd.daemon.privileges import drop_privileges
from acnsd.model.store import Store
store = Path(sys.argv[2])
drop_privileges(sys.argv[1], store)
with Store.open(store) as db, db.change() as change:
    change.assign("ns2.example.test", "192.0.2.2", None)
"""


def test_the_store_made_as_root_is_written_by_the_user():
    """A store is written in place: the one acnsd made as root (at its first start) is
    handed to server.user at the drop, so that what it decides later is recorded."""
    shared = Path(tempfile.mkdtemp(prefix="acnsd-state-", dir="/tmp"))
    try:
        shared.chmod(0o1777)
        store = shared / "acnsd.state.db"
        with Store.open(store) as db, db.change() as change:
            change.assign("ns1.example.test", "192.0.2.1", None)
        done = subprocess.run([sys.executable, "-c", WRITER, "nobody", str(store)],
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, PYTHONPATH=str(SERVER)))
        assert done.returncode == 0, done.stderr
        assert store.stat().st_uid == pwd.getpwnam("nobody").pw_uid
        with Store.open(store, readonly=True) as db:
            assert set(db.addresses()) == {"ns1.example.test", "ns2.example.test"}
    finally:
        shutil.rmtree(shared)


def test_unknown_user_is_an_error(tmp_path):
    report, _ = run_child("acnsd-no-such-user", tmp_path)
    assert report == {"error": "server.user: no such user 'acnsd-no-such-user'"}


def test_without_a_user_root_is_kept_with_a_warning(tmp_path):
    report, log = run_child("", tmp_path)
    assert report["became"] is None and report["uid"] == 0
    assert "event=running_as_root" in log
