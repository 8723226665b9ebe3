"""The UDP and TCP adapters against a fake core: framing, pipelining, limits, drain."""

from __future__ import annotations

import asyncio
import socket

import pytest
from acnsd.net.listener import (
    FRAME_TIMEOUT,
    BindError,
    TcpConnections,
    TcpProtocol,
    open_listener,
)

TIMEOUT = 5.0


def reply(query: bytes) -> bytes:
    """The fake core's answer: like a DNS response it starts with the query's first two
    octets (its ID), then b"A" and the rest of the query."""
    return query[:2] + b"A" + query[2:]


def echo(query: bytes) -> bytes | None:
    """A fake core: answers reply(query), drops b"drop", raises on b"boom"; b"bigN" is
    answered with N octets."""
    if query == b"drop":
        return None
    if query == b"boom":
        raise RuntimeError("core bug")
    if query.startswith(b"big"):
        return query[:2] + b"x" * (int(query[3:]) - 2)
    return reply(query)


try:
    import uvloop
except ImportError:  # the daemon runs on plain asyncio then
    uvloop = None


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    """Runs a scenario on each event loop the daemon may use, bounded in time."""
    if request.param == "uvloop" and uvloop is None:
        pytest.skip("uvloop is not installed")
    factory = uvloop.new_event_loop if request.param == "uvloop" else None

    def runner(coroutine):
        with asyncio.Runner(loop_factory=factory) as loop_runner:
            return loop_runner.run(asyncio.wait_for(coroutine, TIMEOUT))

    return runner


async def start(host="127.0.0.1", max_connections=8, idle_timeout=5.0, frame_timeout=FRAME_TIMEOUT):
    connections = TcpConnections(max_connections, idle_timeout, frame_timeout)
    listener = await open_listener(host, 0, echo, echo, connections)
    return listener, connections


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "big") + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    length = int.from_bytes(await reader.readexactly(2), "big")
    return await reader.readexactly(length)


async def udp_exchange(host: str, port: int, payload: bytes, wait: float = 1.0) -> bytes | None:
    loop = asyncio.get_running_loop()
    received: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            if not received.done():
                received.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(host, port))
    try:
        transport.sendto(payload)
        return await asyncio.wait_for(received, wait)
    except TimeoutError:
        return None
    finally:
        transport.close()


def test_udp_answers_and_drops(run):
    async def scenario():
        listener, _ = await start()
        try:
            assert await udp_exchange("127.0.0.1", listener.port, b"q1") == reply(b"q1")
            assert await udp_exchange("127.0.0.1", listener.port, b"drop", wait=0.3) is None
            assert await udp_exchange("127.0.0.1", listener.port, b"boom", wait=0.3) is None
            assert await udp_exchange("127.0.0.1", listener.port, b"q2") == reply(b"q2")
        finally:
            listener.stop_accepting()

    run(scenario())


def test_tcp_pipelined_queries_in_pieces(run):
    async def scenario():
        listener, _ = await start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            data = frame(b"one") + frame(b"drop") + frame(b"two") + frame(b"three")
            writer.write(data[:5])
            await writer.drain()
            assert await read_frame(reader) == reply(b"one")
            for i in range(5, len(data)):  # the rest one octet at a time
                writer.write(data[i : i + 1])
                await writer.drain()
            assert await read_frame(reader) == reply(b"two")
            assert await read_frame(reader) == reply(b"three")
            writer.write(frame(b"boom") + frame(b"after"))
            assert await read_frame(reader) == reply(b"after")
            writer.write_eof()
            assert await reader.read() == b""  # closed once our answers are written
            writer.close()
        finally:
            listener.stop_accepting()

    run(scenario())


