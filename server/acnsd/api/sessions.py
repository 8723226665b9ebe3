"""The dashboard's sign-in sessions.

Rule owned here: a browser is signed in by a session kept on the server, named by a random
id (`secrets.token_urlsafe`, 256 bits) that travels only in an HttpOnly, SameSite=Strict
cookie; the API token it was opened with stays on the server, and is checked against the
tokens file on every request (a token removed from the file signs its sessions out). A
session ends IDLE seconds after its last use, LIFETIME seconds after it was opened, or at
sign-out; at most MAX_SESSIONS are kept (opening one more ends the least recently used).
Every state-changing form carries the session's CSRF token, compared in constant time.
The clock is passed in, so expiry is tested without waiting.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["COOKIE", "IDLE", "LIFETIME", "MAX_SESSIONS", "Session", "Sessions", "cookie_header"]

COOKIE = "acnsd_session"
IDLE = 30 * 60  # seconds a session lasts without use
LIFETIME = 12 * 60 * 60  # seconds a session lasts at most
MAX_SESSIONS = 1024


@dataclass
class Session:
    """One signed-in browser: its token (never sent back), CSRF token, times, and the
    messages to show on the next page (after a change: post/redirect/get)."""

    id: str
    token: str
    csrf: str
    opened: float
    used: float
    flash: list[tuple[str, str]] = field(default_factory=list)

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(self.csrf.encode(),
                                                           offered.encode())


class Sessions:
    """The open sessions, the least recently used first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._open: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def open(self, token: str) -> Session:
        now = self.clock()
        while len(self._open) >= MAX_SESSIONS:
            self._open.popitem(last=False)
        session = Session(secrets.token_urlsafe(32), token, secrets.token_urlsafe(32), now, now)
        self._open[session.id] = session
        return session

    def find(self, session_id: str | None) -> Session | None:
        """The live session of that id (its use recorded), or None; an expired one ends."""
        session = self._open.get(session_id) if session_id else None
        if session is None:
            return None
        now = self.clock()
        if now - session.used >= IDLE or now - session.opened >= LIFETIME:
            self.close(session)
            return None
        session.used = now
        self._open.move_to_end(session.id)
        return session

    def close(self, session: Session) -> None:
        self._open.pop(session.id, None)


def cookie_header(session: Session | None) -> str:
    """The Set-Cookie value that carries `session`'s id to the browser (None: removes it)."""
    value, age = (session.id, LIFETIME) if session is not None else ("", 0)
    return (f"{COOKIE}={value}; Path=/; Max-Age={age}; HttpOnly; SameSite=Strict")
