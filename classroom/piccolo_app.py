"""Piccolo's app registration for classroom: its tables and the folder of timestamped migrations."""

from __future__ import annotations

import os

from piccolo.conf.apps import AppConfig

from classroom.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="classroom",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
