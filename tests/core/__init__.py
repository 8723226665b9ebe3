"""Core tests: the answering core and its tables, without sockets."""
