"""The dnsperf benchmark harness: acnsd against Knot DNS, NSD and dnslib.

Run it with `python -m benchmarks.run` (see benchmarks/README.md).
"""
