"""The UDP reader, batched (recvmmsg/sendmmsg) and one datagram at a time: every answer
goes to the sender of its query, whatever is dropped or raises around it in a batch."""

from __future__ import annotations

import asyncio
import socket

import pytest
from acnsd.net import udpbatch
from acnsd.net.listener import UDP_READ_PER_WAKEUP, TcpConnections, open_listener

from .test_listener import echo, reply, run, start  # noqa: F401  (run is a fixture)

CLIENTS = 3
PER_CLIENT = 40  # 120 queued datagrams: several batches, fewer than one wakeup's share


@pytest.fixture(params=["batched", "one_at_a_time"])
def reading(request, monkeypatch):
    """Each test runs with recvmmsg/sendmmsg and with the socket module's fallback."""
    if request.param == "batched" and not udpbatch.available:
        pytest.skip("recvmmsg is not available here")
    if request.param == "one_at_a_time":
        monkeypatch.setattr(udpbatch, "available", False)
    return request.param


def clients(family: int, count: int = CLIENTS) -> list[socket.socket]:
    made = []
    for _ in range(count):
        client = socket.socket(family, socket.SOCK_DGRAM)
        client.settimeout(2)
        made.append(client)
    return made


def receive_all(client: socket.socket) -> list[bytes]:
    """What has reached `client`, without waiting once nothing more comes."""
    got = []
    client.settimeout(0.3)
    try:
        while True:
            got.append(client.recv(70000))
    except TimeoutError:
        return got


def interleaved_queries(index: int) -> list[bytes]:
    """A client's queries, with drops and a raising one among them."""
    queries = []
    for i in range(PER_CLIENT):
        if i % 7 == 3:
            queries.append(b"drop")
        elif i % 11 == 5:
            queries.append(b"boom")
        else:
            queries.append(b"c%dq%d" % (index, i))
    return queries


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_each_answer_reaches_its_sender(run, reading, host):  # noqa: F811
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def scenario():
        try:
            listener, _ = await start(host=host)
        except OSError as exc:
            pytest.skip(f"{host} cannot be bound here: {exc}")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        senders = clients(family)
        try:
            # queued in the kernel, interleaved, before the event loop reads any
            for i in range(PER_CLIENT):
                for index, client in enumerate(senders):
                    client.sendto(interleaved_queries(index)[i], (host, listener.port))
            await asyncio.sleep(0.2)
            for index, client in enumerate(senders):
                expected = [reply(q) for q in interleaved_queries(index) if q.startswith(b"c")]
                assert sorted(await asyncio.to_thread(receive_all, client)) == sorted(expected)
        finally:
            for client in senders:
                client.close()
            listener.stop_accepting()

    run(scenario())


def test_largest_answers_and_datagrams_without_an_id(run, reading):  # noqa: F811
    async def scenario():
        listener, _ = await start()
        (client,) = clients(socket.AF_INET, 1)
        try:
            for query in (b"big65507", b"", b"x", b"big2", b"x" * 65507):
                client.sendto(query, ("127.0.0.1", listener.port))
            await asyncio.sleep(0.2)
            got = await asyncio.to_thread(receive_all, client)
            # datagrams shorter than an ID get no answer; the last answer, 65,508 octets,
            # is over the IPv4 limit: lost, not fatal
            assert got == [b"bi" + b"x" * 65505, b"bi"]
        finally:
            client.close()
            listener.stop_accepting()

    run(scenario())


def test_a_wakeup_reads_a_bounded_share(run, reading):  # noqa: F811
    async def scenario():
        listener, _ = await start()
        (client,) = clients(socket.AF_INET, 1)
        try:
            for i in range(100):  # queued: the event loop does not run meanwhile
                client.sendto(b"q%d" % i, ("127.0.0.1", listener.port))
            read = listener.udp.answer_queued(40)
            assert 40 <= read < 40 + udpbatch.BATCH
            assert listener.udp.answer_queued(UDP_READ_PER_WAKEUP) == 100 - read
            assert listener.udp.answer_queued(UDP_READ_PER_WAKEUP) == 0
            got = await asyncio.to_thread(receive_all, client)
            assert sorted(got) == sorted(reply(b"q%d" % i) for i in range(100))
        finally:
            client.close()
            listener.stop_accepting()

    run(scenario())


