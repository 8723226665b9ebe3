"""$INCLUDE in zone files (issue 15, includes.py): only files inside zones_dir, symlinks
resolved; relative to the including file's directory; no loops (the cycle is named), at
most MAX_INCLUDE_DEPTH deep; included bytes count toward max_zone_file_bytes. Each
refusal names the zone file (or the included file) and the line of the $INCLUDE. (Loops
and FIFOs, which would never end on code without the rule, are tried in a bounded child
process: tests/adversarial/test_loader_limits.py.)"""

from __future__ import annotations

import io

import dns.zone
import pytest
from acnsd.model.includes import MAX_INCLUDE_DEPTH
from modelkit import account, config, only, rrsets, two_sets, zone

HEAD = "$TTL 300\n"


def a_test(**limits: int) -> dict:
    cfg = config(account(two_sets(), [zone("a.test", "custom.account")]))
    if limits:
        cfg["server"]["limits"] = limits
    return cfg


def test_an_include_inside_zones_dir_is_read_relative_to_its_includer(env):
    """zones/sub/hosts.inc includes more.inc: zones/sub/more.inc, not ./more.inc."""
    sub = env.root / "zones" / "sub"
    sub.mkdir(parents=True)
    (sub / "hosts.inc").write_text("db IN A 192.0.2.7\n$INCLUDE more.inc\n")
    (sub / "more.inc").write_text("mx IN A 192.0.2.8\n")
    loaded = env.load(a_test(), {"a.test": HEAD + "$INCLUDE sub/hosts.inc\n"})
    served = rrsets(loaded, "a.test")
    assert ("db.a.test", "A") in served and ("mx.a.test", "A") in served


@pytest.mark.parametrize("target", ["/etc/hostname", "../outside.inc", "link.inc"])
def test_an_include_outside_zones_dir_is_refused(env, target):
    (env.root / "outside.inc").write_text("x IN A 192.0.2.9\n")
    env.write(a_test(), {"a.test": HEAD + "www IN A 192.0.2.1\n" + f"$INCLUDE {target}\n"})
    (env.root / "zones" / "link.inc").symlink_to(env.root / "outside.inc")
    problem = only(env.refused())
    assert problem.file.endswith("zones/a.test.zone") and problem.line == 3
    assert f"$INCLUDE {target}" in problem.message and "outside zones_dir" in problem.message


def test_the_same_file_may_be_included_twice_in_a_row(env):
    """Not a loop: the first inclusion has ended when the second begins."""
    (env.root / "zones").mkdir()
    (env.root / "zones" / "common.inc").write_text("c IN TXT \"shared\"\n")
    text = HEAD + "$INCLUDE common.inc\n$INCLUDE common.inc sub.a.test.\n"
    served = rrsets(env.load(a_test(), {"a.test": text}), "a.test")
    assert ("c.a.test", "TXT") in served and ("c.sub.a.test", "TXT") in served


def test_includes_nest_at_most_the_limit(env):
    zones = env.root / "zones"
    zones.mkdir()
    for level in range(MAX_INCLUDE_DEPTH + 1):
        (zones / f"{level}.inc").write_text(f"l{level} IN A 192.0.2.1\n$INCLUDE {level + 1}.inc\n")
    (zones / f"{MAX_INCLUDE_DEPTH}.inc").write_text("deepest IN A 192.0.2.1\n")
    env.load(a_test(), {"a.test": HEAD + "$INCLUDE 1.inc\n"})  # 1 .. MAX deep: read
    problem = only(env.refused(a_test(), {"a.test": HEAD + "$INCLUDE 0.inc\n"}))
    assert f"more than {MAX_INCLUDE_DEPTH} levels" in problem.message


def test_included_bytes_count_toward_the_zone_byte_limit(env):
    (env.root / "zones").mkdir()
    (env.root / "zones" / "big.inc").write_text("x IN TXT \"" + "y" * 200 + "\"\n")
    cfg = a_test(max_zone_file_bytes=200)
    problem = only(env.refused(cfg, {"a.test": HEAD + "$INCLUDE big.inc\n"}))
    assert problem.line == 2 and "larger than 200 bytes" in problem.message


def test_included_records_count_toward_the_zone_record_limit(env):
    (env.root / "zones").mkdir()
    (env.root / "zones" / "hosts.inc").write_text(
        "".join(f"h{i} IN A 192.0.2.1\n" for i in range(10)))
    text = HEAD + "www IN A 192.0.2.1\n$INCLUDE hosts.inc\n"
    problem = only(env.refused(a_test(max_records_per_zone=5), {"a.test": text}))
    assert (problem.file, problem.line) == ("hosts.inc", 5)


def test_dnspython_outside_a_load_opens_includes_as_it_always_did(tmp_path):
    """The guard applies only while acnsd reads a zone: dnspython used directly (as the
    tests' oracle) is unchanged."""
    (tmp_path / "elsewhere.inc").write_text("x 300 IN A 192.0.2.1\n")
    text = f"$INCLUDE {tmp_path / 'elsewhere.inc'}\n"
    parsed = dns.zone.from_file(io.StringIO(text), origin="a.test.", check_origin=False)
    assert parsed.get_rdataset("x", "A") is not None
