"""A writer for the crash test: commits changes to a store until it is killed, and prints
the number of each change once its commit returned.

Change i, one transaction: zone z{i % ZONES}.test gets content(i), name n{i}.test its
addresses. Run as `python store_writer.py DB FIRST` (FIRST: the number of the first
change).
"""

from __future__ import annotations

import sys

from acnsd.model.store import Store
from storekit import packed

ZONES = 7


def zone_name(i: int) -> str:
    return f"z{i % ZONES}.test"


def content(i: int) -> dict:
    """The records change i gives its zone: each change differs from the last of the zone."""
    return {("www", "TXT"): (300, frozenset([f'"change {i}"'])),
            ("www", "A"): (300, frozenset([f"10.0.{i // 256 % 256}.{i % 256}"])),
            ("big", "TXT"): (60, frozenset([f'"{i:05d}{"x" * 200}"']))}


def address(i: int) -> str:
    return f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"


def main(path: str, first: int) -> None:
    with Store.open(path, max_depth=20, max_bytes=6000) as store:
        i = first
        while True:
            with store.change() as change:
                change.put_zone(zone_name(i), packed(content(i), zone=zone_name(i)))
                change.assign(f"n{i}.test", address(i), None)
            print(i, flush=True)
            i += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
