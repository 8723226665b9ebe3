"""File descriptors: as many as the system allows, and the DNS side's share kept for it.

The rule this module owns: at start the soft RLIMIT_NOFILE is raised to the hard limit
(the soft limit is often 1,024 while the hard one is far higher); the management API's
connection cap is then lowered, with a warning, until the API's connections, the DNS
side's TCP connections (`server.tcp_max_connections`), two descriptors per listening
address and RESERVE for files, logs and the metrics exposition fit under the limit, so
that no number of API clients can take the descriptors DNS needs (issue 15).
"""

from __future__ import annotations

import dataclasses
import logging
import resource

from acnsd.model.types import ApiLimits

__all__ = ["RESERVE", "api_limits", "raise_limit"]

log = logging.getLogger("acnsd.serve")

RESERVE = 64  # descriptors kept for files, logs, pipes, the metrics exposition
MIN_API_CONNECTIONS = 16  # the API stays usable by its operator, whatever the limit


def raise_limit() -> int:
    """Raise the soft descriptor limit to the hard limit; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:  # an unlimited hard limit the kernel caps
            log.warning("event=descriptor_limit soft=%d hard=%d reason=%r", soft, hard,
                        str(exc))
            return soft
        log.info("event=descriptor_limit soft=%d was=%d", hard, soft)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def api_limits(limits: ApiLimits, dns_descriptors: int) -> ApiLimits:
    """`limits` with max_connections lowered to what the descriptor limit leaves once
    `dns_descriptors` (the DNS side's TCP connections and listening sockets) and RESERVE
    are set aside (never below MIN_API_CONNECTIONS)."""
    available, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = max(MIN_API_CONNECTIONS, available - dns_descriptors - RESERVE)
    if limits.max_connections <= room:
        return limits
    log.warning("event=api_connections_capped max_connections=%d cap=%d descriptor_limit=%d "
                "dns_descriptors=%d reserve=%d", limits.max_connections, room, available,
                dns_descriptors, RESERVE)
    return dataclasses.replace(limits, max_connections=room)
