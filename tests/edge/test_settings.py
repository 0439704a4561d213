"""Settings: defaults work on one machine, every bad value is refused with one line naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from classroom import settings as settings_module
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


def test_slots_and_warm_pools_are_sized_to_this_machine_by_default(tmp_path: Path) -> None:
    s = load_settings(env(tmp_path), dotenv=None)
    cpus, memory = settings_module.machine_cpus(), settings_module.machine_memory_mb()
    assert cpus >= 1 and memory > 0
    assert s.sandbox_slots == settings_module.sized_slots(cpus, memory, s.run_memory_mb) >= 1
    assert s.warm_sandboxes == settings_module.sized_warm(s.sandbox_slots, memory, s.run_memory_mb) >= 1
    # A bigger memory limit per run can only mean as many slots or fewer.
    bigger = load_settings(env(tmp_path, RUN_MEMORY_MB=str(memory)), dotenv=None)
    assert bigger.sandbox_slots <= s.sandbox_slots and bigger.sandbox_slots == 1
    # Explicit values win, and "auto" may be spelled in any case.
    chosen = load_settings(env(tmp_path, SANDBOX_SLOTS="3", WARM_SANDBOXES="0"), dotenv=None)
    assert (chosen.sandbox_slots, chosen.warm_sandboxes) == (3, 0)
    assert load_settings(env(tmp_path, SANDBOX_SLOTS="AUTO"), dotenv=None).sandbox_slots == s.sandbox_slots


def test_slot_sizing_follows_cpus_and_memory() -> None:
    # Two slots per CPU when memory is plentiful, never fewer than two on a small machine...
    assert settings_module.sized_slots(2, 24000, 256) == 4
    assert settings_module.sized_slots(1, 24000, 256) == 2
    assert settings_module.sized_slots(1.5, 24000, 256) == 3  # a container's --cpus=1.5
    # ...and only as many as half the memory holds at the run memory limit (plus the warm sandboxes).
    assert settings_module.sized_slots(16, 2048, 256) == 1024 // (256 + 2 * settings_module.WARM_SANDBOX_MB)
    assert settings_module.sized_slots(4, 300, 256) == 1
    assert settings_module.sized_warm(4, 24000, 256) == 2
    assert settings_module.sized_warm(3, 1700, 256) == 1  # 850 MiB: 768 for the runs, too little for 6 warm


def test_allowed_origins_follow_the_port_and_the_public_url_by_default(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path), dotenv=None).allowed_origins == ("http://127.0.0.1:8000", "http://localhost:8000")
    moved = load_settings(env(tmp_path, PORT="8765"), dotenv=None)
    assert moved.allowed_origins == ("http://127.0.0.1:8765", "http://localhost:8765")
    public = load_settings(
        env(tmp_path, PORT="8765", HOST="10.0.0.5", PUBLIC_URL="https://class.example.org/app"), dotenv=None
    )
    assert public.allowed_origins == (
        "http://127.0.0.1:8765",
        "http://localhost:8765",
        "http://10.0.0.5:8765",
        "https://class.example.org",
    )
    explicit = load_settings(env(tmp_path, ALLOWED_ORIGINS="https://a.example/", PORT="8765"), dotenv=None)
    assert explicit.allowed_origins == ("https://a.example",)


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path), dotenv=None).secret_key
    second = load_settings(env(tmp_path), dotenv=None).secret_key
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first not in repr(load_settings(env(tmp_path), dotenv=None))


@pytest.mark.anyio
async def test_the_data_directory_and_every_file_in_it_are_the_servers_alone(tmp_path: Path) -> None:
    """Directory 0700, the database, its WAL/journal files and the secret key 0600: a wrong bind of the data
    directory into a sandbox (uid 65534) still reads nothing."""
    from classroom import db

    data = tmp_path / "fresh" / "data"
    settings = load_settings(env(data), dotenv=None)
    engine = db.engine_from_url(settings.database_url)
    await db.migrate(engine)
    await engine.run_ddl("PRAGMA journal_mode=WAL")
    await engine.run_ddl("CREATE TABLE IF NOT EXISTS mode_probe (x INTEGER)")
    assert data.stat().st_mode & 0o777 == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert {"classroom.sqlite", "secret_key"} <= set(files)
    assert {p.name: p.stat().st_mode & 0o777 for p in data.iterdir()} == dict.fromkeys(files, 0o600)


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
        ("SANDBOX_SLOTS", "many", "whole number"),
        ("WARM_SANDBOXES", "-1", "0 or more"),
        ("START_RAY", "maybe", "true or false"),
        ("SECRET_KEY", "short", "32 characters"),
        ("OIDC_INSTRUCTORS", "teachers", "emails (ada@school.edu), domains (@school.edu) or *"),
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
