"""tooling.py: the free ports a test process is given are never given twice (a test picks
a secondary's port, then a primary picks its own before the secondary binds)."""

from __future__ import annotations

import tooling


class _Socket:
    """A socket whose bind to port 0 takes the next of `offered` (what the kernel offers)."""

    offered: list[int] = []

    def __init__(self, family: int, kind: int):
        self.kind, self.port = kind, None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = address[1] or self.offered.pop(0)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def __enter__(self) -> _Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_a_port_is_not_given_twice_even_when_the_kernel_offers_it_again(monkeypatch):
    monkeypatch.setattr(tooling, "_handed_out", set())
    monkeypatch.setattr(_Socket, "offered", [53001, 53001, 53001, 53002])
    monkeypatch.setattr(tooling.socket, "socket", _Socket)
    assert tooling.unused_port() == 53001
    assert tooling.unused_port() == 53002
