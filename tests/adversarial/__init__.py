"""Adversarial tests of issue 15: attacks on the real server over loopback, each bounded in time."""
