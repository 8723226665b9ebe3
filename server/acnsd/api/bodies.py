"""Request bodies: exactly the keys and JSON types the OpenAPI document gives, or a 400.

Rule owned here: a body reaches the configuration only when each of its objects has
only documented keys (and every required one) and each value has its documented JSON
type: a boolean is not an integer, a string is not a number, `"? ns_ttl"` is not a key.
So what is written reads back as what was sent. Values (ranges, host names, the
nameserver types) are the rules' business, checked by load() in the rules' words; a
field's type error names its rule too (the schema's `x-rule`).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from .edit import Rejected
from .openapi import SCHEMAS

__all__ = ["check_body"]

BAD_REQUEST = 1030
_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
          int: "an integer", float: "a number", type(None): "null"}


def check_body(body: Any, schema: str) -> dict[str, Any]:
    """`body` when it is an object of the named schema; else Rejected(400) listing every
    key and type that is not."""
    if not isinstance(body, dict):
        raise Rejected(400, [(BAD_REQUEST, "the request body must be a JSON object")])
    errors: list[tuple[int, str]] = []
    _check(body, SCHEMAS[schema], "", errors)
    if errors:
        raise Rejected(400, errors)
    return body


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref` (or a single-item `allOf` of one, as nullable refs are
    written) followed; `nullable` and `x-rule` of the referring schema kept."""
    target = schema.get("$ref") or (schema.get("allOf") or [{}])[0].get("$ref")
    if target is None:
        return schema
    outer = {k: v for k, v in schema.items() if k in ("nullable", "x-rule")}
    return {**_resolve(SCHEMAS[target.rsplit("/", 1)[1]]), **outer}


def _check(value: Any, schema: dict[str, Any], where: str,
           errors: list[tuple[int, str]]) -> None:
    schema = _resolve(schema)
    if value is None and schema.get("nullable"):
        return
    kind = schema.get("type")
    expected = _TYPES.get(kind)
    if expected is not None and (not isinstance(value, expected)
                                 or (expected is int and isinstance(value, bool))):
        rule = schema.get("x-rule")
        code = 1000 + int(rule[1:]) if rule else BAD_REQUEST
        shown = json.dumps(value) if isinstance(value, str | int | float) else ""
        errors.append((code, f"{where or 'the body'}: {f'[{rule}] ' if rule else ''}must be "
                             f"{_KINDS[expected]}, not {_KINDS.get(type(value), 'that')}"
                             f"{f' ({shown[:60]})' if shown else ''}"))
        return
    if kind == "object":
        _object(value, schema, where, errors)
    elif kind == "array":
        for i, item in enumerate(value):
            _check(item, schema.get("items", {}), f"{where}[{i}]", errors)


def _object(value: dict[str, Any], schema: dict[str, Any], where: str,
            errors: list[tuple[int, str]]) -> None:
    properties = schema.get("properties", {})
    prefix = f"{where}: " if where else ""
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], f"{where}.{key}" if where else key, errors)
        elif schema.get("additionalProperties") is False:
            close = difflib.get_close_matches(key, list(properties), n=1)
            hint = (f"; did you mean {close[0]!r}?" if close
                    else f"; known keys: {', '.join(properties)}")
            errors.append((BAD_REQUEST, f"{prefix}unknown key {key!r}{hint}"))
    missing = [k for k in schema.get("required", ()) if k not in value]
    if missing:
        errors.append((BAD_REQUEST, f"{prefix}missing required field(s) {', '.join(missing)}"))
