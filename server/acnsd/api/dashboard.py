"""The web dashboard: the seed's screens, served by the management API's listener at `/`.

Rule owned here: every screen reads, and every form changes, through the same Resources
endpoints as the API (resources.py) with the grant of the session's token, so the rules,
the token's scope and a refusal's words are the API's (each error's message, as the API
gives it). Pages are rendered on the server (Jinja2, autoescaped), without script.

- A browser signs in with an API token through a POST form; the token stays on the
  server (sessions.py). A page asked for without a live session redirects to the form.
- A POST must come from this origin (Origin, else Referer, when the browser sends one)
  and, once signed in, carry the session's CSRF token: else 403, and nothing changes.
- A change answers with a redirect to its page (post/redirect/get), which shows what
  happened: what was made, or the refusal.
- The delegation of a zone is what `acnsd show` says (model/show.py): the names it must be
  delegated to, and for each the A/AAAA to create where it is not served here and the glue
  to register; the status of a name or zone is what the API's result dicts carry, with
  whatever evidence they add.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import jinja2
from aiohttp import web

from ..model.assign import MAX_SET_NAMES, MIN_SET_NAMES
from ..model.show import report
from ..model.types import CUSTOM_ACCOUNT, CUSTOM_ZONE, STANDARD, STANDARD_RANDOM
from .auth import Grant, Tokens
from .edit import Rejected
from .resources import MAX_PER_PAGE, Request, Resources, Response
from .sessions import COOKIE, Session, Sessions, cookie_header

__all__ = ["Dashboard"]

SIGN_IN = "/sign-in"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; "
                                "img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "PTR", "DNAME")  # by `content`
DEFAULT_TYPES = (STANDARD, STANDARD_RANDOM, CUSTOM_ACCOUNT)
NS_SETS = range(1, 6)
# The keys of the API's result dicts that the screens show in their own place; any other
# key (a delegation status's evidence, say) is shown as it is.
ZONE_KEYS = frozenset({"id", "name", "status", "type", "account", "name_servers",
                       "vanity_name_servers", "vanity_name_servers_ips"})
NAME_KEYS = frozenset({"ns_name", "ns_set", "dns_records", "status", "zone_tag"})

Change = Callable[[Callable[[Request], Response], Request], Awaitable[Response]]

_ROUTES = [(re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), method, name)
           for path, method, name in (
               ("/", "GET", "home"),
               (SIGN_IN, "GET", "sign_in_form"),
               (SIGN_IN, "POST", "sign_in"),
               ("/sign-out", "POST", "sign_out"),
               ("/accounts/{account_id}", "GET", "account"),
               ("/accounts/{account_id}/custom_ns", "POST", "add_name"),
               ("/accounts/{account_id}/custom_ns/{ns_name}/delete", "POST", "delete_name"),
               ("/accounts/{account_id}/zone_defaults", "POST", "zone_defaults"),
               ("/accounts/{account_id}/zones", "POST", "add_zone"),
               ("/zones/{zone_id}", "GET", "zone"),
               ("/zones/{zone_id}/nameservers", "POST", "nameservers"),
               ("/zones/{zone_id}/records", "POST", "add_record"),
               ("/zones/{zone_id}/records/{record_id}/delete", "POST", "delete_record"),
           )]


@dataclass(frozen=True)
class Page:
    """One request to a dashboard route: its parameters, form and session's grant."""

    params: dict[str, str]
    form: dict[str, str]
    session: Session | None = None
    grant: Grant | None = None


