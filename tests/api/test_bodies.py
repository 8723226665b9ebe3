"""Stored meaning is sent meaning: request bodies hold exactly the documented keys and JSON
types (a table, then hypothesis over the API), and every string the editor writes reads
back as the same string (hypothesis over the editor's YAML and the loader's)."""

from __future__ import annotations

import io

import pytest
from acnsd.api.bodies import check_body
from acnsd.api.edit import Rejected, _yaml, to_yaml
from acnsd.api.server import ApiServer
from acnsd.model.types import zone_id
from acnsd.model.yamlsrc import parse
from apikit import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from sites import two_accounts

# (schema, body, the codes of the 400, a word of the message); body None: accepted
CASES = [
    ("ZoneDnsSettings", {"ns_ttl": True}, [1009], "must be an integer, not a boolean (true)"),
    ("ZoneDnsSettings", {"ns_ttl": 300.0}, [1009], "not a number"),
    ("ZoneDnsSettings", {"multi_provider": 1}, [1030], "must be a boolean"),
    ("ZoneDnsSettings", {"nameservers": {"type": "custom.account", "ns_set": None}}, [1002],
     "not null"),
    ("ZoneDnsSettings", {"nameservers": {"type": "custom.account", "nss_set": 2}}, [1030],
     "nameservers: unknown key 'nss_set'; did you mean 'ns_set'?"),
    ("ZoneDnsSettings", {"nameservers": {"ns_set": 2}}, [1030],
     "nameservers: missing required field(s) type"),
    ("ZoneDnsSettings", {"soa": {"refresh": "600", "mname": 7}}, [1010, 1010], "[R10]"),
    ("ZoneDnsSettings", {"soa": {"serial": 7}}, [1030], "known keys: mname, rname"),
    ("ZoneDnsSettings", {"ns_ttl": None, "soa": None, "nameservers": None}, None, ""),
    ("AccountDnsSettings", {"zone_defaults": None}, None, ""),
    ("AccountDnsSettings", {"zone_defaults": []}, [1030], "must be an object, not a list"),
    ("AccountDnsSettings", {"zone_defaults": {"nameservers": {"type": "custom.account",
                                                              "ns_set": 1}}}, [1030],
     "zone_defaults.nameservers: unknown key 'ns_set'"),
    ("ZoneEdit", {"vanity_name_servers": ["ns1.a.test", 1]}, [1001],
     "vanity_name_servers[1]: [R1] must be a string"),
    ("ZoneEdit", {"vanity_name_servers": "ns1.a.test"}, [1030], "must be a list"),
    ("ZoneInput", {"name": "a.test", "account": "x"}, [1030], "account: must be an object"),
    ("ZoneInput", {"name": ["a.test"], "account": {}}, [1030, 1030],
     "account: missing required field(s) id"),
    ("CustomNameserverInput", {"ns_name": "ns1.a.test", "ns_set": "1"}, [1002], "[R2]"),
    ("CustomNameserverInput", {}, [1030], "missing required field(s) ns_name"),
]


@pytest.mark.parametrize("schema,body,codes,needle", CASES)
def test_body_keys_and_types(schema, body, codes, needle) -> None:
    if codes is None:
        assert check_body(body, schema) is body
        return
    with pytest.raises(Rejected) as info:
        check_body(body, schema)
    assert info.value.status == 400
    assert [code for code, _ in info.value.errors] == codes
    assert needle in "\n".join(message for _, message in info.value.errors)


@pytest.mark.parametrize("body", [None, [], "{}", 3])
def test_body_must_be_an_object(body) -> None:
    with pytest.raises(Rejected, match="JSON object"):
        check_body(body, "ZoneDnsSettings")


# Strings whose plain YAML 1.1 form is something else: a boolean, a number, a date, null.
TRICKY = ["yes", "No", "on", "OFF", "y", "5:00", "1:02:03", "0x1f", "0o17", "017", "1_000",
          "1e3", ".inf", "-.Inf", ".nan", "null", "~", "Null", "2024-01-01", "true", "=",
          "<<", "? x", "- x", "# x", "x: y", "'", '"', "", " x", "@x", "!x", "&x", "*x"]


@settings(max_examples=200)
@given(st.one_of(st.sampled_from(TRICKY),
                 st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)))
def test_every_string_written_reads_back_the_same(text) -> None:
    """Before: `yes` was written plain and read back as true, `5:00` as 300."""
    out = io.StringIO()
    _yaml(2, 4, 2).dump(to_yaml({"key": text, text or "empty": 1}), out)
    assert parse(out.getvalue(), "<test>").value == {"key": text, text or "empty": 1}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    directory = tmp_path_factory.mktemp("bodies")
    config = two_accounts(directory)
    server = ApiServer(config, ("127.0.0.1", 0), directory / "tokens.yaml", lambda made: None)
    server.start()
    try:
        yield Client(*server.address)
    finally:
        server.stop()


SETTINGS = f"/zones/{zone_id('acme.test')}/dns_settings"
VALUES = st.one_of(st.booleans(), st.integers(-5, 100_000), st.sampled_from(TRICKY),
                   st.sampled_from(["hostmaster.acme.test", "ns1.acme.test", "custom.account"]),
                   st.floats(allow_nan=False, allow_infinity=False, width=16))
FIELDS = [("ns_ttl",), ("multi_provider",), ("soa", "refresh"), ("soa", "mname"),
          ("soa", "rname"), ("nameservers", "ns_set"), ("nameservers", "type")]


@settings(max_examples=60)
@given(field=st.sampled_from(FIELDS), value=VALUES)
def test_a_setting_is_stored_as_sent_or_refused(api, field, value) -> None:
    """Before: "yes" came back as true, "5:00" as 300, true as 1 (or nothing changed)."""
    body: dict = {field[0]: value} if len(field) == 1 else {field[0]: {field[1]: value}}
    if field[0] == "nameservers" and field[1] == "ns_set":
        body["nameservers"]["type"] = "custom.account"
    status, envelope = api.call("PATCH", SETTINGS, body)
    if status != 200:
        assert status == 400 and envelope["success"] is False and envelope["errors"], envelope
        return
    stored = envelope["result"]
    for key in field:
        stored = stored[key]
    if field[-1] in ("mname", "rname"):  # names are stored lower-case (R1, R10)
        value = value.lower().rstrip(".")
    assert (type(stored), stored) == (type(value), value)
    assert api.ok("GET", SETTINGS) == envelope["result"]

