"""The secondary side: zones transferred in from the primaries and kept up to date.

The rules owned here (RFC 1034 §4.3.5, RFC 1995, RFC 1996, RFC 5936, RFC 9432), as Knot
DNS follows them:

- The zones followed are `server.secondary.zones` and the members of the catalog zones
  `server.secondary.catalogs`: the PTR targets at `<unique-id>.zones.<catalog>` (RFC 9432
  §4.1); a catalog whose `version` TXT is not "2" lends none (§5.1, as Knot). A catalog
  is transferred and followed as a zone, never served. A zone that leaves every list is
  no longer served and its copy is removed; a new one is transferred at once.
- At start, each zone's copy on disk (copies.py) is served before any primary is asked.
  A copy that cannot be written (logged) is served all the same.
- A zone is checked at start, REFRESH seconds (its SOA's) after each check, and at once on
  a NOTIFY: the primaries are asked in order for its SOA (over UDP, over TCP when the
  answer is truncated), signed with their key. A serial after ours (RFC 1982) starts a
  transfer from that primary over TCP: IXFR from our serial when we hold a copy (the
  primary may answer it whole, RFC 1995 §4), else AXFR. The zone is written to disk, then
  served. A serial not after ours confirms the copy.
- When no primary answers, or a transfer fails, the zone is checked again after RETRY
  seconds (FIRST_RETRY before a first copy); once no primary has confirmed the copy for
  EXPIRE seconds, the zone is no longer served (expired) until a check succeeds. A zone
  followed with nothing to serve (not transferred yet, or expired) is SERVFAIL, as Knot
  DNS answers (Tables.unavailable); a zone no longer followed is REFUSED.
- A NOTIFY (RFC 1996 §3.7, §4.7) for a zone followed, unsigned or signed with a key a
  primary is configured with (xfr/primary.py has checked the signature), is answered
  NOERROR and checks the zone at once; any other NOTIFY is answered NOTAUTH (as Knot DNS
  without a matching ACL).
- At most CHECKS SOA checks and TRANSFERS transfers run at once. Transfers are counted
  by the kind received and the result; the lag is the number of serials the copy is
  behind the primary's SOA, as last seen, per zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.xfr
import dns.zone

from ..aio import off_loop
from ..dns.delta import ZoneDelta
from ..dns.plan import ZonePlan
from ..errors import ConfigError
from ..model.journal import SERIAL_SPACE, serial_gt
from ..model.types import PrimaryServer, SecondaryConfig
from . import copies
from .copies import Copy
from .primary import KINDS
from .tsig import Keyring

__all__ = ["CHECKS", "FIRST_RETRY", "RESULTS", "TRANSFERS", "Secondary", "SecondaryCounters",
           "catalog_members"]

log = logging.getLogger("acnsd.xfr")

TRANSFERS = 10  # transfers in at once
CHECKS = 100  # SOA checks at once (a start with 10,000 zones queues them)
FIRST_RETRY = 10.0  # seconds between the checks of a zone of which we have no copy
TIMEOUT = 5.0  # seconds to wait for an SOA answer or for a transfer's next message
LIFETIME = 600.0  # seconds a whole transfer may take
RESULTS = ("ok", "refused", "failed")  # refused: an error rcode or a TSIG error from it
# (the zones to serve or no longer serve, the apexes with nothing to serve) → done
Publish = Callable[[tuple[ZoneDelta, ...], frozenset[bytes]], Awaitable[None]]
_SOA = dns.rdatatype.SOA
_PTR = dns.rdatatype.PTR
_TXT = dns.rdatatype.TXT


class SecondaryCounters:
    """Plain integers, read by the metrics collector at scrape time."""

    def __init__(self) -> None:
        self.transfers = {(kind, result): 0 for kind in KINDS for result in RESULTS}


@dataclass(eq=False)
class _Zone:
    """One zone followed."""

    apex: str  # "example.com": lower-case, no final dot
    catalog: bool  # a catalog zone: followed for its members, not served
    copy: Copy | None = None
    confirmed: float = 0.0  # unix time a primary last confirmed the copy
    plan: ZonePlan | None = None  # what the tables serve of the copy; None: not served
    lag: int = 0  # serials behind the primary, as last seen
    notified: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def served(self) -> bool:
        return self.plan is not None

    @property
    def key(self) -> bytes:
        return dns.name.from_text(self.apex).to_wire().lower()  # type: ignore[union-attr]

    def expired(self, now: float) -> bool:
        return self.copy is None or now - self.confirmed > copies.soa_of(self.copy).expire


def catalog_members(catalog: dns.zone.Zone) -> list[str]:
    """The member zones of a catalog (RFC 9432 §4.1), lower-case without the final dot;
    none unless its version is "2" (§4.2.1)."""
    origin = catalog.origin
    version = catalog.get_rdataset(dns.name.from_text("version", origin), _TXT)  # type: ignore[arg-type]
    if version is None or not any(b"".join(txt.strings) == b"2" for txt in version):
        return []
    zones = dns.name.from_text("zones", origin)  # type: ignore[arg-type]
    return sorted({ptr.target.to_text().lower().rstrip(".")
                   for name, node in catalog.items()
                   if name.parent() == zones  # <unique-id>.zones.<catalog>
                   for rdataset in node if rdataset.rdtype == _PTR for ptr in rdataset})


class Secondary:
    """Follows the zones of `server.secondary` and hands the tables what changes."""

    def __init__(self, config: SecondaryConfig, keys: Keyring, publish: Publish) -> None:
        self.config = config
        self.keys = keys
        self.counters = SecondaryCounters()
        self._publish = publish
        self._zones: dict[str, _Zone] = {}
        self._limit = asyncio.Semaphore(TRANSFERS)
        self._checks = asyncio.Semaphore(CHECKS)
        self._updating = asyncio.Lock()
        self._update: asyncio.Task[None] | None = None  # held: a task only the loop holds
        self._unavailable: frozenset[bytes] = frozenset()  # as the tables last had it

    def configure(self, config: SecondaryConfig, keys: Keyring) -> None:
        """Adopt a reloaded configuration: zones added are followed, those gone dropped."""
        self.config, self.keys = config, keys
        self._update_soon()

    async def start(self) -> None:
        """Serve the copies on disk, then follow every zone."""
        await self.update()

    def _update_soon(self) -> None:
        self._update = asyncio.get_running_loop().create_task(self.update())

    def close(self) -> None:
        if self._update is not None:
            self._update.cancel()
        for zone in self._zones.values():
            if zone.task is not None:
                zone.task.cancel()

    def unavailable(self) -> frozenset[bytes]:
        """The apexes of the zones followed with nothing to serve (lower-cased wire)."""
        return frozenset(zone.key for zone in self._zones.values()
                         if not zone.served and not zone.catalog)

    def deltas(self) -> tuple[ZoneDelta, ...]:
        """Every zone served from a copy (for tables compiled whole: serve.py)."""
        return tuple(ZoneDelta(zone.key, zone.plan) for zone in self._zones.values()
                     if zone.plan is not None)

    def lags(self) -> dict[str, int]:
        """Serials behind the primary, by zone (catalogs included)."""
        return {zone.apex: zone.lag for zone in list(self._zones.values())}

    def states(self) -> dict[str, int]:
        """How many zones are served, expired, or not transferred yet."""
        counts = {"served": 0, "expired": 0, "pending": 0}
        for zone in list(self._zones.values()):  # read by the exposition's thread
            if not zone.catalog:
                state = ("served" if zone.served else
                         "pending" if zone.copy is None else "expired")
                counts[state] += 1
        return counts

    def notify(self, apex: str, key: str | None) -> int:
        """The rcode answering a NOTIFY for `apex` (lower-case, no final dot) signed with
        `key` (verified; None: unsigned); a zone followed is checked at once."""
        zone = self._zones.get(apex)
        if zone is None or all(primary.key != key for primary in self.config.primaries):
            return dns.rcode.NOTAUTH
        zone.notified.set()
        return dns.rcode.NOERROR

    async def update(self) -> None:
        """Follow exactly the zones configured and the catalogs' members."""
        async with self._updating:
            for apex in self.config.catalogs:
                if apex not in self._zones:
                    await self._add(apex, catalog=True)
            wanted = self._wanted()
            changes = []
            for apex in [apex for apex in self._zones if apex not in wanted]:
                gone = self._zones.pop(apex)
                if gone.task is not None:
                    gone.task.cancel()
                await off_loop(copies.remove, self.config.directory, apex)
                if gone.served:
                    changes.append(ZoneDelta(gone.key, None))
                log.info("event=secondary_zone_dropped zone=%s", apex)
            now = time.time()
            added = []
            for apex, catalog in wanted.items():
                if apex not in self._zones:
                    zone = await self._add(apex, catalog)
                    if zone.copy is not None and not catalog and not zone.expired(now):
                        zone.plan = await off_loop(copies.plan_of, zone.copy)
                        added.append(zone)
                        changes.append(ZoneDelta(zone.key, zone.plan))
            if changes or self.unavailable() != self._unavailable:
                if not await self._to_tables(changes):
                    for zone in added:
                        zone.plan = None
            for zone in self._zones.values():
                if zone.task is None:
                    zone.task = asyncio.get_running_loop().create_task(self._follow(zone))

    def _wanted(self) -> dict[str, bool]:
        """Each zone to follow → whether it is a catalog: the zones configured, the
        members of the catalogs held, the catalogs."""
        wanted = dict.fromkeys(self.config.zones, False)
        for apex in self.config.catalogs:
            held = self._zones[apex].copy
            wanted.update(dict.fromkeys(catalog_members(held) if held else (), False))
        wanted.update(dict.fromkeys(self.config.catalogs, True))
        return wanted

    async def _add(self, apex: str, catalog: bool) -> _Zone:
        zone = self._zones[apex] = _Zone(apex, catalog)
        loaded = await off_loop(copies.load, self.config.directory, apex)
        if loaded is not None:
            zone.copy, zone.confirmed = loaded
        return zone

    async def _to_tables(self, changes: list[ZoneDelta]) -> bool:
        """Hand the tables `changes`; False (logged) when a zone cannot be served."""
        unavailable = self.unavailable()
        try:
            await self._publish(tuple(changes), unavailable)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("event=secondary_zone_unservable %s", problem)
            return False
        self._unavailable = unavailable
        return True

    async def _serve(self, zone: _Zone, plan: ZonePlan) -> None:
        zone.plan = plan  # not unavailable any more
        if not await self._to_tables([ZoneDelta(zone.key, plan)]):
            zone.plan = None

    async def _follow(self, zone: _Zone) -> None:
        """Check the zone now, then whenever its timers or a NOTIFY say."""
        wait = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(zone.notified.wait(), wait)
            zone.notified.clear()
            try:
                wait = await self._refresh(zone)
            except Exception:
                log.exception("event=secondary_refresh_failed zone=%s", zone.apex)
                wait = FIRST_RETRY

    async def _refresh(self, zone: _Zone) -> float:
        """Check the zone with each primary until one confirms or updates it; the seconds
        until the next check."""
        for primary in self.config.primaries:
            serial = await self._soa(zone.apex, primary)
            if serial is None:
                continue
            held = None if zone.copy is None else copies.soa_of(zone.copy).serial
            if held is not None and not serial_gt(serial, held):
                zone.lag = 0
                zone.confirmed = time.time()
                await off_loop(copies.touch, self.config.directory, zone.apex)
                if not zone.served and not zone.catalog:  # expired: served again
                    await self._serve(zone, await off_loop(copies.plan_of, zone.copy))
                return float(copies.soa_of(zone.copy).refresh)  # type: ignore[arg-type]
            zone.lag = (serial - held) % SERIAL_SPACE if held is not None else 0
            if await self._transfer(zone, primary, held):
                return float(copies.soa_of(zone.copy).refresh)  # type: ignore[arg-type]
        if zone.copy is None:
            return FIRST_RETRY
        soa = copies.soa_of(zone.copy)
        now = time.time()
        if zone.served and zone.expired(now):
            zone.plan = None
            await self._to_tables([ZoneDelta(zone.key, None)])
            log.warning("event=secondary_zone_expired zone=%s serial=%d", zone.apex, soa.serial)
        left = zone.confirmed + soa.expire - now
        return float(min(soa.retry, left)) if left > 0 else float(soa.retry)

    def _sign(self, query: dns.message.Message, primary: PrimaryServer) -> None:
        if primary.key is not None:
            name = dns.name.from_text(primary.key)
            query.use_tsig(self.keys[name], name)

    async def _soa(self, apex: str, primary: PrimaryServer) -> int | None:
        """The primary's serial for `apex`; None (logged) when it gives none."""
        query = dns.message.make_query(apex + ".", _SOA)
        query.flags = 0  # no RD
        self._sign(query, primary)
        where = f"{primary.host}:{primary.port}"
        try:
            async with self._checks:
                response, _ = await dns.asyncquery.udp_with_fallback(
                    query, primary.host, TIMEOUT, primary.port)
        except (OSError, dns.exception.DNSException) as exc:
            log.warning("event=secondary_soa_failed zone=%s primary=%s reason=%r", apex, where,
                        str(exc) or type(exc).__name__)
            return None
        rrset = response.get_rrset(response.answer, query.question[0].name,
                                   dns.rdataclass.IN, _SOA)
        if response.rcode() != dns.rcode.NOERROR or not rrset:
            log.warning("event=secondary_soa_failed zone=%s primary=%s rcode=%s", apex, where,
                        dns.rcode.to_text(response.rcode()))
            return None
        return rrset[0].serial  # type: ignore[no-any-return]

    async def _transfer(self, zone: _Zone, primary: PrimaryServer, held: int | None) -> bool:
        """Transfer the zone from `primary` (IXFR from `held`; None: AXFR), keep it on
        disk and serve it; whether that was done."""
        copy = zone.copy if zone.copy is not None else Copy(zone.apex + ".", relativize=False)
        query, _ = dns.xfr.make_query(copy, serial=held)
        self._sign(query, primary)
        asked = "axfr" if held is None else "ixfr"
        where = f"{primary.host}:{primary.port}"
        async with self._limit:
            try:
                await dns.asyncquery.inbound_xfr(primary.host, copy, query, port=primary.port,
                                                 timeout=TIMEOUT, lifetime=LIFETIME)
            except (dns.xfr.TransferError, dns.tsig.PeerError) as exc:
                self.counters.transfers[asked, "refused"] += 1
                log.warning("event=transfer_in_refused zone=%s primary=%s kind=%s reason=%r",
                            zone.apex, where, asked, str(exc) or type(exc).__name__)
                return False
            except (OSError, EOFError, dns.exception.DNSException) as exc:
                self.counters.transfers[asked, "failed"] += 1
                log.warning("event=transfer_in_failed zone=%s primary=%s kind=%s reason=%r",
                            zone.apex, where, asked, str(exc) or type(exc).__name__)
                return False
        kind = "axfr" if copy.replaced else "ixfr"
        serial = copies.soa_of(copy).serial
        try:
            await off_loop(copies.save, self.config.directory, copy)
        except OSError as exc:  # served all the same: newer than the copy on disk
            log.error("event=secondary_copy_unwritable zone=%s dir=%s reason=%r", zone.apex,
                      self.config.directory, exc.strerror)
        zone.copy, zone.confirmed, zone.lag = copy, time.time(), 0
        self.counters.transfers[kind, "ok"] += 1
        log.info("event=transfer_in zone=%s primary=%s kind=%s serial=%d", zone.apex, where,
                 kind, serial)
        if zone.catalog:
            self._update_soon()
        else:
            await self._serve(zone, await off_loop(copies.plan_of, copy))
        return True
