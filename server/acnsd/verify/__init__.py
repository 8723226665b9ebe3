"""The delegation checks: is each zone delegated to its assigned nameservers, and does
each nameserver name resolve to, and have glue with, its assigned addresses?"""
