"""Adversarial tests of issue 15: attacks on the real server, each bounded in time."""
