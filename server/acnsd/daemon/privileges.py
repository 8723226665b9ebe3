"""Giving up root once the sockets are bound.

The rule this module owns: a process started as root binds its ports (53 needs root or
CAP_NET_BIND_SERVICE) and then becomes `server.user` for good — supplementary groups,
group and user, in that order, and it checks that root cannot be regained. A process
not started as root keeps its identity. The store (server.state_file) is the user's
from the drop on: acnsd as root made or opened it, and it and its write-ahead log are
given to the user, for a store is written in place. Its directory should be writable by
that user too (sqlite makes the log files there), or reloads and API changes that record
new decisions (R6, R7, R10) are rejected: that is checked and logged at the drop.
Addresses that appear in a later reload on a port below 1024 cannot be bound by the
unprivileged process; they are logged and skipped.
"""

from __future__ import annotations

import logging
import os
import pwd
from pathlib import Path

from ..errors import AcnsdError

__all__ = ["PrivilegeError", "drop_privileges"]

log = logging.getLogger("acnsd.privileges")


class PrivilegeError(AcnsdError):
    """The configured user does not exist, or root could not be given up."""


def drop_privileges(user: str | None, store: Path | None = None) -> str | None:
    """Become `user` when running as root, giving it the `store`'s files; return the user
    name now running, or None when nothing changed. Raises PrivilegeError when the drop is
    impossible or partial."""
    if os.geteuid() != 0:
        if user is not None:
            log.info(
                "event=privileges_kept user=%s reason=not_started_as_root uid=%d",
                user,
                os.geteuid(),
            )
        return None
    if user is None:
        log.warning("event=running_as_root reason='server.user is not set'")
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PrivilegeError(f"server.user: no such user {user!r}") from None
    if entry.pw_uid == 0:
        log.warning("event=running_as_root reason='server.user is root'")
        return None
    try:
        if store is not None:
            _hand_over(store, entry.pw_uid, entry.pw_gid)
        os.initgroups(user, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
    except OSError as exc:
        raise PrivilegeError(f"cannot become {user!r}: {exc.strerror}") from exc
    try:
        os.setuid(0)
    except PermissionError:
        pass
    else:
        raise PrivilegeError(f"became {user!r} but could regain root")
    log.info("event=privileges_dropped user=%s uid=%d gid=%d", user, entry.pw_uid, entry.pw_gid)
    if store is not None and not os.access(store.parent, os.W_OK | os.X_OK):
        log.warning(
            "event=state_not_writable user=%s directory=%s "
            "reason='reloads that record new decisions will be rejected'",
            user,
            store.parent,
        )
    return user


def _hand_over(store: Path, uid: int, gid: int) -> None:
    """Give the store and its write-ahead log files, those that exist, to uid:gid."""
    for path in (store, store.with_name(f"{store.name}-wal"), store.with_name(f"{store.name}-shm")):
        try:
            os.chown(path, uid, gid, follow_symlinks=False)
        except FileNotFoundError:
            continue
