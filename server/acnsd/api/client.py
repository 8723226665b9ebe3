"""`acnsd ns|zone|record ...`: a command-line client of the management API.

Rule owned here: the client only speaks HTTP to the API (never touches files), so what
it can do and what it is refused are exactly what any Cloudflare-style client gets; the
API's error messages are printed as they are, one per line, and the exit code is 0 on
success, 1 when the API refused, 2 when the API could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["ApiError", "add_client_commands", "call", "run_client"]

DEFAULT_API = "http://127.0.0.1:8053"
TIMEOUT = 30.0
NS_TYPES = ("cloudflare.standard", "custom.account", "custom.zone")


class ApiError(Exception):
    """The API answered with success: false; `errors` are its [{code, message}]."""

    def __init__(self, status: int, errors: list[dict[str, Any]]):
        self.status = status
        self.errors = errors
        super().__init__("; ".join(f"[{e.get('code')}] {e.get('message')}" for e in errors))


def api_url(api: str) -> str:
    """The API's base URL; `127.0.0.1:8053` (no scheme) means http://127.0.0.1:8053."""
    return (api if "://" in api else "http://" + api).rstrip("/")


def call(api: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One API call; the envelope's result, or ApiError (OSError when unreachable)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        api_url(api) + "/client/v4" + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            envelope = json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            envelope = json.load(exc)
        except ValueError:
            envelope = {"errors": [{"code": exc.code, "message": exc.reason}]}
        raise ApiError(exc.code, envelope.get("errors") or []) from None
    return envelope["result"]


def add_client_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `ns`, `zone` and `record` to the `acnsd` command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api",
        default=os.environ.get("ACNSD_API", DEFAULT_API),
        help=f"the API's URL (env ACNSD_API; default {DEFAULT_API})",
    )
    common.add_argument(
        "--token", default=os.environ.get("ACNSD_TOKEN"), help="API token (env ACNSD_TOKEN)"
    )
    common.add_argument("--json", action="store_true", help="print the API's result as JSON")
    account = argparse.ArgumentParser(add_help=False)
    account.add_argument(
        "--account", default=os.environ.get("ACNSD_ACCOUNT"), help="account id (env ACNSD_ACCOUNT)"
    )

    ns = subparsers.add_parser("ns", help="account custom nameservers, through the API")
    ns_sub = ns.add_subparsers(dest="client_command", required=True)
    add = ns_sub.add_parser("add", parents=[common, account], help="add a name to a set")
    add.add_argument("ns_name")
    add.add_argument("--set", type=int, dest="ns_set", help="nameserver set 1..5 (default 1)")
    ns_sub.add_parser("list", parents=[common, account], help="names, sets and addresses")
    delete = ns_sub.add_parser("delete", parents=[common, account], help="remove a name")
    delete.add_argument("ns_name")

    zone = subparsers.add_parser("zone", help="zones and their nameservers, through the API")
    zone_sub = zone.add_subparsers(dest="client_command", required=True)
    create = zone_sub.add_parser(
        "create", parents=[common, account], help="add a zone (it receives the zone defaults)"
    )
    create.add_argument("name")
    listing = zone_sub.add_parser("list", parents=[common, account], help="zones")
    listing.add_argument("--name", help="only this zone")
    setns = zone_sub.add_parser(
        "set-nameservers", parents=[common], help="change a zone's nameservers"
    )
    setns.add_argument("name")
    setns.add_argument("--type", required=True, choices=NS_TYPES)
    setns.add_argument("--set", type=int, dest="ns_set", help="set for custom.account")
    setns.add_argument("--vanity", action="append", metavar="NAME", dest="vanity",
                       help="for custom.zone: a vanity nameserver name inside the zone "
                       "(repeat for each, 2..5)")
    remove = zone_sub.add_parser("delete", parents=[common], help="remove a zone")
    remove.add_argument("name")

    record = subparsers.add_parser("record", help="a zone's DNS records, through the API")
    record_sub = record.add_subparsers(dest="client_command", required=True)
    new = record_sub.add_parser("add", parents=[common], help="add a record to a zone")
    new.add_argument("zone")
    new.add_argument("name", help="@, a name relative to the zone, or a full name")
    new.add_argument("type", type=str.upper, help="A, AAAA, CNAME, MX, TXT, NS, SRV, CAA, "
                     "PTR, DNAME")
    new.add_argument("content", nargs="?", help="the address, target or text (SRV, CAA: "
                     "give --data)")
    new.add_argument("--ttl", type=int, help="seconds, or 1 for automatic")
    new.add_argument("--priority", type=int, help="MX preference")
    new.add_argument("--data", action="append", metavar="KEY=VALUE", default=[],
                     help="SRV: priority, weight, port, target; CAA: flags, tag, value "
                     "(repeat for each)")
    records = record_sub.add_parser("list", parents=[common], help="a zone's records")
    records.add_argument("zone")
    for field in ("type", "name", "content"):
        records.add_argument(f"--{field}", help=f"only records of this {field}")
    drop = record_sub.add_parser("delete", parents=[common], help="delete a record by its id")
    drop.add_argument("zone")
    drop.add_argument("record_id")


class UsageError(Exception):
    """The command line lacks something the request needs."""


def _need_account(args: argparse.Namespace) -> str:
    if not args.account:
        raise UsageError("give --account (or set ACNSD_ACCOUNT)")
    return args.account


