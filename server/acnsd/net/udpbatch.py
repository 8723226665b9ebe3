"""UDP datagrams in and out by the batch: recvmmsg(2) and sendmmsg(2), through ctypes.

The rule this module owns: the memory the kernel reads queries into and sends answers
from. Python's socket module moves one datagram per system call and turns every peer
address into a tuple and back; here one recvmmsg reads up to BATCH queued datagrams and
one sendmmsg writes their answers, each to the sockaddr its query came from, which stays
where the kernel wrote it. This halves the server's system time per query and cuts its
user time (measured under dnsperf: CPU per query 0.6 x the asyncio datagram transport).

The buffers are anonymous memory maps (a page is touched only when a message reaches it)
of one slot per datagram, each as large as any UDP payload, so nothing is ever cut
short. They are allocated once per thread and address family and shared by every socket
read on that thread: an event loop runs one reader at a time. Linux (glibc or musl) only;
where libc has no recvmmsg `available` is False and the listener reads one datagram at
a time with the socket module. A peer's IP address is read from its sockaddr only when
asked (`address`, or `peers` for the whole batch): DNS Cookies and rate limiting need
it, the rest never.

Every answer starts with its query's two-octet ID, and the kernel is pointed at it where
it wrote it: an answer's message has two vectors, the ID in the query's slot and the
answer after it. So the responder is given each query after its ID and returns each
answer after its ID, and a response the cache holds (keyed by the query after its ID)
goes out as it is stored, without a copy made to put an ID in front. A datagram too
short to hold an ID gets no answer.

Per datagram, only what cannot be done per batch is done in Python: the queries are cut
from the map by one list comprehension (their lengths unpacked by one struct call), the
responder answers the whole list at once, and the answers are joined into one buffer
whose offsets and lengths go into the send vectors by two strided writes. Every answer's
message keeps its query's slot, so its peer address never moves; a dropped query splits
the send into runs around it.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import mmap
import socket
import struct
import threading
from array import array
from collections.abc import Callable
from itertools import accumulate

__all__ = ["BATCH", "Batch", "ManyResponder", "available", "batch_for"]

# answers a list of queries, each after its ID, at once: one answer after its ID (None:
# drop) per query, in order (a datagram shorter than an ID gets none, whatever it returns)
ManyResponder = Callable[[list[bytes]], list["bytes | None"]]

log = logging.getLogger("acnsd.listener")  # the listener's events, logged where they happen

BATCH = 128  # datagrams per system call: more than a load generator keeps in flight
SLOT = 65536  # one datagram per slot: every UDP payload fits (at most 65,507 octets)
_NAME = 28  # bytes per peer address: sizeof(struct sockaddr_in6), the larger family
_NAME_LENGTH = {socket.AF_INET: 16, socket.AF_INET6: 28}  # sizeof(struct sockaddr_in[6])
_AGAIN = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})


class _Iovec(ctypes.Structure):  # struct iovec (sys/uio.h)
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):  # struct msghdr (sys/socket.h)
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.c_void_p),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):  # struct mmsghdr (sys/socket.h)
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


def _libc_calls() -> tuple[Callable[..., int], Callable[..., int]] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        recvmmsg, sendmmsg = libc.recvmmsg, libc.sendmmsg
    except (OSError, AttributeError):
        return None
    # No argtypes: converting each argument through argtypes costs as much as the rest of
    # the call. The callers pass ints that fit a C int (descriptor, count, flags), pointers
    # as ctypes.c_void_p and None for the NULL timeout, which ctypes passes as they are.
    recvmmsg.restype = sendmmsg.restype = ctypes.c_int
    return recvmmsg, sendmmsg


_CALLS = _libc_calls() if hasattr(socket, "MSG_DONTWAIT") else None
available = _CALLS is not None
_threads = threading.local()


def batch_for(family: int) -> Batch:
    """This thread's buffers for sockets of `family` (AF_INET or AF_INET6)."""
    batches = _threads.__dict__.setdefault("batches", {})
    batch = batches.get(family)
    if batch is None:
        batch = batches[family] = Batch(family)
    return batch


