"""yamlblock.py: the fast reader of the plainest block YAML gives exactly the values and
lines of yamlsrc's reader, or leaves the document to it (issue 16: a cold start reads 10^5
per-zone files).

- every document it reads, yamlsrc's reader reads to the same values (types included) and
  the same line for every YAML path; every document that yamlsrc's reader refuses, it
  leaves alone: for generated documents of its subset and just beyond it;
- it reads the files the directory layout writes (so that they take the fast path);
- a document it leaves is read, and its problems worded, by yamlsrc's reader.
"""

from __future__ import annotations

from unittest import mock

import pytest
from acnsd.errors import ConfigError
from acnsd.model import yamlblock
from acnsd.model.yamlsrc import parse
from hypothesis import event, given, settings
from hypothesis import strategies as st

# plain words YAML reads as strings, and words it reads otherwise (1.1: yes is a bool)
_WORDS = ["name", "zone.test", "ns1.acct1.test", "custom.account", "a-b", "x_y", "Z9", "1-2",
          "yes", "No", "on", "OFF", "y", "n", "null", "Null", "true", "False", "0", "1", "012",
          "0x1F", "0o7", "1_000", "1.5", "1.0e3", "1e3", "2001-01-01", "2001-01-01t10-00",
          # with a colon: addresses, and what YAML 1.1 reads as numbers and times
          "a:b", "fd00:53::1", "2001:db8::d500", "127.0.0.1:5353", "1:20", "1_0:5:9",
          "190:20:30.15", "2001-12-14t21:59:43.10-05:00", "0:0", "yes:no",
          "127.53.0.0/16", "fd00:53::/48", "a/b", "1/2", "a/", "/", "/srv/zones", "/a:b",
          # with spaces
          "a b", "Bench Account 1", "yes no", "1 2", "a - b", "a -b", "1:2 3", "a b/c d"]
_BEYOND = ["-", "~", "<<", "=", "a:", "a::", ":a", "::1", "a: b", "a:#b", "a  b", "a :b",
           "a b:", "a ", "'q'", '"q"', "#x", "x #y", "*a", "&a b", "!t x",
           "[1]", "{a: 1}", "|", ">", ".inf", "-1", "+1", "", "a\tb"]
_WORD = st.sampled_from(_WORDS * 8 + _BEYOND)  # mostly words, some beyond
_KEY = st.sampled_from(["name", "type", "ns_set", "dns_settings", "a-b", "k", "x.y", "Z"] * 4
                       + ["yes", "1", "null", "<<", "a b", "-k", "k:v"])
_VALUES = st.recursive(
    _WORD,
    lambda inner: (st.lists(inner, min_size=1, max_size=3)
                   | st.lists(st.tuples(_KEY, inner), min_size=1, max_size=3)),
    max_leaves=12,
)


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """A value written as block YAML, indented by 2 or 4, sequences under keys indented
    or not, with blank and comment lines here and there; some lines then spoiled."""
    step = draw(st.sampled_from([2, 4]))
    lines: list[str] = []

    def write(value: object, indent: int, lead: str) -> None:
        """`lead`: what starts the first line (an item's "- ", else nothing)."""
        pad = " " * indent
        if isinstance(value, str):
            lines.append(f"{pad}{lead}{value}")
        elif value and isinstance(value[0], tuple):  # a mapping, as (key, value) pairs
            for n, (key, item) in enumerate(value):
                head = f"{pad}{lead}" if n == 0 else " " * (indent + len(lead))
                inner = indent + len(lead)
                if isinstance(item, str):
                    lines.append(f"{head}{key}: {item}")
                    continue
                lines.append(f"{head}{key}:")
                indentless = not isinstance(item[0], tuple) and draw(st.booleans())
                write(item, inner if indentless else inner + step, "")
        else:  # a sequence: its first item on the line `lead` starts
            for n, item in enumerate(value):
                write(item, indent if n == 0 else indent + len(lead),
                      (lead if n == 0 else "") + "- ")
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "# note", "   # note"])))

    write(draw(_VALUES), draw(st.sampled_from([0, 0, 2])), "")
    if draw(st.integers(0, 7)) == 0:
        at = draw(st.integers(0, len(lines) - 1))
        lines[at] += draw(st.sampled_from([" ", " # c", ":", "\r", "\t"]))
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


def _full(text: str, root: str):
    with mock.patch.object(yamlblock, "read", return_value=None):
        return parse(text, "t.yaml", root)


def _agrees_with_the_full_reader(text: str, root: str, fast) -> None:
    """What yamlblock.read gave for `text` (None: left to the full reader) is what the
    full reader reads, and nothing when the full reader refuses it."""
    try:
        full = _full(text, root)
    except ConfigError:
        assert fast is None
        event("refused by the full reader")
        return
    event("read here" if fast is not None else "left to the full reader")
    if fast is not None:
        value, lines = fast
        assert repr(value) == repr(full.value)  # repr: True is not 1
        assert lines == full.lines


