"""The OpenAPI 3.0 document of the management API, served at /client/v4/openapi.json.

Rule owned here: the document describes exactly the routes api.py dispatches (api.py
builds its route table from PATHS), the bodies each accepts and Cloudflare's response
envelope, so that a property-based client generated from it exercises the real server.
The body schemas are also what bodies.py holds every request to (keys and JSON types);
`x-rule` names the rule a field's value answers to.
"""

from __future__ import annotations

from typing import Any

__all__ = ["document"]

_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = {"type": "string", "maxLength": 253, "example": "ns1.example.com",
            "pattern": f"^({_LABEL}\\.)+{_LABEL}\\.?$",
            "x-rule": "R1"}  # R1: LDH, at least two labels
ACCOUNT_ID = {"name": "account_id", "in": "path", "required": True,
              "schema": {"type": "string", "maxLength": 64}}
ZONE_ID = {"name": "zone_id", "in": "path", "required": True,
           "schema": {"type": "string", "maxLength": 32}}
NS_NAME = {"name": "ns_name", "in": "path", "required": True, "schema": HOSTNAME}
RECORD_ID = {"name": "record_id", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA", "PTR", "DNAME"]

# In dns_settings, null removes a field (back to the default or what the zone received).
_R10 = {"nullable": True, "x-rule": "R10"}
SOA = {"type": "object", "nullable": True, "additionalProperties": False, "properties": {
    "mname": {"type": "string", **_R10}, "rname": {"type": "string", **_R10},
    "refresh": {"type": "integer", "minimum": 600, "maximum": 86400, **_R10},
    "retry": {"type": "integer", "minimum": 600, "maximum": 86400, **_R10},
    "expire": {"type": "integer", "minimum": 86400, "maximum": 2419200, **_R10},
    "min_ttl": {"type": "integer", "minimum": 60, "maximum": 86400, **_R10},
    "ttl": {"type": "integer", "minimum": 300, "maximum": 86400, **_R10}}}
NS_TYPE = {"type": "string", "enum": ["cloudflare.standard", "custom.account", "custom.zone"]}
DEFAULT_NS_TYPE = {"type": "string", "enum": ["cloudflare.standard", "cloudflare.standard.random",
                                              "custom.account"]}
NS_SET = {"type": "integer", "minimum": 1, "maximum": 5, "x-rule": "R2"}


def _settings(ns_type: dict, with_set: bool) -> dict[str, Any]:
    nameservers = {"type": "object", "required": ["type"], "additionalProperties": False,
                   "nullable": True,
                   "properties": {"type": ns_type, **({"ns_set": NS_SET} if with_set else {})}}
    return {"type": "object", "additionalProperties": False, "properties": {
        "nameservers": nameservers,
        "ns_ttl": {"type": "integer", "minimum": 30, "maximum": 86400, "nullable": True,
                   "x-rule": "R9"},
        "soa": SOA, "multi_provider": {"type": "boolean", "nullable": True}}}


SCHEMAS: dict[str, Any] = {
    "Message": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "integer", "minimum": 1000}, "message": {"type": "string"}}},
    "Failure": {"type": "object", "required": ["success", "errors", "messages", "result"],
                "properties": {
                    "success": {"type": "boolean", "enum": [False]},
                    "errors": {"type": "array", "minItems": 1,
                               "items": {"$ref": "#/components/schemas/Message"}},
                    "messages": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/Message"}},
                    "result": {"nullable": True}}},
    "CustomNameserver": {"type": "object", "required": ["dns_records", "ns_name", "status",
                                                        "zone_tag"], "properties": {
        "dns_records": {"type": "array", "items": {"type": "object", "properties": {
            "type": {"type": "string", "enum": ["A", "AAAA"]}, "value": {"type": "string"}}}},
        "ns_name": HOSTNAME, "ns_set": NS_SET,
        "status": {"type": "string", "enum": ["moved", "pending", "verified"]},
        "zone_tag": {"type": "string", "maxLength": 32},
        "verification": {"$ref": "#/components/schemas/Verification"}}},
    "Verification": {
        "type": "object", "required": ["status", "evidence", "to_create", "checked_on"],
        "description": "The last delegation check (acnsd's; `status` above is Cloudflare's "
                       "word for it): what was found where, and what to create where it is "
                       "not verified",
        "properties": {
            "status": {"type": "string", "enum": ["pending", "verified", "mismatch"]},
            "evidence": {"type": "array", "items": {"type": "string"}},
            "to_create": {"type": "object"},
            "checked_on": {"type": "string", "nullable": True}}},
    "CustomNameserverInput": {"type": "object", "required": ["ns_name"],
                              "additionalProperties": False,
                              "properties": {"ns_name": HOSTNAME, "ns_set": NS_SET}},
    "ZoneDnsSettings": _settings(NS_TYPE, True),
    "ZoneDefaults": _settings(DEFAULT_NS_TYPE, False),
    "AccountDnsSettings": {"type": "object", "additionalProperties": False, "properties": {
        "zone_defaults": {"allOf": [{"$ref": "#/components/schemas/ZoneDefaults"}],
                          "nullable": True}}},
    "Zone": {"type": "object", "required": ["id", "name", "account", "name_servers", "status"],
             "properties": {
                 "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                 "name": {"type": "string"},
                 "status": {"type": "string", "enum": ["pending", "active", "moved"]},
                 "type": {"type": "string", "enum": ["full"]},
                 "account": {"type": "object", "properties": {"id": {"type": "string"},
                                                              "name": {"type": "string"}}},
                 "name_servers": {"type": "array", "items": HOSTNAME},
                 "vanity_name_servers": {"type": "array", "items": HOSTNAME},
                 "vanity_name_servers_ips": {"type": "object", "nullable": True},
                 "verification": {"$ref": "#/components/schemas/Verification"}}},
    "ZoneInput": {"type": "object", "required": ["name", "account"],
                  "additionalProperties": False, "properties": {
                      "name": {"type": "string", "maxLength": 253, "example": "example.org"},
                      "type": {"type": "string", "enum": ["full"]},
                      "account": {"type": "object", "required": ["id"],
                                  "properties": {"id": {"type": "string"}}}}},
    "ZoneEdit": {"type": "object", "required": ["vanity_name_servers"],
                 "additionalProperties": False, "properties": {
                     "vanity_name_servers": {"type": "array", "items": HOSTNAME}}},
}
_RECORD_FIELDS: dict[str, Any] = {
    "type": {"type": "string", "enum": RECORD_TYPES},
    "name": {"type": "string", "maxLength": 253, "example": "www.example.com",
             "description": "the record's name: @ or the zone's name for the apex, a name "
                            "ending in the zone's name, or one relative to the zone"},
    "content": {"type": "string", "description": "A/AAAA: the address; CNAME, NS, PTR, "
                "DNAME, MX: the target name; TXT: the text (or quoted strings)"},
    "ttl": {"type": "integer", "description": "1: automatic (the zone file's $TTL, else 300);"
            " else 30..86400; it is the TTL of the record's whole RRset (RFC 2181 §5.2)"},
    "priority": {"type": "integer", "minimum": 0, "maximum": 65535,
                 "description": "MX preference"},
    "data": {"type": "object", "additionalProperties": False,
             "description": "SRV: priority, weight, port, target; CAA: flags, tag, value",
             "properties": {"priority": {"type": "integer"}, "weight": {"type": "integer"},
                            "port": {"type": "integer"}, "target": {"type": "string"},
                            "flags": {"type": "integer"}, "tag": {"type": "string"},
                            "value": {"type": "string"}}},
    "proxied": {"type": "boolean", "enum": [False], "description": "acnsd does not proxy"},
}
SCHEMAS.update({
    "DnsRecord": {"type": "object", "required": ["id", "name", "type", "content", "ttl",
                                                 "locked"], "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f]{32}$",
               "description": "derived from (zone, name, type, data): kept across TTL "
                              "edits, export and import; a changed name/type/data is a new "
                              "id"},
        "zone_id": {"type": "string"}, "zone_name": {"type": "string"},
        "name": {"type": "string"}, "type": {"type": "string"},
        "content": {"type": "string"}, "ttl": {"type": "integer"},
        "priority": {"type": "integer"}, "data": {"type": "object"},
        "proxiable": {"type": "boolean"}, "proxied": {"type": "boolean"},
        "locked": {"type": "boolean", "description": "managed by acnsd (read-only)"},
        "meta": {"type": "object", "properties": {
            "managed_by": {"type": "string", "nullable": True},
            "read_only": {"type": "boolean"},
            "rule": {"type": "string", "nullable": True,
                     "description": "R8: a nameserver name's A/AAAA; R9: apex NS; R10: SOA"}}},
        "comment": {"type": "string", "nullable": True},
        "tags": {"type": "array", "items": {"type": "string"}}}},
    "DnsRecordInput": {"type": "object", "required": ["type", "name"],
                       "additionalProperties": False, "properties": _RECORD_FIELDS},
    "DnsRecordPatch": {"type": "object", "additionalProperties": False,
                       "properties": _RECORD_FIELDS},
    "RecordsImported": {"type": "object", "properties": {
        "recs_added": {"type": "integer"}, "total_records_parsed": {"type": "integer"}}},
})


