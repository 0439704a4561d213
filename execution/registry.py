"""Backends by name: ``bwrap``, ``nsjail``, ``docker``, ``docker-gvisor``. Choosing ``auto`` (the strongest whose
self-test passes) is :func:`execution.probe.resolve_backend`."""

from __future__ import annotations

from collections.abc import Callable

from execution.errors import UnknownBackend
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
