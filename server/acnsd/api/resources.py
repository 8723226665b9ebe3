"""The management API's resources: Cloudflare's ACNS, DNS-settings, zone and DNS records
endpoints.

Rule owned here: each endpoint reads the model the server last accepted, and each change
is one Change (control/change.py) made to the configuration's files through ConfigEditor
(checked by every rule, written atomically, then applied live by the editor's `apply` hook); a
patch is merged into the value the file holds. Scope is checked before
existence: a token that may not touch an account learns nothing about what it holds
(403 for its account ids, its zones and zone ids that do not exist alike), and a refused
change tells it only of its own resources (redact.py). Bodies hold exactly the
documented keys and JSON types (bodies.py). A zone is created from an empty zone file,
whatever file of that name was left in zones_dir, and deleting it removes its file. A
change of a zone's records is a change of its zone file (records.py says what is listed and
how the file is rewritten; ConfigEditor.rewrite_zone_file makes it).
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name

from ..control.change import (
    Change,
    NameserverAdded,
    NameserverRemoved,
    VanityNamesChanged,
    ZoneCreated,
    ZoneDefaultsChanged,
    ZoneDeleted,
    ZoneSettingsChanged,
)
from ..errors import Problem
from ..model.names import normalize, zone_name_error
from ..model.show import report
from ..model.tenants import not_here
from ..model.types import (
    CUSTOM_ACCOUNT,
    CUSTOM_ZONE,
    NS_TTL_DEFAULT,
    SOA_DEFAULTS,
    STANDARD,
    Account,
    Model,
    ResolvedZone,
    zone_id,
)
from ..verify.checks import LastResults
from ..verify.compare import ZONE_STATUS, unchecked
from .auth import Grant
from .bodies import check_body
from .edit import ConfigEditor, Invalid, Rejected
from .records import (
    Record,
    RecordError,
    ZoneText,
    export,
    owner_of,
    rdata_of,
    record_id,
    record_object,
    records_of,
    ttl_of,
)
from .redact import Paths, refusal, rule_code

__all__ = ["Request", "Resources", "Response"]

log = logging.getLogger("acnsd.api")

CUSTOM_NS_KEYS = ("dns_records", "ns_name", "ns_set", "status", "zone_tag", "verification")
ZONE_FILE_TEXT = ("; Zone file of {name}, created empty by the acnsd management API.\n"
                  "; The SOA and the apex NS are managed by acnsd (R9, R10).\n")
_ZONE_FILE_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
DEFAULT_PER_PAGE = 20
DEFAULT_RECORDS_PER_PAGE = 100  # (Cloudflare's)
_GENERATE = re.compile(r"^\$GENERATE", re.IGNORECASE | re.MULTILINE)
# Why a managed record is not edited through dns_records (records.py), by its rule.
MANAGED = {
    "R8": "{name} is a nameserver name: acnsd serves its A/AAAA (its assigned addresses) "
          "in the zone providing it; they are read-only",
    "R9": "the apex NS are the zone's assigned nameservers, managed by acnsd; change them "
          "with the zone's dns_settings.nameservers",
    "R10": "the SOA is managed by acnsd; change its fields with the zone's dns_settings.soa",
}
MAX_PER_PAGE = 1000

# Error codes (>= 1000) beside those of the rules (1000 + n for Rn, see redact.py).
NOT_FOUND = 7003
BAD_REQUEST = 1030
ZONE_EXISTS = 1061
INVALID_ZONE_NAME = 1049
FORBIDDEN = 9109
RECORD_NOT_FOUND = 81044  # (Cloudflare's "Record does not exist")


@dataclass(frozen=True)
class Request:
    """One authenticated request: its method, route parameters, query and JSON body."""

    grant: Grant
    params: dict[str, str]
    query: dict[str, str]
    body: Any = None
    raw: bytes = b""  # a multipart body, unparsed (the zone file upload)
    content_type: str = ""


@dataclass(frozen=True)
class Response:
    """An envelope's result; or, with `text`, a text/plain body (a zone file export)."""

    status: int
    result: Any
    result_info: dict[str, int] | None = None
    text: str | None = None


def _bad(message: str, code: int = BAD_REQUEST) -> Rejected:
    return Rejected(400, [(code, message)])