def _success(result: dict[str, Any]) -> dict[str, Any]:
    return {"description": "success", "content": {"application/json": {"schema": {
        "type": "object", "required": ["success", "errors", "messages", "result"],
        "properties": {"success": {"type": "boolean", "enum": [True]},
                       "errors": {"type": "array", "maxItems": 0},
                       "messages": {"type": "array"}, "result": result,
                       "result_info": {"type": "object"}}}}}}


def _operation(summary: str, params: list[dict], result: dict[str, Any],
               body: str | None = None, query: list[dict] | None = None) -> dict[str, Any]:
    failure = {"description": "refused", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Failure"}}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": params + (query or []),
        "responses": {"200": _success(result), "400": failure, "401": failure,
                      "403": failure, "404": failure, "405": failure, "409": failure,
                      "411": failure, "413": failure, "503": failure},
    }
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return operation


def _export() -> dict[str, Any]:
    """GET dns_records/export: the zone as a BIND zone file, text/plain."""
    operation = _operation("Export the zone's records as a BIND zone file (text/plain)",
                           [ZONE_ID], {"type": "string"})
    operation["responses"]["200"] = {"description": "the zone file", "content": {
        "text/plain": {"schema": {"type": "string"}}}}
    return operation


def _import() -> dict[str, Any]:
    """POST dns_records/import: a BIND zone file uploaded as Cloudflare takes it."""
    operation = _operation("Import the records of a BIND zone file (multipart field file; "
                           "SOA and apex NS are acnsd's and skipped; all or none added)",
                           [ZONE_ID], _ref("RecordsImported"))
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "proxied": {"type": "string", "enum": ["false"]}}}}}}
    return operation


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


