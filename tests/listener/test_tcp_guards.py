"""What one TCP client may hold (issue 15): answers to a client that does not read them
wait in a bounded buffer, in order; a frame has a deadline from its first octet and a
partial frame does not keep a connection from its idle timeout; past the cap the least
recently active connection that is not busy is evicted; a reset is not an error."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import pytest
from acnsd.net import listener
from acnsd.net.listener import MAX_TCP_MESSAGE, WRITE_BATCH, TcpConnections, TcpProtocol
from hypothesis import given
from hypothesis import strategies as st

from .test_listener import closed, echo, frame, read_frame, reply, run, start  # noqa: F401  (run is a fixture)

HIGH = 4096  # the fake transport's high-water mark
# the most a connection may leave unsent: the high-water mark, then one batch of answers
# whose last answer may be the largest there is
UNSENT_BOUND = HIGH + WRITE_BATCH + 2 + MAX_TCP_MESSAGE
SMALL_BATCH = 4096


class FlowTransport:
    """A transport with asyncio's flow control: pause_writing once more than `high`
    octets are unsent, resume_writing when `drain` brings them down to `low`."""

    def __init__(self, protocol: TcpProtocol, high: int = HIGH, low: int = HIGH // 4) -> None:
        self.protocol = protocol
        self.high, self.low = high, low
        self.unsent = bytearray()
        self.most_unsent = 0
        self.writing_paused = False
        self.reading = True
        self.closing = False

    def write(self, data: bytes) -> None:
        self.unsent += data
        self.most_unsent = max(self.most_unsent, len(self.unsent))
        if len(self.unsent) > self.high and not self.writing_paused:
            self.writing_paused = True
            self.protocol.pause_writing()

    def drain(self, count: int) -> bytes:
        """What the client reads: `count` octets at most."""
        out = bytes(self.unsent[:count])
        del self.unsent[:count]
        if self.writing_paused and len(self.unsent) <= self.low:
            self.writing_paused = False
            self.protocol.resume_writing()
        return out

    def get_write_buffer_size(self) -> int:
        return len(self.unsent)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    abort = close

    def get_extra_info(self, name: str) -> None:
        return None


def frames(data: bytes) -> list[bytes]:
    """The messages of a stream of length-prefixed frames."""
    out, start = [], 0
    while start < len(data):
        length = int.from_bytes(data[start : start + 2], "big")
        out.append(data[start + 2 : start + 2 + length])
        start += 2 + length
    assert start == len(data), "a partial frame"
    return out


def connect(connections: TcpConnections, high: int = HIGH) -> tuple[TcpProtocol, FlowTransport]:
    protocol = TcpProtocol(echo, connections)
    transport = FlowTransport(protocol, high)
    connections.admit(protocol)  # as TcpAcceptor does, then the transport is made
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def test_answers_to_a_client_that_does_not_read_wait_unanswered(run):  # noqa: F811
    """One read of 2,000 pipelined queries whose answers are ~2 kB each (a 20-fold
    amplification): the answers go out no faster than the client reads them, the
    socket is not read meanwhile, and every answer arrives, in order."""

    async def scenario():
        protocol, transport = connect(TcpConnections(8, 5.0))
        queries = [b"big%d" % (2000 + i) for i in range(2000)]  # answer i: 2000 + i octets
        try:
            protocol.data_received(b"".join(frame(q) for q in queries))
            assert not transport.reading
            received = bytearray()
            while transport.unsent:
                received += transport.drain(1500)
            assert transport.reading
            assert frames(received) == [echo(q) for q in queries]
            assert transport.most_unsent <= UNSENT_BOUND
        finally:
            protocol.connection_lost(None)

    run(scenario())


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=100),
    cuts=st.lists(st.integers(min_value=1, max_value=5_000), min_size=1, max_size=20),
    reads=st.lists(st.integers(min_value=64, max_value=30_000), min_size=1, max_size=20),
)
def test_any_reads_and_drains_give_every_answer_in_order_within_the_bound(sizes, cuts, reads):
    """Queries cut into reads anywhere, answers read by the client in any amounts: the
    client gets each answer once, in order, and the unsent answers stay bounded (here with
    batches of SMALL_BATCH octets, so that a few answers fill one); the socket is read
    only while the answers keep up."""
    queries = [b"big%d" % size if size > 5 else b"q%d" % size for size in sizes]
    answers = [echo(q) for q in queries]
    bound = HIGH + SMALL_BATCH + 2 + max(len(a) for a in answers)
    stream = b"".join(frame(q) for q in queries)
    turns = len(stream) + sum(2 + len(a) for a in answers)  # each moves an octet at least

    async def scenario():
        protocol, transport = connect(TcpConnections(8, 5.0))
        received = bytearray()
        sent = turn = 0
        try:
            while sent < len(stream) or transport.unsent:
                if transport.reading and sent < len(stream):
                    cut = cuts[turn % len(cuts)]
                    protocol.data_received(stream[sent : sent + cut])
                    sent += cut
                else:
                    received += transport.drain(reads[turn % len(reads)])
                turn += 1
                assert turn <= turns, "neither read nor answered"
            assert frames(received) == answers
            assert transport.most_unsent <= bound
        finally:
            protocol.connection_lost(None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(listener, "WRITE_BATCH", SMALL_BATCH)
        asyncio.run(scenario())


def test_no_room_while_every_connection_is_busy_or_recently_active(run):  # noqa: F811
    """A connection writing answers to a client that reads them is never evicted; one
    whose client does not read (write buffer above its high-water mark) may be, as may an
    idle one, once inactive for `eviction_age`."""

    async def scenario():
        connections = TcpConnections(2, 5.0, eviction_age=0.0)
        busy, busy_transport = connect(connections, high=10**6)
        stalled, stalled_transport = connect(connections)
        busy.data_received(frame(b"big3000"))  # unsent, below the high-water mark
        stalled.data_received(frame(b"big3000") * 2)  # above it
        assert connections.has_room()
        evicting, _ = connect(connections)  # `busy` is least recently active, but busy
        assert stalled_transport.closing and not busy_transport.closing
        stalled.connection_lost(None)
        evicting.data_received(frame(b"big3000"))  # now every connection is busy
        assert not connections.has_room()
        assert connections.evicted == 1
        assert list(connections.open) == [busy, evicting]
        busy_transport.drain(10**6)  # idle now, and inactive for eviction_age (0 s)
        assert connections.has_room()
        connections.eviction_age = 60.0
        assert not connections.has_room()
        for protocol in (busy, evicting):
            protocol.connection_lost(None)

    run(scenario())


def test_pipelined_answers_to_a_slow_reader_arrive_whole_and_in_order(run):  # noqa: F811
    async def scenario():
        listener, _ = await start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            queries = [b"big%d" % (20_000 + i) for i in range(200)]  # 4 MB of answers
            writer.write(b"".join(frame(q) for q in queries))
            await asyncio.sleep(0.2)  # not read yet: the server stops answering meanwhile
            for query in queries:
                assert await read_frame(reader) == echo(query)
            writer.close()
        finally:
            listener.stop_accepting()

    run(scenario())


@pytest.mark.parametrize(
    "idle_timeout,frame_timeout", [(30.0, 0.3), (0.3, 30.0)], ids=["frame", "idle"]
)
def test_a_trickled_frame_is_closed(run, idle_timeout, frame_timeout):  # noqa: F811
    """One octet every 0.05 s: a frame must be complete within the frame timeout of its
    first octet, and the octets of a partial frame do not restart the idle timeout."""

    async def scenario():
        listener, connections = await start(
            idle_timeout=idle_timeout, frame_timeout=frame_timeout
        )
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            trickle = asyncio.create_task(send_slowly(writer, frame(b"x" * 500)))
            try:
                assert await closed(reader)
            finally:
                trickle.cancel()
            writer.close()
        finally:
            listener.stop_accepting()

    run(scenario())


async def send_slowly(writer: asyncio.StreamWriter, data: bytes) -> None:
    for i in range(len(data)):
        writer.write(data[i : i + 1])
        await asyncio.sleep(0.05)


def test_a_trickling_connection_is_evicted_for_a_new_one(run):  # noqa: F811
    async def scenario():
        listener, connections = await start(max_connections=1)
        try:
            slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", listener.port)
            slow_writer.write(frame(b"query")[:3])
            await slow_writer.drain()
            await asyncio.sleep(0.1)
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(frame(b"query"))
            assert await read_frame(reader) == reply(b"query")
            assert await closed(slow_reader)
            assert connections.evicted == 1
            for w in (slow_writer, writer):
                w.close()
        finally:
            listener.stop_accepting()

    run(scenario())


def test_a_reset_while_answers_are_written_is_not_an_error(run, caplog):  # noqa: F811
    """Clients that reset their connection (SO_LINGER 0) while the server writes large
    answers to them: no traceback, no warning, the event loop's exception handler is not
    called, and the server still answers."""

    async def scenario():
        loop = asyncio.get_running_loop()
        errors: list[dict] = []
        loop.set_exception_handler(lambda _, context: errors.append(context))
        listener, connections = await start()
        try:
            for wait in (0.0, 0.01, 0.05, 0.2):
                with socket.create_connection(("127.0.0.1", listener.port)) as client:
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    client.sendall(frame(b"big60000") * 50)
                    await asyncio.sleep(wait)
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            for _ in range(100):
                if not connections.open:
                    break
                await asyncio.sleep(0.02)
            assert not connections.open
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(frame(b"after"))
            assert await read_frame(reader) == reply(b"after")
            writer.close()
        finally:
            listener.stop_accepting()
        assert errors == []

    with caplog.at_level(logging.DEBUG, logger="acnsd"):
        run(scenario())
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not any(r.exc_info for r in caplog.records)
