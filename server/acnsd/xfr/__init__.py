"""Zone transfers. The primary side: outgoing zone transfers (AXFR, RFC 5936; IXFR, RFC
1995), TSIG (RFC 8945), transfer ACLs and NOTIFY (RFC 1996) to the configured secondaries.
The secondary side: zones transferred in from primaries and kept up to date.

`messages` and `axfr`/`ixfr` are pure (records in, message octets out); `tsig` and `acl`
decide who may transfer; `primary` is the adapter the answering core hands transfers,
signed queries and NOTIFYs to; `notify` tells the secondaries of every serial change;
`secondary` follows the zones of `server.secondary` (SOA timers, NOTIFY, catalogs) and
`copies` keeps what it transferred on disk.
"""
