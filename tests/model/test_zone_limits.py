"""server.limits (issue 15): how much zone data one load reads, and where it stops.

A zone whose files hold more records than max_records_per_zone, or that would make all
the zones hold more than max_records_total, or whose files are larger than
max_zone_file_bytes, is refused with the file, the line where reading stopped and the
limit; the fast reader and dnspython's stop at the same record. (What would hang or
exhaust memory on code without these limits, a $GENERATE of 10⁸ records or a FIFO as zone
file, is tried in a bounded child process: tests/adversarial/test_loader_limits.py.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from acnsd.model import zonedata
from acnsd.model.types import Limits
from hypothesis import given
from hypothesis import strategies as st
from modelkit import account, config, only, two_sets, zone

HEAD = "$TTL 300\n"


def records(count: int, start: int = 0) -> str:
    return "".join(f"h{i} IN A 192.0.2.1\n" for i in range(start, start + count))


def one_zone(**limits: int) -> dict:
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    if limits:
        cfg["server"]["limits"] = limits
    return cfg


def test_the_defaults_load_a_zone_and_are_what_the_readme_says(env):
    loaded = env.load(one_zone())
    assert loaded.model.server.limits == Limits(1_000_000, 10_000_000, 128 * 2**20)


@pytest.mark.parametrize("value", [0, -1, "many", 1.5, True])
def test_a_limit_is_a_positive_integer(env, value):
    problem = only(env.refused(one_zone(max_records_per_zone=value)))
    assert problem.path == "server.limits.max_records_per_zone"


def test_an_unknown_limit_is_refused_with_a_hint(env):
    problem = only(env.refused(one_zone(max_records=5)))
    assert problem.path == "server.limits.max_records" and "did you mean" in problem.message


@pytest.mark.parametrize("tail", ["", "; a comment: the fast reader reads line by line\n",
                                  "sub IN NS (ns1.a.test.)\n"])  # dnspython reads it
def test_a_zone_over_its_record_limit_stops_at_the_record_past_it(env, tail):
    text = HEAD + tail + records(50)
    problem = only(env.refused(one_zone(max_records_per_zone=40), {"a.test": text}))
    stop = text.splitlines().index("h39 IN A 192.0.2.1") + 2  # the 41st record
    if "NS" in tail:
        stop -= 1  # the NS record counts
    assert problem.file.endswith("a.test.zone") and problem.line == stop
    assert "more than 40 records" in problem.message
    assert "server.limits.max_records_per_zone" in problem.message


def test_a_zone_at_its_record_limit_loads(env):
    env.load(one_zone(max_records_per_zone=50), {"a.test": HEAD + records(50)})


def test_generated_records_count_one_by_one(env):
    text = HEAD + "$GENERATE 1-30 host$ A 192.0.2.1\n$GENERATE 1-30 mail$ A 192.0.2.1\n"
    problem = only(env.refused(one_zone(max_records_per_zone=40), {"a.test": text}))
    assert problem.line == 3


def test_all_zones_together_stop_at_the_total(env):
    """The zones read before leave 10 records to b.test, which has 20: refused there,
    and c.test after it is not read at all (its file is broken, and not reported)."""
    zones = [zone(name, "custom.account", 1 + (name == "sub.a.test")) for name in
             ("a.test", "sub.a.test", "b.test", "c.test")]
    cfg = config(account(two_sets(), zones))
    cfg["server"]["limits"] = {"max_records_total": 50}
    files = {"a.test": HEAD + records(25), "sub.a.test": HEAD + records(15),
             "b.test": HEAD + records(20), "c.test": "this is not a zone file\n"}
    problem = only(env.refused(cfg, files))
    assert problem.file.endswith("b.test.zone") and problem.line == 12
    assert "more than 10 records" in problem.message
    assert "server.limits.max_records_total" in problem.message


def exported(name: str, count: int) -> str:
    """A zone file in export form, which zonedata reads ahead with others and parses with
    them (zonefile.parse_many)."""
    return "".join(f"h{i}.{name}. 300 IN A 192.0.2.1\n" for i in range(count))


@pytest.mark.parametrize("total", [50, 60])
def test_files_read_together_stop_at_the_total_where_each_read_alone_does(env, total):
    zones = [zone(name, "custom.account") for name in ("a.test", "b.test", "c.test")]
    cfg = config(account(two_sets(), zones))
    cfg["server"]["limits"] = {"max_records_total": total}
    files = {"a.test": exported("a.test", 25), "b.test": exported("b.test", 15),
             "c.test": exported("c.test", 20)}
    if total == 60:
        env.load(cfg, files)
        return
    problem = only(env.refused(cfg, files))
    assert problem.file.endswith("c.test.zone") and problem.line == 11
    assert "more than 10 records" in problem.message


def test_a_file_read_before_is_checked_against_a_lowered_limit(env):
    """An unchanged file comes from the cache; a lower limit still applies to it."""
    env.load(one_zone(), {"a.test": HEAD + records(50)})
    problem = only(env.refused(one_zone(max_records_per_zone=40)))
    assert "more than 40 records" in problem.message and problem.line is None


def test_a_zone_file_over_the_byte_limit_is_not_read(env):
    text = HEAD + records(10)
    problem = only(env.refused(one_zone(max_zone_file_bytes=len(text) - 1), {"a.test": text}))
    assert f"larger than {len(text) - 1:,} bytes" in problem.message
    assert "server.limits.max_zone_file_bytes" in problem.message
    env.load(one_zone(max_zone_file_bytes=len(text)))


_LINES = st.sampled_from(["a IN A 192.0.2.1", "b 60 IN TXT \"t\"", "; comment", "",
                          "  IN AAAA 2001:db8::1", "$TTL 60", "c IN CNAME a",
                          "other.test. IN A 192.0.2.9"])  # outside the zone: not counted


@given(st.lists(_LINES, max_size=30), st.integers(0, 12))
def test_the_fast_reader_and_dnspython_stop_at_the_same_record(lines, limit):
    """Where the fast reader raises TooManyRecords, dnspython's does too, at the same
    line; where one reads the file, so does the other."""
    from acnsd.model import zonefile

    text = HEAD + "\n".join(lines) + "\n"
    origin = zonedata._origin("a.test")
    bound = zonefile.RecordLimit(limit, "over")
    fast = slow = None
    try:
        fast = zonefile.parse(text, origin, bound)
    except zonefile.TooManyRecords as exc:
        fast = exc.line
    try:
        slow = zonedata._read_with_dnspython(text.encode(), "a.zone", origin, bound)
    except zonefile.TooManyRecords as exc:
        slow = exc.line
    except Exception:  # an error dnspython words (a CNAME with other data, ...)
        return
    if fast is not None:  # (None: outside the fast reader's subset, dnspython reads it)
        assert isinstance(fast, int) == isinstance(slow, int)
        assert not isinstance(fast, int) or fast == slow


def test_a_zone_file_read_unsettled_is_unchanged_while_its_bytes_are(env):
    """A zone file modified shortly before it was read cannot be vouched for by its stat
    (a rewrite within the timestamp granularity keeps it): it is unchanged while its bytes
    hash the same, and changed once they differ under the very same stat, so that a reload
    right after an edit commits only the files whose bytes changed."""
    loaded = env.load(one_zone(), {"a.test": HEAD + records(3)})
    path = Path(loaded.model.zones[0].file)
    assert zonedata.file_unchanged(path, "a.test")  # just written: only its bytes vouch
    st = path.stat()
    with open(path, "r+") as file:  # the same size, inode and mtime, other bytes
        file.write(HEAD + records(3).replace("192.0.2.1", "192.0.2.2"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_ino == st.st_ino
    assert not zonedata.file_unchanged(path, "a.test")
