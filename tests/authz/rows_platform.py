"""Matrix rows of the platform routes: health probes and the API description are public; metrics are not."""

from __future__ import annotations

from authz_harness import Case, everyone

ROWS = [
    Case("GET", "/healthz", everyone(200)),
    # Not ready in the matrix (the sandbox probe is not started), and the same answer for everyone.
    Case("GET", "/readyz", everyone(503)),
    Case("GET", "/openapi.json", everyone(200)),
    Case("GET", "/api/docs", everyone(200)),
    # Operators' figures, not the public internet's: only the admin token (the matrix's users hold JWTs, even the
    # admin); with no admin token configured, loopback clients only (tests/edge/test_metrics.py).
    Case("GET", "/metrics", everyone(401)),
]
