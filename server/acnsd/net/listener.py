"""The asyncio adapters between sockets and the answering core: UDP datagrams and TCP framing.

The rule this module owns: a socket's bytes reach the core unchanged and the core's bytes
reach the client unchanged, but that a UDP answer's first two octets are its query's
(the DNS ID, which every response copies), so a datagram shorter than that gets no
answer. UDP is one datagram in, at most one datagram out; the event
loop reads the socket itself, many datagrams per wakeup (UdpReader). TCP follows
RFC 7766: every message is preceded by a two-octet length (§8); several queries may be
sent on one connection and each is answered as soon as it is complete (pipelining, §6.2.1;
the answers to the queries completed by one read are written together, in order);
a message may arrive in any number of pieces; an idle connection is closed after a timeout
(§6.2.3); past a cap on concurrent connections, new ones are closed at once (§6.2.2).
When a listener stops, the datagrams already queued on its UDP socket are answered
before it closes, and open connections are closed once their answers are written.
Nothing here knows about zones or DNS messages: each socket is given a `Responder`, a
function from query bytes to response bytes or None (drop). A UDP responder may also
offer `many`, the same function over a list of queries at once, each query and answer
without its two-octet ID (the batch sends every query's own ID in front of its answer),
which must not raise: the batched reader then makes one call per batch instead of one
per datagram.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from . import udpbatch

__all__ = [
    "BindError",
    "Listener",
    "Responder",
    "TcpConnections",
    "UdpReader",
    "format_address",
    "open_listener",
]

log = logging.getLogger("acnsd.listener")

Responder = Callable[[bytes], "bytes | None"]

MAX_TCP_MESSAGE = 65535  # the two-octet length prefix bounds every TCP message (RFC 7766 §8)
PORT_ZERO_ATTEMPTS = 20  # tries to find one free port for both UDP and TCP
UDP_DRAIN_LIMIT = 10_000  # queued datagrams answered at most when a listener stops
UDP_READ_PER_WAKEUP = 256  # datagrams answered before the event loop runs other callbacks
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024  # absorbs bursts; the kernel caps it at rmem_max

# bind() errors that mean "this address is not configured on this host": skipped, not fatal
NOT_ON_THIS_HOST = frozenset({errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT})


def format_address(host: str, port: int) -> str:
    """ADDR:PORT as users write it, with IPv6 addresses in brackets ("[::1]:5353")."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class BindError(OSError):
    """An address could not be bound; `not_on_this_host` tells a missing address apart."""

    @property
    def not_on_this_host(self) -> bool:
        return self.errno in NOT_ON_THIS_HOST

    @property
    def hint(self) -> str:
        """What to do about a port in use (5353 is also mDNS's port, avahi-daemon's)."""
        if self.errno != errno.EADDRINUSE:
            return ""
        return ("; another program uses this port (on a desktop, 5353 is often avahi-daemon's"
                " mDNS): stop it, or serve another port with --listen ADDR:PORT (make run "
                "LISTEN=127.0.0.1:5300)")


