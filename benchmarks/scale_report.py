"""The scale suite's report: issue 16's targets judged from one run, and its Markdown.

Every number comes from the run's results (benchmarks/scale.py). A target whose step hit
its bound is a miss ("timeout" and "memory" bounds are far above every target); one that
could not be measured for another reason (a step failed, Knot did not start) is shown
with "–", neither met nor missed. A smoke run's targets are shown but not judged.
"""

from __future__ import annotations

from typing import Any

from benchmarks.report import versions_line

__all__ = ["markdown", "targets"]

_SERIES = (  # (results key, what changed and how it was applied)
    ("api_change", "API PATCH /zones/{id}/dns_settings `ns_ttl`"),
    ("file_reload_command", "zone file edit + `acnsd reload`"),
    ("yaml_reload_command", "YAML edit (`ns_ttl`) + `acnsd reload`"),
    ("file_sighup", "zone file edit + SIGHUP"),
    ("file_zone_reload", "zone file edit + `knotc zone-reload ZONE`"),
    ("file_reload", "zone file edit + `knotc reload`"),
)


def _failed(step: dict[str, Any] | None) -> str | None:
    """Why a step has no result: its status and detail, or "not run"; None when it ran."""
    if step is None:
        return "not run (an earlier step failed)"
    if step.get("status") == "ok":
        return None
    after = f" after {step['step_seconds']:,.0f} s" if "step_seconds" in step else ""
    return f"{step.get('status')}{after}: {step.get('detail', '').splitlines()[0][:160]}"


def _missed(step: dict[str, Any] | None) -> bool | None:
    """A step that hit its bound missed its target; other failures judge nothing."""
    return False if step and step.get("status") in ("timeout", "memory") else None


def _latency_rows(acnsd: dict[str, Any], key: str, what: str) -> list[tuple[str, str, Any]]:
    step = acnsd.get(key)
    rows = []
    for stat, limit in (("median", 50), ("p99", 100)):
        target = f"{what} → served: {stat} ≤ {limit} ms"
        value = step.get(stat) if step else None
        shown = f"{value:,.1f} ms (n={step['n']})" if value is not None else ""
        if (why := _failed(step)) is not None:
            rows.append((target, f"{why}" + (f"; before it: {shown}" if shown else ""),
                         _missed(step)))
        else:
            rows.append((target, shown, value <= limit))
    return rows


def _churn_rows(churn: dict[str, Any] | None) -> list[tuple[str, str, Any]]:
    share_target = "10 changes/s requested: DNS q/s ≥ 90 % of idle (same run)"
    gap_target = "10 changes/s requested: longest gap between answers ≤ 20 ms"
    if (why := _failed(churn)) is not None:
        return [(share_target, why, _missed(churn)), (gap_target, why, _missed(churn))]
    assert churn is not None
    applied = {tool: churn[f"changes_during_{tool}"]["applied_per_s"]
               for tool in ("dnsperf", "probe")}
    share = churn["qps_share_of_idle"]
    gap, idle_gap = (churn["changes_probe"]["longest_gap_ms"],
                     churn["idle_probe"]["longest_gap_ms"])
    return [
        (share_target, f"{100 * share:.0f} % ({churn['changes_qps']:,} / {churn['idle_qps']:,} "
         f"q/s) with {applied['dnsperf']:g} changes/s applied",
         share >= 0.9 and applied["dnsperf"] >= 9),
        (gap_target, f"{gap:,.1f} ms (idle: {idle_gap:,.1f} ms) with {applied['probe']:g} "
         "changes/s applied", gap is not None and gap <= 20 and applied["probe"] >= 9),
    ]


def _reload_row(acnsd: dict[str, Any]) -> tuple[str, str, Any]:
    target = "reload (SIGHUP) with one changed zone file → served ≤ 1 s (every one)"
    step = acnsd.get("file_sighup")
    if (why := _failed(step)) is not None:
        return target, why, _missed(step)
    assert step is not None
    return (target, f"max {step['max'] / 1000:,.3f} s, median {step['median'] / 1000:,.3f} s "
            f"(n={step['n']})", step["max"] <= 1000)


