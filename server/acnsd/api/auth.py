"""API tokens and what each may touch.

Rule owned here: a request is allowed only with `Authorization: Bearer <token>` naming a
token of the tokens file, and only for the accounts that token lists ("*": every
account). Tokens are compared in constant time. The file is a YAML list of
`{token, accounts}`, read by the configuration's YAML reader (duplicate keys and aliases
that expand it beyond its limit are errors); it is read again when it changes on disk,
and a file that cannot be read or is malformed keeps the tokens read before (at start it
is an error).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model.yamlsrc import parse

__all__ = ["Grant", "TokenError", "Tokens"]

MIN_TOKEN_LENGTH = 16


class TokenError(Exception):
    """The tokens file cannot be read or is malformed."""


@dataclass(frozen=True)
class Grant:
    """What one token may touch."""

    accounts: frozenset[str]

    def allows(self, account_id: str) -> bool:
        return "*" in self.accounts or account_id in self.accounts

    @property
    def everything(self) -> bool:
        return "*" in self.accounts


class Tokens:
    """The tokens file, re-read when its modification time or size changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._grants: list[tuple[bytes, Grant]] = []
        self._read()

    def _read(self) -> None:
        try:
            info = self.path.stat()
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenError(f"{self.path}: cannot read the tokens file: {exc.strerror}") from None
        try:
            entries = parse(text, str(self.path)).value
        except ConfigError as exc:
            raise TokenError(str(exc)) from None
        if not isinstance(entries, list):
            raise TokenError(f"{self.path}: must be a list of {{token, accounts}}")
        grants = []
        for i, entry in enumerate(entries):
            where = f"{self.path}: entry {i}"
            if not isinstance(entry, dict) or set(entry) != {"token", "accounts"}:
                raise TokenError(f"{where}: must be a mapping with exactly token and accounts")
            token, accounts = entry["token"], entry["accounts"]
            if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
                raise TokenError(f"{where}: token must be a string of at least "
                                 f"{MIN_TOKEN_LENGTH} characters")
            if not isinstance(accounts, list) or not accounts:
                raise TokenError(f"{where}: accounts must be a non-empty list of account ids "
                                 'or "*"')
            grants.append((token.encode(), Grant(frozenset(str(a) for a in accounts))))
        self._grants = grants
        self._stamp = (info.st_mtime_ns, info.st_size)

    def grant(self, authorization: str | None) -> Grant | None:
        """The grant of an `Authorization` header value, or None when it names no token."""
        try:
            info = self.path.stat()
            if (info.st_mtime_ns, info.st_size) != self._stamp:
                self._read()
        except (OSError, TokenError):
            pass  # keep the tokens read before
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        offered = token.strip().encode()
        found = None
        for secret, grant in self._grants:
            if hmac.compare_digest(secret, offered):
                found = grant
        return found
