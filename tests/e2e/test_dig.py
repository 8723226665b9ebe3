"""What users type: dig against the running daemon (RFC 1035 over UDP, TCP, and TC)."""

from __future__ import annotations

import subprocess

from .e2e_daemon import BIG_TXT


def run_dig(dig: str, server, *args: str) -> str:
    result = subprocess.run(
        [dig, "@127.0.0.1", "-p", str(server.port), "+time=3", "+tries=1", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def flags(output: str) -> set[str]:
    line = next(x for x in output.splitlines() if x.startswith(";; flags:"))
    return set(line.split(":")[1].split(";")[0].split())


def test_dig_ns(dig, server):
    out = run_dig(dig, server, "example.com", "NS")
    assert "status: NOERROR" in out
    assert {"qr", "aa"} <= flags(out)
    assert "ns1.example.com." in out and "ns2.example.com." in out


def test_dig_tcp(dig, server):
    out = run_dig(dig, server, "+tcp", "example.com", "NS")
    assert "status: NOERROR" in out
    assert "(TCP)" in out
    assert "ns1.example.com." in out


def test_dig_bufsize_512_truncates_then_retries_over_tcp(dig, server):
    out = run_dig(dig, server, "+bufsize=512", "big.example.com", "TXT")
    assert "Truncated, retrying in TCP mode" in out
    assert f"ANSWER: {BIG_TXT}," in out
    assert "(TCP)" in out


def test_dig_norec(dig, server):
    out = run_dig(dig, server, "+norec", "www.example.com", "A")
    assert "status: NOERROR" in out
    assert flags(out) == {"qr", "aa"}
    assert "192.0.2.10" in out
    rec = run_dig(dig, server, "www.example.com", "A")
    assert "rd" in flags(rec) and "ra" not in flags(rec)
