"""The stores' factory the edge hands to the actors: a small picklable value that opens working stores."""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.base import Engine

from classroom.stores import PiccoloStores
from classroom.tables import Class

pytestmark = pytest.mark.anyio


def test_the_factory_crosses_processes_as_its_url() -> None:
    stores = PiccoloStores("sqlite:///somewhere/classroom.sqlite")
    assert pickle.loads(pickle.dumps(stores)) == stores
    assert len(pickle.dumps(stores)) < 200  # a URL, not a connection


async def test_opening_binds_the_tables_to_the_url(sqlite_database: Engine[Any], tmp_path: Path) -> None:
    # What an actor does in its own process; here it rebinds this test's tables to a second engine on the same file.
    stores = PiccoloStores(f"sqlite:///{tmp_path / 'test.sqlite'}")
    sessions = await stores.open_session_store()
    assert Class._meta.db is not sqlite_database
    assert await sessions.load_class(str(uuid.uuid4())) is None
    analytics = await stores.open_analytics_store()
    assert await analytics.known_runs([uuid.uuid4()]) == set()