class _Transport:
    """What a TcpProtocol writes, call by call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_extra_info(self, name: str) -> None:
        return None


def test_tcp_answers_to_one_read_go_out_in_one_write(run):
    """Pipelined queries that arrive in one read are answered in order by one write (one
    system call, not one per query); a dropped or raising query is left out of it."""

    async def scenario():
        connections = TcpConnections(8, 5.0)
        protocol = TcpProtocol(echo, connections)
        transport = _Transport()
        connections.admit(protocol)
        protocol.connection_made(transport)  # type: ignore[arg-type]
        try:
            protocol.data_received(frame(b"one") + frame(b"drop") + frame(b"boom") + frame(b"tw"))
            protocol.data_received(frame(b"three") + frame(b"four")[:4])  # and a piece
            protocol.data_received(frame(b"four")[4:])
            protocol.data_received(frame(b"drop"))
            assert transport.writes == [
                frame(reply(b"one")) + frame(reply(b"tw")),
                frame(reply(b"three")),
                frame(reply(b"four")),
            ]
        finally:
            protocol.connection_lost(None)

    run(scenario())


def test_tcp_largest_message(run):
    async def scenario():
        listener, _ = await start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(frame(b"big65535") + frame(b"big65536") + frame(b"ok"))
            assert await read_frame(reader) == b"bi" + b"x" * 65533
            assert await read_frame(reader) == reply(b"ok")  # the oversize answer was dropped
            writer.close()
        finally:
            listener.stop_accepting()

    run(scenario())


def test_tcp_idle_timeout_closes(run):
    async def scenario():
        listener, connections = await start(idle_timeout=0.3)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(b"\x00")  # half a length prefix, then nothing
            assert await asyncio.wait_for(reader.read(), 3) == b""
            writer.close()
            assert not connections.open
        finally:
            listener.stop_accepting()

    run(scenario())


def test_tcp_connection_cap_evicts_the_least_recently_active(run):
    """Past the cap a new connection is admitted once the connection that answered no
    query for the longest has been inactive for EVICTION_AGE; that one is closed to make
    room (not the oldest one)."""

    async def scenario():
        listener, connections = await start(max_connections=2)
        try:
            first, second = [
                await asyncio.open_connection("127.0.0.1", listener.port) for _ in range(2)
            ]
            for reader, writer in (first, second, first):  # `second` is now the least active
                writer.write(frame(b"hi"))
                assert await read_frame(reader) == reply(b"hi")
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(frame(b"new"))
            assert await read_frame(reader) == reply(b"new")
            assert await closed(second[0])
            first[1].write(frame(b"still"))
            assert await read_frame(first[0]) == reply(b"still")
            assert connections.evicted == 1
            for _, w in (first, second, (reader, writer)):
                w.close()
        finally:
            listener.stop_accepting()

    run(scenario())


async def closed(reader: asyncio.StreamReader) -> bool:
    """True once the server has closed the connection (EOF or reset), within 3 s."""
    try:
        return await asyncio.wait_for(reader.read(), 3) == b""
    except ConnectionResetError:
        return True  # aborted: the peer sees a reset


def test_drain_answers_then_closes(run):
    async def scenario():
        listener, connections = await start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(frame(b"last"))
        assert await read_frame(reader) == reply(b"last")
        listener.stop_accepting()
        aborted = await connections.drain(2.0)
        assert aborted == 0
        assert await reader.read() == b""
        writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", listener.port)

    run(scenario())


def test_ipv6_loopback(run):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")

    async def scenario():
        try:
            listener, _ = await start(host="::1")
        except BindError as exc:
            pytest.skip(f"::1 cannot be bound here: {exc}")
        try:
            assert listener.address == f"[::1]:{listener.port}"
            assert await udp_exchange("::1", listener.port, b"v6") == reply(b"v6")
            reader, writer = await asyncio.open_connection("::1", listener.port)
            writer.write(frame(b"v6tcp"))
            assert await read_frame(reader) == reply(b"v6tcp")
            writer.close()
        finally:
            listener.stop_accepting()

    run(scenario())


def test_bind_errors_tell_missing_address_from_busy_port(run):
    async def scenario():
        with pytest.raises(BindError) as missing:
            await start(host="192.0.2.1")  # TEST-NET-1: not on this host
        assert missing.value.not_on_this_host
        listener, _ = await start()
        try:
            with pytest.raises(BindError) as busy:
                await open_listener("127.0.0.1", listener.port, echo, echo, TcpConnections(1, 1.0))
            assert not busy.value.not_on_this_host
        finally:
            listener.stop_accepting()

    run(scenario())


def test_stop_answers_the_queued_datagrams(run):
    async def scenario():
        listener, _ = await start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(2)
            for i in range(50):  # queued in the kernel: the loop does not run meanwhile
                client.sendto(b"q%d" % i, ("127.0.0.1", listener.port))
            assert listener.stop_accepting() == 50
            answers = {client.recv(100) for _ in range(50)}
        assert answers == {reply(b"q%d" % i) for i in range(50)}

    run(scenario())


def test_client_that_never_reads_is_aborted(run):
    async def scenario():
        listener, connections = await start(idle_timeout=0.3)
        try:
            with socket.create_connection(("127.0.0.1", listener.port)) as client:
                client.setblocking(False)
                try:  # pipeline large answers and never read one
                    for _ in range(200):
                        client.send(frame(b"big65535"))
                except BlockingIOError:
                    pass
                for _ in range(100):  # idle close, then abort: the answers cannot drain
                    await asyncio.sleep(0.05)
                    if not connections.open:
                        break
                assert not connections.open
        finally:
            listener.stop_accepting()

    run(scenario())


def test_drain_is_immediate_once_every_connection_closed(run):
    """A connection closed by its client leaves the open set empty: the drain has
    nothing to wait for (it waited for its whole grace before)."""

    async def scenario():
        listener, connections = await start()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(frame(b"one"))
        assert await read_frame(reader) == reply(b"one")
        writer.close()
        while connections.open:
            await asyncio.sleep(0.01)
        listener.stop_accepting()
        assert await asyncio.wait_for(connections.drain(60.0), 2.0) == 0

    run(scenario())


STREAMED = [bytes([i]) * 40_000 for i in range(3)]  # more than the write buffer holds


def streaming(query: bytes):
    """A fake core that answers b"xfr" with a stream of STREAMED, else as echo."""
    if query != b"xfr":
        return echo(query)

    async def stream(peer: str):
        assert peer == "127.0.0.1"
        for message in STREAMED:
            yield message
            await asyncio.sleep(0)

    return stream


def test_stream_messages_in_order_then_the_queries_after_it(run):
    async def scenario():
        connections = TcpConnections(8, 5.0)
        listener = await open_listener("127.0.0.1", 0, echo, streaming, connections)
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(frame(b"xfr") + frame(b"after"))  # pipelined behind the stream
        for message in STREAMED:
            assert await read_frame(reader) == message
        assert await read_frame(reader) == reply(b"after")
        writer.write(frame(b"again"))
        assert await read_frame(reader) == reply(b"again")
        writer.close()
        listener.stop_accepting()
        await connections.drain(2.0)

    run(scenario())
