"""Loading zone files fast: the cache of parsed files across loads, the R10 digest of a
file's bytes.

- an unchanged file is not parsed again: a second load serves the very same RRsets;
- a file rewritten with other content is parsed again, even with the same size and mtime;
- the cache holds only the files of the configuration last loaded;
- a zone's serial stays put across loads and restarts while its file is unchanged, and
  increases when the file or an included file changes (R10).
"""

from __future__ import annotations

import os
import time

from acnsd import zonedata
from modelkit import DEFAULT_ZONE, account, config, rrsets, two_sets, zone

SETTLED = time.time_ns() - 3_600 * 10**9  # an mtime long before any load of the test


def _cfg(*names: str) -> dict:
    return config(account(two_sets(), [zone(n, "custom.account") for n in names]))


def _serial(loaded, name: str) -> int:
    return rrsets(loaded, name)[(name, "SOA")][0].serial


def _age(path, mtime_ns: int = SETTLED) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_an_unchanged_file_is_not_parsed_again(env):
    cfg = _cfg("example.com")
    env.write(cfg)
    _age(env.root / "zones" / "example.com.zone")
    first = rrsets(env.load(), "example.com")
    second = rrsets(env.load(), "example.com")
    assert second[("www.example.com", "A")] is first[("www.example.com", "A")]
    assert _serial(env.load(), "example.com") == first[("example.com", "SOA")][0].serial


def test_a_rewritten_file_is_read_again_with_the_same_size_and_mtime(env):
    cfg = _cfg("example.com")
    path = env.root / "zones" / "example.com.zone"
    for settled in (False, True):
        env.write(cfg, {"example.com": DEFAULT_ZONE})
        stamp = path.stat().st_mtime_ns if not settled else SETTLED
        _age(path, stamp)
        before = env.load()
        edited = DEFAULT_ZONE.replace("192.0.2.2", "192.0.2.3")
        assert len(edited) == len(DEFAULT_ZONE)
        path.write_text(edited, encoding="utf-8")
        if not settled:  # rewritten within the timestamp granularity: the mtime is kept
            _age(path, stamp)
        after = env.load()
        assert [rd.address for rd in rrsets(after, "example.com")[("www.example.com", "A")]] \
            == ["192.0.2.3"]
        assert _serial(after, "example.com") > _serial(before, "example.com")


def test_the_cache_holds_only_the_configured_files(env):
    env.load(_cfg("example.com", "other.org"))
    cached = {str(path) for path, _ in zonedata._cache}
    assert str(env.root / "zones" / "other.org.zone") in cached
    env.load(_cfg("example.com"))
    assert {str(path) for path, _ in zonedata._cache} == {
        str(env.root / "zones" / "example.com.zone")}


def test_the_serial_survives_a_restart_and_follows_included_files(env):
    included = env.root / "zones" / "hosts.inc"
    included.parent.mkdir(parents=True, exist_ok=True)
    included.write_text("db IN A 192.0.2.7\n", encoding="utf-8")
    cfg = _cfg("example.com", "other.org")
    files = {"example.com": DEFAULT_ZONE + f"$INCLUDE {included}\n"}
    serials = {n: _serial(env.load(cfg, files), n) for n in ("example.com", "other.org")}
    zonedata._cache.clear()  # a restart: a new process starts with no cache
    loaded = env.load()
    assert {n: _serial(loaded, n) for n in serials} == serials
    included.write_text("db IN A 192.0.2.8\n", encoding="utf-8")
    loaded = env.load()
    assert [rd.address for rd in rrsets(loaded, "example.com")[("db.example.com", "A")]] \
        == ["192.0.2.8"]
    assert _serial(loaded, "example.com") > serials["example.com"]
    assert _serial(loaded, "other.org") == serials["other.org"]
