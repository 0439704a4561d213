"""One frozen settings object, read once from ``CLASSROOM_*`` environment variables (and an optional ``.env``).

Every setting has a description and a default that works on one machine with no other service. A bad value
raises :class:`SettingsError` whose message is one line naming the variable, the value and what is allowed;
the CLI prints that line and exits non-zero.

The table :data:`FIELDS` is the single source for the README's configuration table (a test checks they agree).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from classroom.errors import SettingsError

log = logging.getLogger(__name__)

PREFIX = "CLASSROOM_"
SANDBOX_BACKENDS = ("auto", "bwrap", "nsjail", "docker")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Field:
    """How one setting is read: its env name, default (as text), description and parser."""

    name: str
    default: str
    description: str
    parse: Callable[[str, str], Any]


def _port(name: str, raw: str) -> int:
    value = _int(name, raw)
    if not 0 <= value <= 65535:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected a port number from 0 to 65535")
    return value


def _int(name: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected a whole number") from None


def _positive(name: str, raw: str) -> int:
    value = _int(name, raw)
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected a whole number above 0")
    return value


def _non_negative(name: str, raw: str) -> int:
    value = _int(name, raw)
    if value < 0:
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected a whole number, 0 or more")
    return value


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _path(name: str, raw: str) -> Path:
    if not raw.strip():
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected a directory path")
    return Path(raw.strip()).expanduser()


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected one of {', '.join(allowed)}")
        return value

    return parse


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected true or false")


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    if value == "":
        return ""  # filled in from the data directory
    scheme = urlsplit(value).scheme
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not allowed: expected sqlite:///PATH or postgres://USER@HOST:PORT/DB"
        )
    return value


def _redis_url(name: str, raw: str) -> str:
    value = raw.strip()
    if value and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected redis://HOST:PORT/DB or empty")
    return value


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise SettingsError(
                f"{PREFIX}{name}={raw!r} is not allowed: expected comma-separated origins like https://host:port"
            )
    return origins


FIELDS: tuple[Field, ...] = (
    Field("HOST", "127.0.0.1", "Address the HTTP server binds to.", _text),
    Field("PORT", "8000", "TCP port of the HTTP server (0 picks a free one).", _port),
    Field("DATA_DIR", "./data", "Directory for the SQLite database, the generated secret key and logs.", _path),
    Field(
        "DATABASE_URL",
        "",
        "Database: sqlite:///PATH or postgres://USER@HOST:PORT/DB. Empty: SQLite file in the data directory.",
        _database_url,
    ),
    Field("REDIS_URL", "", "Redis for cross-replica fan-out and rate limits. Empty: in-process only.", _redis_url),
    Field(
        "RAY_ADDRESS",
        "",
        "Ray cluster to join (e.g. ray://head:10001 or auto). Empty: start a local Ray in this process.",
        _text,
    ),
    Field("RAY_NAMESPACE", "classroom", "Ray namespace for the named actors of this deployment.", _text),
    Field("SANDBOX_BACKEND", "auto", "Sandbox backend: auto, bwrap, nsjail or docker.", _choice(*SANDBOX_BACKENDS)),
    Field("SANDBOX_SLOTS", "2", "Execution slots this node offers (custom Ray resource sandbox_slot).", _positive),
    Field("WARM_SANDBOXES", "2", "Pre-warmed sandboxes kept ready per execution slot.", _non_negative),
    Field("SECRET_KEY", "", "Signing key for sessions and tokens. Empty: generated once into the data dir.", _text),
    Field(
        "ALLOWED_ORIGINS",
        "http://127.0.0.1:8000,http://localhost:8000",
        "Comma-separated browser origins allowed for WebSockets and state-changing requests.",
        _origins,
    ),
    Field("PUBLIC_URL", "", "External base URL (https://...) when behind a proxy; sets Secure cookies.", _text),
    Field("RUN_WALL_SECONDS", "10", "Default wall-clock limit of a run, in seconds.", _positive),
    Field("RUN_CPU_SECONDS", "5", "Default CPU-time limit of a run, in seconds.", _positive),
    Field("RUN_MEMORY_MB", "256", "Default memory limit of a run, in MiB.", _positive),
    Field("RUN_OUTPUT_KB", "1024", "Default cap on a run's captured output, in KiB.", _positive),
    Field("RUNS_PER_MINUTE", "30", "Runs one user may submit per minute.", _positive),
    Field(
        "JOINS_PER_TEN_MINUTES",
        "300",
        "Class joins accepted from one address per 10 minutes (a whole school may share one address).",
        _positive,
    ),
    Field("ADMIN_TOKEN", "", "Bootstrap token with admin rights for operations scripts. Empty: disabled.", _text),
    Field("OIDC_DISCOVERY_URL", "", "OpenID Connect discovery URL for instructor sign-in. Empty: disabled.", _text),
    Field("OIDC_CLIENT_ID", "", "OIDC client id.", _text),
    Field("OIDC_CLIENT_SECRET", "", "OIDC client secret.", _text),
    Field("COURSE_DIR", "", "Course directory imported at start-up. Empty: the bundled sample course.", _text),
    Field("SHUTDOWN_SECONDS", "10", "Bound on graceful shutdown: flushing rooms and stopping resources.", _positive),
    Field("LOG_LEVEL", "info", "Log level: debug, info, warning or error.", _choice(*LOG_LEVELS)),
    Field("START_RAY", "true", "Start or join Ray at start-up (false: run without the execution plane).", _bool),
)


@dataclass(frozen=True)
class Settings:
    """The server's configuration. Build it with :func:`load_settings`, never by hand in production code."""

    host: str
    port: int
    data_dir: Path
    database_url: str
    redis_url: str
    ray_address: str
    ray_namespace: str
    sandbox_backend: str
    sandbox_slots: int
    warm_sandboxes: int
    secret_key: str = field(repr=False)
    allowed_origins: tuple[str, ...]
    public_url: str
    run_wall_seconds: int
    run_cpu_seconds: int
    run_memory_mb: int
    run_output_kb: int
    runs_per_minute: int
    joins_per_ten_minutes: int
    admin_token: str = field(repr=False)
    oidc_discovery_url: str
    oidc_client_id: str
    oidc_client_secret: str = field(repr=False)
    course_dir: str
    shutdown_seconds: int
    log_level: str
    start_ray: bool

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in ("postgres", "postgresql")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def _read_dotenv(path: Path) -> dict[str, str]:
    """The ``CLASSROOM_*`` assignments of a ``.env`` file; the real environment wins over it."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if k.startswith(PREFIX) and v is not None}


def _secret_key(data_dir: Path) -> str:
    """The persisted secret key of this data directory, created (mode 0600) on first use."""
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def load_settings(environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
    """Read and validate every setting; raise :class:`SettingsError` on the first bad value."""
    env = dict(_read_dotenv(dotenv) if dotenv else {})
    env.update({k: v for k, v in (os.environ if environ is None else environ).items() if k.startswith(PREFIX)})
    known = {PREFIX + f.name for f in FIELDS}
    for name in sorted(k for k in env if k not in known):
        # A typo must not pass silently, but tools and tests set their own CLASSROOM_* variables too.
        log.warning("%s is not a setting of the server; ignoring it (see the README's table)", name)
    values: dict[str, Any] = {}
    for spec in FIELDS:
        raw = env.get(PREFIX + spec.name, spec.default)
        values[spec.name.lower()] = spec.parse(spec.name, raw)
    data_dir: Path = values["data_dir"].resolve()
    values["data_dir"] = data_dir
    if not values["database_url"]:
        values["database_url"] = f"sqlite:///{data_dir / 'classroom.sqlite'}"
    if not values["secret_key"]:
        values["secret_key"] = _secret_key(data_dir)
    elif len(values["secret_key"]) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY is not allowed: expected at least 32 characters")
    return Settings(**values)


def settings_names() -> list[str]:
    """Every setting's field name on :class:`Settings`, in declaration order (used by tests)."""
    return [f.name for f in fields(Settings)]
