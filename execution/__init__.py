"""Execution engine: run untrusted student Python in hardened, pre-warmed, single-use sandboxes.

A library: it imports neither Ray nor Starlette. A user's failure is a verdict in a result, never an
exception; our own failures are the typed exceptions of :mod:`execution.errors`.
"""
