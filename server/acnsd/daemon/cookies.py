"""Our DNS Cookie secrets (dns/cookies.py): where they come from, how they rotate.

The rule this module owns: the secrets are `server.cookies.secret_file`'s when it is
given (the current one, then optionally the previous one), else one made at the first
start and kept in the store, so that a restart, and every worker, keeps the cookies
clients hold valid. When a reload finds another current secret and no previous one is
given, the secret it replaces stays accepted: the cookies it made expire within the hour
(RFC 9018 §4.3), so no client is lost to a rotation.
"""

from __future__ import annotations

import os

from ..dns.cookies import SECRET_SIZE, ServerCookies
from ..model.recording import store_path
from ..model.store import Store
from ..model.types import ServerConfig

__all__ = ["STORE_KEY", "server_cookies"]

STORE_KEY = "cookie_secret"  # the store's meta row holding the secret, in hex


def server_cookies(settings: ServerConfig, current: ServerCookies | None = None
                   ) -> ServerCookies | None:
    """The secrets `settings` give (None: cookies are off); `current` are those in use,
    whose secret stays accepted when this one replaces it."""
    config = settings.cookies
    if not config.enabled:
        return None
    if config.secrets:
        secret, previous = config.secrets[0], (config.secrets[1:] or (None,))[0]
    else:
        secret, previous = _stored_secret(settings), None
    if previous is None and current is not None and current.secret != secret:
        previous = current.secret
    return ServerCookies(secret, previous, config.require)


def _stored_secret(settings: ServerConfig) -> bytes:
    """The store's secret, made by the first process that asks (one transaction: every
    worker reads the one that was made)."""
    with Store.open(store_path(settings.state_file)) as store:
        text = store.meta(STORE_KEY)
        if text is None:
            with store.change() as change:
                text = store.meta(STORE_KEY)
                if text is None:
                    text = os.urandom(SECRET_SIZE).hex()
                    change.set_meta(STORE_KEY, text)
    return bytes.fromhex(text)
