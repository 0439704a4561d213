"""Piccolo's configuration module (``PICCOLO_CONF=classroom.piccolo_conf``).

``DB`` is read by piccolo each time it looks for the engine: it is the engine the server bound with
:func:`classroom.db.bind` or, for piccolo's own CLI (making migrations), one built from ``CLASSROOM_DATABASE_URL``.
A module ``__getattr__`` rather than an assignment, so :mod:`classroom.db` never has to import this module back.
"""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppRegistry

from classroom import db

APP_REGISTRY = AppRegistry(apps=["classroom.piccolo_app"])


def __getattr__(name: str) -> Any:
    if name == "DB":
        return db.bound_engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
