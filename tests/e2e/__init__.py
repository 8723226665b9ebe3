"""End-to-end tests: the real `acnsd serve` daemon on loopback."""