class Batch:
    """Received queries and their answers, BATCH slots each, with the message headers
    that point the kernel at them; built once, then only lengths and addresses change."""

    def __init__(self, family: int) -> None:
        if _CALLS is None:
            raise OSError(errno.ENOSYS, "recvmmsg and sendmmsg are not available")
        self._queries = mmap.mmap(-1, BATCH * SLOT)
        self._answers = mmap.mmap(-1, BATCH * SLOT)
        self._answers_view = memoryview(self._answers)  # writes faster than the map itself
        self._starts = [i * SLOT for i in range(BATCH)]
        names = (ctypes.c_char * (BATCH * _NAME))()
        query_iov, answer_iov = (_Iovec * BATCH)(), (_Iovec * (2 * BATCH + 2))()  # + a spare
        received, sent = (_Mmsghdr * BATCH)(), (_Mmsghdr * BATCH)()
        queries_at = ctypes.addressof(ctypes.c_char.from_buffer(self._queries))
        answers_at = ctypes.addressof(ctypes.c_char.from_buffer(self._answers))
        names_at = ctypes.addressof(names)
        for i in range(BATCH):
            query_iov[i].base, query_iov[i].len = queries_at + i * SLOT, SLOT
            hdr = received[i].hdr
            hdr.name, hdr.namelen = names_at + i * _NAME, _NAME_LENGTH[family]
            hdr.iov, hdr.iovlen = ctypes.addressof(query_iov) + i * ctypes.sizeof(_Iovec), 1
            hdr = sent[i].hdr  # the answer to slot i goes to the peer of the query in slot i,
            hdr.name, hdr.namelen = names_at + i * _NAME, _NAME_LENGTH[family]
            # and starts with that query's ID, where the kernel wrote it
            hdr.iov, hdr.iovlen = ctypes.addressof(answer_iov) + 2 * i * ctypes.sizeof(_Iovec), 2
            answer_iov[2 * i].base, answer_iov[2 * i].len = queries_at + i * SLOT, 2
        # the received lengths of the first n messages, in one struct call per batch
        size = ctypes.sizeof(_Mmsghdr)
        before = _Mmsghdr.len.offset  # type: ignore[attr-defined]
        entry = f"{before}xI{size - before - 4}x"
        self._lengths = [struct.Struct("=" + entry * n).unpack_from for n in range(BATCH + 1)]
        self._received = received
        # where each peer's IP address is in the sockaddrs, and how long it is
        at, length = (4, 4) if family == socket.AF_INET else (8, 16)
        self._names = names  # a slice of a c_char array is bytes, NULs included
        self._peers = [slice(i * _NAME + at, i * _NAME + at + length) for i in range(BATCH)]
        entry = f"{at}x{length}s{_NAME - at - length}x"  # the first n of them, in one call
        self._peers_of = [struct.Struct(entry * n).unpack_from for n in range(BATCH + 1)]
        self._answers_at = answers_at
        # the answer vectors, (base, length) pairs of u64, two per answer (its query's ID,
        # then the answer after it): the second ones are written by strided slices
        self._answer_iov_u64 = memoryview(answer_iov).cast("B").cast("Q")  # type: ignore[arg-type]
        self._received_at = ctypes.c_void_p(ctypes.addressof(received))
        # where the messages from the i-th on start, for sendmmsg
        self._sent_from = [ctypes.c_void_p(ctypes.addressof(sent) + i * size) for i in range(BATCH)]
        # the ctypes objects own the memory the addresses above point into
        self._keep = (names, query_iov, answer_iov, received, sent)

    def address(self, index: int) -> bytes:
        """The IP address (packed) of the peer of the `index`-th datagram last read."""
        return self._names[self._peers[index]]

    def peers(self, count: int) -> tuple[bytes, ...]:
        """The IP addresses (packed) of the peers of the first `count` datagrams last read,
        at once (rate limiting needs every one)."""
        return self._peers_of[count](self._names)

    def answer(self, fd: int, respond: ManyResponder, whole: bool = False) -> int:
        """Read the datagrams queued on `fd` (at most BATCH; never blocks), answer them
        with one call of `respond` (queries and answers after their ID; with `whole`,
        whole messages, whose first two octets are then not sent) and send the answers in
        one call. Returns how many were read: fewer than BATCH means the queue was empty.
        `respond` must not raise; an answer the kernel refuses (a full send buffer) is
        lost, as with sendto."""
        recvmmsg = _CALLS[0]  # type: ignore[index]
        count = recvmmsg(fd, self._received_at, BATCH, socket.MSG_DONTWAIT, None)
        if count <= 0:
            code = ctypes.get_errno()
            if count < 0 and code not in _AGAIN:
                log.debug("event=udp_error error=%s", errno.errorcode.get(code, code))
            return 0
        # No call here takes keyword arguments, nor is min() used: in Python 3.11 both
        # parse their arguments at a cost of a third of a cached answer per batch.
        queries = self._queries
        lengths = self._lengths[count](self._received)
        skip = 0 if whole else 2  # each query after its ID, or whole
        # zip stops after the `count` lengths (the starts are those of every slot)
        cut = [queries[s + skip : s + n] for s, n in zip(self._starts, lengths)]  # noqa: B905
        responses = respond(cut)
        if whole:
            responses = [None if r is None else r[2:] for r in responses]
        # a datagram without a whole ID gets no answer (after their IDs, only a datagram
        # of at most two octets is cut to b"": the lengths are looked at only then)
        if (whole or b"" in cut) and (0 in lengths or 1 in lengths):
            answered = zip(responses, lengths, strict=True)
            self._send_runs(fd, [r if n >= 2 else None for r, n in answered])
            return count
        try:
            sizes = array("Q", map(len, responses))
        except TypeError:  # a dropped query: None
            self._send_runs(fd, responses)
            return count
        data = b"".join(responses)
        if len(data) > count * SLOT:  # some answer larger than a datagram can be
            self._send_runs(fd, responses)
            return count
        self._answers_view[: len(data)] = data
        iov = self._answer_iov_u64  # answers back to back: their offsets are running sums,
        # one more than there are answers: the last lands in the spare vector
        iov[2 : 4 * count + 4 : 4] = array("Q", accumulate(sizes, initial=self._answers_at))
        iov[3 : 4 * count : 4] = sizes
        self._send(fd, 0, count)
        return count

    def _send(self, fd: int, first: int, end: int) -> None:
        """sendmmsg the prepared messages first..end-1."""
        sendmmsg = _CALLS[1]  # type: ignore[index]
        sent_from = self._sent_from
        while first < end:
            written = sendmmsg(fd, sent_from[first], end - first, 0)
            first += written if written > 0 else 1  # the first one failed: it is lost

    def _send_runs(self, fd: int, responses: list[bytes | None]) -> None:
        """The rare batch with dropped queries (None: also a datagram without an ID) or
        answers too large: each answer still goes out from its query's slot, in runs of
        consecutive answers."""
        iov, answers = self._answer_iov_u64, self._answers_view
        first = 0
        for i, response in enumerate(responses):
            if response is not None and len(response) > SLOT:
                log.error("event=udp_oversize length=%d action=dropped", len(response))
                response = None
            if response is None:
                self._send(fd, first, i)
                first = i + 1
                continue
            start = i * SLOT
            answers[start : start + len(response)] = response
            iov[4 * i + 2] = self._answers_at + start
            iov[4 * i + 3] = len(response)
        self._send(fd, first, len(responses))