def _versus_knot(results: dict[str, Any]) -> list[tuple[str, str, Any]]:
    acnsd, knot = results["acnsd"], results["servers"].get("knot", {}).get("cold_start")
    rows = []
    for key, step_name, target, unit, limit in (
            ("load_seconds", "cold_start", "cold start: load time ≤ 1.5 × Knot's", "s", 1.5),
            ("rss_mib", "cold_start", "cold start: RSS after load ≤ 1.5 × Knot's", "MiB", 1.5),
            ("load_seconds", "restart", "restart with unchanged data: load time < Knot's",
             "s", 1.0)):
        step = acnsd.get(step_name)
        if (why := _failed(step)) is not None:
            rows.append((target, why, _missed(step)))
        elif (why := "not measured" if knot is None else _failed(knot)) is not None:
            rows.append((target, f"{step[key]:,.1f} {unit}; Knot: {why}", None))
        else:
            ours, theirs = step[key], knot[key]
            ok = ours <= limit * theirs if limit != 1.0 else ours < theirs
            rows.append((target, f"{ours:,.1f} {unit} = {ours / theirs:.2f} × Knot's "
                         f"{theirs:,.1f} {unit}", ok))
    return rows


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 16's targets, each {target, shown, ok}: ok is True, False, or None when the run
    could not judge it."""
    acnsd = results["acnsd"]
    rows: list[tuple[str, str, Any]] = []
    for key, what in _SERIES[:3]:
        rows += _latency_rows(acnsd, key, what)
    rows += _churn_rows(acnsd.get("churn"))
    rows.append(_reload_row(acnsd))
    rows += _versus_knot(results)
    return [{"target": target, "shown": shown, "ok": ok} for target, shown, ok in rows]


def _met(ok: bool | None, judged: bool) -> str:
    if not judged:
        return "not judged"
    return "–" if ok is None else "yes" if ok else "NO"


def _cell(value: Any, fmt: str = "{:,.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def _load_table(results: dict[str, Any]) -> list[str]:
    servers = {"acnsd": results["acnsd"], **results["servers"]}
    check = results["acnsd"].get("check", {})
    lines = ["| | " + " | ".join(servers) + " |", "|---|" + "---|" * len(servers)]

    def row(title: str, step: str, key: str) -> None:
        cells = []
        for entry in servers.values():
            measured = entry.get(step, {})
            cells.append(_cell(measured.get(key)) if measured.get("status") == "ok"
                         or key in measured else (measured.get("status") or "–"))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")

    lines.append("| `acnsd check`: s / peak RSS MiB | "
                 + (f"{check['seconds']:,.1f} / {check['peak_rss_mib']:,.0f}"
                    if "seconds" in check else check.get("status", "–"))
                 + " |" + " – |" * (len(servers) - 1))
    sample = results["params"]["sample"]
    row(f"cold start: all {sample:,} sampled zones answer, s", "cold_start", "load_seconds")
    row("cold start: the API answers, s", "cold_start", "api_seconds")
    row("RSS after load, MiB", "cold_start", "rss_mib")
    row("PSS after load (shared pages counted once), MiB", "cold_start", "pss_mib")
    row("peak RSS during load, MiB", "cold_start", "peak_rss_mib")
    row("the compiled snapshot written (after the cold start, at nice 19), s", "cold_start",
        "snapshot_seconds")
    row("restart with unchanged data: all sampled zones answer, s", "restart", "load_seconds")
    row("restart: the API answers, s", "restart", "api_seconds")
    row("RSS after restart, MiB", "restart", "rss_mib")
    probes = [entry.get("idle_probe") or entry.get("churn", {}).get("idle_probe") or {}
              for entry in servers.values()]
    lines.append("| idle, 1 query/ms: longest gap between answers ms (lost) | " + " | ".join(
        f"{_cell(probe.get('longest_gap_ms'))} ({_cell(probe.get('lost'), '{}')})"
        for probe in probes) + " |")
    return lines


def _median(values: list[float | None]) -> float | None:
    known = sorted(value for value in values if value is not None)
    return known[len(known) // 2] if known else None


def _series_table(results: dict[str, Any]) -> list[str]:
    lines = ["| server | change | n | first ms | median ms | p99 ms | max ms | acknowledged, "
             "median ms | busy after, median s | status |", "|---" * 10 + "|"]
    servers = {"acnsd": results["acnsd"], **results["servers"]}
    for server, entry in servers.items():
        for key, what in _SERIES:
            step = entry.get(key)
            if step is None:
                continue
            served = step.get("served_ms", [])
            status = step.get("status", "?")
            if status != "ok":
                status += ": " + step.get("detail", "").splitlines()[0][:120]
            lines.append(
                f"| {server} | {what} | {step.get('n', 0)} | "
                f"{_cell(served[0] if served else None)} | {_cell(step.get('median'))} | "
                f"{_cell(step.get('p99'))} | {_cell(step.get('max'))} | "
                f"{_cell(_median(step.get('acked_ms', [])))} | "
                f"{_cell(_median(step.get('busy_after_s', [])))} | {status} |")
    return lines


def _churn_table(churn: dict[str, Any]) -> list[str]:
    lines = ["| window | changes applied/s | dnsperf q/s (cached mix) | dnsperf lost | "
             "probe: longest gap ms | next longest gaps ms | probe p99 latency ms | probe lost |",
             "|---|---|---|---|---|---|---|---|"]
    for mode, title in (("idle", "idle"), ("changes", "10 changes/s requested")):
        probe = churn.get(f"{mode}_probe", {})
        applied = [churn.get(f"changes_during_{tool}", {}).get("applied_per_s")
                   for tool in ("dnsperf", "probe")] if mode == "changes" else []
        lines.append(
            f"| {title} | {' / '.join(_cell(a, '{:g}') for a in applied) or '–'} | "
            f"{_cell(churn.get(f'{mode}_qps'), '{:,}')} | {_cell(churn.get(f'{mode}_lost'), '{}')} "
            f"| {_cell(probe.get('longest_gap_ms'))} | "
            f"{', '.join(f'{gap:.1f}' for gap in probe.get('next_gaps_ms', [])) or '–'} | "
            f"{_cell(probe.get('latency_ms_p99'))} | {_cell(probe.get('lost'), '{}')} |")
    return lines


_LAYOUT = {"directory": "directory layout (`accounts_dir:`, one YAML file per zone)",
           "single": "single file layout (one acnsd.yaml)"}


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    machine, params = results["machine"], results["params"]
    bounds = params["bounds"]
    judged = not params["smoke"]
    out = [
        f"# acnsd at scale: {params['zones']:,} zones ({params['profile']}), issue 16", "",
        f"{results['started']} on {machine['cpu']} × {machine['cores']} cores, kernel "
        f"{machine['kernel']}; load average {machine['loadavg']} at the start and "
        f"{machine.get('loadavg_end', '?')} at the end (other work on the machine makes the "
        f"numbers noisy). Pinning: {params['pinning']}. {versions_line(machine)}", "",
        f"Data set: {params['zones']:,} zones, {params['records']:,} records, the same in "
        f"every server; acnsd's configuration in the {_LAYOUT[params.get('layout', 'single')]}"
        f"{'' if params.get('snapshot', True) else ', with `server.snapshot: false`'}."
        " Bounds: a start or `acnsd check` "
        f"{bounds['start']:,.0f} s, one change {bounds['change']:,.0f} s, a series of changes "
        f"{bounds['series']:,.0f} s (up to {params['changes']} changes, "
        f"{params['peer_changes']} for Knot and NSD), RSS {bounds['max_rss_kib'] / 2**20:,.1f} "
        "GiB per process tree.", "",
        "## Targets of issue 16", "",
    ]
    if not judged:
        out += ["Not judged: a smoke run's data set is too small and its windows too short "
                "for its numbers to mean anything; they show that every step runs.", ""]
    out += ["| target | measured | met |", "|---|---|---|"]
    out += [f"| {row['target']} | {row['shown']} | {_met(row['ok'], judged)} |"
            for row in results["targets"]]
    out += ["", "## Load and memory", ""] + _load_table(results)
    out += ["", "A server counts as loaded when every sampled zone (spread over all, with the "
            "last 50) has answered its SOA with authority. RSS is VmRSS summed over the "
            "server's process tree once it is quiet (below 10 % of a core) after the load; "
            "NSD's forked children share pages with their parent and are counted in full by "
            "RSS, once by PSS. The idle probe is the noise floor of this machine and client "
            "for the gap target (acnsd's is the idle window of the churn below).",
            "", "## Change → served", "",
            "Each change is made on a quiet server, one after the other, and timed from the "
            "act (the API request, the command, the signal) to the first DNS answer that shows "
            "it, polled every ms. Acknowledged: when the act returned (the API's 200, the "
            "command's exit). Busy after: how long the server then used more than 10 % of a "
            "core. p99 is the nearest rank: the largest value when n < 100.", ""]
    out += _series_table(results)
    churn = results["acnsd"].get("churn")
    if churn:
        out += ["", "## DNS while a client requests 10 API changes per second (acnsd)", "",
                f"Windows of {churn.get('window_s', '?')} s (at least twice one API change), "
                "idle then with changes, for dnsperf (cached mix) and then for a probe that "
                "sends one query per ms; changes applied/s is the count of 200s in the "
                "dnsperf / probe window.", ""] + _churn_table(churn)
        if "cpu_ms_per_change" in churn:
            out += ["", f"The server's CPU per change: {churn['cpu_ms_per_change']:,.1f} ms "
                    "(its CPU in the probe window with changes less the idle one's, per "
                    "change applied)."]
    for name, reason in results.get("skipped", {}).items():
        out.append(f"- {name} skipped: {reason}")
    return "\n".join(out) + "\n"
