"""Settings: defaults work on one machine, every bad value is refused with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classroom.errors import SettingsError
from classroom.settings import FIELDS, load_settings


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"CLASSROOM_DATA_DIR": str(tmp_path), **{f"CLASSROOM_{k}": v for k, v in values.items()}}


def test_defaults_work_on_one_machine(tmp_path: Path) -> None:
    s = load_settings(env(tmp_path), dotenv=None)
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.database_url == f"sqlite:///{tmp_path / 'classroom.sqlite'}"
    assert s.redis_url == "" and s.ray_address == "" and s.sandbox_backend == "auto"
    assert s.run_wall_seconds == 10 and s.run_memory_mb == 256


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path), dotenv=None).secret_key
    second = load_settings(env(tmp_path), dotenv=None).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first not in repr(load_settings(env(tmp_path), dotenv=None))


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("PORT", "abc", "whole number"),
        ("PORT", "70000", "0 to 65535"),
        ("SANDBOX_BACKEND", "chroot", "auto, bwrap, nsjail, docker"),
        ("DATABASE_URL", "mysql://x/y", "sqlite:///PATH"),
        ("REDIS_URL", "http://x", "redis://"),
        ("ALLOWED_ORIGINS", "not-an-origin", "origins"),
        ("SANDBOX_SLOTS", "0", "above 0"),
        ("START_RAY", "maybe", "true or false"),
        ("SECRET_KEY", "short", "32 characters"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(tmp_path: Path, name: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env(tmp_path, **{name: value}), dotenv=None)
    message = str(err.value)
    assert f"CLASSROOM_{name}" in message and allowed in message and "\n" not in message


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("CLASSROOM_PORT=9001\nCLASSROOM_HOST=0.0.0.0\nOTHER=1\n")
    s = load_settings(env(tmp_path, HOST="127.0.0.2"), dotenv=dotenv)
    assert s.port == 9001 and s.host == "127.0.0.2"


def test_cli_refuses_a_bad_port_with_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "classroom", "serve"],
        env={"CLASSROOM_PORT": "abc", "CLASSROOM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "CLASSROOM_PORT" in lines[0] and "abc" in lines[0]


def test_readme_configuration_table_matches_the_settings() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    documented = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
                  if line.startswith("| `CLASSROOM_")}
    assert documented == {f"CLASSROOM_{f.name}" for f in FIELDS}
    for f in FIELDS:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `CLASSROOM_{f.name}`"))
        assert f.description in row, f"README row of CLASSROOM_{f.name} does not carry its description"
