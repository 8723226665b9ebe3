"""The report: a Markdown table, a JSON file and a PNG chart from one run's results.

Also checks the run against the performance targets (ratios between servers measured in
the same run), so that every number in the report comes from the benchmark itself; a
smoke run's targets are shown but not judged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["markdown", "publish_in_readme", "readme_section", "targets", "versions_line",
           "write_chart", "write_json"]

# the README's benchmark section lies between these lines; --publish rewrites it
README_BEGIN = "<!-- benchmark results: written by `make bench` (benchmarks/report.py) -->"
README_END = "<!-- end of benchmark results -->"

_BUSY = ("dnsperf core busy %", "load_core_busy_pct", "{:.0f}")
_COLUMNS = (
    ("server", "server", "{}"), ("mix", "mix", "{}"), ("q/s", "qps", "{:,.0f}"),
    ("q/s min–max", None, ""), ("avg latency ms", "latency_ms", "{:.3f}"),
    ("lost (max)", None, ""), ("CPU µs/q", "cpu_us_per_query", "{:.2f}"), _BUSY,
    ("peak RSS MiB", "peak_rss_mib", "{:.1f}"), ("RSS Δ MiB", "rss_growth_mib", "{:+.1f}"),
    ("load s", "load_seconds", "{:.2f}"),
)


def _cell(row: dict[str, Any], title: str, key: str | None, fmt: str) -> str:
    if title == "q/s min–max":
        return f"{row['qps_min']:,.0f}–{row['qps_max']:,.0f}"
    if title == "lost (max)":
        return f"{row['lost']} ({row['lost_max']})"
    return "–" if row[key] is None else fmt.format(row[key])


def _find(summary: list[dict[str, Any]], server: str, mix: str) -> dict[str, Any] | None:
    return next((r for r in summary if r["server"] == server and r["mix"] == mix), None)


def _others_to(summary: list[dict[str, Any]], base: dict[str, Any]) -> str:
    """' (nsd 38.1 ×, knot 24.8 ×)': the q/s of every server but acnsd (any workers) and
    `base` itself over `base`'s, on `base`'s mix, in summary order; '' when there is none."""
    ratios = [f"{r['server']} {r['qps'] / base['qps']:.1f} ×" for r in summary
              if r["mix"] == base["mix"] and r["server"] != base["server"]
              and not r["server"].startswith("acnsd")]
    return f" ({', '.join(ratios)})" if ratios else ""


def _ceiling(summary: list[dict[str, Any]]) -> list[str]:
    """What the null responder (no DNS work at all) got on each mix, and every server's
    share of it: the lines that say whether a rate is the server's or dnsperf's."""
    lines = []
    for null in (r for r in summary if r["server"] == "null"):
        shares = [f"{r['server']} {100 * r['qps'] / null['qps']:.0f} %" for r in summary
                  if r["mix"] == null["mix"] and r["server"] != "null"]
        lines.append(f"- `{null['mix']}`: {null['qps']:,.0f} q/s; " + ", ".join(shares))
    if lines:
        lines[:0] = ["Ceiling of the load generator: the null responder (a C program that "
                     "returns each UDP query as its answer, with no lookup) measured with the "
                     "same dnsperf options, and each server's q/s as a share of it (above "
                     "100 %: within the spread of the rounds):", ""]
    return lines


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 4's targets that this run can judge: [{target, value, ok}]."""
    summary = results["summary"]
    rows: list[dict[str, Any]] = []

    def add(target: str, value: float | None, ok: bool, fmt: str = "{:.2f}",
            context: str = "") -> None:
        rows.append({"target": target, "value": None if value is None else round(value, 3),
                     "shown": ("n/a" if value is None else fmt.format(value)) + context,
                     "ok": ok})

    ours, knot = _find(summary, "acnsd", "cached"), _find(summary, "knot", "cached")
    if ours and knot:
        ratio = ours["qps"] / knot["qps"]
        add("UDP cached: acnsd q/s ≥ 0.8 × Knot", ratio, ratio >= 0.8, "{:.2f} ×")
        ratio = ours["cpu_us_per_query"] / knot["cpu_us_per_query"]
        add("UDP cached: acnsd CPU/q ≤ 1.5 × Knot", ratio, ratio <= 1.5, "{:.2f} ×")
    if ours:
        add("UDP cached: acnsd lost = 0", ours["lost_max"], ours["lost_max"] == 0, "{:.0f}")
    flood = _find(summary, "acnsd", "nxflood")
    if ours and flood:
        ratio = flood["qps"] / ours["qps"]
        add("NXDOMAIN flood: ≥ 0.5 × acnsd cached q/s", ratio, ratio >= 0.5, "{:.2f} ×")
        add("NXDOMAIN flood: RSS growth (MiB, median per run)", flood["rss_growth_mib"],
            flood["rss_growth_mib"] < 5, "{:+.1f}")
    ours_tcp, knot_tcp = _find(summary, "acnsd", "tcp"), _find(summary, "knot", "tcp")
    if ours_tcp and knot_tcp:
        ratio = ours_tcp["qps"] / knot_tcp["qps"]
        add("TCP: acnsd q/s ≥ 1.5 × Knot", ratio, ratio >= 1.5, "{:.2f} ×")
    for row in summary:
        base = _find(summary, "dnslib", row["mix"])
        if row["server"] == "acnsd" and base:
            ratio = row["qps"] / base["qps"]
            add(f"{row['mix']}: acnsd q/s ≥ 40 × dnslib", ratio, ratio >= 40, "{:.1f} ×",
                _others_to(summary, base))
    scale = results.get("scale", {})
    if "acnsd" in scale and "knot" in scale:
        for key, label in (("load_seconds", "load time"), ("rss_mib", "RSS")):
            ours_v, knot_v = scale["acnsd"].get(key), scale["knot"].get(key)
            if ours_v and knot_v:
                add(f"scale set: acnsd {label} ≤ 3 × Knot", ours_v / knot_v,
                    ours_v / knot_v <= 3, "{:.2f} ×")
    for name, gap in results.get("reload", {}).items():
        add(f"reload ({name}): longest gap from SIGHUP on ≤ 50 ms", gap["longest_gap_ms"],
            gap["reloaded"] and gap["longest_gap_ms"] <= 50, "{:.1f} ms")
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    machine, params = results["machine"], results["params"]
    out = [
        f"# acnsd benchmark ({params['profile']} data set)", "",
        f"{results['started']} on {machine['cpu']} × {machine['cores']} cores, "
        f"kernel {machine['kernel']}, load average {machine['loadavg']} at start and "
        f"{machine.get('loadavg_end', '?')} at the end (other work on the machine makes "
        f"numbers noisy). Pinning: {params['pinning']}.", "", versions_line(machine), "",
        f"Data set: {params['zones']:,} zones, {params['records']:,} records. "
        f"dnsperf: {params['duration']:g} s per run, {params['rounds']} interleaved "
        f"round(s), `-q {params['outstanding']}`; same options for every server. "
        "Medians over rounds; q/s min–max is the spread.", "",
        "| " + " | ".join(title for title, _, _ in _COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for row in results["summary"]:
        out.append("| " + " | ".join(_cell(row, *column) for column in _COLUMNS) + " |")
    out += ["", "dnsperf core busy %: the share of dnsperf's own core that was busy during "
            "the server's runs (from /proc/stat); near 100 % means the load generator, not "
            "the server, set the rate.", ""]
    if ceiling := _ceiling(results["summary"]):
        out += ceiling + [""]
    out += ["Mixes: " + "; ".join(f"`{m}`: {d}" for m, d in params["mixes"].items()), ""]
    out += [f"- `{mix}`: `{line}`" for mix, line in params["dnsperf"].items()] + [""]
    content = results.get("content")
    if content:
        if not content["differences"]:
            out.append(f"Content check: every server gave {content['reference']}'s answers "
                       f"to {content['questions']} sampled questions.")
        for server, found in content["differences"].items():
            out.append(f"- **{server} differs from {content['reference']}**: " + found[0])
            out += [f"  - {line}" for line in found[1:]]
        out.append("")
    for name, error in results.get("errors", {}).items():
        out.append(f"- **{name} failed**: {error.splitlines()[0] if error else ''}")
    for name, reason in results.get("skipped", {}).items():
        out.append(f"- {name} skipped: {reason}")
    if results.get("scale"):
        out += ["", "## Scale set", "", "| server | zones | records | load s (median) | "
                "load s, every round | RSS MiB | peak RSS MiB |", "|---|---|---|---|---|---|---|"]
        for name, row in results["scale"].items():
            if "error" in row:
                out.append(f"| {name} | failed: {row['error'].splitlines()[0]} | | | | | |")
            else:
                rounds = ", ".join(f"{x:.2f}" for x in row.get("load_seconds_rounds", []))
                out.append(f"| {name} | {row['zones']:,} | {row['records']:,} | "
                           f"{row['load_seconds']:.2f} | {rounds} | {row['rss_mib']:.1f} | "
                           f"{row['peak_rss_mib']:.1f} |")
    if results.get("reload"):
        out += ["", "## Reload under load (SIGHUP)", "",
                "| data set | longest gap ms | gap ends at s | HUP at s | reload s | "
                "longest gap before HUP ms | answers/s |",
                "|---|---|---|---|---|---|---|"]
        for name, gap in results["reload"].items():
            took = (f"{gap['reload_seconds']:.2f}" if gap["reloaded"]
                    else f"not done after {gap['duration_s']:.0f} s")
            out.append(f"| {name} | {gap['longest_gap_ms']:.1f} | {gap['gap_ends_at_s']:.3f} | "
                       f"{gap['hup_at_s']:.3f} | {took} | "
                       f"{gap['longest_gap_before_hup_ms']:.1f} | "
                       f"{gap['answers_per_second']:,.0f} |")
    if results.get("targets"):
        out += ["", "## Targets (this run)", ""]
        if params["profile"] != "full":
            out += [f"Not judged: a {params['profile']} run's rounds are too short and its data "
                    "set too small for its numbers to mean anything; they show that every step "
                    "runs. Only `make bench` (the full run) is judged.", ""]
        out += _targets_table(results["targets"], params["profile"] == "full")
    return "\n".join(out) + "\n"


def _targets_table(targets: list[dict[str, Any]], judged: bool) -> list[str]:
    def met(ok: bool) -> str:
        return ("yes" if ok else "NO") if judged else "not judged"

    return (["| target | measured | met |", "|---|---|---|"]
            + [f"| {row['target']} | {row['shown']} | {met(row['ok'])} |" for row in targets])


def versions_line(machine: dict[str, Any]) -> str:
    versions = machine.get("versions", {})
    return "Measured: " + ", ".join(f"{name} {version}" for name, version in versions.items()) \
        + "." if versions else "Versions were not recorded."


def readme_section(results: dict[str, Any], chart: str) -> str:
    """The README's summary of a full run: the machine, every server's queries/s per mix
    (and, on the cached mix, CPU per query and how busy dnsperf's core was), the scale set,
    the reload gap, the targets and the chart (`chart`: its path as the README links it)."""
    machine, params, summary = results["machine"], results["params"], results["summary"]
    mixes = list(dict.fromkeys(r["mix"] for r in summary))
    out = [
        f"Latest run: {results['started']} on {machine['cpu']} × {machine['cores']} cores "
        f"(kernel {machine['kernel']}; load average {machine['loadavg']} at the start), "
        f"{params['pinning']}. {params['zones']:,} zones / {params['records']:,} records; "
        f"medians of {params['rounds']} interleaved rounds of {params['duration']:g} s with "
        f"`dnsperf -q {params['outstanding']}`, the same options for every server. "
        + versions_line(machine), "",
        "| server | " + " | ".join(f"{mix} q/s" for mix in mixes)
        + " | cached CPU µs/q | cached dnsperf core busy % | lost (most in a run) "
        "| peak RSS MiB | load s |",
        "|" + "---|" * (len(mixes) + 6),
    ]
    for server in dict.fromkeys(r["server"] for r in summary):
        rows = [_find(summary, server, mix) for mix in mixes]
        cached = _find(summary, server, "cached") or next(r for r in rows if r)
        cells = [f"{r['qps']:,.0f}" if r else "–" for r in rows]
        lost = max(r["lost_max"] for r in rows if r)
        out.append(f"| {server} | " + " | ".join(cells) + f" | {cached['cpu_us_per_query']:.2f} "
                   f"| {_cell(cached, *_BUSY)} | {lost} | {cached['peak_rss_mib']:.1f} "
                   f"| {cached['load_seconds']:.2f} |")
    if ceiling := _ceiling(summary):
        out += [""] + ceiling
    scale = {name: row for name, row in results.get("scale", {}).items() if "error" not in row}
    if scale:
        first = next(iter(scale.values()))
        loads = len(first.get("load_seconds_rounds", [])) or 1
        out += ["", f"Scale set ({first['zones']:,} zones, {first['records']:,} records; "
                f"load times are medians of {loads} loads in turn): "
                + "; ".join(f"{name} loads in {row['load_seconds']:.1f} s with "
                            f"{row['rss_mib']:.0f} MiB RSS" for name, row in scale.items())
                + "."]
    if results.get("reload"):
        out += ["", "Longest gap in answers during a reload under load: " + "; ".join(
            f"{gap['longest_gap_ms']:.1f} ms ({name})" for name, gap in results["reload"].items())
            + "."]
    if results.get("targets"):
        out += [""] + _targets_table(results["targets"], params["profile"] == "full")
    out += ["", f"![queries/s and CPU per query, per mix and server]({chart})"]
    return "\n".join(out)


def publish_in_readme(readme: str, section: str) -> str:
    """`readme` with the text between README_BEGIN and README_END replaced by `section`."""
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"the README has no {README_BEGIN!r} ... {README_END!r} section")
    return readme[: begin + len(README_BEGIN)] + "\n" + section + "\n" + readme[end:]


def write_json(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Grouped bars: queries/s (log scale) and CPU µs per query, per mix and server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = results["summary"]
    servers = list(dict.fromkeys(r["server"] for r in summary))
    mixes = list(dict.fromkeys(r["mix"] for r in summary))
    width = 0.8 / max(len(servers), 1)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, server in enumerate(servers):
        rows = [_find(summary, server, mix) for mix in mixes]
        xs = [m + index * width for m in range(len(mixes))]
        qps = [r["qps"] if r else 0 for r in rows]
        low = [r["qps"] - r["qps_min"] if r else 0 for r in rows]
        high = [r["qps_max"] - r["qps"] if r else 0 for r in rows]
        axes[0].bar(xs, qps, width, yerr=[low, high], label=server, capsize=2)
        axes[1].bar(xs, [r["cpu_us_per_query"] if r else 0 for r in rows], width, label=server)
    for axis, title in zip(axes, ("queries/s (median, min–max)", "server CPU µs per query"),
                           strict=True):
        axis.set_xticks([m + width * (len(servers) - 1) / 2 for m in range(len(mixes))], mixes)
        axis.set_title(title)
        axis.set_yscale("log")
        axis.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(servers))
    figure.suptitle(f"acnsd benchmark — {results['started']}, {results['machine']['cpu']}")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    figure.savefig(path, dpi=100)
    plt.close(figure)
