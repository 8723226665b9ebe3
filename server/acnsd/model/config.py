"""Loading a configuration: YAML → checked model → serve plan, all or nothing.

Rule owned here: `load()` either returns a model in which every rule R1-R11 holds, with
the plan the server will serve and every warning, or raises one ConfigError that lists
every problem found (file, line, YAML path, rule, and the account it lies in). Nothing is
half applied: the state (recording.py) is written only when the whole configuration is
valid, and only when asked, in one transaction; the plan served then carries the serials
the store decided.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import dns.rdatatype

from ..dns.plan import ServePlan, ServerOptions, View, ZonePlan
from ..dns.wire import decode_rrset
from ..errors import ConfigError, Problem, StateError
from .addresses import AddressRequest, assign_addresses
from .assign import check_names, resolve_zones
from .catalogs import catalog_members, catalog_plan
from .recording import FirstContents, read_state, record_state
from .schema import accounts_dir, read_config
from .state import State, StateFileError
from .store import StoreError
from .tenants import check_tenants
from .tree import MAIN, Overlay, Stamp, Tree, read_stamped
from .types import (
    NS_TTL_DEFAULT,
    SOA_DEFAULTS,
    Account,
    Model,
    NameAddress,
    ResolvedZone,
    ServerConfig,
    ZoneConfig,
)
from .yamlsrc import Source, parse
from .zonedata import ZoneFile, build_zone, read_zone_files, zone_files

__all__ = ["Loaded", "address_problem", "independent", "load", "owned", "read_server",
           "record", "reserved_addresses", "unresolved"]

Locate = Callable[[str, str, str | None], Problem]  # (path, message, rule) -> Problem


@dataclass(frozen=True)
class Loaded:
    model: Model
    plan: ServePlan
    warnings: list[Problem] = field(default_factory=list)
    # zone → records its files hold (an index built of the load takes it over and keeps
    # it up to date: control/index.py)
    records: dict[str, int] = field(default_factory=dict)
    # the configuration's YAML files read, each as it was when read: acnsd.yaml (tree.MAIN)
    # and the directory layout's files, by the names their YAML paths give them
    sources: Mapping[str, Stamp] = field(default_factory=dict)
    state: State | None = None  # what it decided, until recorded (`record`)


def load(path: str | os.PathLike[str], *, save_state: bool = True,
         forget: Collection[str] = (), overlay: Overlay | None = None,
         state_file: Path | None = None) -> Loaded:
    """Load and check a configuration; with save_state, record new decisions (R6, R7, R10)
    and the served content (`record`).

    `forget` names deleted zones: what the state recorded they received from the zone
    defaults is dropped (a zone of that name created later is a new zone, R6), unless one
    is still configured. Their serials are kept: a serial never goes back (R10).
    `overlay` gives the text of files (acnsd.yaml, and those of the directory layout) as a
    change would write them (by absolute path; None: the file removed), read instead of
    the files on disk.
    `state_file` replaces server.state_file (a copy of the configuration checked beside
    it reads the state of the original).
    """
    config_file = Path(path)
    source, stamp = _source(config_file, overlay or {})
    directory = accounts_dir(source)
    tree = None if directory is None else Tree(config_file, source, directory, overlay)
    try:
        loaded = _load(source, config_file, forget, tree, state_file)
    except ConfigError as exc:
        account_at = functools.partial(_account_at, source)
        raise ConfigError([owned(p, account_at) for p in exc.problems]) from None
    sources = {**({MAIN: stamp} if stamp else {}), **(tree.stamps if tree else {})}
    loaded = dataclasses.replace(loaded, sources=sources)
    return record(loaded) if save_state else loaded


def read_server(path: str | os.PathLike[str]) -> ServerConfig:
    """The configuration's server section alone (raises ConfigError when it is invalid)."""
    config_file = Path(path)
    server, _, problems = read_config(_source(config_file, {})[0], config_file)
    own = [p for p in problems if (p.path or "").split(".")[0] in ("", "server")]
    if server is None or own:
        raise ConfigError(own or problems)
    return server


