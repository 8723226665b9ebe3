"""metrics.py: the hot-path counters and the families the collector builds from them."""

from __future__ import annotations

import dataclasses

import dns.message
import dns.rcode
import pytest
from acnsd.daemon.metrics import (
    OTHER,
    QTYPES,
    Counters,
    Metrics,
    MetricsCollector,
    acns_sets,
    start_exposition,
)
from acnsd.daemon.responders import counting_responder
from acnsd.daemon.serve import Server, _follow_sets
from acnsd.dns.compiler import compile_plan
from acnsd.dns.core import Transport
from acnsd.dns.outcome import Outcome
from acnsd.model.config import load
from prometheus_client import CollectorRegistry, generate_latest
from tooling import REPO

from .opskit import parse, promtool_check, scrape

ACCOUNT = "023e105f4ecef8ad9ca31a8372d0c353"


class Holder:
    """What the responders read the tables from (the server, in acnsd serve), and its DNS
    Cookie secrets and response rate limiter (off here)."""

    def __init__(self, tables) -> None:
        self.tables = tables
        self.cookies = None
        self.rrl = None


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example configuration, loaded without touching its state file."""
    loaded = load(REPO / "config" / "acnsd.yaml", save_state=False)
    return loaded, Holder(compile_plan(loaded.plan))


def samples(metrics: Metrics) -> dict[tuple[str, tuple], float]:
    """Every sample of a scrape, by (name, sorted labels)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(metrics))
    return parse(generate_latest(registry).decode())


def query(name: str, qtype: str = "A", **make) -> bytes:
    return dns.message.make_query(name, qtype, **make).to_wire()


def test_qtype_cells_are_bounded():
    counters = Counters()
    count = counters.counter(Transport.UDP, "ipv4")
    count(query("example.com", "TYPE65000"), None, Outcome.DROP, None)  # unlisted
    count(b"\x00\x01", None, Outcome.DROP, None)  # no question at all
    count(query("example.com", "AAAA")[:-3], None, Outcome.FORMERR, None)  # cut in the qtype
    assert counters.queries[Counters.cell(Transport.UDP, "ipv4", "other", Outcome.DROP)] == 2
    assert counters.queries[Counters.cell(Transport.UDP, "ipv4", "other", Outcome.FORMERR)] == 1
    count(query("example.com", "CAA"), None, Outcome.NODATA, None)
    assert counters.queries[Counters.cell(Transport.UDP, "ipv4", "CAA", Outcome.NODATA)] == 1
    assert sum(counters.queries) == 4
    assert OTHER == len(QTYPES)


def test_size_buckets_are_inclusive_upper_bounds():
    counters = Counters()
    count = counters.counter(Transport.TCP, "ipv6")
    header = b"\x00\x00\x80\x00" + bytes(8)
    for size in (64, 65, 512, 1232, 1233, 65535):
        count(query("example.com"), header + bytes(size - 12), Outcome.ANSWER, None)
    sizes = counters.sizes[1]
    assert sizes[:10] == [1, 1, 0, 1, 0, 1, 1, 0, 0, 1]  # 64 | 128 256 512 ... 65535
    assert sizes[-1] == 64 + 65 + 512 + 1232 + 1233 + 65535


