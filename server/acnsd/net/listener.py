"""The asyncio adapters between sockets and the answering core: UDP datagrams and TCP framing.

The rule this module owns: a socket's bytes reach the core unchanged and the core's bytes
reach the client unchanged, but that a UDP answer's first two octets are its query's
(the DNS ID, which every response copies), so a datagram shorter than that gets no
answer. UDP is one datagram in, at most one datagram out; the event
loop reads the socket itself, many datagrams per wakeup (UdpReader). TCP follows
RFC 7766: every message is preceded by a two-octet length (§8); several queries may be
sent on one connection and each is answered as soon as it is complete (pipelining, §6.2.1;
the answers to the queries completed by one read are written together, in order, up
to WRITE_BATCH octets a write);
a message may arrive in any number of pieces. No client holds more than its share
(§6.2.3): a connection with no query answered for the idle timeout is closed (a partial
frame does not count), a frame must complete within the frame timeout of its first
octet, the answers to a client that does not read them wait in a bounded buffer (past
the transport's high-water mark the connection is neither answered nor read, and it is
aborted if they stay unread for the frame timeout), and past a cap on concurrent
connections a new one evicts the least recently active connection that is not busy
writing answers; when none has been inactive for long enough, new connections wait in
the kernel's backlog, in order, rather than churn one another out (§6.2.2).
When a listener stops, the datagrams already queued on its UDP socket are answered
before it closes, and open connections are closed once their answers are written.
Nothing here knows about zones or DNS messages: each socket is given a `Responder`, a
function from query bytes to response bytes or None (drop). Over TCP it may instead
return a stream (a zone transfer): a function of the client's address giving an
asynchronous iterator of messages, each written framed as it comes, no faster than the
client reads them; the connection's next queries wait until the stream ends, and the
idle deadline does not run meanwhile. A UDP responder may also
offer `many`, the same function over a list of queries at once, each query and answer
without its two-octet ID (the batch sends every query's own ID in front of its answer),
which must not raise: the batched reader then makes one call per batch instead of one
per datagram. A responder marked `wants_peer` is also given the client's IP address
(packed: 4 or 16 octets) as `address`: `respond(query, address=...)`, and `many(queries,
address=f, peers=g)` where f(i) is the address of the i-th query's client and g(n)
those of the first n at once (read from the batch's own buffers only when asked: the DNS
Cookies of a few queries need one, rate limiting every one).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import ipaddress
import logging
import math
import socket
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from . import udpbatch

__all__ = [
    "BindError",
    "Listener",
    "Responder",
    "Stream",
    "TcpAcceptor",
    "TcpConnections",
    "UdpReader",
    "format_address",
    "open_listener",
]

log = logging.getLogger("acnsd.listener")

Responder = Callable[[bytes], "bytes | Stream | None"]
Stream = Callable[[str], AsyncIterator[bytes]]  # the client's address → messages to send

MAX_TCP_MESSAGE = 65535  # the two-octet length prefix bounds every TCP message (RFC 7766 §8)
FRAME_TIMEOUT = 2.0  # seconds a TCP frame may take from its first octet (server.tcp_frame_timeout)
WRITE_BATCH = 64 * 1024  # answers joined into one TCP write, then the write buffer is checked
EVICTION_AGE = 0.5  # seconds a TCP connection is inactive before it may be evicted
WAKE_INTERVAL = 0.1  # seconds between two looks for room while new connections wait
TCP_BACKLOG = 1024  # connections the kernel queues while none can be admitted
ACCEPT_PER_WAKEUP = 64  # connections accepted before the event loop runs other callbacks
ACCEPT_RETRY = 1.0  # seconds accepting pauses when the process is out of descriptors
ACCEPT_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
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
        self._peered = getattr(respond, "wants_peer", False)
        if self._peered and many is not None and self._batch is not None:
            many = functools.partial(many, address=self._batch.address, peers=self._batch.peers)
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
        if self._peered:
            address = self._batch.address  # type: ignore[union-attr]
            return [_guarded(respond, query, address(i)) for i, query in enumerate(queries)]
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
            if self._peered:
                response = _guarded(respond, query, _packed(peer[0]))
            else:
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
    """The open TCP connections of one server: the cap, the deadlines, eviction, the drain.

    `open` lists the connections least recently active first (active: accepted, or a
    query answered). Past the cap, a new connection evicts the first of them that has
    been inactive for `eviction_age` and is not busy writing answers to a client that
    reads them: an idle connection, one that trickles a frame, one whose client does not
    read its answers. When there is none, new connections wait in the kernel's backlog,
    in the order they came (TcpAcceptor), until a connection closes or can be evicted:
    a flood of new connections cannot churn out the one that has just been accepted."""

    def __init__(
        self,
        max_connections: int,
        idle_timeout: float,
        frame_timeout: float = FRAME_TIMEOUT,
        eviction_age: float = EVICTION_AGE,
    ) -> None:
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.eviction_age = eviction_age
        self.open: OrderedDict[TcpProtocol, None] = OrderedDict()
        self.evicted = 0  # connections closed to make room for a new one
        self._waiting: set[Callable[[], None]] = set()  # acceptors to resume when room is made
        self._wake_timer: asyncio.TimerHandle | None = None
        self._empty = asyncio.Event()
        self._empty.set()

    def has_room(self) -> bool:
        """Whether a new connection may be admitted now (evicting another one)."""
        return len(self.open) < self.max_connections or self._victim() is not None

    def admit(self, connection: TcpProtocol) -> None:
        """Add `connection`, evicting another one past the cap (see has_room)."""
        if len(self.open) >= self.max_connections:
            victim = self._victim()
            if victim is not None:
                self.discard(victim)
                victim.evict()
                self.evicted += 1
        connection.active_at = asyncio.get_running_loop().time()
        self.open[connection] = None
        self._empty.clear()

    def active(self, connection: TcpProtocol, now: float) -> None:
        """`connection` answered a query: it moves to the end of the eviction order."""
        connection.active_at = now
        try:
            self.open.move_to_end(connection)
        except KeyError:  # evicted already
            pass

    def discard(self, connection: TcpProtocol) -> None:
        if connection not in self.open:  # evicted already (the values are all None)
            return
        del self.open[connection]
        if not self.open:
            self._empty.set()
        self._wake()

    def wake_when_room(self, resume: Callable[[], None]) -> None:
        """Call `resume` once a connection closes or may be evicted (checked every
        WAKE_INTERVAL seconds meanwhile)."""
        self._waiting.add(resume)
        if self._wake_timer is None:
            loop = asyncio.get_running_loop()
            self._wake_timer = loop.call_later(WAKE_INTERVAL, self._wake)

    def forget(self, resume: Callable[[], None]) -> None:
        self._waiting.discard(resume)

    def _wake(self) -> None:
        if not self._waiting:
            return
        if self._wake_timer is not None:
            self._wake_timer.cancel()
            self._wake_timer = None
        waiting, self._waiting = self._waiting, set()
        for resume in waiting:
            resume()

    def _victim(self) -> TcpProtocol | None:
        """The least recently active connection that is not busy, if inactive for
        `eviction_age` (`open` is in the order of `active_at`)."""
        inactive_since = asyncio.get_running_loop().time() - self.eviction_age
        for connection in self.open:
            if connection.active_at > inactive_since:
                return None
            if not connection.busy:
                return connection
        return None

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


class TcpAcceptor:
    """Accepts the connections queued on a listening TCP socket, each into a TcpProtocol,
    while TcpConnections has room for them; when it has none, stops reading the socket
    until it has, and the new connections wait in the backlog. A failure to accept for
    want of descriptors or memory pauses accepting for ACCEPT_RETRY seconds."""

    def __init__(
        self,
        sock: socket.socket,
        respond: Responder,
        connections: TcpConnections,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.sock = sock
        self._respond = respond
        self._connections = connections
        self._loop = loop
        self._reading = False
        self._closed = False
        self._connecting: set[asyncio.Task] = set()  # transports being made
        sock.listen(TCP_BACKLOG)
        self.resume()

    def resume(self) -> None:
        if not self._reading and not self._closed:
            self._loop.add_reader(self.sock.fileno(), self._accept)
            self._reading = True

    def close(self) -> None:
        """Stop accepting and close the listening socket; open connections stay."""
        self._pause()
        self._connections.forget(self.resume)
        self._closed = True
        self.sock.close()

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _accept(self) -> None:
        connections = self._connections
        for accepted in range(ACCEPT_PER_WAKEUP):
            if not connections.has_room():
                if not accepted:  # the socket was readable: a connection waits
                    log.warning(
                        "event=tcp_full limit=%d action=waiting", connections.max_connections
                    )
                self._pause()
                connections.wake_when_room(self.resume)
                return
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in ACCEPT_RESOURCE_ERRORS:
                    log.warning(
                        "event=tcp_accept_failed reason=%r action=paused seconds=%g",
                        exc.strerror,
                        ACCEPT_RETRY,
                    )
                    self._pause()
                    self._loop.call_later(ACCEPT_RETRY, self.resume)
                    return
                continue  # ECONNABORTED and the like: that client is gone already
            self._start(sock)

    def _start(self, sock: socket.socket) -> None:
        """Admit the connection at once, so that the cap counts it, then make its
        transport (a coroutine; an accepted connection is not evicted until then)."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers go out at once
        protocol = TcpProtocol(self._respond, self._connections)
        self._connections.admit(protocol)
        connecting = self._loop.create_task(
            self._loop.connect_accepted_socket(lambda: protocol, sock)
        )
        self._connecting.add(connecting)

        def connected(task: asyncio.Task) -> None:
            self._connecting.discard(task)
            if task.cancelled() or task.exception() is not None:  # the client is gone
                sock.close()
                self._connections.discard(protocol)

        connecting.add_done_callback(connected)


