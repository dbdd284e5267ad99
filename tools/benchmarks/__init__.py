"""Benchmarks for joinedup (``make bench``); never part of ``make test``. See ``results.md``."""