class Dashboard:
    """The dashboard over the API's Resources and tokens; `change` runs a changing
    endpoint as the API runs it (one at a time, off the event loop)."""

    def __init__(self, resources: Resources, tokens: Tokens, change: Change,
                 sessions: Sessions | None = None) -> None:
        self.resources = resources
        self.tokens = tokens
        self.change = change
        self.sessions = sessions if sessions is not None else Sessions()
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("acnsd.api", "templates"), autoescape=True,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    @staticmethod
    def routes(path: str) -> tuple[dict[str, str], dict[str, str]] | None:
        """The handler of each method at `path`, and its parameters; None: no page there."""
        methods: dict[str, str] = {}
        params: dict[str, str] = {}
        for pattern, method, name in _ROUTES:
            match = pattern.match(path)
            if match:
                methods[method] = name
                params = {k: unquote(v) for k, v in match.groupdict().items()}
        return (methods, params) if methods else None

    async def answer(self, request: web.BaseRequest, path: str, body: bytes) -> web.Response:
        """The answer to a request for a dashboard path (`routes(path)` is not None)."""
        methods, params = self.routes(path) or ({}, {})
        name = methods.get(request.method)
        if name is None:
            allowed = ", ".join(methods)
            return self._page("error.html", None, 405, {"Allow": allowed},
                              title="Method not allowed",
                              messages=[f"{request.method} is not allowed here ({allowed})"])
        form = _form(body) if request.method == "POST" else {}
        if request.method == "POST" and not _same_origin(request.headers):
            return self._forbidden(None, "the form was sent from another site")
        if name in ("sign_in_form", "sign_in"):
            return await getattr(self, name)(request, Page(params, form))
        session = self.sessions.find(request.cookies.get(COOKIE))
        grant = self.tokens.grant(f"Bearer {session.token}") if session is not None else None
        if session is None or grant is None:
            if session is not None:  # its token is no longer in the tokens file
                self.sessions.close(session)
            return _redirect(SIGN_IN, {"Set-Cookie": cookie_header(None)})
        if request.method == "POST" and not session.csrf_ok(form.get("csrf")):
            return self._forbidden(session, "the form's CSRF token is missing or wrong; "
                                            "reload the page and send it again")
        page = Page(params, form, session, grant)
        try:
            return await getattr(self, name)(page)
        except Rejected as exc:  # a read the API refuses (another account's, not found)
            return self._page("error.html", session, exc.status, title="Not available",
                              messages=[m for _, m in exc.errors])

    # --- signing in and out -----------------------------------------------------------

    async def sign_in_form(self, request: web.BaseRequest, page: Page) -> web.Response:
        session = self.sessions.find(request.cookies.get(COOKIE))
        if session is not None:
            return _redirect("/")
        return self._page("sign_in.html", None, 200, messages=[])

    async def sign_in(self, request: web.BaseRequest, page: Page) -> web.Response:
        token = page.form.get("token", "").strip()
        if not token or self.tokens.grant(f"Bearer {token}") is None:
            return self._page("sign_in.html", None, 401,
                              messages=["that token is not one of the API's tokens"])
        old = self.sessions.find(request.cookies.get(COOKIE))
        if old is not None:  # a new id at every sign-in (no session fixation)
            self.sessions.close(old)
        session = self.sessions.open(token)
        return _redirect("/", {"Set-Cookie": cookie_header(session)})

    async def sign_out(self, page: Page) -> web.Response:
        assert page.session is not None
        self.sessions.close(page.session)
        return _redirect(SIGN_IN, {"Set-Cookie": cookie_header(None)})

    # --- screens ------------------------------------------------------------------------

    async def home(self, page: Page) -> web.Response:
        grant = _grant(page)
        accounts = [a for a in self.resources.model.accounts if grant.allows(a.id)]
        return self._page("home.html", page.session, 200, accounts=accounts)

    async def account(self, page: Page) -> web.Response:
        grant, account_id = _grant(page), page.params["account_id"]
        params = {"account_id": account_id}
        settings = self.resources.get_account_settings(Request(grant, params, {})).result
        names = self.resources.list_custom_ns(Request(grant, params, {})).result
        zones = self.resources.list_zones(Request(
            grant, {}, {"account.id": account_id, "per_page": str(MAX_PER_PAGE)}))
        shown = _account_report(self.resources, account_id)
        return self._page("account.html", page.session, 200, account=shown,
                          defaults=settings["zone_defaults"], names=names,
                          zones=zones.result, zones_total=zones.result_info["total_count"],
                          default_types=DEFAULT_TYPES, ns_sets=NS_SETS, name_keys=NAME_KEYS,
                          min_names=MIN_SET_NAMES, max_names=MAX_SET_NAMES)

    async def zone(self, page: Page) -> web.Response:
        grant, zone_id = _grant(page), page.params["zone_id"]
        params = {"zone_id": zone_id}
        zone = self.resources.get_zone(Request(grant, params, {})).result
        settings = self.resources.get_zone_settings(Request(grant, params, {})).result
        records = self.resources.list_records(Request(
            grant, params, {"per_page": str(MAX_PER_PAGE)}))
        account_id = zone["account"]["id"]
        statuses = {n["ns_name"]: n for n in self.resources.list_custom_ns(
            Request(grant, {"account_id": account_id}, {})).result}
        shown = _account_report(self.resources, account_id)
        entry = next(z for z in shown["zones"] if z["id"] == zone_id)
        named = {n["ns_name"]: n for n in shown["custom_nameservers"]}
        named.update({n["ns_name"]: n for n in entry["vanity_name_servers"]})
        delegation = [{"name": n, "shown": named.get(n), "status": statuses.get(n)}
                      for n in zone["name_servers"]]
        return self._page("zone.html", page.session, 200, zone=zone, settings=settings,
                          records=records.result,
                          records_total=records.result_info["total_count"],
                          sets=shown["sets"], delegation=delegation,
                          zone_extra={k: v for k, v in zone.items() if k not in ZONE_KEYS},
                          name_keys=NAME_KEYS, record_types=RECORD_TYPES)

    # --- changes ------------------------------------------------------------------------

    async def add_name(self, page: Page) -> web.Response:
        account_id = page.params["account_id"]
        body = _given(ns_name=page.form.get("ns_name", ""), ns_set=_number(page.form, "ns_set"))
        return await self._changed(page, f"/accounts/{account_id}", [
            ("create_custom_ns", {"account_id": account_id}, body)],
            lambda: f"{body['ns_name']} added to set {body.get('ns_set', 1)}")

    async def delete_name(self, page: Page) -> web.Response:
        account_id, name = page.params["account_id"], page.params["ns_name"]
        return await self._changed(page, f"/accounts/{account_id}", [
            ("delete_custom_ns", {"account_id": account_id, "ns_name": name}, None)],
            lambda: f"{name} deleted")

    async def zone_defaults(self, page: Page) -> web.Response:
        account_id = page.params["account_id"]
        defaults = {"nameservers": {"type": page.form.get("type", "")},
                    "ns_ttl": _number(page.form, "ns_ttl")}
        return await self._changed(page, f"/accounts/{account_id}", [
            ("patch_account_settings", {"account_id": account_id},
             {"zone_defaults": defaults})], lambda: "zone defaults saved")

    async def add_zone(self, page: Page) -> web.Response:
        account_id = page.params["account_id"]
        body = {"name": page.form.get("name", ""), "account": {"id": account_id}}
        return await self._changed(page, f"/accounts/{account_id}", [
            ("create_zone", {}, body)], lambda: f"zone {body['name']} added")

    async def nameservers(self, page: Page) -> web.Response:
        zone_id, kind = page.params["zone_id"], page.form.get("type", "")
        params = {"zone_id": zone_id}
        steps: list[tuple[str, dict[str, str], Any]] = []
        chosen = _given(type=kind, ns_set=_number(page.form, "ns_set")
                        if kind == CUSTOM_ACCOUNT else None)
        if kind == CUSTOM_ZONE:  # the names first: the type needs them (as in the API)
            names = page.form.get("vanity_name_servers", "").replace(",", " ").split()
            steps.append(("patch_zone", params, {"vanity_name_servers": names}))
        steps.append(("patch_zone_settings", params, {"nameservers": chosen}))
        return await self._changed(page, f"/zones/{zone_id}", steps,
                                   lambda: f"nameservers set to {_described(chosen)}")

    async def add_record(self, page: Page) -> web.Response:
        zone_id, form = page.params["zone_id"], page.form
        body = _given(type=form.get("type", ""), name=form.get("name", ""),
                      content=form.get("content", ""), ttl=_number(form, "ttl") or 1,
                      priority=_number(form, "priority"))
        return await self._changed(page, f"/zones/{zone_id}", [
            ("create_record", {"zone_id": zone_id}, body)],
            lambda: f"{body['type']} record {body['name']} added")

    async def delete_record(self, page: Page) -> web.Response:
        zone_id = page.params["zone_id"]
        return await self._changed(page, f"/zones/{zone_id}", [
            ("delete_record", {"zone_id": zone_id, "record_id": page.params["record_id"]},
             None)], lambda: "record deleted")

    async def _changed(self, page: Page, back: str,
                       steps: list[tuple[str, dict[str, str], Any]],
                       done: Callable[[], str]) -> web.Response:
        """Make the steps (Resources endpoints, params, body) in order as the API makes
        them, stopping at a refusal; then back to the page, which tells what happened."""
        assert page.session is not None
        try:
            for endpoint, params, body in steps:
                await self.change(getattr(self.resources, endpoint),
                                  Request(_grant(page), params, {}, body))
        except Rejected as exc:
            page.session.flash += [("error", message) for _, message in exc.errors]
            if exc.status == 403:  # nothing of that account or zone is shown
                return _redirect("/")
        else:
            page.session.flash.append(("ok", done()))
        return _redirect(back)

    # --- rendering ----------------------------------------------------------------------

    def _forbidden(self, session: Session | None, why: str) -> web.Response:
        return self._page("error.html", session, 403, title="Forbidden", messages=[why])

    def _page(self, template: str, session: Session | None, status: int,
              headers: dict[str, str] | None = None, **values: Any) -> web.Response:
        flash = []
        if session is not None:
            flash, session.flash = session.flash, []
        html = self.templates.get_template(template).render(
            session=session, flash=flash, quote=quote, **values)
        return web.Response(status=status, text=html, content_type="text/html",
                            headers={**HEADERS, **(headers or {})})


