"""control/zoneids.py: the zones' names by their ids, as a dict from ids to names gives
them, through any sequence of zones added and removed."""

from __future__ import annotations

from acnsd.control.zoneids import ZoneIds
from acnsd.model.types import zone_id_octets
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = st.sampled_from([f"z{i}.example" for i in range(40)])


@settings(max_examples=200, deadline=None)
@given(st.lists(NAMES, max_size=20),
       st.lists(st.tuples(st.booleans(), NAMES), max_size=40),
       st.lists(st.binary(min_size=0, max_size=17), max_size=5))
def test_names_are_found_by_their_ids_as_a_dict_finds_them(first, changes, others):
    ids = ZoneIds(first)
    expected = {zone_id_octets(name): name for name in first}
    for add, name in changes:
        if add:
            ids.add(name)
            expected[zone_id_octets(name)] = name
        else:
            ids.discard(name)
            expected.pop(zone_id_octets(name), None)
    assert len(ids) == len(expected)
    for name in {f"z{i}.example" for i in range(40)}:
        octets = zone_id_octets(name)
        assert ids.get(octets) == expected.get(octets)
    for octets in others:
        assert ids.get(octets) == expected.get(octets)


def test_ids_sharing_their_first_eight_octets_are_told_apart(monkeypatch):
    """Names whose ids start alike (2^-64 apart: forced here) are each found by its own
    id only, added and removed alone."""
    import acnsd.control.zoneids as zoneids

    def octets(name: str) -> bytes:
        return b"\x01" * 8 + name.encode().ljust(8, b".")[:8]

    monkeypatch.setattr(zoneids, "zone_id_octets", octets)
    ids = ZoneIds(["a.test", "b.test", "c.test"])
    assert [ids.get(octets(name)) for name in ("a.test", "b.test", "c.test")] == [
        "a.test", "b.test", "c.test"]
    assert ids.get(b"\x01" * 8 + b"d.test..") is None
    ids.discard("b.test")
    ids.add("a.test")
    assert (ids.get(octets("a.test")), ids.get(octets("b.test")), len(ids)) == ("a.test", None, 2)


def test_the_names_held_are_the_zones_own_strings():
    """No copy of a name per zone (10^5 zones: their names are held once, by the model)."""
    names = [f"z{i}.example" for i in range(100)]
    ids = ZoneIds(names)
    held = {id(name) for name in names}
    assert all(id(ids.get(zone_id_octets(name))) in held for name in names)