_PAGES = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
          {"name": "per_page", "in": "query",
           "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]
QUERY_RECORDS = [{"name": "type", "in": "query", "schema": {"type": "string"}},
                 {"name": "name", "in": "query", "schema": {"type": "string"}},
                 {"name": "content", "in": "query", "schema": {"type": "string"}}, *_PAGES]
QUERY_ZONES = [{"name": "name", "in": "query", "schema": {"type": "string"}},
               {"name": "account.id", "in": "query", "schema": {"type": "string"}},
               {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
               {"name": "per_page", "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}]

PATHS: dict[str, Any] = {
    "/accounts/{account_id}/custom_ns": {
        "get": _operation("List account custom nameservers", [ACCOUNT_ID],
                          _array("CustomNameserver")),
        "post": _operation("Add an account custom nameserver (ns_set omitted: 1)", [ACCOUNT_ID],
                           _ref("CustomNameserver"), "CustomNameserverInput"),
    },
    "/accounts/{account_id}/custom_ns/{ns_name}": {
        "delete": _operation("Delete an account custom nameserver (refused while a zone would "
                             "be left on an unavailable set, R4)", [ACCOUNT_ID, NS_NAME],
                             {"type": "array", "items": {"type": "string"}}),
    },
    "/accounts/{account_id}/dns_settings": {
        "get": _operation("Show the account's DNS settings", [ACCOUNT_ID],
                          _ref("AccountDnsSettings")),
        "patch": _operation("Change the account's zone defaults (they apply to new zones only,"
                            " R6)", [ACCOUNT_ID], _ref("AccountDnsSettings"),
                            "AccountDnsSettings"),
    },
    "/zones": {
        "get": _operation("List zones", [], _array("Zone"), query=QUERY_ZONES),
        "post": _operation("Create a zone (it receives the account's zone defaults, R6)", [],
                           _ref("Zone"), "ZoneInput"),
    },
    "/zones/{zone_id}": {
        "get": _operation("Zone details", [ZONE_ID], _ref("Zone")),
        "patch": _operation("Set a zone's vanity (custom.zone) nameservers", [ZONE_ID],
                            _ref("Zone"), "ZoneEdit"),
        "delete": _operation("Delete a zone (its zone file is removed)", [ZONE_ID],
                             {"type": "object", "properties": {"id": {"type": "string"}}}),
    },
    "/zones/{zone_id}/dns_settings": {
        "get": _operation("Show a zone's DNS settings", [ZONE_ID], _ref("ZoneDnsSettings")),
        "patch": _operation("Change a zone's DNS settings (null removes a field)", [ZONE_ID],
                            _ref("ZoneDnsSettings"), "ZoneDnsSettings"),
    },
    "/zones/{zone_id}/dns_records": {
        "get": _operation("List a zone's DNS records (acnsd's own: locked)", [ZONE_ID],
                          _array("DnsRecord"), query=QUERY_RECORDS),
        "post": _operation("Create a DNS record (written to the zone file, served at once)",
                           [ZONE_ID], _ref("DnsRecord"), "DnsRecordInput"),
    },
    # (before .../{record_id}, which their paths would match too)
    "/zones/{zone_id}/dns_records/export": {"get": _export()},
    "/zones/{zone_id}/dns_records/import": {"post": _import()},
    "/zones/{zone_id}/dns_records/{record_id}": {
        "get": _operation("DNS record details", [ZONE_ID, RECORD_ID], _ref("DnsRecord")),
        "put": _operation("Overwrite a DNS record (a changed name/type/data: a new id)",
                          [ZONE_ID, RECORD_ID], _ref("DnsRecord"), "DnsRecordInput"),
        "patch": _operation("Update a DNS record's given fields", [ZONE_ID, RECORD_ID],
                            _ref("DnsRecord"), "DnsRecordPatch"),
        "delete": _operation("Delete a DNS record", [ZONE_ID, RECORD_ID],
                             {"type": "object", "properties": {"id": {"type": "string"}}}),
    },
}


def document(server_url: str = "/client/v4") -> dict[str, Any]:
    """The whole OpenAPI document, its server at `server_url`."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "acnsd management API", "version": "1",
                 "description": "Cloudflare v4 compatible account custom nameservers, DNS "
                 "settings, zones and DNS records. Every change is written to the "
                 "configuration's files (the one source of truth: the YAML, a zone's zone "
                 "file) after every rule R1-R11 has been checked. Error "
                 "codes: 1000+n rule Rn broken; 1000 other configuration problem; 1021 the "
                 "file changed on disk; 1022 (503) a problem outside the caller's accounts "
                 "(told to the operator); 1030 bad request; 1049 invalid zone name; 1061 zone "
                 "exists; 6007 malformed JSON; 7000 no route; 7001 method not allowed; 7003 "
                 "not found; 9109 forbidden; 10000 authentication error; 81044 record not found."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": SCHEMAS},
        "paths": PATHS,
    }
