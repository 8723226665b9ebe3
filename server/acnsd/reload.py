"""`acnsd reload --config C` on the light path: the control socket found from acnsd.yaml's
text, asked to reload, its answer printed; the standard library's os, re, socket and json
are all it imports (not even typing: the full command line costs ~0.2 s to import, more
than a reload).

Rule owned here: the socket is where the server of the configuration listens
(daemon/control.py: `<config stem>.ctl` beside the state file), read from the one
top-level `server:` block mapping of acnsd.yaml: its `state_file:` key (relative to the
configuration's directory), else the default beside the configuration. It is read only
where the text is plain (`_plain_state_file`): any other shape (a flow mapping, an
anchor, alias or merge key, a quoted or complex key, a tag, a directive, a tab or a CR in
the way, a value that YAML would not read as a string) is Unsure, and so is a socket
where no server listens: the full command line then loads the configuration as it always
did. So the light path never reaches a socket the full one would not.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys

__all__ = ["RELOAD_TIMEOUT", "Unsure", "control_socket", "light_reload", "print_answer",
           "request_reload"]

RELOAD_TIMEOUT = 600.0  # seconds `acnsd reload` waits for the server's answer

# A top-level line other than a sequence entry ("- ...", "-" alone): each is a key of the
# root mapping, read below only in its plain shape `key:`.
_TOP = re.compile(rb"^(?:[^ \n#-]|-[^ \n])[^\n]*", re.M)
_COLUMN_0 = re.compile(rb"^[^ \n#]", re.M)  # where a top-level block ends
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?")
_PLAIN = re.compile(r"(?:[A-Za-z_/]|\.\.?/)[A-Za-z0-9_./-]*")
_SINGLE = re.compile(r"'([^']*)'")
_DOUBLE = re.compile(r'"([^"\\]*)"')
# Plain scalars a YAML 1.1 reader takes for a boolean or a null (lower-cased).
_NOT_STRINGS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})


class Unsure(Exception):
    """acnsd.yaml's server section is not in the plain shape read here."""


def light_reload(argv: list[str]) -> int | None:
    """`acnsd reload --config C` (plain: no --zone) on the light path: its exit code, or
    None when the full command line must run it (other arguments; a server section that
    is not plain; no server listening)."""
    if argv[:2] == ["reload", "--config"] and len(argv) == 3:
        config = argv[2]
    elif len(argv) == 2 and argv[0] == "reload" and argv[1].startswith("--config="):
        config = argv[1].removeprefix("--config=")
    else:
        return None
    try:
        path = control_socket(config)
    except (OSError, Unsure):
        return None
    try:
        answer = request_reload(path, RELOAD_TIMEOUT)
    except (OSError, ValueError) as exc:
        print(f"error: the server did not answer the reload: {exc}", file=sys.stderr)
        return 1
    return None if answer is None else print_answer(config, answer)


def control_socket(config: str) -> str:
    """The control socket of the server of `config` (as daemon/control.py's control_path
    of the loaded server section). OSError: unreadable; Unsure."""
    with open(config, "rb") as file:
        text = file.read()
    state_file = _plain_state_file(text)
    base = _parent(config)
    directory = _parent(os.path.join(base, state_file)) if state_file else base
    return os.path.join(directory, os.path.splitext(os.path.basename(config))[0] + ".ctl")


def _parent(path: str) -> str:
    """The directory of `path` as pathlib names it (its empty and `.` parts dropped)."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    return ("/" if path.startswith("/") else "") + "/".join(parts[:-1]) or "."


def _plain_state_file(text: bytes) -> str | None:
    """server.state_file of acnsd.yaml's `text` (None: not set, or null or empty);
    Unsure."""
    if b"\r" in text or text.startswith(b"\xef\xbb\xbf"):
        raise Unsure("a CR or a byte order mark")
    server = None
    for top in _TOP.finditer(text):
        line = _decode(top.group())
        if top.start() == 0 and line.rstrip() == "---":
            continue  # the document's start
        key = _KEY.fullmatch(line)
        if key is None:
            raise Unsure(f"a top-level line not read here: {line!r}")
        if key.group(1) == "server":
            if server is not None or _value(key.group(2)) is not None:
                raise Unsure("server: twice, or not a block mapping")
            server = top.end() + 1
    if server is None:
        return None  # no server section: every default
    after = _COLUMN_0.search(text, server)
    found: list[str | None] = []
    indent, key = None, None
    for raw in text[server:after.start() if after else len(text)].split(b"\n"):
        line = _decode(raw)
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in line:
            raise Unsure("a tab")
        depth = len(line) - len(stripped)
        indent = depth if indent is None else indent
        if depth > indent or (depth == indent and (stripped == "-" or stripped[:2] == "- ")):
            if key is not None and key.group(1) == "state_file":
                raise Unsure("state_file's value goes on")
            continue  # inside a value of the server mapping (a sequence may be indentless)
        key = _KEY.fullmatch(stripped) if depth == indent else None
        if key is None:
            raise Unsure(f"a line of server not read here: {line!r}")
        if key.group(1) == "state_file":
            found.append(_value(key.group(2)))
    if indent is None or len(found) > 1:
        raise Unsure("server: empty, or state_file twice")
    return found[0] if found else None


def _value(text: str | None) -> str | None:
    """A scalar value on a key's line, without its comment, when it is plainly a string
    (None: none); Unsure."""
    text = re.sub(r"(?:^| +)#.*", "", text or "").rstrip(" ")
    if not text:
        return None
    for quoted in (_SINGLE, _DOUBLE):
        if found := quoted.fullmatch(text):
            return found.group(1)
    if _PLAIN.fullmatch(text) and text.lower() not in _NOT_STRINGS:
        return text
    raise Unsure(f"a value not read here: {text!r}")


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsure("not UTF-8") from None


def request_reload(path: str, timeout: float,
                   zones: list[str] | None = None) -> dict | None:
    """Ask the server listening on `path` to reload (only `zones`' files, when named); its
    answer, or None when no server listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            return None
        sock.sendall(" ".join(["reload", *(zones or [])]).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            part = sock.recv(65536)
            if not part:
                break
            answer += part
    return json.loads(answer)


def print_answer(config: str, answer: dict) -> int:
    """Say how the server's reload went; the exit code."""
    if not answer.get("ok"):
        for problem in answer.get("problems", []):
            print(f"error: {problem}", file=sys.stderr)
        print(f"{config}: not reloaded; the server serves what it served", file=sys.stderr)
        return 1
    made, yaml_files = answer["zone_files"], answer.get("yaml_files", 0)
    what = ("the configuration loaded whole" if made < 0
            else ", ".join(part for part in (
                f"{made} zone file(s) changed" if made else "",
                f"{yaml_files} YAML file(s) changed" if yaml_files else "")
                if part) or "nothing changed on disk")
    print(f"{config}: reloaded ({what}); generation {answer['generation']} is served")
    return 0
