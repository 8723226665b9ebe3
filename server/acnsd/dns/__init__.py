"""The answering core and its tables: pure functions from bytes to bytes."""
