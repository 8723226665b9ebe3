"""Log output: one line per event, in a stable format, and never a flood.

The rule this module owns: every log record becomes exactly one line on the log stream,
plain text (`TIME LEVEL acnsd[PID] MESSAGE`, newlines escaped) or a JSON object per line
(`--log-format json`); messages are `event=NAME key=value ...`, and in JSON each such
pair is also a field. Records of WARNING and above are rate-limited per (logger,
message template): at most `burst` lines per `interval` seconds pass, the rest are
counted and reported by one `event=log_suppressed` line once the interval is over, so a
flood of bad packets or refused connections cannot fill the disk. Queries are logged
(logger `acnsd.query`, one INFO line each) only when the query log is switched on.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

import dns.exception
import dns.name
import dns.rdatatype

__all__ = [
    "FORMATS",
    "QUERY_LOGGER",
    "JsonFormatter",
    "PlainFormatter",
    "RateLimitFilter",
    "command_line",
    "configure",
    "fields",
    "query_line",
]

FORMATS = ("plain", "json")
QUERY_LOGGER = "acnsd.query"
BURST = 10  # lines of one kind let through per interval
INTERVAL = 60.0  # seconds

# key=value pairs: the value is a quoted string (repr or JSON style) or runs to a space
_PAIR = re.compile(r"""([A-Za-z_][\w.]*)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S*)(?:\s+|$)""")


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def fields(message: str, *, typed: bool = False) -> dict[str, str | int | float] | None:
    """The key=value pairs of an `event=... key=value` message, quotes removed; None when
    the message is not entirely made of such pairs. With `typed`, an unquoted number is
    an int or a float (a quoted one stays text)."""
    out: dict[str, str | int | float] = {}
    position = 0
    while position < len(message):
        match = _PAIR.match(message, position)
        if match is None or match.end() == position:
            return None
        key, value = match.group(1), match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            out[key] = value[1:-1]
        elif typed and (number := _NUMBER.fullmatch(value)):
            out[key] = float(value) if number.group(1) else int(value)
        else:
            out[key] = value
        position = match.end()
    return out or None


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    """The message with its traceback, if any, appended."""
    text = record.getMessage()
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    if record.exc_text:
        text = f"{text} exception={record.exc_text!r}"
    return text


class PlainFormatter(logging.Formatter):
    """`2026-11-27T16:30:00.123Z INFO acnsd[42] event=ready listeners=2` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        text = _text(self, record).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"{_timestamp(record)} {record.levelname} acnsd[{record.process}] {text}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, msg, and the message's pairs."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        doc: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": message,
        }
        for key, value in (fields(message, typed=True) or {}).items():
            doc.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class RateLimitFilter(logging.Filter):
    """Lets `burst` records per (logger, template) through per `interval` seconds.

    Records below `level` always pass. A suppressed kind is reported once its interval
    is over by one summary record handed to `emit` (the handler's `handle`), checked
    whenever any record passes through, so the count is not lost when the flood stops
    and a record of any kind follows.
    """

    def __init__(
        self,
        emit: Callable[[logging.LogRecord], object],
        *,
        burst: int = BURST,
        interval: float = INTERVAL,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._burst = burst
        self._interval = interval
        self._level = level
        self._clock = clock
        self._lock = threading.RLock()
        # (logger, template) → [window start, records seen in the window, a sample record]
        self._windows: dict[tuple[str, str], list] = {}
        self._next_sweep = math.inf  # when the oldest window closes

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "acnsd_summary", False):
            return True
        with self._lock:
            now = self._clock()
            due = self._expired(now) if now >= self._next_sweep else []
            passed = True
            if record.levelno >= self._level:
                key = (record.name, str(record.msg))
                window = self._windows.get(key)
                if window is None:
                    self._windows[key] = [now, 1, record]
                    self._next_sweep = min(self._next_sweep, now + self._interval)
                else:
                    window[1] += 1
                    passed = window[1] <= self._burst
        for summary in due:
            self._emit(summary)
        return passed

    def _expired(self, now: float) -> list[logging.LogRecord]:
        """Close every window older than the interval; a summary for each that dropped."""
        summaries = []
        self._next_sweep = math.inf
        for key, (start, seen, sample) in list(self._windows.items()):
            if now - start < self._interval:
                self._next_sweep = min(self._next_sweep, start + self._interval)
                continue
            del self._windows[key]
            if seen > self._burst:
                summaries.append(self._summary(sample, seen - self._burst, now - start))
        return summaries

    def _summary(self, sample: logging.LogRecord, count: int, seconds: float) -> logging.LogRecord:
        record = logging.LogRecord(
            sample.name,
            logging.WARNING,
            sample.pathname,
            sample.lineno,
            "event=log_suppressed logger=%s count=%d seconds=%.0f template=%r",
            (sample.name, count, seconds, str(sample.msg)),
            None,
        )
        record.acnsd_summary = True
        return record


# --log-format and --query-log, recorded by the command line: they win over the config
_command_line: dict[str, object] = {}


def command_line(log_format: str | None = None, query_log: bool = False) -> None:
    """Record the command line's --log-format and --query-log; every later `configure`
    uses them instead of what the configuration says (server.log_format, query_log)."""
    _command_line.clear()
    if log_format is not None:
        _command_line["log_format"] = log_format
    if query_log:
        _command_line["query_log"] = True


def configure(
    log_format: str = "plain",
    *,
    query_log: bool = False,
    stream: TextIO | None = None,
    level: int = logging.INFO,
    burst: int = BURST,
    interval: float = INTERVAL,
) -> logging.Handler:
    """Send every acnsd log record to `stream` (stderr) as one line in `log_format`,
    replacing the handler an earlier call installed; the handler is returned. Options
    given on the command line (`command_line`) take precedence."""
    log_format = str(_command_line.get("log_format", log_format))
    query_log = bool(_command_line.get("query_log", query_log))
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "acnsd_handler", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.acnsd_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    handler.addFilter(RateLimitFilter(handler.handle, burst=burst, interval=interval))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(QUERY_LOGGER).setLevel(logging.INFO if query_log else logging.WARNING)
    return handler


def query_line(
    transport: str,
    family: str,
    view: str | None,
    query: bytes,
    size: int | None,
    outcome: str,
    rcode: str,
    zone: str | None,
) -> str:
    """The query log's line for one query: what was asked and how it was answered."""
    try:
        qname, used = dns.name.from_wire(query, 12)
        qname_text = qname.to_text()
        end = 12 + used
        qtype = dns.rdatatype.to_text((query[end] << 8) | query[end + 1])
    except (dns.exception.DNSException, IndexError):
        qname_text, qtype = "-", "-"
    return (
        f"event=query transport={transport} family={family} view={view or '-'} "
        f"qname={json.dumps(qname_text)} qtype={qtype} outcome={outcome} rcode={rcode} "
        f"size={size if size is not None else '-'} zone={zone or '-'}"
    )
