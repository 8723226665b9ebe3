"""NOTIFY (RFC 1996) to the configured secondaries whenever a zone's serial changes.

The rules owned here: each secondary (`server.notify`) is sent, per zone whose serial
changed, a NOTIFY query (opcode NOTIFY, AA set, the zone's apex and SOA in the question,
§3.7), signed with its key when it names one, over UDP. Without an answer within WAIT
seconds it is sent again, the wait doubling, TRIES times in all (§3.6: retried); an
answer other than NOERROR ends the tries as a failure. A newer NOTIFY of the same zone to
the same secondary replaces one still being tried. At most CONCURRENT are in flight, so
a reload that changes 10,000 zones queues rather than floods. Sent and failed NOTIFYs are
counted (TransferCounters.notifies); a failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype

from ..dns.compiler import LazyZone, Tables
from ..model.types import NotifyTarget
from .primary import TransferCounters
from .tsig import Keyring

__all__ = ["CONCURRENT", "TRIES", "WAIT", "Notifier", "changed_zones"]

log = logging.getLogger("acnsd.xfr")

TRIES = 5
WAIT = 1.0  # seconds before the first retry; doubled each time
CONCURRENT = 32


def changed_zones(old: Tables, new: Tables, keys: Iterable[bytes] | None = None) -> list[str]:
    """The apexes ("example.com.") of the zones of `new` whose serial is not `old`'s (a
    zone new to the tables included), among `keys` (None: every zone), and of every
    catalog zone whose serial changed. Zones the delta kept are the same objects: skipped
    at once."""
    changed = _changed(old.zones, new.zones, keys)
    if new.catalogs is not None and new.catalogs is not old.catalogs:
        changed += _changed({} if old.catalogs is None else old.catalogs.zones,
                            new.catalogs.zones, None)
    return changed


def _changed(old_zones: Mapping[bytes, LazyZone], zones: Mapping[bytes, LazyZone],
             keys: Iterable[bytes] | None) -> list[str]:
    changed = []
    items = zones.items() if keys is None else (
        (key, zone) for key in keys if (zone := zones.get(key)) is not None)
    for key, zone in items:
        before = old_zones.get(key)
        if before is zone:
            continue
        if before is None or before.serial != zone.serial:  # (not compiled for it)
            changed.append(zone.name)
    return changed


class Notifier:
    """Sends the NOTIFYs of the serving process (only one process of --workers)."""

    def __init__(self, counters: TransferCounters) -> None:
        self.counters = counters
        self.targets: tuple[NotifyTarget, ...] = ()
        self.keys: Keyring = {}
        self._limit = asyncio.Semaphore(CONCURRENT)
        self._tasks: dict[tuple[str, NotifyTarget], asyncio.Task[None]] = {}

    def configure(self, targets: tuple[NotifyTarget, ...], keys: Keyring) -> None:
        self.targets, self.keys = targets, keys

    def notify(self, apexes: Iterable[str]) -> None:
        """Tell every secondary that these zones changed."""
        loop = asyncio.get_running_loop()
        for apex in apexes:
            for target in self.targets:
                running = self._tasks.pop((apex, target), None)
                if running is not None:
                    running.cancel()
                task = loop.create_task(self._send(apex, target))
                self._tasks[apex, target] = task
                task.add_done_callback(lambda t, k=(apex, target): self._done(k, t))

    def _done(self, key: tuple[str, NotifyTarget], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _send(self, apex: str, target: NotifyTarget) -> None:
        where = f"{target.host}:{target.port}"
        async with self._limit:
            wait = WAIT
            reason = "timeout"
            for _ in range(TRIES):
                query = dns.message.make_query(apex, dns.rdatatype.SOA)
                query.flags = dns.flags.AA  # RD cleared (§3.7)
                query.set_opcode(dns.opcode.NOTIFY)  # (flags hold the opcode: set after)
                if target.key is not None:
                    name = dns.name.from_text(target.key)
                    query.use_tsig(self.keys[name], name)
                try:
                    answer = await dns.asyncquery.udp(query, target.host, timeout=wait,
                                                      port=target.port)
                except dns.exception.Timeout:
                    wait *= 2
                    continue
                except (OSError, dns.exception.DNSException) as exc:
                    reason = type(exc).__name__
                    await asyncio.sleep(wait)
                    wait *= 2
                    continue
                if answer.rcode() == dns.rcode.NOERROR:
                    self.counters.notifies["sent"] += 1
                    log.info("event=notify_sent zone=%s target=%s", apex, where)
                    return
                reason = dns.rcode.to_text(answer.rcode())
                break
            self.counters.notifies["failed"] += 1
            log.warning("event=notify_failed zone=%s target=%s reason=%s", apex, where, reason)