class UdpReader:
    """Answers the datagrams queued on one UDP socket each time the event loop sees it
    readable, at most UDP_READ_PER_WAKEUP at a time so that TCP and timers keep their turn.
    With recvmmsg (udpbatch.py) a system call reads up to BATCH queries and another sends
    their answers; without it, one datagram at a time through the socket module. Either
    costs less CPU per query than an asyncio DatagramProtocol (one callback per datagram,
    each peer address made a tuple and parsed back), uvloop's included."""

    def __init__(
        self, sock: socket.socket, respond: Responder, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.sock = sock
        self._respond = respond
        self._loop = loop
        self._batch = udpbatch.batch_for(sock.family) if udpbatch.available else None
        many = getattr(respond, "many", None)
        self._whole = many is None  # whole messages to `respond`, one by one
        self._many: udpbatch.ManyResponder = self._one_by_one if many is None else many
        loop.add_reader(sock.fileno(), self.answer_queued, UDP_READ_PER_WAKEUP)

    def answer_queued(self, limit: int) -> int:
        """Answer the datagrams queued, those that arrive meanwhile included, until a read
        finds none (never blocks) or `limit` were read (with recvmmsg, rounded up to a whole
        batch): under load each batch finds the next one queued, without a trip through
        the event loop. Returns how many were read."""
        batch = self._batch
        if batch is None:
            return self._answer_one_at_a_time(limit)
        fd, many, whole = self.sock.fileno(), self._many, self._whole
        read = 0
        while read < limit:
            count = batch.answer(fd, many, whole)
            if count == 0:  # the queue is empty
                break
            read += count
        return read

    def _one_by_one(self, queries: list[bytes]) -> list[bytes | None]:
        respond = self._respond
        return [_guarded(respond, query) for query in queries]

    def _answer_one_at_a_time(self, limit: int) -> int:
        sock, respond = self.sock, self._respond
        read = 0
        while read < limit:
            try:
                query, peer = sock.recvfrom(MAX_TCP_MESSAGE)
            except OSError:  # BlockingIOError: nothing is left
                break
            read += 1
            if len(query) < 2:  # no whole ID: no answer (as with recvmmsg, udpbatch.py)
                continue
            response = _guarded(respond, query)
            if response is not None:
                try:
                    sock.sendto(response, peer)
                except OSError:  # a full send buffer, an ICMP error: this answer is lost
                    pass
        return read

    def close(self) -> int:
        """Stop reading; answer the datagrams already queued (at most UDP_DRAIN_LIMIT),
        then close the socket. Returns how many queued datagrams were read."""
        self._loop.remove_reader(self.sock.fileno())
        drained = self.answer_queued(UDP_DRAIN_LIMIT)
        self.sock.close()
        return drained


class TcpConnections:
    """The open TCP connections of one server: the cap, the idle timeout, the drain."""

    def __init__(self, max_connections: int, idle_timeout: float) -> None:
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.open: set[TcpProtocol] = set()
        self.refused = 0  # connections closed at once because the cap was reached
        self._empty = asyncio.Event()
        self._empty.set()

    def admit(self, connection: TcpProtocol) -> bool:
        if len(self.open) >= self.max_connections:
            self.refused += 1
            return False
        self.open.add(connection)
        self._empty.clear()
        return True

    def discard(self, connection: TcpProtocol) -> None:
        self.open.discard(connection)
        if not self.open:
            self._empty.set()

    async def drain(self, timeout: float) -> int:
        """Close every connection once its answers are written; abort what is left after
        `timeout` seconds. Returns how many connections had to be aborted."""
        for connection in list(self.open):
            connection.close()
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
        except TimeoutError:
            pass
        aborted = list(self.open)
        for connection in aborted:
            connection.abort()
        return len(aborted)


class TcpProtocol(asyncio.Protocol):
    """One TCP connection: reassembles length-prefixed queries and answers each in turn."""

    def __init__(self, respond: Responder, connections: TcpConnections) -> None:
        self._respond = respond
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._last_activity = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if not self._connections.admit(self):
            log.warning(
                "event=tcp_refused peer=%s reason=max_connections limit=%d",
                _peer(transport),
                self._connections.max_connections,
            )
            transport.abort()  # type: ignore[attr-defined]
            return
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        self._idle_timer = loop.call_later(self._connections.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self._last_activity = asyncio.get_running_loop().time()
        buffer = self._buffer
        buffer += data
        start = 0
        framed = []  # the answers to every query complete in this read, in order
        while len(buffer) - start >= 2:
            length = (buffer[start] << 8) | buffer[start + 1]
            end = start + 2 + length
            if len(buffer) < end:
                break
            response = _guarded(self._respond, bytes(buffer[start + 2 : end]))
            start = end
            if response is None:
                continue
            if len(response) > MAX_TCP_MESSAGE:
                log.error("event=tcp_oversize length=%d action=dropped", len(response))
                continue
            framed.append(len(response).to_bytes(2, "big"))
            framed.append(response)
        if start:
            del buffer[:start]
        if framed:  # one write (one system call) for all of them
            self._transport.write(b"".join(framed))  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        return False  # the client has finished sending: close once our answers are written

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._connections.discard(self)

    # Flow control: a client that pipelines without reading its answers stops being read.
    def pause_writing(self) -> None:
        self._transport.pause_reading()  # type: ignore[union-attr]

    def resume_writing(self) -> None:
        self._transport.resume_reading()  # type: ignore[union-attr]

    def close(self) -> None:
        """Close after the answers already written are flushed (graceful shutdown)."""
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        remaining = self._last_activity + self._connections.idle_timeout - loop.time()
        if remaining > 0:
            self._idle_timer = loop.call_later(remaining, self._check_idle)
            return
        if self._transport is not None and self._transport.is_closing():
            # closed once already, yet the answers could not be written: the client does
            # not read them
            self._idle_timer = None
            log.debug("event=tcp_idle_abort peer=%s", _peer(self._transport))
            self.abort()
            return
        log.debug("event=tcp_idle_close peer=%s", _peer(self._transport))
        self.close()
        self._idle_timer = loop.call_later(self._connections.idle_timeout, self._check_idle)


def _guarded(respond: Responder, query: bytes) -> bytes | None:
    """The core never raises; should it, the query is dropped and the socket keeps serving."""
    try:
        return respond(query)
    except Exception:
        log.exception("event=internal_error where=responder action=dropped")
        return None


def _peer(transport: asyncio.BaseTransport | None) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return format_address(peer[0], peer[1]) if peer else "-"


@dataclass
class Listener:
    """UDP and TCP bound on one address and port, answering with the same responders."""

    host: str
    port: int
    udp: UdpReader
    tcp: asyncio.AbstractServer

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)

    def stop_accepting(self) -> int:
        """Stop accepting connections; answer the datagrams already queued on the UDP
        socket (at most UDP_DRAIN_LIMIT), then close it. Open connections stay.
        Returns how many queued datagrams were read."""
        self.tcp.close()
        return self.udp.close()


def _bound_socket(host: str, port: int, kind: int, reuse_port: bool) -> socket.socket:
    """A socket bound on host:port. SO_REUSEADDR lets TCP rebind past TIME_WAIT, and lets
    UDP bind a specific address beside a wildcard socket that allows it (avahi-daemon's
    mDNS on 0.0.0.0:5353); the kernel then gives our address's datagrams to us."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == socket.SOCK_DGRAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise BindError(exc.errno, exc.strerror) from exc
    return sock


def _bound_pair(host: str, port: int, reuse_port: bool) -> tuple[socket.socket, socket.socket]:
    """UDP and TCP sockets bound on the same port, TCP first: a second server on the same
    address fails there, before its UDP socket could share the address (SO_REUSEADDR).
    With port 0 the port TCP was given may be taken for UDP: then another one is tried."""
    attempts = 0
    while True:
        tcp_sock = _bound_socket(host, port, socket.SOCK_STREAM, reuse_port)
        try:
            chosen = tcp_sock.getsockname()[1]
            return _bound_socket(host, chosen, socket.SOCK_DGRAM, reuse_port), tcp_sock
        except BindError as exc:
            tcp_sock.close()
            attempts += 1
            if port != 0 or exc.errno != errno.EADDRINUSE or attempts >= PORT_ZERO_ATTEMPTS:
                raise


async def open_listener(
    host: str,
    port: int,
    udp_respond: Responder,
    tcp_respond: Responder,
    connections: TcpConnections,
    *,
    reuse_port: bool = False,
) -> Listener:
    """Bind UDP and TCP on host:port (port 0: one free port for both) and start serving.

    Raises BindError when either cannot be bound; nothing stays bound then. `host` must be
    an IP address literal (ValueError otherwise).
    """
    loop = asyncio.get_running_loop()
    udp_sock, tcp_sock = _bound_pair(host, port, reuse_port)
    port = udp_sock.getsockname()[1]
    try:
        tcp = await loop.create_server(
            lambda: TcpProtocol(tcp_respond, connections), sock=tcp_sock, backlog=1024
        )
    except BaseException:
        udp_sock.close()
        tcp_sock.close()
        raise
    return Listener(host, port, UdpReader(udp_sock, udp_respond, loop), tcp)
