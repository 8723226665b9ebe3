"""The management API's HTTP server: Cloudflare's v4 envelope over the standard library.

Rule owned here: every response is one JSON envelope `{success, errors, messages,
result}` with a status that says what happened (200, 400 bad request or broken rule,
401 no valid token, 403 outside the token's accounts, 404, 405, 409 conflict, 413), and
no request can reach a resource before its token is checked (only the OpenAPI document
is public). The server runs in its own threads, beside the DNS path; changes are
serialized by the ConfigEditor and made live by the `apply` hook that `acnsd serve`
passes in (it compiles what the editor checked, or reloads the file, off the hot path).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .auth import Tokens
from .edit import ConfigEditor, Rejected
from .openapi import PATHS, document
from .resources import Request, Resources, Response

__all__ = ["HANDLERS", "PREFIX", "ApiServer"]

log = logging.getLogger("acnsd.api")

PREFIX = "/client/v4"
MAX_BODY = 1 << 20
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may stay silent

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
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


ROUTES = [(_pattern(template), template) for template in PATHS]
QUERY = {(template, method): {p["name"] for p in operation["parameters"] if p["in"] == "query"}
         for template, operations in PATHS.items() for method, operation in operations.items()}


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


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    api: ApiServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "acnsd-api"
    timeout = IDLE_TIMEOUT
    server: _HttpServer

    def __getattr__(self, name: str) -> Callable[[], None]:
        """http.server calls do_<METHOD>: every method gets the envelope (405 if not routed)."""
        if name.startswith("do_"):
            return lambda: self._handle(name[3:].lower())
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.info("event=api_request client=%s %s", self.client_address[0], format % args)

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        data = json.dumps(body, indent=None, sort_keys=False).encode() + b"\n"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self, method: str) -> None:
        headers: dict[str, str] = {}
        try:
            status, body = self._dispatch(method)
        except Rejected as exc:
            status, body = exc.status, envelope(exc.status, errors=exc.errors)
            headers = exc.headers
        except Exception:
            log.exception("event=api_error method=%s path=%s", method.upper(), self.path)
            status, body = 500, envelope(500, errors=[(1500, "internal error; see the log")])
        self._send(status, body, headers)

    def _read_body(self) -> bytes:
        """The request body, read whatever the answer, so the connection stays usable."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                raise Rejected(411, [(1030, "send the body with a Content-Length")])
            return b""
        size = int(length)
        if size > MAX_BODY:
            self.close_connection = True
            raise Rejected(413, [(1030, f"the body is larger than {MAX_BODY} bytes")])
        return self.rfile.read(size)

    @staticmethod
    def _json(data: bytes) -> Any:
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Rejected(400, [(6007, f"Malformed JSON in request body: {exc}")]) from None
        except RecursionError:
            raise Rejected(400, [(6007, "Malformed JSON in request body: nested too "
                                  "deeply")]) from None

    def _dispatch(self, method: str) -> tuple[int, dict[str, Any]]:
        api = self.server.api
        data = self._read_body()
        url = urlsplit(self.path)
        if not url.path.startswith(PREFIX + "/"):
            raise Rejected(404, [(7000, "No route for that URI")])
        path = url.path[len(PREFIX):].rstrip("/") or "/"
        if path == "/openapi.json" and method == "get":
            return 200, api.openapi
        grant = api.tokens.grant(self.headers.get("Authorization"))
        if grant is None:
            raise Rejected(401, [(10000, "Authentication error: send Authorization: Bearer "
                                  "<token> with a token of the API's tokens file")])
        for pattern, template in ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            name = HANDLERS.get((template, method))
            if name is None:
                allowed = ", ".join(m.upper() for t, m in HANDLERS if t == template)
                raise Rejected(405, [(7001, f"Method {method.upper()} not available for that "
                                      f"URI; allowed: {allowed}")], {"Allow": allowed})
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            unknown = sorted(set(query) - QUERY[(template, method)])
            if unknown:  # a filter silently ignored would answer another question
                raise Rejected(400, [(1030, f"unsupported query parameter(s) "
                                      f"{', '.join(map(repr, unknown))}; this endpoint takes "
                                      f"{', '.join(sorted(QUERY[(template, method)])) or 'none'}")])
            request = Request(grant, params, query, self._json(data))
            response: Response = getattr(api.resources, name)(request)
            return response.status, envelope(response.status, response.result,
                                             result_info=response.result_info)
        raise Rejected(404, [(7000, "No route for that URI")])


class ApiServer:
    """The management API of one configuration file, served on `listen` in threads.

    `apply()` is called after each accepted change has been written (the server's reload
    hook); `refresh()` adopts the file again after the operator's own reload (SIGHUP).
    """

    def __init__(self, config_path: str | Path, listen: tuple[str, int],
                 tokens_file: str | Path, apply: Callable[[], None]) -> None:
        self.editor = ConfigEditor(config_path)
        self.tokens = Tokens(tokens_file)
        self.resources = Resources(self.editor, apply)
        self.openapi = document(PREFIX)
        host, port = listen
        server_class = _HttpServer
        if ":" in host:
            server_class = type("_HttpServer6", (_HttpServer,),
                                {"address_family": socket.AF_INET6})
        self._httpd = server_class((host, port), _Handler)
        self._httpd.api = self
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the port chosen when `listen` asked for port 0)."""
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="acnsd-api", daemon=True)
        self._thread.start()
        log.info("event=api_listening address=%s:%d", *self.address)

    def refresh(self) -> bool:
        """Adopt the configuration file as it is now, if it loads; False keeps the old."""
        return self.editor.refresh()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.server_close()
