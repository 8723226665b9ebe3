"""The `acnsd` command line, whole (cli.py runs it): serve, check, show, reload,
migrate-layout, state export, and the API client's ns, zone and record.

Rule owned here: configuration problems are printed one per line on stderr, and the
exit code says whether the configuration was valid (0) or not (1). Output whose reader
went away (`acnsd show | head -1`) ends the command with one line on stderr and exit code
1, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .api.client import add_client_commands, run_client
from .daemon.logs import FORMATS, command_line
from .daemon.pidfile import pid_path, read_pid
from .errors import AcnsdError, ConfigError
from .model.config import load, read_server
from .model.names import normalize
from .model.recording import export_state
from .model.types import Model
from .reload import RELOAD_TIMEOUT, print_answer, request_reload

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acnsd", description="Authoritative DNS for account "
                                     "custom nameservers.")
    parser.add_argument("--version", action="version", version=f"acnsd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve every zone of the configuration")
    serve.add_argument("--config", required=True)
    serve.add_argument("--listen", action="append", metavar="ADDR:PORT",
                       help="listen here instead of server.listen (repeatable)")
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the ports")
    serve.add_argument("--log-format", choices=FORMATS,
                       help="plain (default) or json lines; overrides server.log_format")
    serve.add_argument("--query-log", action="store_true",
                       help="log one line per query (as server.query_log: true)")
    check = sub.add_parser("check", help="validate the configuration and every zone file")
    check.add_argument("--config", required=True)
    show = sub.add_parser("show", help="sets, names, addresses and records to create elsewhere")
    show.add_argument("--config", required=True)
    show.add_argument("--json", action="store_true", help="one JSON document")
    verify = sub.add_parser("verify", help="check now that the parents delegate every zone to "
                            "its nameservers and that every name has its addresses and glue; "
                            "exit 2 on a mismatch")
    verify.add_argument("--config", required=True)
    verify.add_argument("--json", action="store_true", help="one JSON document")
    reload = sub.add_parser("reload", help="have the running server load what changed on "
                            "disk, and say how it went")
    reload.add_argument("--config", required=True)
    reload.add_argument("--zone", action="append", metavar="NAME",
                        help="only this zone's file changed (repeatable): nothing else is "
                        "looked at")
    migrate = sub.add_parser("migrate-layout", help="move the accounts of a single file "
                             "configuration to a directory of one file per account and zone")
    migrate.add_argument("--config", required=True)
    migrate.add_argument("--dir", default="accounts", help="the new directory, relative to "
                         "the configuration's (default: accounts)")
    state = sub.add_parser("state", help="the recorded state (addresses, zone defaults "
                           "received, serials)")
    state_sub = state.add_subparsers(dest="state_command", required=True)
    export = state_sub.add_parser("export", help="print the state as JSON (the shape of "
                                  "the JSON state file of earlier versions)")
    export.add_argument("--config", required=True)
    add_client_commands(sub)
    return parser


def _print_problems(error: ConfigError | AcnsdError) -> None:
    problems = getattr(error, "problems", None)
    for problem in problems if problems is not None else [error]:
        print(f"error: {problem}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _command(argv)
    except BrokenPipeError:
        return _output_closed()


def _output_closed() -> int:
    """The reader of stdout is gone: say so once; stdout goes to /dev/null, so that the
    interpreter's last flush of what is left in its buffer raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    try:
        print("acnsd: the output was closed before all of it was written (broken pipe)",
              file=sys.stderr)
    except OSError:  # stderr went with it
        pass
    return 1


