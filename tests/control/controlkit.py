"""The oracle of the scoped checks (issue 16 step 3): each change is judged by
control.rules.check over the index and by load() over the configuration with the change
made; they must give the same verdict (accepted or refused, and then the same problems with
message, file, line, YAML path, rule, accounts and tenant message). After an accepted
change the index must equal an index built afresh from that configuration, and every zone
whose served content changed must be among those the verdict rebuilds."""

from __future__ import annotations

import copy
import re
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from acnsd.control.change import (
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    Verdict,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneFileChanged,
    ZoneSettingsChanged,
)
from acnsd.control.index import ModelIndex, Recorded
from acnsd.control.rules import OutOfScope, apply, check
from acnsd.dns.wire import decode_rrset
from acnsd.errors import ConfigError
from acnsd.model import assign
from acnsd.model.config import Loaded, load
from acnsd.model.names import normalize
from acnsd.model.recording import read_state
from acnsd.model.yamlsrc import parse
from hypothesis import event
from modelkit import DEFAULT_ZONE, Env

TEMPLATE = "; created empty by the management API\n"
ENTRY = re.compile(r"accounts\[(\d+)\]\.(zones|custom_nameservers)\[(\d+)\]")


def edit(cfg: dict[str, Any], change: Any) -> dict[str, Any]:
    """The configuration with `change` made, as the management API writes it."""
    cfg = copy.deepcopy(cfg)
    accounts = cfg["accounts"]
    account = next((a for a in accounts if a["id"] == getattr(change, "account", None)), None)
    entry = next((z for a in accounts for z in a.get("zones") or []
                  if normalize(str(z["name"])) == getattr(change, "zone", None)), None)
    match change:
        case NameserverAdded():
            account.setdefault("custom_nameservers", []).append(
                {"ns_name": change.ns_name, "ns_set": change.ns_set})
        case NameserverRemoved():
            account["custom_nameservers"] = [
                ns for ns in account.get("custom_nameservers") or []
                if normalize(str(ns["ns_name"])) != change.ns_name]
        case ZoneDefaultsChanged():
            settings_ = account.setdefault("dns_settings", {})
            if change.zone_defaults is None:
                settings_.pop("zone_defaults", None)
            else:
                settings_["zone_defaults"] = change.zone_defaults
        case ZoneCreated():
            account.setdefault("zones", []).append({"name": change.name})
        case ZoneDeleted():
            for a in accounts:
                a["zones"] = [z for z in a.get("zones") or [] if z is not entry]
        case ZoneSettingsChanged():
            if change.dns_settings is None:
                entry.pop("dns_settings", None)
            else:
                entry["dns_settings"] = change.dns_settings
        case VanityNamesChanged():
            if change.names:
                entry["vanity_name_servers"] = change.names
            else:
                entry.pop("vanity_name_servers", None)
    return cfg


class FirstPair:
    """R6's draw of a standard pair, made the same for the scoped check and load()."""

    def sample(self, names: list[str], k: int) -> list[str]:
        return names[:k]


@contextmanager
def deterministic_draws():
    with mock.patch.object(assign.random, "SystemRandom", FirstPair):
        yield


def start(env: Env, cfg: dict[str, Any], files: dict[str, str]) -> Loaded:
    """`cfg` loaded, less the entries (and zone files) load() refuses, a few times over;
    else its accounts alone, which always load. (`cfg` and `files` are changed.)"""
    for _ in range(6):
        try:
            return env.load(cfg, files)
        except ConfigError as exc:
            refused = exc.problems
        doomed: set[tuple[int, str, int]] = set()
        for problem in refused:
            where = ENTRY.match(problem.path or "")
            if where:
                doomed.add((int(where[1]), where[2], int(where[3])))
            elif problem.file and problem.file.endswith(".zone"):
                files[Path(problem.file).name[:-len(".zone")]] = DEFAULT_ZONE
        for account, key, item in sorted(doomed, reverse=True):
            del cfg["accounts"][account][key][item]
    event("started from the accounts alone")
    cfg["accounts"] = [{"id": a["id"], "name": a["name"]} for a in cfg["accounts"]]
    return env.load(cfg, files)


def build(env: Env, loaded: Loaded) -> ModelIndex:
    return ModelIndex.build(loaded, Recorded.of(read_state(env.state_file)))


def served(loaded: Loaded) -> dict[str, list[str]]:
    """Each zone's served records as text, for comparing two loads."""
    return {plan.origin.to_text(): sorted(decode_rrset(r).to_text() for r in plan.rrsets)
            for plan in loaded.plan.zones}


class Oracle:
    """A configuration directory and the index of its accepted configuration: each change
    is judged by check() and by load(), which must agree, then applied to the index, which
    must then equal an index built afresh."""

    def __init__(self, env: Env, cfg: dict[str, Any], loaded: Loaded):
        self.env, self.cfg, self.loaded = env, cfg, loaded
        self.index = build(env, loaded)

    def judge(self, change: Any, content: str | None = TEMPLATE) -> tuple[Verdict | None, bool]:
        """The verdict on `change` (None: out of scope) and whether load() accepted it;
        `content` is the zone file the change writes (None: none at all)."""
        new_cfg = edit(self.cfg, change)
        text = yaml.safe_dump(new_cfg, sort_keys=False)
        self.env.path.write_text(text, encoding="utf-8")
        zone_file = self._zone_file(change)
        saved = zone_file.read_text() if zone_file and zone_file.exists() else None
        if zone_file is not None:
            if content is None:
                zone_file.unlink(missing_ok=True)
            else:
                zone_file.write_text(content, encoding="utf-8")
        try:
            verdict = check(self.index, change, parse(text, str(self.env.path)).problem)
        except OutOfScope:
            verdict = None
        forget = [change.zone] if isinstance(change, ZoneDeleted) else []
        try:
            after = load(self.env.path, forget=forget)
            expected = []
        except ConfigError as exc:
            after, expected = None, exc.problems
        if verdict is not None:
            assert Counter(verdict.problems) == Counter(expected), (change, verdict.problems)
        if after is None:
            if zone_file is not None and saved is not None:
                zone_file.write_text(saved, encoding="utf-8")  # the file put back
            self.env.path.write_text(yaml.safe_dump(self.cfg, sort_keys=False))
            return verdict, False
        if verdict is None:
            self.index = build(self.env, after)
        else:
            for warning in verdict.warnings:
                assert warning in after.warnings
            before_served, after_served = served(self.loaded), served(after)
            changed = {name.rstrip(".") for name in after_served
                       if before_served.get(name) != after_served[name]}
            assert changed <= verdict.rebuild, (change, changed - verdict.rebuild)
            apply(self.index, verdict)
            assert self.index.facts() == build(self.env, after).facts(), change
        self.cfg, self.loaded = new_cfg, after
        return verdict, True

    def _zone_file(self, change: Any) -> Path | None:
        """The zone file a change writes: a created zone's, or the one a reload finds
        changed."""
        zones_dir = self.env.zones_dir(self.cfg)
        if isinstance(change, ZoneFileChanged):
            return next(Path(z.file) for z in self.loaded.model.zones if z.name == change.zone)
        if writes_file(change):
            return zones_dir / f"{normalize(change.name)}.zone"
        return None


def writes_file(change: Any) -> bool:
    """Whether a change writes a zone file: a zone created with a name its file can have,
    or a zone file changed."""
    if isinstance(change, ZoneFileChanged):
        return True
    if not isinstance(change, ZoneCreated) or not isinstance(change.name, str):
        return False
    name = normalize(change.name)
    return bool(name) and "/" not in name and " " not in name and name != "@"
