"""The single file layout's sources (control/sources.py): a zone file's change is judged
without reading acnsd.yaml's round-trip document, which takes seconds at 10,000 zones (an
operator's reload of one zone file of the benchmarks' scale set took 25 s and stopped the
answers for a quarter of a second while it was built), and its problems are still located
in acnsd.yaml."""

from __future__ import annotations

from unittest import mock

from acnsd.control import sources
from acnsd.control.change import ZoneFileChanged
from acnsd.model.config import load
from modelkit import Env, account, config, zone


def test_a_zone_files_change_reads_no_round_trip_document(tmp_path):
    env = Env(tmp_path)
    env.write(config(account([], [zone("a.test", "cloudflare.standard"),
                                  zone("b.test", "cloudflare.standard")])))
    layout = sources.open_sources(load(env.path))
    assert isinstance(layout, sources.SingleFile)
    with mock.patch.object(sources, "Document", side_effect=AssertionError("read")):
        edit = layout.edit(ZoneFileChanged("b.test"))
    assert edit.file is None  # nothing to write
    problem = edit.locate("accounts[0].zones[1]", "a problem of b.test", "R1")
    assert problem.file == str(env.path)
    assert problem.line == env.line_of("name: b.test")