def test_known_queries_give_exact_counts(example):
    loaded, holder = example
    metrics = Metrics()
    metrics.loaded(len(loaded.plan.zones), holder.tables.records, acns_sets(loaded.model))
    udp4 = counting_responder(metrics, holder, Transport.UDP, "ipv4", None)
    tcp6 = counting_responder(metrics, holder, Transport.TCP, "ipv6", None)
    sizes = []
    for name, qtype in [("example.com", "NS"), ("www.example.com", "A"), ("nope.example.com", "A")]:
        sizes.append(len(udp4(query(name, qtype))))
    tcp6(query("sub.example.com", "MX"))  # NODATA unless the zone has MX
    tcp6(query("example.org", "A"))  # not ours: REFUSED, no zone
    assert udp4(b"\x00") is None  # too short: dropped
    got = samples(metrics)
    q = "acnsd_queries_total"

    def key(transport, family, qtype, outcome, rcode):
        return (q, (("family", family), ("outcome", outcome), ("qtype", qtype),
                    ("rcode", rcode), ("transport", transport)))  # fmt: skip

    assert got[key("udp", "ipv4", "NS", "answer", "NOERROR")] == 1
    assert got[key("udp", "ipv4", "A", "nxdomain", "NXDOMAIN")] == 1
    assert got[key("tcp", "ipv6", "A", "refused", "REFUSED")] == 1
    assert got[key("udp", "ipv4", "other", "dropped", "none")] == 1
    assert sum(v for (name, _), v in got.items() if name == q) == 6
    assert got[("acnsd_zone_queries_total", (("zone", "example.com."),))] == 3
    assert got[("acnsd_zone_queries_total", (("zone", "sub.example.com."),))] == 1
    assert got[("acnsd_acns_set_queries_total", (("account", ACCOUNT), ("ns_set", "1")))] == 3
    assert got[("acnsd_acns_set_queries_total", (("account", ACCOUNT), ("ns_set", "2")))] == 1
    hist = "acnsd_response_size_bytes"
    assert got[(hist + "_count", (("transport", "udp"),))] == 3
    assert got[(hist + "_sum", (("transport", "udp"),))] == sum(sizes)
    assert got[(hist + "_bucket", (("le", "+Inf"), ("transport", "tcp")))] == 2
    assert got[("acnsd_zones_loaded", ())] == len(loaded.plan.zones)
    assert got[("acnsd_config_generation", ())] == 1
    assert got[("acnsd_last_reload_success", ())] == 1
    assert got[("acnsd_build_info", (("version", "0.1.0"),))] == 1


def test_the_sets_of_the_zones_hold_no_string_or_tuple_of_their_own(example):
    """acns_sets() keys each zone by the model's own name string and gives the zones of
    one set one (account, ns_set) tuple: ~130 bytes a zone less at 10^5 zones (issue 16)."""
    loaded, _ = example
    sets = acns_sets(loaded.model)
    keys = {key: key for key in sets}
    on_sets = [z for z in loaded.model.zones if z.ns_type == "custom.account"]
    assert on_sets and all(keys[z.name] is z.name for z in on_sets)
    assert len({id(pair) for pair in sets.values()}) == len(set(sets.values())) < len(sets)


def test_the_sets_follow_a_change_zone_by_zone(example):
    """serve._follow_sets keeps acns_sets() up to date: a zone moved to another set, a zone
    removed, a zone added."""
    loaded, _ = example
    sets = acns_sets(loaded.model)
    moved, removed = [z for z in loaded.model.zones if z.name in sets][:2]
    other = next(pair[1] for pair in sets.values() if pair[1] != moved.ns_set)
    elsewhere = dataclasses.replace(moved.resolution, ns_set=other)
    changes = {moved.name: dataclasses.replace(moved, resolution=elsewhere), removed.name: None,
               "new.test": dataclasses.replace(moved, name="new.test")}
    _follow_sets(sets, changes)
    zones = [changes.get(z.name, z) for z in loaded.model.zones] + [changes["new.test"]]
    model = dataclasses.replace(loaded.model, zones=tuple(z for z in zones if z is not None))
    assert sets == acns_sets(model) and sets[moved.name] == (moved.account, other)


@pytest.mark.parametrize("exposed", [True, False], ids=["exposition", "none"])
def test_a_server_keeps_the_zones_sets_only_for_an_exposition(example, exposed):
    """What the per-set query counts need, a map of every zone to its set (~4 MiB at
    100,000 zones), is kept by a server with a metrics exposition, and only then."""
    loaded, _ = example
    server_config = dataclasses.replace(loaded.model.server,
                                        metrics=("127.0.0.1", 0) if exposed else None)
    loaded = dataclasses.replace(loaded, model=dataclasses.replace(loaded.model,
                                                                   server=server_config))
    server = Server(str(REPO / "config" / "acnsd.yaml"), loaded, compile_plan(loaded.plan))
    assert server.metrics.state.sets == (acns_sets(loaded.model) if exposed else {})
    assert acns_sets(loaded.model)


