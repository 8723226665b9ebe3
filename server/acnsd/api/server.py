"""The management API's HTTP server: Cloudflare's v4 envelope over aiohttp.

Rule owned here: every response is one JSON envelope `{success, errors, messages,
result}` with a status that says what happened (200, 400 bad request or broken rule,
401 no valid token, 403 outside the token's accounts, 404, 405, 408 too slow, 409
conflict, 411, 413), and no request can reach a resource before its token is checked
(only the OpenAPI document is public). The web dashboard (dashboard.py) is served beside
it, outside PREFIX, over the same resources and tokens, behind its own sign-in.

No client can exhaust the server (issue 15). At most `max_connections` connections are
open. One more is accepted by closing the least recently used connection among those not
answering that have been idle MIN_IDLE seconds (an idle keep-alive connection, one opened
and left silent, a head trickling in; for one that sent nothing, the kernel's count since
its handshake, so the time spent in the listen backlog counts); while there is none, the
next waits in the listen backlog, where it holds no descriptor. A request's head must be
complete within `header_timeout` of the connection opening or of the previous answer (a
client trickling a header byte at a time is cut off, an idle keep-alive connection
closed); its body, at most MAX_BODY bytes, must arrive within `body_timeout`, and the
answer be taken within it too.

The server runs its own event loop (uvloop when installed) in one thread, beside the DNS
path. Reads are answered on that loop; each change runs in a daemon thread, one at a
time in order of arrival (the ConfigEditor's lock serializes them as well), so the loop
goes on answering while a change is checked, and a client that leaves does not undo an
accepted change. The `apply` hook that `acnsd serve` passes in makes a change live: the
delta the pipeline made of it (control/pipeline.py), or what a whole load of it loaded.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import json
import logging
import re
import socket
import struct
import termios
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web

from ..aio import loop_factory, off_loop
from ..control.pipeline import Committed
from ..model.config import Loaded
from ..model.types import ApiLimits
from ..verify.checks import LastResults
from .auth import Tokens
from .dashboard import Dashboard
from .edit import ConfigEditor, Rejected
from .openapi import PATHS, document
from .resources import Request, Resources, Response

__all__ = ["HANDLERS", "PREFIX", "ApiServer"]

log = logging.getLogger("acnsd.api")

PREFIX = "/client/v4"
MAX_BODY = 1 << 20
LISTEN_BACKLOG = 4096  # connections waiting to be accepted (the kernel caps it: somaxconn)
SHUTDOWN_TIMEOUT = 1.0  # seconds the answers in progress get when the server stops
MIN_IDLE = 2.0  # seconds idle before a connection may be closed to make room for another
TCP_INFO_SIZE, TCPI_LAST_DATA_RECV = 104, 52  # Linux's struct tcp_info, a field's offset
ACCEPT_RETRY = 0.1  # seconds to wait when accept() finds no descriptor free
SERVER_HEADER = "acnsd-api"
BAD_REQUEST = 1030
DEFAULT_LIMITS = ApiLimits()
CLOSE_AFTER = frozenset({408, 411, 413})  # the rest of the request is not read: close

# (path template, method) → Resources method; openapi.PATHS lists the same pairs.
HANDLERS = {
    ("/accounts/{account_id}/custom_ns", "get"): "list_custom_ns",
    ("/accounts/{account_id}/custom_ns", "post"): "create_custom_ns",
    ("/accounts/{account_id}/custom_ns/{ns_name}", "delete"): "delete_custom_ns",
    ("/accounts/{account_id}/dns_settings", "get"): "get_account_settings",
    ("/accounts/{account_id}/dns_settings", "patch"): "patch_account_settings",
    ("/zones", "get"): "list_zones",
    ("/zones", "post"): "create_zone",
    ("/zones/{zone_id}", "get"): "get_zone",
    ("/zones/{zone_id}", "patch"): "patch_zone",
    ("/zones/{zone_id}", "delete"): "delete_zone",
    ("/zones/{zone_id}/dns_settings", "get"): "get_zone_settings",
    ("/zones/{zone_id}/dns_settings", "patch"): "patch_zone_settings",
    ("/zones/{zone_id}/dns_records", "get"): "list_records",
    ("/zones/{zone_id}/dns_records", "post"): "create_record",
    ("/zones/{zone_id}/dns_records/export", "get"): "export_records",
    ("/zones/{zone_id}/dns_records/import", "post"): "import_records",
    ("/zones/{zone_id}/dns_records/{record_id}", "get"): "get_record",
    ("/zones/{zone_id}/dns_records/{record_id}", "put"): "put_record",
    ("/zones/{zone_id}/dns_records/{record_id}", "patch"): "patch_record",
    ("/zones/{zone_id}/dns_records/{record_id}", "delete"): "delete_record",
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


ROUTES = [(_pattern(template), template) for template in PATHS]
QUERY = {(template, method): {p["name"] for p in operation["parameters"] if p["in"] == "query"}
         for template, operations in PATHS.items() for method, operation in operations.items()}
# The operations whose body is a form (multipart/form-data), handed over unparsed.
FORMS = {(template, method) for template, operations in PATHS.items()
         for method, operation in operations.items()
         if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})}

# status, envelope (or a text/plain body), extra headers
Answer = tuple[int, dict[str, Any] | str, dict[str, str]]


def envelope(status: int, result: Any = None, errors: list[tuple[int, str]] = (),
             result_info: dict[str, int] | None = None) -> dict[str, Any]:
    """Cloudflare's response envelope."""
    body: dict[str, Any] = {
        "success": status < 400,
        "errors": [{"code": code, "message": message} for code, message in errors],
        "messages": [],
        "result": result if status < 400 else None,
    }
    if result_info is not None:
        body["result_info"] = result_info
    return body


