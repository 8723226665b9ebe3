"""Adversarial tests of issue 15: an attacker's requests against the real server, over loopback."""
