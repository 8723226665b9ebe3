"""logs.py: one line per record, the JSON fields, the rate limit and its summary line."""

from __future__ import annotations

import io
import json
import logging
import re

import dns.message
import pytest
from acnsd.daemon.logs import RateLimitFilter, command_line, configure, fields, query_line


@pytest.fixture
def stream():
    """A configured root handler writing to a buffer; removed after the test."""
    out = io.StringIO()
    handlers = []

    def setup(fmt: str = "plain", **options) -> io.StringIO:
        handlers.append(configure(fmt, stream=out, **options))
        return out

    yield setup
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


def test_fields_of_an_event_message():
    assert fields("event=reload result=ok reason='no such file' n=3") == {
        "event": "reload",
        "result": "ok",
        "reason": "no such file",
        "n": "3",
    }
    assert fields("internal error answering a query") is None


def test_plain_is_one_line_even_with_a_traceback(stream):
    out = stream("plain")
    log = logging.getLogger("acnsd.test.plain")
    log.info("event=ready listeners=%d", 2)
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        log.exception("event=internal_error where=test")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO acnsd\[\d+\] event=ready listeners=2",
        lines[0],
    )
    assert " ERROR acnsd[" in lines[1] and "ValueError" in lines[1]


def test_json_lines_carry_the_pairs_as_fields(stream):
    out = stream("json")
    logging.getLogger("acnsd.test.json").warning(
        "event=skipped address=%s reason=%r", "127.0.0.9:53", "not here"
    )
    doc = json.loads(out.getvalue())
    assert doc["level"] == "WARNING"
    assert doc["logger"] == "acnsd.test.json"
    assert doc["event"] == "skipped"
    assert doc["address"] == "127.0.0.9:53"
    assert doc["reason"] == "not here"
    assert doc["time"].endswith("Z")


def test_json_numbers_are_numbers_and_quoted_values_text(stream):
    """Issue 20: every JSON value was a string, so `jq '.zones > 100'` compared text."""
    out = stream("json")
    logging.getLogger("acnsd.test.json").warning(
        "event=loaded zones=%d took=%.3f port=%r serial=%s name=%s", 12, 0.25, "53", "-7", "x1")
    doc = json.loads(out.getvalue())
    assert (doc["zones"], doc["took"], doc["port"], doc["serial"], doc["name"]) == (
        12, 0.25, "53", -7, "x1")


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        configure("xml")


def test_a_flood_is_cut_to_the_burst_then_summarised(stream):
    now = [0.0]
    out = stream("plain")
    handler = logging.getLogger().handlers[-1]
    handler.filters.clear()
    handler.addFilter(RateLimitFilter(handler.handle, burst=3, interval=10.0, clock=lambda: now[0]))
    log = logging.getLogger("acnsd.test.flood")
    for i in range(1000):
        log.warning("event=tcp_refused peer=%s", f"127.0.0.1:{i}")
    log.error("event=other_error")  # another kind has its own allowance
    assert len(out.getvalue().splitlines()) == 4
    now[0] = 11.0
    log.info("event=tick")  # any record after the interval brings the summary
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert "event=log_suppressed logger=acnsd.test.flood count=997 seconds=11" in lines[4]
    assert "event=tick" in lines[5]
    log.warning("event=tcp_refused peer=%s", "again")  # a new interval lets it through
    assert "peer=again" in out.getvalue().splitlines()[-1]


def test_info_records_are_never_limited(stream):
    out = stream("plain", burst=1)
    log = logging.getLogger("acnsd.test.info")
    for _ in range(50):
        log.info("event=reload result=ok")
    assert len(out.getvalue().splitlines()) == 50


def test_query_log_is_off_unless_switched_on(stream):
    out = stream("plain")
    logging.getLogger("acnsd.query").info("event=query")
    assert out.getvalue() == ""
    out = stream("plain", query_log=True)
    logging.getLogger("acnsd.query").info("event=query")
    assert "event=query" in out.getvalue()


def test_query_line_names_the_question():
    wire = dns.message.make_query("WWW.Example.com", "AAAA").to_wire()
    line = query_line("udp", "ipv6", None, wire, 120, "answer", "NOERROR", "example.com.")
    assert fields(line) == {
        "event": "query", "transport": "udp", "family": "ipv6", "view": "-",
        "qname": "WWW.Example.com.", "qtype": "AAAA", "outcome": "answer",
        "rcode": "NOERROR", "size": "120", "zone": "example.com.",
    }  # fmt: skip
    assert 'qname="-" qtype=-' in query_line(
        "udp", "ipv4", None, b"\x00" * 5, None, "dropped", "none", None
    )


def test_command_line_options_win_over_the_configuration(stream):
    command_line("json", query_log=True)
    try:
        out = stream("plain", query_log=False)  # what the configuration says
        logging.getLogger("acnsd.query").info("event=query qname=x.")
    finally:
        command_line()
    assert json.loads(out.getvalue())["event"] == "query"