def _forbidden() -> Rejected:
    return Rejected(403, [(FORBIDDEN, "Unauthorized to access requested resource")])


def _patched(current: Any, patch: dict[str, Any]) -> dict[str, Any]:
    """A mapping with a JSON patch merged in: null removes a key; `soa` merges field-wise."""
    value = dict(current) if isinstance(current, dict) else {}
    for key, new in patch.items():
        if new is None:
            value.pop(key, None)
        elif key == "soa" and isinstance(new, dict) and isinstance(value.get(key), dict):
            value[key] = _patched(value[key], new)
        else:
            value[key] = new
    return value


def _soa(*layers: Any) -> dict[str, Any]:
    fields = [f.name for f in dataclasses.fields(SOA_DEFAULTS)]
    return {k: next((getattr(s, k) for s in layers if s is not None
                     and getattr(s, k) is not None), None) for k in fields}


def zone_object(model: Model, zone: ResolvedZone,
                checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cloudflare's zone object for one zone; its `status` from the delegation checks'
    last results `checks` (pending until the parent delegates to its nameservers), with
    their `verification`."""
    verification = (checks or {}).get("zones", {}).get(zone.name) or unchecked()
    account = next(a for a in model.accounts if a.id == zone.account)
    custom = list(zone.nameservers) if zone.ns_type in (CUSTOM_ACCOUNT, CUSTOM_ZONE) else []
    ips = {n: {"ipv4": model.addresses[n].ipv4, "ipv6": model.addresses[n].ipv6}
           for n in custom if n in model.addresses}
    return {
        "id": zone_id(zone.name),
        "name": zone.name,
        "status": ZONE_STATUS[verification["status"]],
        "type": "full",
        "account": {"id": account.id, "name": account.name},
        "name_servers": list(zone.nameservers),
        "vanity_name_servers": custom,
        "vanity_name_servers_ips": ips or None,
        "verification": verification,
    }


def zone_settings(zone: ResolvedZone) -> dict[str, Any]:
    """A zone's dns_settings as resolved (explicit, recorded defaults or built-in)."""
    nameservers: dict[str, Any] = {"type": zone.ns_type}
    if zone.ns_set is not None:
        nameservers["ns_set"] = zone.ns_set
    return {"nameservers": nameservers, "ns_ttl": zone.ns_ttl,
            "multi_provider": zone.multi_provider, "soa": _soa(zone.soa, SOA_DEFAULTS)}


def zone_defaults(account: Account) -> dict[str, Any]:
    """An account's zone_defaults, with the built-in values where it sets none."""
    d = account.zone_defaults
    return {"nameservers": {"type": d.nameservers.type if d.nameservers else STANDARD},
            "ns_ttl": d.ns_ttl or NS_TTL_DEFAULT, "multi_provider": bool(d.multi_provider),
            "soa": _soa(d.soa, SOA_DEFAULTS)}


class Resources:
    """The endpoints, over one ConfigEditor (which makes an accepted change live)."""

    def __init__(self, editor: ConfigEditor, checks: LastResults | None = None) -> None:
        self.editor = editor
        # the delegation checks' last results (verify/checks.py)
        self.checks = checks or LastResults()

    @property
    def model(self) -> Model:
        return self.editor.model

    def _checks(self, model: Model) -> dict[str, Any]:
        return self.checks.get(model.server)

    def _change(self, grant: Grant, change: Change, **files: Any) -> Model:
        """Make one change (ConfigEditor.change's `files` arguments); a refusal tells the
        caller only of its own resources."""
        try:
            return self.editor.change(change, **files)
        except Invalid as exc:
            raise self._refusal(exc.problems, grant) from None

    def _refusal(self, problems: list[Problem], grant: Grant) -> Rejected:
        return refusal(problems, grant, Paths(self.model.config_file.parent))

    def _account(self, grant: Grant, account_id: str) -> Account:
        if not grant.allows(account_id):
            raise _forbidden()
        for account in self.model.accounts:
            if account.id == account_id:
                return account
        raise Rejected(404, [(NOT_FOUND, f"account {account_id} not found")])

    def _zone(self, grant: Grant, zid: str) -> ResolvedZone:
        zone = self.editor.zone_by_id(zid)
        if zone is not None and grant.allows(zone.account):
            return zone
        if zone is None and grant.everything:
            raise Rejected(404, [(NOT_FOUND, f"zone {zid} not found")])
        raise _forbidden()

    # --- /accounts/{account_id}/custom_ns -------------------------------------------

    def _custom_ns(self, model: Model, account_id: str) -> list[dict[str, Any]]:
        doc = report(model, self._checks(model))
        entries = next(a for a in doc["accounts"] if a["id"] == account_id)["custom_nameservers"]
        return [{k: e[k] for k in CUSTOM_NS_KEYS if k in e} for e in entries]

    def list_custom_ns(self, req: Request) -> Response:
        self._account(req.grant, req.params["account_id"])
        return Response(200, self._custom_ns(self.model, req.params["account_id"]))

    def create_custom_ns(self, req: Request) -> Response:
        account_id = req.params["account_id"]
        self._account(req.grant, account_id)
        body = check_body(req.body, "CustomNameserverInput")
        name = normalize(body["ns_name"])
        model = self._change(req.grant, NameserverAdded(account_id, name, body.get("ns_set", 1)))
        created = next(e for e in self._custom_ns(model, account_id) if e["ns_name"] == name)
        return Response(200, created)

    def delete_custom_ns(self, req: Request) -> Response:
        account_id = req.params["account_id"]
        account = self._account(req.grant, account_id)
        name = normalize(req.params["ns_name"])
        if name not in {ns.ns_name for ns in account.custom_nameservers}:
            raise Rejected(404, [(NOT_FOUND, f"custom nameserver {name} not found in "
                                  f"account {account_id}")])

        self._change(req.grant, NameserverRemoved(account_id, name))
        return Response(200, [])

    # --- dns_settings -----------------------------------------------------------------

    def get_account_settings(self, req: Request) -> Response:
        account = self._account(req.grant, req.params["account_id"])
        return Response(200, {"zone_defaults": zone_defaults(account)})

    def patch_account_settings(self, req: Request) -> Response:
        account_id = req.params["account_id"]
        self._account(req.grant, account_id)
        defaults = check_body(req.body, "AccountDnsSettings").get("zone_defaults")
        if defaults is not None:
            settings = (self.editor.entry(account=account_id) or {}).get("dns_settings")
            current = settings.get("zone_defaults") if isinstance(settings, dict) else None
            defaults = _patched(current, defaults)
        model = self._change(req.grant, ZoneDefaultsChanged(account_id, defaults))
        account = next(a for a in model.accounts if a.id == account_id)
        return Response(200, {"zone_defaults": zone_defaults(account)})

    def get_zone_settings(self, req: Request) -> Response:
        return Response(200, zone_settings(self._zone(req.grant, req.params["zone_id"])))

    def patch_zone_settings(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        body = check_body(req.body, "ZoneDnsSettings")
        settings = _patched((self.editor.entry(zone=zone.name) or {}).get("dns_settings"), body)
        model = self._change(req.grant, ZoneSettingsChanged(zone.name, settings or None))
        return Response(200, zone_settings(self._resolved(model, zone.name)))

    # --- /zones -------------------------------------------------------------------------

    def _resolved(self, model: Model, name: str) -> ResolvedZone:
        """The zone after a change that returned `model`."""
        zone = self.editor.zone(name)
        if zone is None or self.editor.model is not model:  # a later change came between
            zone = next(z for z in model.zones if z.name == name)
        return zone

    def list_zones(self, req: Request) -> Response:
        name = normalize(req.query["name"]) if "name" in req.query else None
        account_id = req.query.get("account.id")
        # a name is looked up in the editor's index, not searched for among every zone
        named = (self.model.zones if name is None
                 else [zone] if (zone := self.editor.zone(name)) is not None else [])
        zones = [z for z in named if req.grant.allows(z.account)
                 and (account_id is None or z.account == account_id)]
        chosen, info = _page(zones, req.query, DEFAULT_PER_PAGE)
        checks = self._checks(self.model)
        return Response(200, [zone_object(self.model, z, checks) for z in chosen], info)

    def get_zone(self, req: Request) -> Response:
        return Response(200, zone_object(self.model, self._zone(req.grant, req.params["zone_id"]),
                                         self._checks(self.model)))

    def create_zone(self, req: Request) -> Response:
        body = check_body(req.body, "ZoneInput")
        if body.get("type", "full") != "full":
            raise _bad("only zones of type full are served by acnsd")
        account = body["account"]
        self._account(req.grant, account["id"])
        name = normalize(body["name"])
        why = zone_name_error(name)
        if why or not _ZONE_FILE_NAME.match(name):
            raise _bad(f"invalid zone name {body['name']!r}: "
                       f"{why or 'use letters, digits, hyphens and underscores'}",
                       INVALID_ZONE_NAME)
        existing = self.editor.zone(name)
        if existing is not None and req.grant.allows(existing.account):
            raise Rejected(409, [(ZONE_EXISTS, f"zone {name} already exists")])
        if existing is not None:  # refused by R11 in the words of any zone in its tree
            raise self._refusal([Problem(
                f"zone {name} is a zone of account {existing.account}", rule="R11",
                accounts=(account["id"], existing.account),
                tenant_message=not_here("zone", name))], req.grant)
        file = self.model.server.zones_dir / f"{name}.zone"
        if self.editor.zones_reading(file):
            raise Rejected(409, [(ZONE_EXISTS, f"zone {name} cannot be created: its zone file "
                                  "name is in use on this server; ask the operator")])

        model = self._change(req.grant, ZoneCreated(account["id"], name),
                             new_files={file: ZONE_FILE_TEXT.format(name=name)})
        return Response(200, zone_object(model, self._resolved(model, name), self._checks(model)))

    def patch_zone(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        body = check_body(req.body, "ZoneEdit")
        names = [normalize(n) for n in body["vanity_name_servers"]]
        model = self._change(req.grant, VanityNamesChanged(zone.name, names or None))
        return Response(200, zone_object(model, self._resolved(model, zone.name),
                                         self._checks(model)))

    def delete_zone(self, req: Request) -> Response:
        """Delete a zone: its entry, its zone file (when in zones_dir and no other zone's)
        and what it received from the zone defaults; its serial stays recorded, so a zone
        of that name created later starts above it (R10)."""
        zone = self._zone(req.grant, req.params["zone_id"])
        zones_dir = self.model.server.zones_dir
        shared = bool(self.editor.zones_reading(zone.file) - {zone.name})
        inside = os.path.abspath(zone.file).startswith(os.path.abspath(zones_dir) + os.sep)

        self._change(req.grant, ZoneDeleted(zone.name),
                     removed_files=[Path(zone.file)] if inside and not shared else [],
                     forget=[zone.name])
        return Response(200, {"id": zone_id(zone.name)})

    # --- /zones/{zone_id}/dns_records (records.py: what is listed, ids, TTLs) ---------

    def _zone_text(self, zone: ResolvedZone, text: str | None = None) -> ZoneText:
        """The zone's file (`text`, or as it is on disk now), parsed; 400 when it cannot be
        rewritten through the API."""
        try:
            if text is None:
                text = Path(zone.file).read_bytes().decode("utf-8")
            return ZoneText.parse(text, dns.name.from_text(zone.name))
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad(f"zone {zone.name}: its zone file cannot be read ({exc}); ask the "
                       "operator") from None
        except RecordError as exc:
            raise _bad(f"zone {zone.name}: {exc}") from None

    def _served(self, zone: ResolvedZone, file: ZoneText) -> list[Record]:
        return records_of(self.model, zone, file, self.editor.serial(zone.name))

    def _record(self, zone: ResolvedZone, rid: str) -> Record:
        for record in self._served(zone, self._zone_text(zone)):
            if record_id(zone.name, record) == rid:
                return record
        raise Rejected(404, [(RECORD_NOT_FOUND, f"record {rid} not found in zone {zone.name}")])

    def _rewrite(self, grant: Grant, zone: ResolvedZone,
                 rewrite: Callable[[ZoneText], None]) -> Model:
        """Change the zone's file by `rewrite` (of its parsed text, under the editor's
        lock) as one ZoneFileChanged change; a refusal as _change's."""
        if self.editor.zones_reading(zone.file) - {zone.name}:
            raise _bad(f"zone {zone.name}: its zone file is also another zone's; edit it on "
                       "disk")

        def text(current: str) -> str:
            file = self._zone_text(zone, current)
            try:
                rewrite(file)
            except RecordError as exc:
                code = rule_code(Problem("", rule=exc.rule)) if exc.rule else BAD_REQUEST
                raise Rejected(400, [(code, f"[{exc.rule}] {exc}" if exc.rule else str(exc))]
                               ) from None
            return file.rewritten()

        try:
            return self.editor.rewrite_zone_file(zone.name, text)
        except Invalid as exc:
            raise self._refusal(exc.problems, grant) from None
        except LookupError:
            raise Rejected(404, [(NOT_FOUND, f"zone {zone.name} not found")]) from None

    def _new_record(self, zone: ResolvedZone, file: ZoneText, fields: dict[str, Any],
                    ttl: int | None) -> Record:
        """The record `fields` describe (Cloudflare's); its TTL: `fields`' ttl, else `ttl`,
        else its RRset's, else automatic."""
        if fields.get("proxied"):
            raise RecordError("acnsd does not proxy: proxied must be false")
        kind = str(fields["type"]).upper()
        name = owner_of(str(fields["name"]), zone.name)
        if kind == "SOA":
            raise RecordError(MANAGED["R10"], "R10")
        if kind == "NS" and name == file.origin and not zone.multi_provider:
            raise RecordError(MANAGED["R9"] + "; with multi_provider: true the apex NS of "
                              "the zone file are served beside them", "R9")
        rdata = rdata_of(kind, fields.get("content"), fields.get("priority"),
                         fields.get("data"))
        if "ttl" in fields:
            ttl = ttl_of(fields["ttl"], file)
        elif ttl is None:
            ttl = file.rrset_ttl(name, rdata.rdtype) or file.auto_ttl
        return Record(name, ttl, rdata)

    def _editable(self, zone: ResolvedZone, rid: str) -> Record:
        record = self._record(zone, rid)
        if record.rule is not None:
            why = MANAGED[record.rule].format(name=record.name.to_text(omit_final_dot=True))
            raise Rejected(400, [(rule_code(Problem("", rule=record.rule)),
                                  f"[{record.rule}] {why}")])
        return record

    def _written(self, req: Request, make: Callable[[ZoneText], Record],
                 old: Record | None = None) -> Response:
        """Write the record `make` makes (replacing `old`); its object as now served."""
        zone = self._zone(req.grant, req.params["zone_id"])
        made: list[Record] = []

        def rewrite(file: ZoneText) -> None:
            if old is not None:
                file.remove(old)
            record = make(file)
            file.add(record)
            made.append(record)

        model = self._rewrite(req.grant, zone, rewrite)
        return Response(200, record_object(self._resolved(model, zone.name), made[0]))

    def list_records(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        objects = [record_object(zone, r) for r in self._served(zone, self._zone_text(zone))]
        if "type" in req.query:
            objects = [o for o in objects if o["type"] == req.query["type"].upper()]
        if "name" in req.query:
            name = owner_of_query(req.query["name"], zone.name)
            objects = [o for o in objects if o["name"] == name]
        if "content" in req.query:
            objects = [o for o in objects if o["content"] == req.query["content"]]
        chosen, info = _page(objects, req.query, DEFAULT_RECORDS_PER_PAGE)
        return Response(200, chosen, info)

    def get_record(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        return Response(200, record_object(zone, self._record(zone, req.params["record_id"])))

    def create_record(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        body = check_body(req.body, "DnsRecordInput")
        return self._written(req, lambda file: self._new_record(zone, file, body, None))

    def put_record(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        old = self._editable(zone, req.params["record_id"])
        body = check_body(req.body, "DnsRecordInput")
        return self._written(req, lambda file: self._new_record(zone, file, body, None), old)

    def patch_record(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        old = self._editable(zone, req.params["record_id"])
        body = check_body(req.body, "DnsRecordPatch")
        current = {k: v for k, v in record_object(zone, old).items()
                   if k in ("type", "name", "content", "priority", "data")}
        return self._written(req, lambda file: self._new_record(
            zone, file, {**current, **body}, old.ttl), old)

    def delete_record(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        old = self._editable(zone, req.params["record_id"])
        self._rewrite(req.grant, zone, lambda file: file.remove(old))
        return Response(200, {"id": record_id(zone.name, old)})

    def export_records(self, req: Request) -> Response:
        zone = self._zone(req.grant, req.params["zone_id"])
        file = self._zone_text(zone)
        return Response(200, None, text=export(self.model, zone, file,
                                               self.editor.serial(zone.name)))

    def import_records(self, req: Request) -> Response:
        """Add the records of an uploaded BIND zone file (multipart field `file`) that the
        zone does not serve yet; its SOA and apex NS are acnsd's (skipped, R9/R10 — apex NS
        are taken with multi_provider); records outside the zone are ignored, as BIND and
        Knot ignore them when loading a zone. One change: all are added, or none."""
        zone = self._zone(req.grant, req.params["zone_id"])
        upload = _uploaded_zone_file(req)
        origin = dns.name.from_text(zone.name)
        try:
            imported = ZoneText.parse(upload, origin).records
        except RecordError as exc:
            raise _bad(f"the uploaded zone file: {exc}") from None
        added: list[Record] = []

        def rewrite(file: ZoneText) -> None:
            present = self._served(zone, file)
            for record in imported:
                skipped = record.type == "SOA" or (
                    record.type == "NS" and record.name == origin and not zone.multi_provider)
                if not skipped and not any(r.same(record) for r in present + added):
                    file.add(record)
                    added.append(record)

        self._rewrite(req.grant, zone, rewrite)
        return Response(200, {"recs_added": len(added), "total_records_parsed": len(imported)})


def owner_of_query(text: str, zone: str) -> str:
    """A `name` filter as the records' names are shown (no final dot); 400 when invalid."""
    try:
        return owner_of(text, zone).to_text(omit_final_dot=True)
    except RecordError as exc:
        raise _bad(str(exc)) from None


def _uploaded_zone_file(req: Request) -> str:
    """The text of the multipart/form-data field `file` (Cloudflare's import); 400 when the
    body is not that form, or holds other fields than `file` and a false `proxied`."""
    if not req.content_type.lower().startswith("multipart/form-data"):
        raise _bad("send the zone file as multipart/form-data in the field file "
                   "(curl --form file=@example.com.txt)")
    head = f"Content-Type: {req.content_type}\r\n\r\n".encode("latin-1", "replace")
    form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + req.raw)
    fields = {part.get_param("name", header="content-disposition"): part
              for part in (form.iter_parts() if form.is_multipart() else ())}
    proxied = fields.pop("proxied", None)
    if proxied is not None and proxied.get_content().strip().lower() != "false":
        raise _bad("acnsd does not proxy: proxied must be false")
    upload = fields.pop("file", None)
    if upload is None or fields:
        raise _bad("the form must hold the field file (and optionally proxied: false)")
    try:
        text = upload.get_payload(decode=True).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(f"the uploaded zone file is not UTF-8 text: {exc}") from None
    if _GENERATE.search(text):
        raise _bad("the uploaded zone file has $GENERATE; list its records one by one")
    return text


def _page(items: list[Any], query: dict[str, str],
          default: int) -> tuple[list[Any], dict[str, int]]:
    """The page of `items` the query's `page` and `per_page` ask for, and Cloudflare's
    result_info."""
    page = _positive(query.get("page"), 1, "page")
    per_page = _positive(query.get("per_page"), default, "per_page")
    if per_page > MAX_PER_PAGE:
        raise _bad(f"per_page must be 1..{MAX_PER_PAGE}, not {per_page}")
    chosen = items[(page - 1) * per_page:page * per_page]
    return chosen, {"page": page, "per_page": per_page, "count": len(chosen),
                    "total_count": len(items), "total_pages": -(-len(items) // per_page)}


def _positive(text: str | None, default: int, name: str) -> int:
    if text is None:
        return default
    if not text.isdigit() or int(text) < 1:
        raise _bad(f"{name} must be a positive integer, not {text!r}")
    return int(text)
