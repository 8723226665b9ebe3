"""Host names and zone names (rule R1).

An `ns_name` is a fully qualified host name: LDH labels of 1..63 octets, 253 octets in
all, at least two labels; compared case-insensitively, stored lower-case, trailing dot
optional. Zone names follow RFC 1035 limits and are written in ASCII presentation form without
escapes (reverse zones such as `2.0.192.in-addr.arpa`, or RFC 2317's `0/25.2.0.192.in-addr.arpa`,
are ordinary names); `@`, escapes and non-ASCII text are refused rather than reinterpreted.
"""

from __future__ import annotations

import re

import dns.exception
import dns.name

from ..dns.wire import NAME_TEXT_SPECIAL

__all__ = ["Names", "as_names", "host_name_error", "is_subdomain", "names_of", "normalize",
           "zone_name_error"]

Names = str | tuple[str, ...]  # one name, or several: what holds a name apiece at 10^5
# zones (the zones of a file) keeps the name itself, not a 1-tuple (48 bytes more)

_LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SPECIAL = frozenset(NAME_TEXT_SPECIAL)


def normalize(name: str) -> str:
    """Lower-case, without the trailing dot."""
    return name.strip().lower().rstrip(".")


def host_name_error(name: str) -> str | None:
    """Why `name` (normalized) is not a valid fully qualified host name, or None (R1)."""
    if not name:
        return "is empty"
    if len(name) > 253:
        return f"is {len(name)} octets long; a host name has at most 253"
    labels = name.split(".")
    if len(labels) < 2:
        return "must have at least two labels (a fully qualified name such as ns1.example.com)"
    for label in labels:
        if not label:
            return "has an empty label"
        if len(label) > 63:
            return f"has a label of {len(label)} octets ({label[:20]}...); at most 63"
        if not _LDH.match(label):
            return (f"has label {label!r}: only letters, digits and inner hyphens are allowed"
                    " (LDH, RFC 1123)")
    return None


def zone_name_error(name: str) -> str | None:
    """Why `name` (normalized) is not a valid zone name, or None."""
    if not name:
        return "is empty (the root zone is not served)"
    if len(name) > 253:
        return f"is {len(name)} octets long; at most 253"
    for label in name.split("."):
        if not label:
            return "has an empty label"
        if len(label) > 63:
            return f"has a label of {len(label)} octets; at most 63"
        if label.split() != [label]:  # (split() parts at what str.isspace() is)
            return "contains white space"
    if (name.isascii() and name.isprintable() and _SPECIAL.isdisjoint(name)
            and name.lower() == name):
        return None  # dnspython reads it label by label and writes it back as it is
    try:
        text = dns.name.from_text(name).to_text(omit_final_dot=True)
    except dns.exception.DNSException as exc:
        return f"is not a valid DNS name ({exc})"
    if "\\" in name:  # even one dnspython writes back the same ("\@"): the zone is made
        # from the text as written, so it would be served with the backslashes in its labels
        return ("contains an escape (\\); write the zone name in ASCII presentation form,"
                " without escapes")
    if text.lower() != name:  # "@" (the root), escapes, IDNA: not what the operator wrote
        return (f"is not a plain DNS name: it would be served as {text!r}; write the zone"
                " name in ASCII presentation form, without escapes")
    return None


def is_subdomain(name: str, parent: str) -> bool:
    """True when `name` equals `parent` or lies below it (both normalized)."""
    return name == parent or name.endswith("." + parent)


def names_of(held: Names) -> tuple[str, ...]:
    """The names `held` holds (see Names)."""
    return (held,) if isinstance(held, str) else held


def as_names(names: tuple[str, ...]) -> Names:
    """`names` held as Names holds them (at least one)."""
    return names[0] if len(names) == 1 else names
