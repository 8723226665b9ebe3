"""Zone names (R1): plain names are taken without dnspython's reader, and every text gets
exactly the verdict (None or the same message) that reading it with dnspython gives."""

from __future__ import annotations

import string

import pytest
from acnsd.model import names
from hypothesis import event, given, settings
from hypothesis import strategies as st

LABEL_CHARS = string.ascii_lowercase + string.digits + "-_*/" + 'A"();@\\$ \té\x01\x7f.'


def _by_dnspython(name: str) -> str | None:
    """The verdict with every name read by dnspython (no name counts as plain)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(names, "_SPECIAL", frozenset(string.printable))
        return names.zone_name_error(name)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(
    st.lists(st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1,
                     max_size=8), min_size=1, max_size=4).map(".".join),
    st.text(alphabet=LABEL_CHARS, min_size=0, max_size=20),
    st.sampled_from(["@", "a.@", "x\\.y.com", "\\065.com", "a$b.com", "0/25.2.0.192.in-addr.arpa",
                     "xn--bcher-kva.example", "bücher.example", "A.com", "x" * 64 + ".com"])))
def test_zone_names_get_dnspythons_verdict(name):
    verdict = names.zone_name_error(name)
    event("valid" if verdict is None else "refused")
    assert verdict == _by_dnspython(name)


@pytest.mark.parametrize("name", ["\\@\\@", "a\\@b.com", "x\\.y.com", "\\065.com"])
def test_zone_names_with_escapes_are_refused(name):
    # "\\@" reads back as written: it was accepted and then served as a name with backslashes
    verdict = names.zone_name_error(name)
    assert verdict is not None and "without escapes" in verdict


_SPACES = [c for c in map(chr, range(0x3001)) if c.isspace()]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(["a", "\x00", "\x1b", "\u200b", *_SPACES]),
                        min_size=1, max_size=4), min_size=1, max_size=3).map(".".join))
def test_every_kind_of_white_space_in_a_label_is_refused_as_such(name):
    """White space is what str.isspace() says, Unicode's included (\\x1c, \\x85,
    \\u3000...); a zero-width space or a control character is not."""
    spaced = any(c.isspace() for c in name)
    assert (names.zone_name_error(name) == "contains white space") == spaced