def test_zones_compiled_on_a_query_are_counted(example):
    loaded, _ = example
    holder = Holder(compile_plan(loaded.plan))  # (no zone compiled yet)
    metrics = Metrics()
    udp = counting_responder(metrics, holder, Transport.UDP, "ipv4", None)
    before = samples(metrics)[("acnsd_zones_compiled_total", ())]
    udp(query("www.example.com", "A"))
    udp(query("nope.example.com", "A"))  # the same zone, compiled already
    assert samples(metrics)[("acnsd_zones_compiled_total", ())] == before + 1


def test_truncation_is_counted_apart_from_the_outcome(example):
    loaded, holder = example
    metrics = Metrics()
    udp = counting_responder(metrics, holder, Transport.UDP, "ipv4", None)
    # ANY over plain UDP (512 octets) of a zone apex with many records
    big = max(loaded.plan.zones, key=lambda z: sum(len(r) for r in z.rrsets))
    response = udp(query(big.origin.to_text(), "ANY"))
    truncated = bool(dns.message.from_wire(response).flags & dns.flags.TC)
    assert samples(metrics)[("acnsd_responses_truncated_total", (("transport", "udp"),))] == (
        1 if truncated else 0
    )


def test_reloads_and_generation(example):
    loaded, holder = example
    metrics = Metrics()
    metrics.loaded(len(loaded.plan.zones), holder.tables.records, acns_sets(loaded.model))
    metrics.reload_failed()
    got = samples(metrics)
    assert got[("acnsd_last_reload_success", ())] == 0
    assert got[("acnsd_reloads_total", (("result", "rejected"),))] == 1
    assert got[("acnsd_config_generation", ())] == 1
    metrics.loaded(len(loaded.plan.zones), holder.tables.records, acns_sets(loaded.model))
    got = samples(metrics)
    assert got[("acnsd_last_reload_success", ())] == 1
    assert got[("acnsd_reloads_total", (("result", "ok"),))] == 1
    assert got[("acnsd_config_generation", ())] == 2
    # counted by the compiler; here against dnspython's count over the plan
    served = sum(len(rrset) for zone in loaded.plan.zones for rrset in zone.rrsets)
    assert got[("acnsd_records_loaded", ())] == served > 0
    assert got[("acnsd_zones_loaded", ())] == len(loaded.plan.zones)


def test_tcp_connections_are_read_at_scrape_time():
    class Connections:
        open = {object(), object()}
        evicted = 7

    metrics = Metrics()
    metrics.tcp = Connections()
    got = samples(metrics)
    assert got[("acnsd_tcp_connections_open", ())] == 2
    assert got[("acnsd_tcp_connections_evicted_total", ())] == 7


def test_the_exposition_serves_and_passes_promtool(example):
    loaded, holder = example
    metrics = Metrics()
    metrics.loaded(len(loaded.plan.zones), holder.tables.records, acns_sets(loaded.model))
    counting_responder(metrics, holder, Transport.UDP, "ipv4", None)(query("example.com"))
    exposition = start_exposition(metrics, "127.0.0.1", 0)
    try:
        text = scrape("127.0.0.1", exposition.port)
    finally:
        exposition.close()
    assert parse(text)[("acnsd_zone_queries_total", (("zone", "example.com."),))] == 1
    assert "process_resident_memory_bytes" in text
    promtool_check(text)


def test_promtool_lints_names():
    """The lint is real: a counter without `_total` and a non-base unit are refused."""
    bad = "# HELP acnsd_x_count x\n# TYPE acnsd_x_count counter\nacnsd_x_count 1\n"
    with pytest.raises(AssertionError, match="_total"):
        promtool_check(bad)


def test_without_an_exposition_nothing_is_counted(example):
    loaded, holder = example
    metrics = Metrics(counting=False)
    respond_udp = counting_responder(metrics, holder, Transport.UDP, "ipv4", None)
    with_log = counting_responder(metrics, holder, Transport.UDP, "ipv4", None, query_log=True)
    for responder in (respond_udp, with_log):
        reply = dns.message.from_wire(responder(query("www.example.com")))
        assert reply.answer
    assert sum(metrics.counters.queries) == 0 and metrics.counters.zones == {}
