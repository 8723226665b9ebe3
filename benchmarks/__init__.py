"""The dnsperf benchmark harness of issue 4: acnsd against Knot DNS, NSD and dnslib.

Run it with `python -m benchmarks.run` (see benchmarks/README.md).
"""
