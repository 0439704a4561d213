"""One real ``classroom serve`` shared by the compat tests (starting Ray and the sandboxes costs seconds)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from compat_harness import Server, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    proc, srv = start_server(tmp_path_factory.mktemp("compat"))
    try:
        yield srv
    finally:
        stop_server(proc, srv)