def _response(status: int, body: dict[str, Any] | str,
              headers: dict[str, str]) -> web.Response:
    """One envelope (or a text: a zone file export) as an HTTP response, written at once
    (head and body in one send)."""
    text = isinstance(body, str)
    response = web.Response(status=status,
                            body=body.encode() if text else json.dumps(body).encode() + b"\n",
                            content_type="text/plain" if text else "application/json",
                            headers={"Server": SERVER_HEADER, **headers})
    if status in CLOSE_AFTER:
        response.force_close()
    return response


def _json(data: bytes) -> Any:
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Rejected(400, [(6007, f"Malformed JSON in request body: {exc}")]) from None


def _declared_length(request: web.BaseRequest) -> int:
    """The body's length, from Content-Length (none: 0); 411 for any other framing, 413
    past MAX_BODY."""
    if request.headers.get("Transfer-Encoding"):
        raise Rejected(411, [(BAD_REQUEST, "send the body with a Content-Length")])
    size = request.content_length or 0
    if size > MAX_BODY:
        raise Rejected(413, [(BAD_REQUEST, f"the body is larger than {MAX_BODY} bytes")])
    return size


def _route(path: str, method: str) -> tuple[str, str, dict[str, str]]:
    """The Resources method, the path template and its parameters; 404 or 405."""
    for pattern, template in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        name = HANDLERS.get((template, method))
        if name is None:
            allowed = ", ".join(m.upper() for t, m in HANDLERS if t == template)
            raise Rejected(405, [(7001, f"Method {method.upper()} not available for that "
                                  f"URI; allowed: {allowed}")], {"Allow": allowed})
        return name, template, {k: unquote(v) for k, v in match.groupdict().items()}
    raise Rejected(404, [(7000, "No route for that URI")])


def _query(text: str, template: str, method: str) -> dict[str, str]:
    """The query parameters; 400 for one the endpoint does not take (a filter silently
    ignored would answer another question)."""
    query = dict(parse_qsl(text, keep_blank_values=True))
    taken = QUERY[(template, method)]
    unknown = sorted(set(query) - taken)
    if unknown:
        raise Rejected(400, [(BAD_REQUEST, f"unsupported query parameter(s) "
                              f"{', '.join(map(repr, unknown))}; this endpoint takes "
                              f"{', '.join(sorted(taken)) or 'none'}")])
    return query


class _Connection(web.RequestHandler):
    """One HTTP connection (aiohttp's): a request it cannot parse gets the envelope, and
    `heard` says whether any byte came since the connection opened or last answered."""

    heard = False

    def data_received(self, data: bytes) -> None:
        self.heard = True
        super().data_received(data)

    def silent_for(self) -> float:
        """Seconds the client has sent nothing, as the kernel counts them (from the
        handshake when nothing came yet); 0 when a byte came since the connection opened
        or last answered, or waits unread, and where the kernel does not tell (TCP_INFO
        is Linux's)."""
        if self.heard or self.transport is None:
            return 0.0
        sock = self.transport.get_extra_info("socket")
        try:
            unread = fcntl.ioctl(sock.fileno(), termios.FIONREAD, bytes(4))
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
        except (OSError, AttributeError):
            return 0.0
        if struct.unpack("i", unread)[0]:
            return 0.0
        return struct.unpack_from("I", info, TCPI_LAST_DATA_RECV)[0] / 1000

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        reason = message or str(exc)
        log.warning("event=api_bad_request client=%s status=%d reason=%r", request.remote,
                    status, reason)
        response = _response(status, envelope(status, errors=[
            (BAD_REQUEST, f"malformed HTTP request: {reason}")]), {})
        response.force_close()
        return response


