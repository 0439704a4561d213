"""Backends by name: ``bwrap``, ``nsjail``, ``docker``, ``docker-gvisor``, and ``auto`` (the strongest whose
self-test passes)."""

from __future__ import annotations

from collections.abc import Callable

from execution.errors import BackendUnavailable, UnknownBackend
from execution.protocol import Backend

_FACTORIES: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}
_builtins_done = False


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def backend_names() -> list[str]:
    _register_builtins()
    return list(_FACTORIES)


def get_backend(name: str) -> Backend:
    """The backend registered as ``name`` (not ``auto``: use :func:`resolve_backend` for that)."""
    _register_builtins()
    if name not in _FACTORIES:
        raise UnknownBackend(f"no sandbox backend {name!r}; known: {', '.join(_FACTORIES)} or 'auto'")
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]


async def resolve_backend(backend: Backend | str) -> Backend:
    """``auto`` -> the strongest backend that is available and passes its self-test; a name -> that one."""
    if not isinstance(backend, str):
        return backend
    if backend != "auto":
        return get_backend(backend)
    from execution.selftest import probe_backends

    reports = [r for r in await probe_backends() if r.available and r.selftest is not None and r.selftest.ok]
    if not reports:
        raise BackendUnavailable("auto", "no sandbox backend passes its self-test", "run `classroom doctor`")
    return max((get_backend(r.name) for r in reports), key=lambda b: b.strength)


def _register_builtins() -> None:
    global _builtins_done
    if _builtins_done:
        return
    _builtins_done = True
    from execution.bwrap_backend import BwrapBackend
    from execution.docker_backend import DockerBackend
    from execution.nsjail_backend import NsjailBackend

    builtins: dict[str, Callable[[], Backend]] = {
        "bwrap": BwrapBackend,
        "nsjail": NsjailBackend,
        "docker": DockerBackend,
        "docker-gvisor": lambda: DockerBackend("docker-gvisor", runtime="runsc"),
    }
    for name, factory in builtins.items():
        _FACTORIES.setdefault(name, factory)
