"""acnsd: an authoritative DNS server for account custom nameservers (ACNS)."""

__version__ = "0.1.0"