class _Connections(web.Server):
    """aiohttp's low-level server, keeping its connections in order of last use (with the
    loop time of that use), knowing which of them are answering, and closing one whose
    next request's head is not complete `header_timeout` seconds after that use;
    `changed` is set when one closes or goes idle."""

    def __init__(self, handler: Callable, header_timeout: float, **options: Any) -> None:
        super().__init__(handler)
        self.options = {"keepalive_timeout": header_timeout, **options}  # each connection's
        self.header_timeout = header_timeout
        self.loop = asyncio.get_running_loop()
        self.by_use: dict[_Connection, float] = {}  # the least recently used first
        self.busy: set[_Connection] = set()
        self.deadlines: dict[_Connection, asyncio.TimerHandle] = {}
        self.changed = asyncio.Event()

    def __call__(self) -> _Connection:
        return _Connection(self, loop=self.loop, **self.options)

    def connection_made(self, handler: web.RequestHandler, transport: Any) -> None:
        super().connection_made(handler, transport)
        self._idle(handler)

    def connection_lost(self, handler: web.RequestHandler,
                        exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self.by_use.pop(handler, None)
        self.busy.discard(handler)
        if deadline := self.deadlines.pop(handler, None):
            deadline.cancel()
        self.changed.set()

    def begin(self, handler: _Connection) -> None:
        """A request's head is complete: it is being answered."""
        self.busy.add(handler)
        if deadline := self.deadlines.pop(handler, None):
            deadline.cancel()

    def end(self, handler: _Connection) -> None:
        """The answer is written: the connection waits for the next request."""
        self.busy.discard(handler)
        handler.heard = False
        if self.by_use.pop(handler, None) is not None:  # still open
            self._idle(handler)
        self.changed.set()

    def _idle(self, handler: _Connection) -> None:
        """From now on `handler` waits for a request: the latest used, with a deadline."""
        self.by_use[handler] = self.loop.time()
        self.deadlines[handler] = self.loop.call_later(self.header_timeout,
                                                       handler.force_close)

    def closable(self) -> tuple[_Connection | None, float | None]:
        """The connection to close for room: the least recently used of those not
        answering that have been idle MIN_IDLE seconds, since their last answer or, when
        nothing came since, since the last byte the kernel received (which counts the
        time spent in the listen backlog). Else None, and in how many seconds one will
        have been (None: all are answering)."""
        now = self.loop.time()
        wait = None
        for connection, since in self.by_use.items():
            if connection in self.busy:
                continue
            idle = now - since
            if idle < MIN_IDLE:
                idle = max(idle, connection.silent_for())
            left = MIN_IDLE - idle
            if left <= 0:
                return connection, None
            wait = left if wait is None else min(wait, left)
        return None, wait


class ApiServer:
    """The management API of one configuration file, served on `listen` by its own
    thread and event loop.

    `apply(made)` is called by the editor after each accepted change has been written and
    recorded, in the order of the changes; `refresh()` adopts the files again after the
    operator's own reload (SIGHUP).
    """

    def __init__(self, config_path: str | Path, listen: tuple[str, int],
                 tokens_file: str | Path, apply: Callable[[Committed | Loaded], None],
                 limits: ApiLimits = DEFAULT_LIMITS, *,
                 editor: ConfigEditor | None = None, checks: LastResults | None = None) -> None:
        """`editor`: the server's (else one of `config_path` applying with `apply`);
        `checks`: the delegation checks' results shown (else those of the results file)."""
        self.editor = editor if editor is not None else ConfigEditor(config_path, apply)
        self.tokens = Tokens(tokens_file)
        self.resources = Resources(self.editor, checks)
        self.openapi = document(PREFIX)
        self.dashboard = Dashboard(self.resources, self.tokens, self._change)
        self.limits = limits
        self._socket = _listening_socket(*listen)
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the port chosen when `listen` asked for port 0)."""
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="acnsd-api", daemon=True)
        self._thread.start()
        self._running.wait()
        if self._failure is not None:
            raise self._failure
        log.info("event=api_listening address=%s:%d", *self.address)

    def refresh(self) -> bool:
        """Adopt the configuration file as it is now, if it loads; False keeps the old."""
        return self.editor.refresh()

    def stop(self) -> None:
        """Stop accepting, give the answers in progress SHUTDOWN_TIMEOUT, close."""
        if self._thread is not None and self._loop is not None and self._stopping:
            try:
                self._loop.call_soon_threadsafe(self._stopping.set)
            except RuntimeError:  # the loop has ended already
                pass
            self._thread.join()
        self._socket.close()

    # --- the event loop's thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=loop_factory()) as runner:
                runner.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            log.exception("event=api_failed")
        finally:
            self._running.set()  # start() returns (and raises) if the loop failed to start

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._changing = asyncio.Lock()
        self._connections = _Connections(
            self._handle, self.limits.header_timeout, lingering_time=self.limits.body_timeout,
            access_log=None, tcp_keepalive=False)  # the deadlines find dead clients
        accepting = asyncio.create_task(self._accept())
        self._running.set()
        await self._stopping.wait()
        accepting.cancel()
        await asyncio.gather(accepting, return_exceptions=True)
        self._socket.close()
        await self._connections.shutdown(SHUTDOWN_TIMEOUT)

    async def _accept(self) -> None:
        """Accept connections, each once the cap leaves room for it."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                connection, _ = await loop.sock_accept(self._socket)
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("event=api_accept_failed reason=%r", exc.strerror)
                    await asyncio.sleep(ACCEPT_RETRY)
                continue
            await self._room()
            try:
                await loop.connect_accepted_socket(self._connections, connection)
            except OSError:
                connection.close()

    async def _room(self) -> None:
        """Return once one more connection fits under the cap, closing one that has been
        idle MIN_IDLE seconds; else wait for one to close, to go idle or to reach it."""
        connections = self._connections
        while len(connections.by_use) >= self.limits.max_connections:
            connections.changed.clear()
            connection, wait = connections.closable()
            if connection is not None:
                log.warning("event=api_connection_closed reason=max_connections "
                            "max_connections=%d", self.limits.max_connections)
                connection.force_close()
            try:
                async with asyncio.timeout(wait):
                    await connections.changed.wait()
            except TimeoutError:
                pass

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """aiohttp's handler: answer one request and write the answer."""
        self._connections.begin(request.protocol)
        response = web.Response()  # what aiohttp gets back when the client has left
        try:
            answer = await self._answer(request)
            if isinstance(answer, web.Response):  # a dashboard page
                response = answer
                response.headers["Server"] = SERVER_HEADER
            else:
                response = _response(*answer)
            async with asyncio.timeout(self.limits.body_timeout):
                await response.prepare(request)
                await response.write_eof()
            log.info("event=api_request client=%s method=%s path=%s status=%d",
                     request.remote, request.method, request.raw_path, response.status)
        except (ConnectionError, EOFError, TimeoutError) as exc:  # left, or does not read
            log.info("event=api_client_gone client=%s method=%s path=%s reason=%r",
                     request.remote, request.method, request.raw_path,
                     str(exc) or type(exc).__name__)
            request.protocol.force_close()
        finally:
            self._connections.end(request.protocol)
        return response

    async def _answer(self, request: web.BaseRequest) -> Answer | web.Response:
        try:
            return await self._dispatch(request)
        except Rejected as exc:
            return exc.status, envelope(exc.status, errors=exc.errors), exc.headers
        except (ConnectionError, EOFError):
            raise
        except Exception:
            log.exception("event=api_error method=%s path=%s", request.method,
                          request.raw_path)
            return 500, envelope(500, errors=[(1500, "internal error; see the log")]), {}

    async def _dispatch(self, request: web.BaseRequest) -> Answer | web.Response:
        method = request.method.lower()
        size = _declared_length(request)
        url = urlsplit(request.raw_path)
        if not url.path.startswith(PREFIX + "/"):
            if self.dashboard.routes(url.path) is None:
                raise Rejected(404, [(7000, "No route for that URI")])
            return await self.dashboard.answer(request, url.path,
                                               await self._body(request, size))
        path = url.path[len(PREFIX):].rstrip("/") or "/"
        if path == "/openapi.json" and method == "get":
            return 200, self.openapi, {}
        grant = self.tokens.grant(request.headers.get("Authorization"))
        if grant is None:
            raise Rejected(401, [(10000, "Authentication error: send Authorization: Bearer "
                                  "<token> with a token of the API's tokens file")])
        name, template, params = _route(path, method)
        query = _query(url.query, template, method)
        raw = await self._body(request, size)
        if (template, method) in FORMS:
            parsed = Request(grant, params, query, None, raw,
                             request.headers.get("Content-Type", ""))
        else:
            parsed = Request(grant, params, query, _json(raw))
        endpoint = getattr(self.resources, name)
        response = endpoint(parsed) if method == "get" else await self._change(endpoint, parsed)
        if response.text is not None:
            return response.status, response.text, {}
        return response.status, envelope(response.status, response.result,
                                         result_info=response.result_info), {}

    async def _body(self, request: web.BaseRequest, size: int) -> bytes:
        """The request body, `size` bytes; 408 when it does not come within body_timeout."""
        if not size:
            return b""
        if request.headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                return await request.content.readexactly(size)
        except TimeoutError:
            raise Rejected(408, [(BAD_REQUEST, f"the body did not arrive within "
                                  f"{self.limits.body_timeout:g} s")]) from None

    async def _change(self, endpoint: Callable[[Request], Response],
                      request: Request) -> Response:
        """A change, in a thread: one at a time, in order of arrival."""
        async with self._changing:
            return await off_loop(endpoint, request)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
