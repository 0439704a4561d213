"""One frozen settings object, read once from ``CLASSROOM_*`` environment variables (and an optional ``.env``).

Every setting has a description and a default that works on one machine with no other service. A bad value
raises :class:`SettingsError` whose message is one line naming the variable, the value and what is allowed;
the CLI prints that line and exits non-zero.

The table :data:`FIELDS` is the single source for the README's configuration table (a test checks they agree).
"""

from __future__ import annotations

import logging
import os
import re
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
EXECUTION_MODES = ("local", "cluster")


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


def _auto_or(parse: Callable[[str, str], int]) -> Callable[[str, str], int | None]:
    """``auto`` (None: sized to the machine in :func:`load_settings`) or what ``parse`` accepts."""

    def parse_auto(name: str, raw: str) -> int | None:
        return None if raw.strip().lower() == "auto" else parse(name, raw)

    return parse_auto


# -- sizing the execution plane to the machine -------------------------------------------------------------------
# A slot runs one program at a time and then spends a few milliseconds of its own between runs (the result's
# round trip, the sandbox teardown); two slots per CPU keep the CPUs busy through those gaps, and more only adds
# contention (load/bench_runs.py at concurrency 16). Half the memory is for runs at their memory limit, each
# warm sandbox holds an idle interpreter (~WARM_SANDBOX_MB), the other half is the server's and the system's.
SLOTS_PER_CPU = 2
WARM_PER_SLOT = 2
WARM_SANDBOX_MB = 24
RUN_MEMORY_SHARE = 0.5


def machine_cpus() -> float:
    """CPUs this process may use: its affinity mask, bounded by a cgroup CPU quota (a container's --cpus)."""
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    quota = _cgroup_cpu_quota()
    return min(cpus, quota) if quota else cpus


def _cgroup_cpu_quota() -> float | None:
    try:  # cgroup v2: "max 100000" or "150000 100000"
        limit, every = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if limit == "max" else int(limit) / int(every)
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def machine_memory_mb() -> int:
    """Memory this process's machine (or container: its cgroup memory limit) has, in MiB."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
        break
    return total // (1024 * 1024)


def sized_slots(cpus: float, memory_mb: int, run_memory_mb: int) -> int:
    """Default execution slots: SLOTS_PER_CPU per CPU (at least 2), fewer if the runs' memory would not fit."""
    by_cpu = max(2, round(SLOTS_PER_CPU * cpus))
    per_slot = run_memory_mb + WARM_PER_SLOT * WARM_SANDBOX_MB
    by_memory = int(memory_mb * RUN_MEMORY_SHARE) // per_slot
    return max(1, min(by_cpu, by_memory))


def sized_warm(slots: int, memory_mb: int, run_memory_mb: int) -> int:
    """Default warm sandboxes per slot: WARM_PER_SLOT (one for the next run while the other warms), 1 when the
    memory share left after the slots' runs does not hold that many."""
    spare = int(memory_mb * RUN_MEMORY_SHARE) - slots * run_memory_mb
    return WARM_PER_SLOT if spare >= slots * WARM_PER_SLOT * WARM_SANDBOX_MB else 1


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


def _ray_address(name: str, raw: str) -> str:
    value = raw.strip()
    if value.startswith("ray://"):
        # Ray Client cannot make streaming actor calls, which every run's output is (load/bench_ray_client.py),
        # and its dependency (grpcio) is not installed in production: the edge joins as a Ray node instead.
        raise SettingsError(
            f"{PREFIX}{name}={raw!r} is not allowed: Ray Client (ray://) cannot stream a run's output (Ray "
            "refuses streaming actor calls through it); give the head's HOST:6379 (the edge then starts a Ray "
            "node of its own with no resources)"
        )
    if value and value != "auto" and not re.fullmatch(r"[A-Za-z0-9_.\-\[\]:]+:\d{1,5}", value):
        raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected HOST:PORT of the Ray head, or auto")
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


def _instructor_allowlist(name: str, raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip().lower() for e in raw.split(",") if e.strip())
    for entry in entries:
        local, at, domain = entry.rpartition("@")
        if entry != "*" and (not at or "." not in domain or " " in entry or "@" in local):
            raise SettingsError(
                f"{PREFIX}{name}={raw!r} is not allowed: expected comma-separated emails (ada@school.edu), "
                "domains (@school.edu) or *"
            )
    return entries


