"""Hostile clients against the real daemon: what issue 15 found, each kept from returning."""