def _source(config_file: Path, overlay: Overlay) -> tuple[Source, Stamp | None]:
    """The configuration file, parsed (raises ConfigError), and its stamp (None: the
    overlay's text)."""
    try:
        text, stamp = _read(config_file, overlay)
    except OSError as exc:
        raise ConfigError([Problem(f"cannot read the configuration: {exc.strerror}",
                                   file=str(config_file))]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError([Problem(f"the configuration is not UTF-8 text ({exc.reason})",
                                   file=str(config_file), line=line)]) from None
    return parse(text, str(config_file)), stamp


def _read(config_file: Path, overlay: Overlay) -> tuple[str, Stamp | None]:
    """acnsd.yaml's text (the overlay's, if it has it) and its stamp (None: overlaid)."""
    text = overlay.get(os.path.abspath(config_file))
    if text is not None:
        return text, None
    raw, stamp = read_stamped(config_file)
    return raw.decode("utf-8"), stamp


def record(loaded: Loaded, later: FirstContents | None = None) -> Loaded:
    """Record what a load decided (load() with save_state=False, then accepted): one
    transaction (with `later`, the contents of the zones not served yet are left to it:
    recording.FirstContents). Returns it recorded, its plan with the serials the store
    decided."""
    if loaded.state is None:
        raise ValueError("this load is recorded already")
    try:
        plans, catalogs = record_state(loaded.state, loaded.plan.zones,
                                       loaded.model.server.state_file, loaded.plan.catalogs,
                                       later=later)
    except StateError as exc:
        raise ConfigError([_state_problem(exc, None)]) from None
    plan = dataclasses.replace(loaded.plan, zones=plans, catalogs=catalogs)
    return dataclasses.replace(loaded, plan=plan, state=None)


def _load(source: Source, config_file: Path, forget: Collection[str], tree: Tree | None,
          state_file: Path | None) -> Loaded:
    """Every stage that can still run after an earlier one found problems does, so that
    `acnsd check` reports every problem at once: the rules over the entries the schema
    could read, and the zone files' syntax even when the rules failed. A problem that may
    only follow from an earlier one (a set short of a name the schema refused) is left
    out."""
    server, accounts, problems = read_config(source, config_file)
    if server is None:
        raise ConfigError(problems)
    if state_file is not None:
        server = dataclasses.replace(server, state_file=state_file)
    locate: Locate = source.problem
    warnings: list[Problem] = []
    if tree is not None:
        accounts, more = tree.read(server.zones_dir)
        problems += more
        warnings += tree.warnings
        locate = tree.problem
    problems += check_names(accounts, server, locate)
    try:
        state = read_state(server.state_file)
    except StateError as exc:
        raise ConfigError([*problems, _state_problem(exc, "R7")]) from None
    configured = {zone.name for account in accounts for zone in account.zones}
    for name in set(forget) - configured:
        state.zones.pop(name, None)
    problems += check_tenants(accounts, state, locate)
    zones, more, resolved = resolve_zones(accounts, server, state, locate)
    warnings += resolved
    problems += independent(more, problems)
    if problems:
        if not zones:  # the rules failed: the zone files are still read for their syntax
            zones = [unresolved(account, zone) for account in accounts
                     for zone in account.zones]
        raise ConfigError(problems + read_zone_files(zones, server, locate)[1])
    addresses, problems = _addresses(accounts, zones, server, state, locate)
    if problems:
        raise ConfigError(problems + read_zone_files(zones, server, locate)[1])
    plans, records, problems, more = _zone_plans(zones, addresses, state, server, locate)
    warnings += more
    if problems:
        raise ConfigError(problems)
    model = Model(config_file, server, accounts, tuple(zones), addresses,
                  tree.accounts_dir if tree else None)
    # with the serial recorded: what a load that does not record (a worker's) serves
    catalogs = [catalog_plan(name, members,
                             serial=entry.serial if (entry := state.serials.get(name)) else 0)
                for name, members in catalog_members(server, accounts, zones).items()]
    plan = ServePlan(
        zones=tuple(plans),
        listen=server.listen,
        views=plan_views(model) if server.serve_assigned_addresses else (),
        view_port=server.port,
        options=ServerOptions(
            edns_udp_size=server.edns_udp_size,
            nsid=server.nsid.encode() if server.nsid else None,
            chaos=server.chaos,
            tcp_idle_timeout=server.tcp_idle_timeout,
            tcp_frame_timeout=server.tcp_frame_timeout,
            tcp_max_connections=server.tcp_max_connections,
        ),
        catalogs=tuple(catalogs),
    )
    return Loaded(model, plan, warnings, records, state=state)


_ACCOUNT_PATH = re.compile(r"accounts\[(\d+)\]")
# Rules whose breach may only follow from an entry the schema refused: a set short of a
# name (R4), no set left for a new zone (R6)
_CONSEQUENTIAL = {"R4", "R6"}


def independent(later: list[Problem], earlier: list[Problem]) -> list[Problem]:
    """The problems of a later stage, less those that may follow from an earlier one: about
    a list an item of which was refused (too few vanity names once one is refused), or
    R4/R6 in an account where something was refused (a set short of a refused name)."""
    places = [(p.file, p.path) for p in earlier if p.path]
    troubled = {_account_key(p) for p in earlier if p.path} - {None}

    def follows(problem: Problem) -> bool:
        path = problem.path or ""
        if path and any(file == problem.file and other.startswith(path + "[")
                        for file, other in places):
            return True
        return (problem.rule in _CONSEQUENTIAL and bool(path)
                and _account_key(problem) in troubled)

    return [p for p in later if not follows(p)]


def _account_key(problem: Problem) -> str | None:
    """The account a located problem lies in: `accounts[i]` in the single file layout,
    the account of its file in the directory layout (tree.py names it)."""
    match = _ACCOUNT_PATH.match(problem.path or "")
    if match is not None:
        return match[0]
    return problem.accounts[0] if problem.accounts else None


def unresolved(account: Account, zone: ZoneConfig) -> ResolvedZone:
    """A zone whose nameservers could not be decided, for reading its zone file only."""
    return ResolvedZone.of(account.id, zone.name, zone.file, "", None, (), "",
                           NS_TTL_DEFAULT, SOA_DEFAULTS, False, zone.vanity_name_servers,
                           zone.source, zone.at)


def owned(problem: Problem, account_at: Callable[[int], str | None]) -> Problem:
    """The problem with the account its YAML path lies in, when it names none itself
    (`account_at`: the id of the account at a position of the `accounts` list, if any)."""
    match = _ACCOUNT_PATH.match(problem.path or "")
    if problem.accounts or match is None:
        return problem
    account = account_at(int(match[1]))
    return problem if account is None else dataclasses.replace(problem, accounts=(account,))


def _account_at(source: Source, index: int) -> str | None:
    entries = source.value.get("accounts") if isinstance(source.value, dict) else None
    if not isinstance(entries, list) or index >= len(entries):
        return None
    entry = entries[index]
    if not isinstance(entry, dict) or entry.get("id") is None:
        return None
    return str(entry["id"])


def _state_problem(exc: StateError, rule: str | None) -> Problem:
    """A state error as a problem located in the state file or store itself."""
    if isinstance(exc, StateFileError | StoreError):
        return Problem(exc.detail, file=exc.file, line=getattr(exc, "line", None), rule=rule)
    return Problem(str(exc), rule=rule)


def address_problem(locate: Locate, yaml_path: str) -> Callable[[str, str], Problem]:
    """How an R7 problem of the name configured at `yaml_path` is located, by family."""
    return lambda family, message: locate(f"{yaml_path}.{family}" if yaml_path else "",
                                          message, "R7")


def _addresses(accounts: Sequence, zones: list[ResolvedZone], server: ServerConfig,
               state: State, locate: Locate) -> tuple[dict[str, NameAddress], list[Problem]]:
    """R7 for every ACNS and vanity name, then R8: which zone serves its A/AAAA."""
    requests = []
    for account in accounts:
        for ns in account.custom_nameservers:
            requests.append(AddressRequest(ns.ns_name, ns.ipv4, ns.ipv6,
                                           address_problem(locate, ns.path)))
    for zone in zones:
        if zone.ns_type == "custom.zone":
            for i, name in enumerate(zone.vanity_name_servers):
                requests.append(AddressRequest(name, None, None, address_problem(
                    locate, f"{zone.path}.vanity_name_servers[{i}]")))
    pools = {"ipv4": server.ipv4_pools, "ipv6": server.ipv6_pools}
    assigned, problems = assign_addresses(requests, pools, reserved_addresses(server), state)
    account_of = {ns.ns_name: a.id for a in accounts for ns in a.custom_nameservers}
    account_of.update({n: z.account for z in zones for n in z.vanity_name_servers
                       if z.ns_type == "custom.zone"})
    by_name = {z.name: z for z in zones}
    result = {}
    for name, rec in assigned.items():
        provider = _provider(name, by_name)
        served_in = provider.name if provider and provider.account == account_of[name] else None
        result[name] = NameAddress(name, rec.get("ipv4"), rec.get("ipv6"), served_in,
                                   provider.name if provider else None)
    return result, problems


def reserved_addresses(server: ServerConfig) -> dict[str, str]:
    """The addresses of the standard nameservers, which no other name may have (R7)."""
    reserved = {}
    for ns in server.standard_nameservers:
        for addr in (ns.ipv4, ns.ipv6):
            if addr:
                reserved[addr] = f"standard nameserver {ns.name}"
    return reserved


def _provider(name: str, zones: dict[str, ResolvedZone]) -> ResolvedZone | None:
    """The longest served zone name that is a suffix of `name`, itself included (R8)."""
    labels = name.split(".")
    for i in range(len(labels)):
        zone = zones.get(".".join(labels[i:]))
        if zone:
            return zone
    return None


def _zone_plans(zones: list[ResolvedZone], addresses: dict[str, NameAddress], state: State,
                server: ServerConfig, locate: Locate
                ) -> tuple[list[ZonePlan], dict[str, int], list[Problem], list[Problem]]:
    auto: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for addr in addresses.values():
        if addr.served_in:
            auto.setdefault(addr.served_in, {})[addr.name] = (addr.ipv4, addr.ipv6)
    warnings: list[Problem] = []
    data: dict[str, ZoneFile] = {}
    plans = []
    read: list[Problem] = []  # the files' problems, then the zones'
    problems: list[Problem] = []
    for zone, content, errs in zone_files(zones, server, locate):  # each built as read
        read += errs
        if content is None:
            continue
        data[zone.name] = content
        plan, errs, warns = build_zone(zone, content, auto.get(zone.name, {}), state, locate)
        problems += errs
        warnings += warns
        plans.append(plan)
    warnings += _lame_delegations(zones, data)
    return plans, {name: file.count for name, file in data.items()}, read + problems, warnings


def _lame_delegations(zones: list[ResolvedZone],
                      data: dict[str, ZoneFile]) -> list[Problem]:
    """Warn when a zone delegates a child served here to other names than the child's."""
    by_name = {z.name: z for z in zones}
    labels = [zone.name.split(".") for zone in zones]
    ancestors = {".".join(names[i:]) for names in labels for i in range(1, len(names))}
    warnings = []
    for zone in zones:
        if zone.name not in ancestors:  # no zone served here below it: none to delegate
            continue
        apex = dns.name.from_text(zone.name).to_wire().lower()
        file = data.get(zone.name)
        for rrset in file.records if file is not None else ():  # (decoded: a few zones)
            if rrset.rdtype != dns.rdatatype.NS or rrset.owner.key == apex:
                continue
            decoded = decode_rrset(rrset)
            child = by_name.get(decoded.name.to_text(omit_final_dot=True).lower())
            if child is None:
                continue
            delegated = {rd.target.to_text(omit_final_dot=True).lower() for rd in decoded}
            if delegated != set(child.nameservers):
                warnings.append(Problem(
                    f"zone {zone.name} delegates {child.name} to {', '.join(sorted(delegated))}"
                    f", but {child.name} is served here on {', '.join(child.nameservers)}: a "
                    "lame delegation; make the NS records in the parent match",
                    file=str(zone.file)))
    return warnings


def plan_views(model: Model) -> tuple[View, ...]:
    """One view per assigned address: the zones whose nameservers include that name (§4)."""
    zones_of: dict[str, set[dns.name.Name]] = {}
    for zone in model.zones:
        for name in zone.nameservers:
            zones_of.setdefault(name, set()).add(dns.name.from_text(zone.name))
    served = frozenset(dns.name.from_text(a.name) for a in model.addresses.values()
                       if a.served_in)
    views = []
    named = [(a.name, a.ipv4, a.ipv6) for a in model.addresses.values()]
    named += [(s.name, s.ipv4, s.ipv6) for s in model.server.standard_nameservers]
    for name, *addrs in named:
        for addr in addrs:
            if addr:
                views.append(View(addr, frozenset(zones_of.get(name, ())), served))
    return tuple(views)