def test_a_wakeup_reads_what_arrives_while_it_answers(run, reading):  # noqa: F811
    """Datagrams that arrive while a batch is answered are read in the same wakeup (up to
    its share), not after a trip through the event loop: under load, each batch finds the
    next queued."""
    (client,) = clients(socket.AF_INET, 1)
    port = []

    def arrive() -> None:
        if len(port) == 1:  # the first call: 20 more while it answers
            port.append(None)
            for i in range(20):
                client.sendto(b"late%d" % i, ("127.0.0.1", port[0]))

    def respond(query: bytes) -> bytes | None:
        arrive()
        return reply(query)

    def many(queries: list[bytes]) -> list[bytes | None]:
        arrive()
        return [b"M" + q for q in queries]

    respond.many = many  # type: ignore[attr-defined]

    async def scenario():
        listener = await open_listener("127.0.0.1", 0, respond, echo, TcpConnections(8, 5.0))
        port.append(listener.port)
        try:
            for i in range(5):
                client.sendto(b"q%d" % i, ("127.0.0.1", listener.port))
            assert listener.udp.answer_queued(UDP_READ_PER_WAKEUP) == 25
            assert len(await asyncio.to_thread(receive_all, client)) == 25
        finally:
            client.close()
            listener.stop_accepting()

    run(scenario())


def test_stopped_listener_reads_no_more(run, reading):  # noqa: F811
    async def scenario():
        listener, _ = await start()
        port = listener.port
        assert listener.stop_accepting() == 0
        assert listener.udp.sock.fileno() == -1  # closed
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(0.3)
            client.sendto(b"late", ("127.0.0.1", port))
            with pytest.raises(OSError):  # timeout, or ICMP port unreachable
                client.recv(100)

    run(scenario())


def test_a_responder_with_many_answers_whole_batches(run):  # noqa: F811
    """A UDP responder offering `many` is given each batch as one list (with recvmmsg),
    every query after its ID; its None drops that query only, and every answer reaches
    its sender after the ID of its own query."""
    if not udpbatch.available:
        pytest.skip("recvmmsg is not available here")
    calls: list[int] = []

    def respond(query: bytes) -> bytes | None:
        raise AssertionError("the batched reader answers through `many`")

    def many(queries: list[bytes]) -> list[bytes | None]:
        calls.append(len(queries))
        return [None if q == b"op" else b"M" + q for q in queries]  # b"drop" after its ID

    respond.many = many  # type: ignore[attr-defined]

    async def scenario():
        listener = await open_listener("127.0.0.1", 0, respond, echo, TcpConnections(8, 5.0))
        senders = clients(socket.AF_INET)
        try:
            for i in range(PER_CLIENT):
                for index, client in enumerate(senders):
                    query = b"drop" if i % 5 == 2 else b"c%dq%d" % (index, i)
                    client.sendto(query, ("127.0.0.1", listener.port))
            await asyncio.sleep(0.2)
            for index, client in enumerate(senders):
                expected = [b"c%dMq%d" % (index, i) for i in range(PER_CLIENT) if i % 5 != 2]
                assert sorted(await asyncio.to_thread(receive_all, client)) == sorted(expected)
        finally:
            for client in senders:
                client.close()
            listener.stop_accepting()
        assert sum(calls) == CLIENTS * PER_CLIENT
        assert max(calls) > 1  # whole batches, not one datagram per call

    run(scenario())


def many_responder(seen: list[bytes]):
    """A responder offering `many` that answers every query after its ID, never None."""

    def respond(query: bytes) -> bytes | None:
        raise AssertionError("the batched reader answers through `many`")

    def many(queries: list[bytes]) -> list[bytes | None]:
        seen.extend(queries)
        return [b"M" + q for q in queries]

    respond.many = many  # type: ignore[attr-defined]
    return respond


