"""`acnsd reload`'s light path (reload.py): the control socket read from acnsd.yaml's text
is the one the full command line finds by loading the server section, or none (Unsure:
the full command line runs)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from acnsd.daemon.control import control_path
from acnsd.errors import ConfigError
from acnsd.model.config import read_server
from acnsd.reload import (
    Unsure,
    _json_loads,
    _key,
    _plain_state_file,
    _top_level,
    _value,
    control_socket,
    light_reload,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

SERVER = ['  listen: ["127.0.0.1:5353"]', "  zones_dir: zones",
          "  standard_nameservers:", "    - {name: ns1.acnsd.test, ipv4: 127.53.0.1}",
          "  port: 5353"]
ACCOUNTS = ["accounts:", "  - id: acme", "    zones: []"]


def full(config: Path) -> str:
    """The socket the full command line finds."""
    return os.path.normpath(control_path(config, read_server(config)))


def write(tmp_path: Path, lines: list[str], name: str = "acnsd.yaml") -> Path:
    config = tmp_path / name
    config.write_text("\n".join(lines) + "\n")
    return config


def test_pyyamls_dump_is_read(tmp_path):
    """The shape PyYAML's dump gives (the benchmarks' configurations): sequences as
    values indentless, nested mappings."""
    config = tmp_path / "acnsd.yaml"
    config.write_text("server:\n  listen:\n  - 127.0.0.1:5353\n  zones_dir: zones\n  api:\n"
                      "    listen: 127.0.0.1:8053\n    tokens_file: tokens.yaml\n"
                      "  state_file: run/x.db\n  standard_nameservers:\n  - name: ns1.a.test\n"
                      "    ipv4: 127.53.0.1\naccounts_dir: accounts\n")
    assert control_socket(str(config)) == str(tmp_path / "run" / "acnsd.ctl")


@pytest.mark.parametrize("state_line", [
    None,
    "  state_file: run/acnsd.db",
    "  state_file: 'run/acnsd.db'   # quoted",
    '  state_file: "run/acnsd.db"',
    "  state_file: /var/lib/acnsd/x.db",
    "  state_file: ../elsewhere/state.db",
    "  state_file: state.db # a comment",
    "  state_file: ''",
])
def test_the_plain_shapes_are_read_as_the_loader_reads_them(tmp_path, state_line):
    lines = ["# acnsd", "server:", *SERVER[:2], *([state_line] if state_line else []),
             *SERVER[2:], *ACCOUNTS]
    config = write(tmp_path, lines)
    assert os.path.normpath(control_socket(str(config))) == full(config)


@pytest.mark.parametrize("text", [
    "server: {listen: ['127.0.0.1:53'], state_file: x.db}\n",  # a flow mapping
    "defaults: &d {state_file: x.db}\nserver:\n  <<: *d\n",  # a merge key
    "'server':\n  state_file: x.db\n",  # a quoted key
    "server:\n  state_file: x\n    y.db\n",  # a value over two lines
    "server:\n  state_file:\n  - x.db\n",  # an indentless sequence
    "server:\n  state_file: 1.5\n",  # not a string
    "server:\n  state_file: yes\n",
    "server:\n  state_file: !!str x.db\n",  # a tag
    "server:\n  state_file: x.db\n  state_file: y.db\n",  # twice
    "server:\r\n  state_file: x.db\r\n",  # CR LF
    "%YAML 1.1\n---\nserver:\n  state_file: x.db\n",  # a directive
    "server:\n\tstate_file: x.db\n",
    "server:\n",  # null
])
def test_other_shapes_are_left_to_the_full_command_line(tmp_path, text):
    config = tmp_path / "acnsd.yaml"
    config.write_text(text)
    with pytest.raises(Unsure):
        control_socket(str(config))


KEYS = st.sampled_from(SERVER[:2] + ["  port: 5353", "  nsid: acnsd-1", "  chaos: false",
                                     "  # a comment", "", "  edns_udp_size: 1232",
                                     "  listen:\n  - 127.0.0.1:5353",  # an indentless list
                                     "  api:\n    listen: 127.0.0.1:8053\n"
                                     "    tokens_file: tokens.yaml"])
VALUES = st.one_of(
    st.from_regex(r"[a-z_/.][a-z0-9_./-]{0,12}", fullmatch=True),
    st.sampled_from(["~", "null", "yes", "No", "1e3", ".inf", "0x1f", "123", "-", "''",
                     '""', "a#b", "x # y", "[a]", "{}", "&a x.db", "*a", "'it''s.db'",
                     '"a\\tb.db"', "|", "x.db  "]),
    st.text(alphabet="ab./ '\"#:-_~&*!%", max_size=10),
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(before=[], after=[], value="//", indent=2, start="", name="acnsd.yaml")
@given(before=st.lists(KEYS, max_size=3), after=st.lists(KEYS, max_size=3),
       value=st.none() | VALUES, indent=st.sampled_from([2, 4]),
       start=st.sampled_from(["", "---\n", "# top\n", "other: 1\n"]),
       name=st.sampled_from(["acnsd.yaml", "a.b.yml", "conf"]))
def test_the_light_path_finds_the_full_paths_socket_or_none(tmp_path, before, after, value,
                                                            indent, start, name):
    """Whatever the server section's shape: the socket the light path reads is the one
    load() finds, or it is Unsure (never another)."""
    state = [] if value is None else [f"  state_file: {value}"]
    body = [line.replace("  ", " " * indent, 1)
            for entry in [*before, *state, *after] for line in entry.split("\n")]
    config = write(tmp_path, [start.rstrip("\n"), "server:", *body, *ACCOUNTS], name)
    try:
        expected = full(config)
    except ConfigError:
        return  # invalid: either path leaves it to the server or reports it
    try:
        found = control_socket(str(config))
    except Unsure:
        return
    # the same file: POSIX keeps a leading "//" in a path's text ("//" as state_file)
    assert os.path.realpath(found) == os.path.realpath(expected)


def test_a_reload_with_no_server_listening_is_left_to_the_full_command_line(tmp_path):
    config = write(tmp_path, ["server:", *SERVER, *ACCOUNTS])
    assert light_reload(["reload", "--config", str(config)]) is None
    assert light_reload([f"--config={config}", "reload"]) is None  # not its shape
    assert light_reload(["reload", "--config", str(config), "--zone", "a.test"]) is None


# The grammar of the plain shapes, as regular expressions: the light path reads it by
# hand (`import re` costs ~6 ms, a third of the command), and must read the same.
TOP = re.compile(r"(?:[^ #-]|-[^ ])[^\n]*")  # a line of the root mapping
KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?")
COMMENT = re.compile(r"(?:^| +)#.*")
QUOTED = re.compile(r"'([^']*)'|\"([^\"\\]*)\"")
PLAIN = re.compile(r"(?:[A-Za-z_/]|\.\.?/)[A-Za-z0-9_./-]*")
NOT_STRINGS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
LINES = st.text(alphabet=st.sampled_from(list("aZ_09-.:/ #'\"\\\t!~") + ["é", "\x0b"]),
                max_size=14)


def value_by_grammar(text: str) -> str | None | type[Unsure]:
    text = COMMENT.sub("", text).rstrip(" ")
    if not text:
        return None
    if quoted := QUOTED.fullmatch(text):
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    return text if PLAIN.fullmatch(text) and text.lower() not in NOT_STRINGS else Unsure


@settings(max_examples=2000)
@given(line=LINES)
@example(line="server:  # a comment")
@example(line="state_file: ../x.db # y")
@example(line="-x: y")
def test_the_hand_written_readers_read_the_grammar(line):
    assert _top_level(line.encode()) == bool(TOP.fullmatch(line))
    key = KEY.fullmatch(line)
    assert _key(line) == (None if key is None else (key.group(1), key.group(2) or ""))
    try:
        value = _value(line)
    except Unsure:
        value = Unsure
    assert value == value_by_grammar(line)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                    | st.floats(allow_nan=False),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(), inner, max_size=3), max_leaves=8)


@settings(max_examples=300)
@given(value=JSON, ensure_ascii=st.booleans())
def test_the_answer_is_read_as_json_reads_it(value, ensure_ascii):
    line = json.dumps(value, ensure_ascii=ensure_ascii).encode() + b"\n"
    assert _json_loads(line) == json.loads(line)


@settings(max_examples=500)
@given(answer=st.binary(max_size=12) | st.sampled_from(
    [b"", b'{"ok": true', b'{"ok": true}\n\x00', b' {"ok": 1}\n', b'\xef\xbb\xbf{}\n',
     b'["a\x01"]\n', b"NaN\n", b'"\xed\xa0\x80"\n', b'{"a": 1}{}\n']))
def test_an_answer_cut_short_or_broken_fails_as_json_says(answer):
    try:
        expected = json.loads(answer)
    except ValueError as error:
        with pytest.raises(type(error)) as raised:
            _json_loads(answer)
        assert str(raised.value) == str(error)
    else:
        found = _json_loads(answer)
        assert found == expected or (found != found and expected != expected)  # NaN


def test_a_server_section_is_read_to_the_next_line_at_column_0():
    """A comment or an empty line at column 0 does not end it; a sequence entry does."""
    text = (b"---\nserver:\n  port: 53\n# a comment at column 0\n\n  state_file: a/x.db\n"
            b"- entry\n  state_file: b/x.db\n")
    assert _plain_state_file(text) == "a/x.db"
    with pytest.raises(Unsure):
        _plain_state_file(b"accounts: []\nserver:")  # the last line: an empty section