# Why a connection's deadline is set: what happens when it passes (TcpProtocol._expired)
IDLE = "idle"  # no query answered for tcp_idle_timeout: closed once the answers are written
FRAME = "frame_timeout"  # a frame incomplete tcp_frame_timeout after its first octet: closed
STALLED = "write_stalled"  # answers unread for tcp_frame_timeout: aborted
CLOSING = "close_timeout"  # closed, yet the answers are still unwritten: aborted


class TcpProtocol(asyncio.Protocol):
    """One TCP connection: reassembles length-prefixed queries and answers each in turn,
    no faster than the client reads the answers, and closes itself past its deadline."""

    def __init__(self, respond: Responder, connections: TcpConnections) -> None:
        self._respond = respond
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = bytearray()  # queries not answered yet, the last one maybe partial
        self.active_at = 0.0  # admitted, then the last query answered (TcpConnections)
        self._frame_started = 0.0  # when the first octet in the buffer arrived
        self._paused = False  # the transport's write buffer is above its high-water mark
        self._due = math.inf  # the deadline, and why it is set (IDLE, FRAME, ...)
        self._why = IDLE
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._streaming: asyncio.Task[None] | None = None  # a transfer being written
        self._writable: asyncio.Event | None = None  # set while not paused, for the stream

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The transport TcpAcceptor makes once TcpConnections has admitted us."""
        self._transport = transport  # type: ignore[assignment]
        self._loop = asyncio.get_running_loop()
        if getattr(self._respond, "wants_peer", False):
            host = _peer_host(transport)
            self._respond = functools.partial(self._respond, address=_packed(host) if host else b"")
        self._set_due(self.active_at + self._connections.idle_timeout, IDLE)

    def data_received(self, data: bytes) -> None:
        if not self._buffer:
            self._frame_started = self._loop.time()  # type: ignore[union-attr]
        self._buffer += data
        self._answer()

    def _answer(self) -> None:
        """Answer the complete queries in the buffer, in order, the answers joined into
        writes of about WRITE_BATCH octets; stop when a write pushes the transport's
        buffer above its high-water mark (pause_writing): the rest of the queries wait in
        the buffer, and the socket is not read meanwhile."""
        if self._streaming is not None:
            return  # the queries after a transfer wait for its end
        buffer = self._buffer
        start = 0
        framed: list[bytes] = []  # answers not written yet, in order
        size = 0
        while len(buffer) - start >= 2:
            length = (buffer[start] << 8) | buffer[start + 1]
            end = start + 2 + length
            if len(buffer) < end:
                break
            response = _guarded(self._respond, bytes(buffer[start + 2 : end]))
            start = end
            if response is None:
                continue
            if response.__class__ is not bytes:  # a stream: written by a task of its own
                self._stream(response)  # type: ignore[arg-type]
                break
            if len(response) > MAX_TCP_MESSAGE:
                log.error("event=tcp_oversize length=%d action=dropped", len(response))
                continue
            framed.append(len(response).to_bytes(2, "big"))
            framed.append(response)
            size += 2 + len(response)
            if size >= WRITE_BATCH:
                self._transport.write(b"".join(framed))  # type: ignore[union-attr]
                framed, size = [], 0
                if self._paused or self._transport.is_closing():  # type: ignore[union-attr]
                    break  # the client does not read, or is gone
        if framed:  # one write (one system call) for all of them
            self._transport.write(b"".join(framed))  # type: ignore[union-attr]
        now = self._loop.time()  # type: ignore[union-attr]
        if start:
            del buffer[:start]
            self._frame_started = now
            self._connections.active(self, now)
        if not self._paused and self._streaming is None:
            self._set_reading_deadline()

    def _stream(self, stream: Stream) -> None:
        """Write `stream`'s messages in a task; reading stops until it ends, and then the
        queries read meanwhile are answered."""
        self._transport.pause_reading()  # type: ignore[union-attr]
        self._set_due(math.inf, IDLE)
        self._writable = asyncio.Event()
        if not self._paused:
            self._writable.set()
        task = self._loop.create_task(self._write_stream(stream))  # type: ignore[union-attr]
        self._streaming = task

    async def _write_stream(self, stream: Stream) -> None:
        transport: asyncio.Transport = self._transport  # type: ignore[assignment]
        messages = stream(_peer_host(transport))
        try:
            async for message in messages:
                if transport.is_closing():
                    break
                transport.write(len(message).to_bytes(2, "big") + message)
                await self._writable.wait()  # type: ignore[union-attr]
        except Exception:
            log.exception("event=internal_error where=stream action=closed")
            transport.abort()
        finally:
            await messages.aclose()  # type: ignore[attr-defined]
        self._streaming = None
        if transport.is_closing():
            return
        now = self._loop.time()  # type: ignore[union-attr]
        self._frame_started = now
        self._connections.active(self, now)
        self._answer()
        if not self._paused:
            transport.resume_reading()

    def _set_reading_deadline(self) -> None:
        """The idle deadline runs from the last query answered (a partial frame does not
        move it); a partial frame must also complete within tcp_frame_timeout."""
        connections = self._connections
        idle = self.active_at + connections.idle_timeout
        frame = self._frame_started + connections.frame_timeout
        if self._buffer and frame < idle:
            self._set_due(frame, FRAME)
        else:
            self._set_due(idle, IDLE)

    def eof_received(self) -> bool:
        return False  # the client has finished sending: close once our answers are written

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._streaming is not None:
            self._streaming.cancel()
        self._connections.discard(self)

    # Flow control: a client that does not read its answers is neither answered nor read.
    def pause_writing(self) -> None:
        self._paused = True
        if self._writable is not None:
            self._writable.clear()
        self._transport.pause_reading()  # type: ignore[union-attr]
        now = self._loop.time()  # type: ignore[union-attr]
        self._set_due(now + self._connections.frame_timeout, STALLED)

    def resume_writing(self) -> None:
        self._paused = False
        if self._writable is not None:
            self._writable.set()
        if self._streaming is not None:
            return  # the stream goes on; it answers the waiting queries when it ends
        now = self._loop.time()  # type: ignore[union-attr]
        if self._transport.is_closing():  # type: ignore[union-attr]
            self._set_due(now + self._connections.frame_timeout, CLOSING)  # still reading
            return
        self._frame_started = now
        self._answer()  # the queries read already, then the socket again
        if not self._paused:
            self._transport.resume_reading()  # type: ignore[union-attr]

    @property
    def busy(self) -> bool:
        """Not to be evicted: its transport is being made, or answers wait to be written
        to a client that reads them."""
        transport = self._transport
        return transport is None or self._streaming is not None or (
            not self._paused and transport.get_write_buffer_size() > 0)

    def evict(self) -> None:
        log.debug("event=tcp_evicted peer=%s", _peer(self._transport))
        self.abort()

    def close(self) -> None:
        """Close after the answers already written are flushed (graceful shutdown)."""
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _set_due(self, when: float, why: str) -> None:
        """Set the deadline; the timer is moved only when it must fire earlier (when it
        fires early, _expired sets it again)."""
        self._due, self._why = when, why
        if when < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_at(when, self._expired)  # type: ignore[union-attr]
            self._timer_at = when

    def _expired(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = self._loop.time()  # type: ignore[union-attr]
        if now < self._due:
            self._set_due(self._due, self._why)
            return
        peer = _peer(self._transport)
        if self._why in (STALLED, CLOSING):
            log.debug("event=tcp_abort peer=%s reason=%s", peer, self._why)
            self.abort()
            return
        log.debug("event=tcp_close peer=%s reason=%s", peer, self._why)
        self.close()
        # the answers already due are written first: a client that does not read them
        # within tcp_frame_timeout is aborted
        self._set_due(now + self._connections.frame_timeout, CLOSING)


def _guarded(respond: Responder, query: bytes, *address: bytes) -> bytes | None:
    """The core never raises; should it, the query is dropped and the socket keeps serving.
    `address`: the client's, for a responder that `wants_peer`."""
    try:
        return respond(query, *address)
    except Exception:
        log.exception("event=internal_error where=responder action=dropped")
        return None


def _packed(host: str) -> bytes:
    """The packed form of an IP address the socket module gave (an IPv6 scope dropped)."""
    return ipaddress.ip_address(host.partition("%")[0]).packed


def _peer_host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return peer[0] if peer else ""


def _peer(transport: asyncio.BaseTransport | None) -> str:
    peer = transport.get_extra_info("peername") if transport is not None else None
    return format_address(peer[0], peer[1]) if peer else "-"


@dataclass
class Listener:
    """UDP and TCP bound on one address and port, answering with the same responders."""

    host: str
    port: int
    udp: UdpReader
    tcp: TcpAcceptor

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
        tcp = TcpAcceptor(tcp_sock, tcp_respond, connections, loop)
    except BaseException:
        udp_sock.close()
        tcp_sock.close()
        raise
    return Listener(host, port, UdpReader(udp_sock, udp_respond, loop), tcp)