@settings(max_examples=500)
@given(_documents(), st.sampled_from(["", "zones"]))
def test_what_it_reads_equals_the_full_reader(text, root):
    fast = yamlblock.read(text, root)
    _agrees_with_the_full_reader(text, root, fast)


@settings(max_examples=300)
@given(_documents(), st.sampled_from(["", "zones"]), st.lists(_WORD,
                                                            min_size=1))
def test_a_document_of_the_form_of_one_read_before_is_read_as_the_full_reader_reads_it(
        text, root, others):
    """The same text with other words where values are (so of the same form): read from
    the shape learnt of the first, equal to what the full reader reads."""
    yamlblock.read(text, root)
    words = iter(others * (text.count("\n") + 1))
    variant = yamlblock._VALUE.sub(lambda m: m[1] + next(words), text)
    learnt = (yamlblock._form(variant)[0], root) in yamlblock._shapes
    fast = yamlblock.read(variant, root)
    event("of a shape learnt" if learnt else "of no shape learnt")
    _agrees_with_the_full_reader(variant, root, fast)


ZONE_FILE = """\
- name: shop.test
  dns_settings:
    nameservers:
      type: custom.account
      ns_set: 1
    ns_ttl: 3600
- name: blog.test
  vanity_name_servers:
  - ns1.blog.test
  - ns2.blog.test
"""


@pytest.mark.parametrize("text", [ZONE_FILE, ZONE_FILE.replace("  - ns", "    - ns"),
                                  "# zones\n\n" + ZONE_FILE])
def test_the_directory_layouts_files_take_the_fast_path(text):
    fast = yamlblock.read(text, "zones")
    assert fast is not None
    full = _full(text, "zones")
    assert fast == (full.value, full.lines)
    assert full.lines["zones[1].vanity_name_servers[1]"] == 10 + text.startswith("#") * 2


CONFIG = """\
server:
  listen:
  - 127.0.0.1:5353
  - ::1
  zones_dir: /srv/acnsd/zones
  address_pools:
    ipv4:
    - 127.53.0.0/16
    ipv6:
    - fd00:53::/48
  standard_nameservers:
  - name: ns1.acnsd.test
    ipv4: 127.52.0.1
    ipv6: fd00:52::1
accounts:
- id: 72d840f41b8f516ba5cdc9c12f035225
  name: Bench Account 1
  custom_nameservers:
  - ns_name: ns1.acct1.test
    ns_set: 1
    ipv4: 127.53.1.1
    ipv6: fd00:53:0:1::1
"""


def test_a_configuration_with_addresses_takes_the_fast_path():
    """A single-file configuration names its nameservers' IPv6 addresses and what it
    listens on (`host:port`): words with colons, read here (but `::1`, which starts with
    one: left to the full reader)."""
    text = CONFIG.replace("  - ::1\n", "")
    fast = yamlblock.read(text)
    assert fast is not None
    full = _full(text, "")
    assert fast == (full.value, full.lines)
    assert fast[0]["accounts"][0]["custom_nameservers"][0]["ipv6"] == "fd00:53:0:1::1"
    assert fast[0]["server"]["listen"] == ["127.0.0.1:5353"]
    assert yamlblock.read(CONFIG) is None
    assert _full(CONFIG, "").value["server"]["listen"][1] == "::1"


@pytest.mark.parametrize("text, message, line", [
    ("- name: a.test\n  name: b.test\n", "duplicate key 'name'", 2),
    ("- name: a.test\n  ns_ttl:\n- name: b\n", None, None),  # a key without a value: null
    ("- name: a.test\n   type: x\n", "YAML syntax error", 2),
])
def test_what_it_leaves_the_full_reader_words(text, message, line):
    assert yamlblock.read(text, "zones") is None
    if message is None:
        assert parse(text, "t.yaml", "zones").value[0]["ns_ttl"] is None
        return
    with pytest.raises(ConfigError) as info:
        parse(text, "t.yaml", "zones")
    problem, = info.value.problems
    assert message in problem.message and problem.line == line


def test_zone_files_of_one_form_are_read_from_its_shape():
    yamlblock.read(ZONE_FILE, "zones")
    other = ZONE_FILE.replace("shop.test", "cart.test").replace("ns_set: 1", "ns_set: 2")
    assert (yamlblock._form(other)[0], "zones") in yamlblock._shapes
    fast = yamlblock.read(other, "zones")
    full = _full(other, "zones")
    assert fast == (full.value, full.lines)
    assert fast[0][0]["name"] == "cart.test"
    assert fast[0][0]["dns_settings"]["nameservers"]["ns_set"] == 2