def _grant(page: Page) -> Grant:
    assert page.grant is not None
    return page.grant


def _account_report(resources: Resources, account_id: str) -> dict[str, Any]:
    """`acnsd show`'s entry for an account (its sets, names and what to create for them)."""
    return next(a for a in report(resources.model)["accounts"] if a["id"] == account_id)


def _described(nameservers: dict[str, Any]) -> str:
    if "ns_set" in nameservers:
        return f"{nameservers['type']} set {nameservers['ns_set']}"
    return str(nameservers["type"])


def _given(**fields: Any) -> dict[str, Any]:
    """An API body of the fields given (a blank field is left out: the API's default)."""
    return {k: v for k, v in fields.items() if v is not None}


def _form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (a field given twice: the last)."""
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _number(form: dict[str, str], key: str) -> int | str | None:
    """A form field as the API's body takes it: an integer when it is one, None when
    blank, else the text (which the API refuses in its words)."""
    text = form.get(key, "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


def _same_origin(headers: Any) -> bool:
    """The request names this server as its origin (Origin, else Referer), or names none
    (not a browser's form: the CSRF token still decides)."""
    for header in ("Origin", "Referer"):
        value = headers.get(header)
        if value:
            sent = urlsplit(value)
            return sent.scheme in ("http", "https") and sent.netloc == headers.get("Host")
    return True


def _redirect(location: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=303, headers={**HEADERS, "Location": location,
                                             **(headers or {})})
