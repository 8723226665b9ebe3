"""The control socket: `acnsd reload` asks the running server to reload and is told how
it went.

Rule owned here: the server of a configuration listens on a Unix stream socket beside its
pid file (`<config stem>.ctl`, mode 0600: only its owner, and root, may connect). A
client sends one request line, `reload` (optionally followed by zone names: only those
zones' files are read, nothing is scanned); the server reloads as on SIGHUP (only what
changed on disk) and answers one JSON line: `{"ok": true, "generation": N,
"zone_files": K, "yaml_files": Y}` (K zone files and Y YAML files made by the pipeline;
-1: the configuration was loaded whole), or `{"ok": false, "problems": [...]}` with every
problem as `acnsd check` words it. Any other request gets `{"ok": false, "problems":
["unknown request ..."]}`. The client is reload.py, which `acnsd reload` runs without
importing the server's modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..model.types import ServerConfig

__all__ = ["control_path", "open_control"]

log = logging.getLogger("acnsd")

MAX_REQUEST = 65536  # octets of a request line


def control_path(config_file: Path, server: ServerConfig) -> Path:
    """Where the server of this configuration listens for `acnsd reload` (beside its pid
    file; reload.py's control_socket finds the same from acnsd.yaml's text)."""
    return server.state_file.parent / f"{config_file.stem}.ctl"


async def open_control(path: Path, reload: Callable[[list[str] | None],
                                                    Awaitable[dict[str, Any]]]) -> asyncio.Server:
    """Listen on `path` (a stale socket of a server that is gone is replaced: the pid
    file's lock says none runs); each `reload` request runs `reload()` and answers what it
    returns."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            words = line[:MAX_REQUEST].decode("ascii", "replace").split()
            if words[:1] == ["reload"]:
                answer = await reload(words[1:] or None)
            else:
                request = " ".join(words)
                answer = {"ok": False, "problems": [f"unknown request {request!r}"]}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client left: the reload still happened
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    path.unlink(missing_ok=True)
    old = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(client, path=str(path))
    finally:
        os.umask(old)
    log.info("event=control_listening path=%s", path)
    return server
