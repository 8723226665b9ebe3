"""R7's Pool: the hosts of a family's pools by position, in the order they are handed out,
exactly those Python's `hosts()` gives (all of a /31, /32, /127 or /128)."""

from __future__ import annotations

import ipaddress

from acnsd.model.addresses import Pool
from hypothesis import given
from hypothesis import strategies as st

v4 = st.builds(lambda a, p: ipaddress.ip_network(f"10.{a}.0.0/{p}", strict=False),
               st.integers(0, 255), st.integers(24, 32))
v6 = st.builds(lambda a, p: ipaddress.ip_network(f"fd00:{a:x}::/{p}", strict=False),
               st.integers(0, 255), st.integers(118, 128))


@given(st.one_of(st.lists(v4, min_size=1, max_size=3), st.lists(v6, min_size=1, max_size=3)))
def test_a_pool_is_its_networks_hosts_in_order(networks):
    hosts = [str(a) for net in networks for a in (net.hosts() if net.num_addresses > 2
                                                   else net)]
    pool = Pool(networks)
    assert pool.size == len(hosts)
    assert [pool[i] for i in range(pool.size)] == hosts
    for i, host in enumerate(hosts):
        assert pool.index(host) == hosts.index(host) <= i
    assert pool.index("192.0.2.1" if networks[0].version == 4 else "2001:db8::1") is None


def test_an_empty_pool_is_false():
    assert not Pool(()) and Pool([ipaddress.ip_network("10.0.0.0/30")])