def _zone_id(args: argparse.Namespace, name: str) -> str:
    zones = call(args.api, args.token, "GET", "/zones?" + urlencode({"name": name}))
    if not zones:
        raise ApiError(404, [{"code": 7003, "message": f"zone {name} not found"}])
    return zones[0]["id"]


def _data(pairs: list[str]) -> dict[str, Any] | None:
    """--data KEY=VALUE pairs as the record's data (integers where they are)."""
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--data takes KEY=VALUE, not {pair!r}")
        data[key] = int(value) if value.isdigit() else value
    return data or None


def _record(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """`acnsd record add|list|delete`."""
    base = f"/zones/{_zone_id(args, args.zone)}/dns_records"
    if args.client_command == "add":
        fields = {"type": args.type, "name": args.name, "content": args.content,
                  "ttl": args.ttl, "priority": args.priority, "data": _data(args.data)}
        result = call(args.api, args.token, "POST", base,
                      {k: v for k, v in fields.items() if v is not None})
        return result, _record_lines([result])
    if args.client_command == "list":
        query = {k: v for k, v in (("type", args.type), ("name", args.name),
                                   ("content", args.content)) if v}
        result, page = [], 1
        while True:  # every page
            found = call(args.api, args.token, "GET", f"{base}?" + urlencode(
                {**query, "page": page, "per_page": 1000}))
            result += found
            if len(found) < 1000:
                return result, _record_lines(result)
            page += 1
    result = call(args.api, args.token, "DELETE", f"{base}/{quote(args.record_id, safe='')}")
    return result, [f"deleted record {args.record_id}"]


def _run(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """Perform the command; (the API's result, lines to print for a person)."""
    kind, command = args.command, args.client_command
    if kind == "record":
        return _record(args)
    if kind == "ns":
        base = f"/accounts/{quote(_need_account(args), safe='')}/custom_ns"
        if command == "add":
            body: dict[str, Any] = {"ns_name": args.ns_name}
            if args.ns_set is not None:
                body["ns_set"] = args.ns_set
            result = call(args.api, args.token, "POST", base, body)
            return result, _ns_lines([result])
        if command == "list":
            result = call(args.api, args.token, "GET", base)
            return result, _ns_lines(result)
        result = call(args.api, args.token, "DELETE", f"{base}/{quote(args.ns_name, safe='')}")
        return result, [f"deleted {args.ns_name}"]
    if command == "create":
        result = call(
            args.api,
            args.token,
            "POST",
            "/zones",
            {"name": args.name, "account": {"id": _need_account(args)}},
        )
        return result, _zone_lines([result])
    if command == "list":
        query = {
            k: v
            for k, v in (("account.id", args.account), ("name", args.name), ("per_page", "1000"))
            if v
        }
        result = call(args.api, args.token, "GET", "/zones?" + urlencode(query))
        return result, _zone_lines(result)
    zid = _zone_id(args, args.name)
    if command == "delete":
        result = call(args.api, args.token, "DELETE", f"/zones/{zid}")
        return result, [f"deleted zone {args.name}"]
    if args.vanity is not None:
        if args.type != "custom.zone":
            raise UsageError("--vanity goes with --type custom.zone")
        call(args.api, args.token, "PATCH", f"/zones/{zid}",
             {"vanity_name_servers": args.vanity})
    nameservers: dict[str, Any] = {"type": args.type}
    if args.ns_set is not None:
        nameservers["ns_set"] = args.ns_set
    result = call(
        args.api, args.token, "PATCH", f"/zones/{zid}/dns_settings", {"nameservers": nameservers}
    )
    zone = call(args.api, args.token, "GET", f"/zones/{zid}")
    return result, _zone_lines([zone])


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows as lines with aligned columns (the last column is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] if rows else []
    return ["  ".join([cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
                      + row[len(widths):]) for row in rows]


def _ns_lines(entries: list[dict[str, Any]]) -> list[str]:
    def address(entry: dict[str, Any], kind: str) -> str:
        return next((f"{kind} {r['value']}" for r in entry["dns_records"] if r["type"] == kind),
                    "-")

    return _columns([[e["ns_name"], f"set {e.get('ns_set', 1)}", address(e, "A"),
                      address(e, "AAAA"), e["status"]] for e in entries])


def _zone_lines(zones: list[dict[str, Any]]) -> list[str]:
    return _columns([[z["name"], z["id"], ", ".join(z["name_servers"])] for z in zones])


def _record_lines(records: list[dict[str, Any]]) -> list[str]:
    """id, name, TTL, type, [priority] content, and `managed (Rn)` for acnsd's own."""
    return _columns([[r["id"], r["name"], str(r["ttl"]), r["type"],
                      " ".join(filter(None, [str(r.get("priority", "")), r["content"]])),
                      f"managed ({r['meta']['rule']})" if r["locked"] else ""]
                     for r in records])


def run_client(args: argparse.Namespace) -> int:
    """Run `acnsd ns|zone|record ...`; the exit code."""
    if not args.token:
        print("error: give --token (or set ACNSD_TOKEN)", file=sys.stderr)
        return 2
    try:
        result, lines = _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        for error in exc.errors:
            print(f"error: [{error.get('code')}] {error.get('message')}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot reach the API at {args.api}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for line in lines:
            print(line)
    return 0
