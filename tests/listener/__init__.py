"""Adapter tests: the UDP and TCP listeners and what `acnsd serve` binds."""
