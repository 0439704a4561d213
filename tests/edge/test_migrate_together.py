"""Two replicas (or a migration Job and a starting pod) migrating one fresh database at the same moment: both
succeed and every migration runs once. Real processes of `classroom migrate`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def migrate_twice_at_once(url: str, data_dir: Path) -> list[str]:
    env = {**os.environ, "CLASSROOM_DATABASE_URL": url, "CLASSROOM_DATA_DIR": str(data_dir)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "classroom", "migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    return outs


def test_two_migrations_of_one_fresh_sqlite_database_take_turns(tmp_path: Path) -> None:
    outs = migrate_twice_at_once(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path)
    assert sum(o.startswith("applied: ") for o in outs) == 1, outs  # one ran them, the other found them done
    names = [r[0] for r in sqlite3.connect(tmp_path / "db.sqlite").execute("SELECT name FROM migration")]
    assert names and len(names) == len(set(names))


@pytest.mark.postgres
def test_two_migrations_of_one_fresh_postgres_database_take_turns(fresh_postgres_url: str, tmp_path: Path) -> None:
    outs = migrate_twice_at_once(fresh_postgres_url, tmp_path)
    assert sum(o.startswith("applied: ") for o in outs) == 1, outs
    names = subprocess.run(
        ["psql", fresh_postgres_url, "-Atc", "SELECT name FROM migration"], check=True, capture_output=True, text=True
    ).stdout.split()
    assert names and len(names) == len(set(names))
