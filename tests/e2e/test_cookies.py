"""DNS Cookies against the running daemon (RFC 7873, RFC 9018): dig and kdig get our
cookie over UDP and TCP and call it good, the secret survives a restart (kept in the
store), BADCOOKIE when required, and a resolver that sends cookies (BIND named
forwarding to acnsd) gets its answers, also when they are required."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dns.edns
import dns.message
import dns.query
import dns.rcode
import pytest
from tooling import stop_process, unused_port

from .e2e_daemon import start_daemon, write_config

REQUIRE = ("  cookies: {require: true}",)


def run(tool: str, port: int, *args: str) -> str:
    retry = "+retry=0" if tool.endswith("kdig") else "+tries=1"
    result = subprocess.run([tool, "@127.0.0.1", "-p", str(port), "+time=3", retry, *args],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def cookie_of(output: str) -> str:
    return re.search(r"COOKIE: ([0-9a-fA-F]+)", output).group(1).lower()


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig_cookie_is_good(dig, server, transport):
    out = run(dig, server.port, transport, "+cookie=0102030405060708", "www.example.com", "A")
    assert "status: NOERROR" in out and "192.0.2.10" in out
    cookie = cookie_of(out)
    assert "(good)" in out and cookie.startswith("0102030405060708" "01000000")
    assert len(cookie) == 48
    again = run(dig, server.port, transport, f"+cookie={cookie}", "www.example.com", "A")
    assert "(good)" in again and cookie_of(again)[:16] == "0102030405060708"


def test_kdig_cookie(require, server):
    out = run(require("kdig"), server.port, "+cookie", "www.example.com", "A")
    assert "NOERROR" in out and "192.0.2.10" in out
    assert len(cookie_of(out)) == 48


def query_with(cookie: bytes) -> dns.message.Message:
    q = dns.message.make_query("www.example.com.", "A")
    q.use_edns(0, 0, 1232, options=[dns.edns.GenericOption(dns.edns.COOKIE, cookie)])
    return q


def cookie_in(r: dns.message.Message) -> bytes:
    return next(o.to_wire() for o in r.options if o.otype == dns.edns.COOKIE)


def test_required_cookies_and_a_restart_keeps_them_valid(daemon_factory):
    """Required: BADCOOKIE, then the answer with the cookie given; TCP answered anyway;
    after a restart the cookie the first process made is still valid."""
    daemon = daemon_factory(server_lines=REQUIRE)
    port = daemon.port
    bad = dns.query.udp(query_with(b"\x05" * 8), "127.0.0.1", port=port, timeout=3)
    assert bad.rcode() == dns.rcode.BADCOOKIE and not bad.answer
    cookie = cookie_in(bad)
    good = dns.query.udp(query_with(cookie), "127.0.0.1", port=port, timeout=3)
    assert good.rcode() == dns.rcode.NOERROR and good.answer
    tcp = dns.query.tcp(query_with(b"\x05" * 8), "127.0.0.1", port=port, timeout=3)
    assert tcp.rcode() == dns.rcode.NOERROR and tcp.answer
    assert daemon.stop() == 0
    again = start_daemon(daemon.config, port)
    try:
        after = dns.query.udp(query_with(cookie), "127.0.0.1", port=port, timeout=3)
        assert after.rcode() == dns.rcode.NOERROR and after.answer
    finally:
        again.stop()


NAMED_CONF = """\
options {{
  directory "{directory}";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion yes;
  allow-query {{ any; }};
  dnssec-validation no;
  pid-file none;
  session-keyfile none;
}};
zone "example.com" {{ type forward; forward only; forwarders {{ 127.0.0.1 port {acnsd}; }}; }};
"""


@pytest.mark.parametrize("required", [False, True])
def test_a_resolver_sending_cookies_gets_answers(require, tmp_path, required):
    """BIND's named sends cookies to the servers it asks (its default); with acnsd
    requiring them it gets BADCOOKIE first, retries with our cookie, and answers."""
    named = require("named")
    port = unused_port()
    acnsd = start_daemon(write_config(tmp_path, port, server_lines=REQUIRE if required else ()),
                         port, "--query-log")
    directory = tmp_path / "named"
    directory.mkdir()
    resolver_port = unused_port()
    conf = directory / "named.conf"
    conf.write_text(NAMED_CONF.format(directory=directory, port=resolver_port, acnsd=port))
    process = subprocess.Popen([named, "-g", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        answer = None
        for _ in range(50):  # until named is ready
            try:
                answer = dns.query.udp(dns.message.make_query("www.example.com.", "A"),
                                       "127.0.0.1", port=resolver_port, timeout=1)
                break
            except (dns.exception.Timeout, ConnectionRefusedError):
                continue
        assert answer is not None and answer.rcode() == dns.rcode.NOERROR
        assert "192.0.2.10" in answer.to_text()
        log = Path(acnsd.log_path).read_text()
        if required:
            assert "badcookie" in log  # named was asked for a valid cookie, and had one next
    finally:
        stop_process(process)
        acnsd.stop()
