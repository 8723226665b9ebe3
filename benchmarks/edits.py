"""The changes the scale suite makes, through interfaces an operator has: the management
API over HTTP, a zone file and the YAML configuration edited on disk.

Nothing here knows how acnsd works inside: a zone's id comes from `GET /zones?name=`, and
the YAML edit finds the zone's entry in whichever YAML file under the configuration's
directory holds it (one file today, one per account or zone in a directory layout).
"""

from __future__ import annotations

import glob
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["TOKEN", "Api", "ApiError", "set_marker", "set_ns_ttl_in_yaml", "tokens_file"]

TOKEN = "benchmark-token-0123456789abcdef"


class ApiError(RuntimeError):
    """The API answered something else than success."""


def tokens_file(path: Path) -> None:
    """Write a tokens file that gives TOKEN every account."""
    path.write_text(f'- {{token: "{TOKEN}", accounts: ["*"]}}\n')


class Api:
    """A client of acnsd's management API on 127.0.0.1:`port` (Cloudflare v4 shapes)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._ids: dict[str, str] = {}

    def call(self, method: str, path: str, body: Any = None,
             timeout: float = 10.0) -> tuple[int, Any]:
        """One request; the status and the decoded envelope. OSError when nothing answers
        (or in time), ApiError when the answer is not HTTP."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.connect()
            if connection.sock.getsockname() == connection.sock.getpeername():
                # TCP's simultaneous open: while nothing listens on a port of the ephemeral
                # range, a connection to it may get that port as its own and connect to
                # itself; its request would come back as the answer
                raise ConnectionRefusedError(f"nothing listens on port {self.port}")
            connection.request(method, "/client/v4" + path,
                               body=None if body is None else json.dumps(body),
                               headers={"Authorization": f"Bearer {TOKEN}",
                                        "Content-Type": "application/json"})
            response = connection.getresponse()
            text = response.read()
        except http.client.HTTPException as error:
            raise ApiError(f"{method} {path}: {type(error).__name__}: {error}") from error
        finally:
            connection.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text.decode(errors="replace")

    def zone_id(self, name: str, timeout: float = 10.0) -> str:
        """The id of zone `name`, asked once."""
        if name not in self._ids:
            status, body = self.call("GET", f"/zones?name={name}", timeout=timeout)
            if status != 200 or not body.get("result"):
                raise ApiError(f"GET /zones?name={name}: {status} {str(body)[:300]}")
            self._ids[name] = body["result"][0]["id"]
        return self._ids[name]

    def set_ns_ttl(self, name: str, ttl: int, timeout: float) -> None:
        """PATCH the zone's dns_settings with `ns_ttl`; ApiError unless it is accepted."""
        path = f"/zones/{self.zone_id(name, timeout)}/dns_settings"
        status, body = self.call("PATCH", path, {"ns_ttl": ttl}, timeout=timeout)
        if status != 200:
            raise ApiError(f"PATCH {path}: {status} {str(body)[:300]}")


def set_marker(zone_file: Path, owner: str, token: str) -> None:
    """Make `owner` (absolute, in the file's zone) the zone file's one marker TXT record,
    holding `token`: appended the first time, replaced after."""
    line = f'{owner} 60 IN TXT "{token}"\n'
    kept = [kept for kept in zone_file.read_text().splitlines(keepends=True)
            if not kept.startswith(owner + " ")]
    zone_file.write_text("".join(kept) + line)


def _holder(config: Path, zone: str) -> tuple[Path, str, re.Match[str]]:
    """The YAML file under the configuration's directory that holds `zone`'s entry, its
    text, and the match of the entry's `- name: ZONE` line."""
    entry = re.compile(rf"^( *)- name: ['\"]?{re.escape(zone)}['\"]?[ \t]*$", re.MULTILINE)
    seen = set()
    for path in _candidates(config, zone):
        if path in seen:
            continue
        seen.add(path)
        text = path.read_text()
        if found := entry.search(text):
            return path, text, found
    raise ValueError(f"no `- name: {zone}` entry in {config} or a YAML file beside it")


def _candidates(config: Path, zone: str) -> Iterator[Path]:
    """The files that may hold `zone`'s entry, as an operator would look: the
    configuration, files named after the zone where the directory layout keeps them
    (accounts/ID/zones/ZONE.yaml: found without listing a directory of 10^6 files), else
    anywhere below, then every YAML file below (listed only when it comes to that)."""
    yield config
    name = f"{glob.escape(zone)}.yaml"
    yield from (sorted(config.parent.glob(f"accounts/*/zones/{name}"))
                or sorted(config.parent.rglob(name)))
    yield from sorted(config.parent.rglob("*.yaml"))


def set_ns_ttl_in_yaml(config: Path, zone: str, ttl: int) -> Path:
    """Set `zone`'s dns_settings.ns_ttl to `ttl` in the YAML file that holds its entry, as
    an operator would with an editor (only that line changes or is added; the entry must
    be in block style). Returns the file written."""
    path, text, found = _holder(config, zone)
    dash = len(found.group(1))
    lines = text[found.end() + 1:].split("\n")
    block = 0  # the entry's lines: those indented deeper than its dash
    while block < len(lines) and (not lines[block].strip()
                                  or len(lines[block]) - len(lines[block].lstrip()) > dash):
        block += 1
    entry = lines[:block]
    settings = next((i for i, line in enumerate(entry)
                     if line.strip() == "dns_settings:"), None)
    if settings is None:
        raise ValueError(f"{path}: the entry of {zone} has no block `dns_settings:`")
    indent = " " * (len(entry[settings]) - len(entry[settings].lstrip()) + 2)
    ttl_line = next((i for i, line in enumerate(entry) if line.startswith(indent + "ns_ttl:")),
                    None)
    if ttl_line is None:
        entry.insert(settings + 1, f"{indent}ns_ttl: {ttl}")
    else:
        entry[ttl_line] = f"{indent}ns_ttl: {ttl}"
    path.write_text(text[:found.end() + 1] + "\n".join(entry + lines[block:]))
    return path
