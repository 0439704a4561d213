"""Joining or starting the Ray cluster this process uses.

``connect("")`` starts a local single-node Ray inside this process's session (the one-machine default) and
offers ``slots`` units of the custom resource ``sandbox_slot``; any other address joins an existing cluster,
whose worker nodes declare their own slots (``classroom worker``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import ray

log = logging.getLogger(__name__)

SLOT_RESOURCE = "sandbox_slot"


@dataclass(frozen=True)
class ClusterInfo:
    address: str
    nodes: int
    slots: float
    cpus: float


def connect(address: str, namespace: str, *, slots: int, num_cpus: int | None = None) -> None:
    """Start or join Ray (idempotent). Blocking: call it from a worker thread in async code."""
    if ray.is_initialized():
        return
    # Keep Ray's own log noise and usage reporting out of a teaching server's console.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"namespace": namespace, "include_dashboard": False, "log_to_driver": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        cpus = num_cpus if num_cpus is not None else max(2, os.cpu_count() or 2)
        ray.init(address="local", num_cpus=cpus, resources={SLOT_RESOURCE: slots}, **kwargs)
    log.info("ray: connected (%s)", address or "local")


def disconnect() -> None:
    if ray.is_initialized():
        ray.shutdown()


def info() -> ClusterInfo:
    """What the cluster offers now. Raises if Ray is not connected."""
    if not ray.is_initialized():
        raise RuntimeError("Ray is not connected")
    total = ray.cluster_resources()
    alive = [n for n in ray.nodes() if n.get("Alive")]
    return ClusterInfo(
        address=ray.get_runtime_context().gcs_address,
        nodes=len(alive),
        slots=float(total.get(SLOT_RESOURCE, 0.0)),
        cpus=float(total.get("CPU", 0.0)),
    )
