"""`acnsd reload --config C` on the light path: the control socket found from acnsd.yaml's
text, asked to reload, its answer printed. It imports only os and sys, which every Python
start has imported already, and two C modules of the standard library: _socket (what
socket.py wraps) and _json (json's scanner). Not socket, json or re: with the enum,
functools and collections they import, they cost ~13 ms, as much as the start of
Python itself, on every reload an operator runs (issue 16: an edit + `acnsd reload`
served in 50 ms); and not typing (the full command line costs ~0.2 s to import).

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

import os
import sys
from _json import make_scanner
from _socket import AF_UNIX, SOCK_STREAM
from _socket import socket as unix_socket

__all__ = ["RELOAD_TIMEOUT", "Unsure", "control_socket", "light_reload", "print_answer",
           "request_reload"]

RELOAD_TIMEOUT = 600.0  # seconds `acnsd reload` waits for the server's answer

_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NAME = _LETTERS | frozenset("0123456789-")  # a plain key: a letter, then these
_PATH = _LETTERS | frozenset("0123456789./-")  # a plain path value's characters
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
    server: list[bytes] | None = None  # the lines of the server section
    inside = False
    for number, raw in enumerate(text.split(b"\n")):
        inside = inside and raw[:1] in (b"", b" ", b"#")  # a line at column 0 ends it
        if inside:
            server.append(raw)
        elif _top_level(raw):
            line = _decode(raw)
            if number == 0 and line.rstrip() == "---":
                continue  # the document's start
            key = _key(line)
            if key is None:
                raise Unsure(f"a top-level line not read here: {line!r}")
            if key[0] == "server":
                if server is not None or _value(key[1]) is not None:
                    raise Unsure("server: twice, or not a block mapping")
                server, inside = [], True
    return None if server is None else _state_file(server)  # none: every default


def _state_file(server: list[bytes]) -> str | None:
    """state_file of the `server` section's lines; Unsure."""
    found: list[str | None] = []
    indent, key = None, None
    for raw in server:
        line = _decode(raw)
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        if "\t" in line:
            raise Unsure("a tab")
        depth = len(line) - len(stripped)
        indent = depth if indent is None else indent
        if depth > indent or (depth == indent and (stripped == "-" or stripped[:2] == "- ")):
            if key is not None and key[0] == "state_file":
                raise Unsure("state_file's value goes on")
            continue  # inside a value of the server mapping (a sequence may be indentless)
        key = _key(stripped) if depth == indent else None
        if key is None:
            raise Unsure(f"a line of server not read here: {line!r}")
        if key[0] == "state_file":
            found.append(_value(key[1]))
    if indent is None or len(found) > 1:
        raise Unsure("server: empty, or state_file twice")
    return found[0] if found else None


def _top_level(line: bytes) -> bool:
    """A line of the root mapping: at column 0, not a comment, not a sequence entry
    ("- ...", "-" alone)."""
    if line[:1] == b"-":
        return line[1:2] not in (b"", b" ")
    return line[:1] not in (b"", b" ", b"#")


def _key(line: str) -> tuple[str, str] | None:
    """The key and the value (without the spaces before it) of a line `key:` or
    `key: value` whose key is plain (a letter or "_", then letters, digits, "_" or "-");
    None for any other line."""
    key, colon, value = line.partition(":")
    if not colon or key[:1] not in _LETTERS or not _NAME.issuperset(key):
        return None
    if value[:1] not in ("", " "):
        return None
    return key, value.lstrip(" ")


def _value(text: str) -> str | None:
    """A scalar value on a key's line, without its comment, when it is plainly a string
    (None: none); Unsure."""
    comment = 0 if text.startswith("#") else text.find(" #")  # YAML: a "#" after a space
    text = (text if comment < 0 else text[:comment]).rstrip(" ")
    if not text:
        return None
    inner = text[1:-1]
    if len(text) > 1 and text[0] == text[-1] == "'" and "'" not in inner:
        return inner
    if len(text) > 1 and text[0] == text[-1] == '"' and '"' not in inner and "\\" not in inner:
        return inner
    if _plain_path(text) and text.lower() not in _NOT_STRINGS:
        return text
    raise Unsure(f"a value not read here: {text!r}")


def _plain_path(text: str) -> bool:
    """A plain scalar read here as a path: a letter, "_", "/", "./" or "../", then
    letters, digits and "_./-"."""
    return _PATH.issuperset(text) and (text[0] in _LETTERS or text[0] == "/"
                                       or text.startswith(("./", "../")))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unsure("not UTF-8") from None


def request_reload(path: str, timeout: float,
                   zones: list[str] | None = None) -> dict | None:
    """Ask the server listening on `path` to reload (only `zones`' files, when named); its
    answer, or None when no server listens there."""
    sock = unix_socket(AF_UNIX, SOCK_STREAM)
    try:
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
    finally:
        sock.close()
    return _json_loads(answer)


class _Defaults:
    """What json.loads hands json's C scanner (json.decoder.JSONDecoder's defaults)."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int, parse_constant = float, int, float  # NaN, Infinity, -Infinity


_scan = make_scanner(_Defaults())


def _json_loads(answer: bytes) -> dict:
    """json.loads(answer): the server's one line read by json's C scanner; anything else
    (no answer, a line cut short) by json itself, for its error and its words."""
    try:
        text = answer.decode("utf-8")
        found, end = _scan(text, 0)
    except (ValueError, StopIteration):
        pass
    else:
        if not text[end:].strip(" \t\n\r"):  # JSON's whitespace after the value
            return found
    import json

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
