"""`acnsd reload`'s light path (reload.py): the control socket read from acnsd.yaml's text
is the one the full command line finds by loading the server section, or none (Unsure:
the full command line runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from acnsd.daemon.control import control_path
from acnsd.errors import ConfigError
from acnsd.model.config import read_server
from acnsd.reload import Unsure, control_socket, light_reload
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