def test_many_no_answer_to_a_datagram_without_an_id(run):  # noqa: F811
    """Even when the responder answers it, a datagram of 0 or 1 octets gets no answer
    in a batch answered after the IDs; one of exactly an ID does."""
    if not udpbatch.available:
        pytest.skip("recvmmsg is not available here")
    seen: list[bytes] = []

    async def scenario():
        listener = await open_listener(
            "127.0.0.1", 0, many_responder(seen), echo, TcpConnections(8, 5.0)
        )
        (client,) = clients(socket.AF_INET, 1)
        try:
            for query in (b"c0q0", b"", b"x", b"ab", b"c0q1"):
                client.sendto(query, ("127.0.0.1", listener.port))
            await asyncio.sleep(0.2)
            got = await asyncio.to_thread(receive_all, client)
            assert sorted(got) == sorted([b"c0Mq0", b"abM", b"c0Mq1"])
        finally:
            client.close()
            listener.stop_accepting()
        assert len(seen) == 5  # one batch, every datagram given to the responder

    run(scenario())


def test_a_short_sendmmsg_sends_the_rest(run, monkeypatch):  # noqa: F811
    """When the kernel takes only some of a batch's answers, the rest are sent by further
    calls; an answer it refuses (-1) is lost, not the ones after it."""
    if not udpbatch.available:
        pytest.skip("recvmmsg is not available here")
    recvmmsg, sendmmsg = udpbatch._CALLS
    calls: list[int] = []

    def some(fd, first, count, flags):
        calls.append(count)
        if len(calls) == 1:
            return -1  # the first message of the first call is refused
        return sendmmsg(fd, first, min(count, 3), flags)

    monkeypatch.setattr(udpbatch, "_CALLS", (recvmmsg, some))

    async def scenario():
        listener = await open_listener(
            "127.0.0.1", 0, many_responder([]), echo, TcpConnections(8, 5.0)
        )
        (client,) = clients(socket.AF_INET, 1)
        try:
            for i in range(10):
                client.sendto(b"q%d" % i, ("127.0.0.1", listener.port))
            await asyncio.sleep(0.2)
            got = await asyncio.to_thread(receive_all, client)
            assert sorted(got) == sorted(b"q%dM" % i for i in range(1, 10))
        finally:
            client.close()
            listener.stop_accepting()
        assert calls == [10, 9, 6, 3]

    run(scenario())


@pytest.mark.parametrize(("host", "sources"), [
    ("127.0.0.1", ["127.0.0.7", "127.0.9.200"]),
    ("::1", ["::1"]),
])
def test_a_responder_that_wants_the_peer_is_given_its_address(run, reading, host, sources):  # noqa: F811
    """`wants_peer`: each query's client address (packed), in a batch or alone, over UDP
    and TCP; a dropped query in the middle of a batch leaves the others their peers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    def respond(query: bytes, address: bytes = b"") -> bytes | None:
        return None if query == b"drop" else query[:2] + address

    def many(queries: list[bytes], address=None, peers=None) -> list[bytes | None]:
        every = peers(len(queries))  # the same addresses, at once
        assert list(every) == [address(i) for i in range(len(queries))]
        return [None if q == b"op" else every[i] for i, q in enumerate(queries)]  # after IDs

    respond.many = many  # type: ignore[attr-defined]
    respond.wants_peer = True  # type: ignore[attr-defined]

    async def scenario():
        listener = await open_listener(host, 0, respond, respond, TcpConnections(8, 5.0))
        senders = []
        try:
            for source in sources:
                client = socket.socket(family, socket.SOCK_DGRAM)
                client.settimeout(2)
                client.bind((source, 0))
                senders.append(client)
            for i in range(PER_CLIENT):
                for client in senders:
                    client.sendto(b"drop" if i % 3 == 1 else b"q%d" % i, (host, listener.port))
            await asyncio.sleep(0.2)
            for source, client in zip(sources, senders, strict=True):
                packed = socket.inet_pton(family, source)
                got = await asyncio.to_thread(receive_all, client)
                assert got and all(answer[2:] == packed for answer in got)
                assert len(got) == len([i for i in range(PER_CLIENT) if i % 3 != 1])
            reader, writer = await asyncio.open_connection(host, listener.port)
            writer.write(b"\x00\x03tcp")
            length = int.from_bytes(await reader.readexactly(2), "big")
            assert (await reader.readexactly(length))[2:] == socket.inet_pton(family, host)
            writer.close()
        finally:
            for client in senders:
                client.close()
            listener.stop_accepting()

    run(scenario())
