"""Piccolo's configuration module (``PICCOLO_CONF=classroom.piccolo_conf``).

``DB`` is a placeholder for piccolo's own CLI (making migrations); the server replaces it with the engine built
from its settings through :func:`classroom.db.bind` before any query runs.
"""

from __future__ import annotations

import os
from typing import Any

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from classroom.db import engine_from_url

DB: Engine[Any] = engine_from_url(os.environ.get("CLASSROOM_DATABASE_URL") or "sqlite:///data/classroom.sqlite")

APP_REGISTRY = AppRegistry(apps=["classroom.piccolo_app"])
