"""Sockets: UDP batches and TCP framing between the network and the core."""