def _hosts(name: str, raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    for host in hosts:
        parts = urlsplit(f"//{host}")
        try:
            parts.port  # noqa: B018  (parses the port, raising on a bad one)
        except ValueError:
            parts = urlsplit("//")
        if not parts.hostname or parts.path or parts.query or "@" in host:
            raise SettingsError(f"{PREFIX}{name}={raw!r} is not allowed: expected comma-separated HOST or HOST:PORT")
    return hosts


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
        "Ray cluster to join: the head's HOST:6379 (`classroom head`), or auto (a Ray node already on this host). "
        "Empty: start a local Ray in this process.",
        _ray_address,
    ),
    Field(
        "EXECUTION",
        "local",
        "Where runs execute: local (this process offers sandbox slots and self-tests its sandbox) or cluster "
        "(worker nodes offer them; this edge joins CLASSROOM_RAY_ADDRESS with a Ray node of no resources).",
        _choice(*EXECUTION_MODES),
    ),
    Field("RAY_NAMESPACE", "classroom", "Ray namespace for the named actors of this deployment.", _text),
    Field("SANDBOX_BACKEND", "auto", "Sandbox backend: auto, bwrap, nsjail or docker.", _choice(*SANDBOX_BACKENDS)),
    Field(
        "SANDBOX_SLOTS",
        "auto",
        "Execution slots this node offers (custom Ray resource sandbox_slot). auto: 2 per CPU this process may "
        "use (affinity, cgroup quota), at least 2, and no more than half the memory holds at the run memory limit.",
        _auto_or(_positive),
    ),
    Field(
        "WARM_SANDBOXES",
        "auto",
        "Pre-warmed sandboxes kept ready per execution slot. auto: 2, or 1 when memory is short.",
        _auto_or(_non_negative),
    ),
    Field("SECRET_KEY", "", "Signing key for sessions and tokens. Empty: generated once into the data dir.", _text),
    Field(
        "ALLOWED_ORIGINS",
        "",
        "Comma-separated browser origins allowed for WebSockets and state-changing requests. Empty: "
        "http://127.0.0.1:PORT and http://localhost:PORT (and http://HOST:PORT, and the origin of "
        "CLASSROOM_PUBLIC_URL when set).",
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
    Field(
        "OIDC_INSTRUCTORS",
        "",
        "Who becomes an instructor on a first OIDC sign-in: comma-separated verified emails and @domains, or * "
        "(anyone the provider admits: a private IdP only). Empty: nobody new.",
        _instructor_allowlist,
    ),
    Field("COURSE_DIR", "", "Course directory imported at start-up. Empty: the bundled sample course.", _text),
    Field("SHUTDOWN_SECONDS", "10", "Bound on graceful shutdown: flushing rooms and stopping resources.", _positive),
    Field("LOG_LEVEL", "info", "Log level: debug, info, warning or error.", _choice(*LOG_LEVELS)),
    Field("START_RAY", "true", "Start or join Ray at start-up (false: run without the execution plane).", _bool),
    Field(
        "SOURCE_MAPS", "false", "Serve the front end's source maps under /assets (for debugging in a browser).", _bool
    ),
    Field(
        "JUDGE0_CALLBACK_HOSTS",
        "",
        "Hosts (HOST or HOST:PORT, comma-separated) a Judge0 submission's callback_url may name. Empty: callbacks off.",
        _hosts,
    ),
    Field(
        "JUDGE0_CALLBACK_SECRET",
        "",
        "HMAC-SHA256 key signing each Judge0 callback (X-Classroom-Signature). Required with callback hosts.",
        _text,
    ),
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
    execution: str
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
    oidc_instructors: tuple[str, ...]
    course_dir: str
    shutdown_seconds: int
    log_level: str
    start_ray: bool
    source_maps: bool
    judge0_callback_hosts: tuple[str, ...]
    judge0_callback_secret: str = field(repr=False)

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.database_url).scheme in ("postgres", "postgresql")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def default_origins(host: str, port: int, public_url: str) -> tuple[str, ...]:
    """The origins a browser uses to reach this server when none are configured: the port it listens on (so
    ``CLASSROOM_PORT=8765 classroom serve`` works as is) and the public URL's origin."""
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    if host not in ("127.0.0.1", "localhost", "0.0.0.0", "::", ""):
        origins.append(f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}")
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(dict.fromkeys(origins))


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
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data directory is the server's alone
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
    if not values["allowed_origins"]:
        values["allowed_origins"] = default_origins(values["host"], values["port"], values["public_url"])
    if not values["secret_key"]:
        values["secret_key"] = _secret_key(data_dir)
    elif len(values["secret_key"]) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY is not allowed: expected at least 32 characters")
    if values["sandbox_slots"] is None or values["warm_sandboxes"] is None:
        memory = machine_memory_mb()
        if values["sandbox_slots"] is None:
            values["sandbox_slots"] = sized_slots(machine_cpus(), memory, values["run_memory_mb"])
        if values["warm_sandboxes"] is None:
            values["warm_sandboxes"] = sized_warm(values["sandbox_slots"], memory, values["run_memory_mb"])
    if values["execution"] == "cluster" and not values["ray_address"]:
        raise SettingsError(
            f"{PREFIX}EXECUTION=cluster is not allowed without {PREFIX}RAY_ADDRESS: give the head's HOST:6379"
        )
    if values["judge0_callback_hosts"] and len(values["judge0_callback_secret"]) < 32:
        raise SettingsError(
            f"{PREFIX}JUDGE0_CALLBACK_SECRET is not allowed: callbacks are on ({PREFIX}JUDGE0_CALLBACK_HOSTS), "
            "so a signing key of at least 32 characters is needed"
        )
    return Settings(**values)


def settings_names() -> list[str]:
    """Every setting's field name on :class:`Settings`, in declaration order (used by tests)."""
    return [f.name for f in fields(Settings)]