def _command(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("ns", "zone", "record"):
        return run_client(args)
    if args.command == "serve":
        from .daemon.serve import main as serve_main

        command_line(args.log_format, args.query_log)
        return serve_main(args.config, args.listen, args.workers)
    if args.command == "migrate-layout":
        return _migrate(args.config, args.dir)
    if args.command == "state":
        return _export_state(args.config)
    if args.command == "reload" and (answer := _ask_reload(args.config, args.zone)) is not None:
        return answer
    try:  # check, reload and verify write nothing: the server records its own decisions
        loaded = load(args.config, save_state=args.command == "show")
    except AcnsdError as exc:
        _print_problems(exc)
        return 1
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.command in ("check", "reload") and (problem := _api_problem(loaded.model)):
        print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.command == "reload":
        return _signal_reload(loaded.model)
    if args.command == "check":
        model = loaded.model
        print(f"{args.config}: OK: {len(model.accounts)} account(s), {len(model.zones)} "
              f"zone(s), {len(model.addresses)} nameserver name(s), "
              f"{len(loaded.warnings)} warning(s)")
        return 0
    if args.command == "verify":
        return _verify(loaded.model, args.json)
    from .model.show import render_text, report
    from .verify.checks import read_results

    doc = report(loaded.model, read_results(loaded.model.server))
    print(json.dumps(doc, indent=2, sort_keys=True) if args.json else render_text(doc))
    return 0


def _verify(model: Model, as_json: bool) -> int:
    """`acnsd verify`: the delegation checks now (server.verify's roots, or the IANA
    root hints), printed and kept for `acnsd show` and the server; exit 2 on a mismatch."""
    from .model.show import render_check
    from .model.types import VerifyConfig
    from .verify.checks import check, write_results
    from .verify.compare import MISMATCH

    results = check(model, model.server.verify or VerifyConfig())
    try:
        write_results(model.server, results)
    except OSError as exc:
        print(f"warning: the results were not kept: {exc}", file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=2, sort_keys=True))
    else:
        for kind in ("zones", "names"):
            for name, result in results[kind].items():
                print(f"{kind[:-1]} {name}")
                print("\n".join(render_check(result, "  ")))
    found = [r["status"] for kind in ("zones", "names") for r in results[kind].values()]
    return 2 if MISMATCH in found else 0


def _migrate(config: str, directory: str) -> int:
    from .control.migrate import migrate

    try:
        done = migrate(Path(config), directory)
    except AcnsdError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if done.directory is None:
        print(f"{config}: in the directory layout already (accounts_dir); nothing to do")
        return 0
    for name in done.dumped:
        print(f"note: {done.directory / name}: written from the entry's value; its lines "
              "(and comments) could not be kept as they were", file=sys.stderr)
    print(f"{config}: {done.accounts} account(s) and {done.zones} zone(s) moved to "
          f"{done.directory} (accounts_dir: {directory}); the single file is kept as "
          f"{config}.pre-migrate. Reload the server to use it: acnsd reload --config {config}")
    return 0


def _export_state(config: str) -> int:
    """`acnsd state export`: the state recorded for this configuration (its server section
    alone need be valid), read without writing anything."""
    try:
        server = read_server(config)
        state = export_state(server.state_file)
    except AcnsdError as exc:
        _print_problems(exc)
        return 1
    print(json.dumps(state, indent=2, sort_keys=True))
    return 0


def _api_problem(model: Model) -> str | None:
    """What would stop `acnsd serve` from starting the management API: its tokens file."""
    if model.server.api is None:
        return None
    from .api.auth import TokenError, Tokens

    try:
        Tokens(model.server.api.tokens_file)
    except TokenError as exc:
        return f"server.api.tokens_file: {exc}"
    return None


def _ask_reload(config: str, zones: list[str] | None) -> int | None:
    """`acnsd reload` through the running server's control socket (daemon/control.py):
    the server reloads what changed on disk and says how it went. None when no server
    listens there (none runs, or under --workers): then check and signal."""
    from .daemon.control import control_path

    try:
        server = read_server(config)
    except AcnsdError as exc:
        _print_problems(exc)
        return 1
    try:
        answer = request_reload(str(control_path(Path(config), server)), RELOAD_TIMEOUT,
                                [normalize(zone) for zone in zones] if zones else None)
    except (OSError, ValueError) as exc:
        print(f"error: the server did not answer the reload: {exc}", file=sys.stderr)
        return 1
    return None if answer is None else print_answer(config, answer)


def _signal_reload(model: Model) -> int:
    """Send SIGHUP to the server of this configuration (found by its pid file)."""
    path = pid_path(model)
    pid = read_pid(path)
    if pid is None:
        print(f"error: no running acnsd serve for {model.config_file} (pid file {path})",
              file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGHUP)
    print(f"{model.config_file}: valid; reload requested from acnsd serve (pid {pid}); its "
          "log says when the new tables serve")
    return 0
