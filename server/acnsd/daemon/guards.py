"""Our DNS Cookie secrets (dns/cookies.py): where they come from, how they rotate; and
the response rate limiter (dns/rrl.py) a configuration makes.

The rule this module owns: the secrets are `server.cookies.secret_file`'s when it is
given (the current one, then optionally the previous one), else one made at the first
start and kept in the store, so that a restart, and every worker, keeps the cookies
clients hold valid. When a reload finds another current secret and no previous one is
given, the secret it replaces stays accepted: the cookies it made expire within the hour
(RFC 9018 §4.3), so no client is lost to a rotation. A reload that leaves `server.rrl`
as it was keeps the limiter's buckets; one that changes it starts new buckets, and the
counts of limited answers go on.
"""

from __future__ import annotations

import os

from ..dns.cookies import SECRET_SIZE, ServerCookies
from ..dns.rrl import RateLimiter
from ..model.recording import store_path
from ..model.store import Store
from ..model.types import RrlConfig, ServerConfig

__all__ = ["STORE_KEY", "rate_limiter", "server_cookies"]

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


def rate_limiter(config: RrlConfig | None, current: RateLimiter | None = None
                 ) -> RateLimiter | None:
    """The limiter `config` makes (None: off); `current`, the one in use, is kept when the
    configuration is the same."""
    if config is None:
        return None
    settings = (config.rate, config.slip, config.ipv4_prefix, config.ipv6_prefix,
                config.table_size)
    if current is not None and current.settings == settings:
        return current
    limiter = RateLimiter(*settings)
    if current is not None:
        limiter.dropped, limiter.slipped = current.dropped, current.slipped
    return limiter
