"""The primary side's configuration keys: what loads, and each mistake's message."""

from __future__ import annotations

import ipaddress

import pytest
from acnsd.errors import ConfigError
from acnsd.model.config import load
from acnsd.model.types import NotifyTarget, TransferRule

from .xfrkit import KEY, OTHER_KEY, SECRET, primary_config


def _load(tmp_path, **options):
    return load(str(primary_config(tmp_path, 5353, **options)), save_state=False)


def test_the_keys_load(tmp_path):
    server = _load(tmp_path, max_transfers=3).model.server
    assert [(k.name, k.algorithm) for k in server.tsig_keys] == [
        (KEY, "hmac-sha256"), (OTHER_KEY, "hmac-sha512")]
    assert server.allow_transfer == (
        TransferRule(ipaddress.ip_network("127.0.0.1/32"), KEY),
        TransferRule(ipaddress.ip_network("127.0.0.2/32")))
    assert server.max_transfers == 3


def test_notify_addresses(tmp_path):
    server = _load(tmp_path, notify=f'[{{address: "127.0.0.9"}}, {{address: "[::1]:5300"}}, '
                   f'{{address: "127.0.0.8:53", key: {KEY}}}]').model.server
    assert server.notify == (NotifyTarget("127.0.0.9", 53), NotifyTarget("::1", 5300),
                             NotifyTarget("127.0.0.8", 53, KEY))


@pytest.mark.parametrize("rules,message", [
    ("[{prefix: 127.0.0.1/32, key: nokey}]", "'nokey' is not in server.tsig_keys"),
    ("[{prefix: 300.0.0.0/8}]", "does not appear to be an IPv4 or IPv6 network"),
    ("[{key: xfr-key}]", "missing required key 'prefix'"),
    ("[{prefix: 127.0.0.1/32, keys: xfr-key}]", "did you mean 'key'?"),
])
def test_rule_mistakes(tmp_path, rules, message):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, rules=rules)
    assert message in str(error.value)


@pytest.mark.parametrize("key,message", [
    ('{name: k, algorithm: hmac-md4, secret: "c2VjcmV0"}', "'hmac-md4': one of hmac-sha256"),
    ("{name: k, algorithm: hmac-sha256, secret: '!!not base64'}", "not base64"),
    ('{name: k, algorithm: hmac-sha256}', "exactly one of 'secret' (base64) and 'secret_file'"),
    ("{name: k, algorithm: hmac-sha256, secret_file: missing.key}", "cannot be read"),
])
def test_key_mistakes(tmp_path, key, message):
    config = primary_config(tmp_path, 5353)
    config.write_text(config.read_text().replace("  tsig_keys:\n", f"  tsig_keys:\n    - {key}\n"))
    with pytest.raises(ConfigError) as error:
        load(str(config), save_state=False)
    assert message in str(error.value)


def test_secret_inline_and_in_a_file_are_the_same(tmp_path):
    (tmp_path / "same.key").write_text(SECRET + "\n")
    config = primary_config(tmp_path, 5353)
    config.write_text(config.read_text().replace(
        "  tsig_keys:\n", "  tsig_keys:\n    - {name: same, algorithm: hmac-sha256, "
        "secret_file: same.key}\n"))
    keys = {k.name: k.secret for k in load(str(config), save_state=False).model.server.tsig_keys}
    assert keys["same."] == keys[KEY]
