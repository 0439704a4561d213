"""Helpers the accounts tests import (never from ``conftest``, a name every test folder has)."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

BASE_URL = "http://127.0.0.1:8000"  # an allowed origin by default


def new_client(app: Starlette) -> httpx.AsyncClient:
    """Another browser: its own cookie jar."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE_URL)
