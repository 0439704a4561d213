"""Joining or starting the Ray cluster this process uses.

Three ways in (``CLASSROOM_EXECUTION`` and ``CLASSROOM_RAY_ADDRESS``):

- ``connect("")`` starts a local single-node Ray inside this process's session (the one-machine default) and
  offers ``slots`` units of the custom resource ``sandbox_slot``.
- ``connect("HOST:6379", edge=True)`` is how a web edge joins a cluster whose sandboxes live elsewhere: a Ray
  driver needs a raylet on its own host, so the edge first starts a Ray node of its own with zero CPUs and no
  slots (only :data:`EDGE_RESOURCE`, which pins the class-session and analytics actors to edge nodes: sandbox
  workers may not reach the database), then attaches to it. Ray Client (``ray://``) is not a way in: it refuses
  streaming actor calls, which is how every run's output comes back, and is slower on the calls it can make
  (``load/bench_ray_client.py``; deploy/README.md).
- ``connect("auto")`` / any other address attaches to a node already running on this host.

The cluster's head is started with :func:`head_command` on the fixed port :data:`HEAD_PORT`; sandbox workers join
it with ``classroom worker``. Ray's own token authentication is on when ``RAY_AUTH_MODE=token`` and
``RAY_AUTH_TOKEN`` are in the environment of every node (head, workers, edges), and its TLS when ``RAY_USE_TLS=1``
and ``RAY_TLS_SERVER_CERT`` / ``RAY_TLS_SERVER_KEY`` / ``RAY_TLS_CA_CERT`` are (``classroom ray-tls``); Ray reads
them itself, in every process it starts.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

log = logging.getLogger(__name__)

SLOT_RESOURCE = "sandbox_slot"
EDGE_RESOURCE = "classroom_edge"
EDGE_UNITS = 1000  # each edge-pinned actor asks 0.001 of it: "any number of them, on an edge node"
HEAD_PORT = 6379  # the GCS port of `classroom head`: fixed and documented so workers and edges can find it


@dataclass(frozen=True)
class ClusterInfo:
    address: str
    nodes: int
    slots: float
    cpus: float


def _ray_cli() -> str:
    return shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray") or "ray"


def head_command(port: int = HEAD_PORT, *, block: bool = False) -> list[str]:
    """The ``ray start`` argv of a head node: fixed GCS port, no CPUs and no slots of its own (it schedules)."""
    argv = [_ray_cli(), "start", "--head", "--port", str(port), "--num-cpus", "0", "--include-dashboard", "false"]
    argv += ["--disable-usage-stats"]
    if block:
        argv.append("--block")
    return argv


def edge_node_command(address: str) -> list[str]:
    """The ``ray start`` argv of a web edge's own node: joins ``address`` with zero CPUs and no sandbox slots."""
    resources = json.dumps({EDGE_RESOURCE: EDGE_UNITS})
    return [_ray_cli(), "start", "--address", address, "--num-cpus", "0", "--num-gpus", "0", "--resources", resources]


def _local_node_running() -> bool:
    try:
        from ray._private.services import find_node_ids

        return bool(find_node_ids())
    except Exception:  # a private helper of Ray: if it moved, start a node and let Ray sort out the rest
        return False


def connect(address: str, namespace: str, *, slots: int, num_cpus: int | None = None, edge: bool = False) -> None:
    """Start or join Ray (idempotent). Blocking: call it from a worker thread in async code.

    ``edge``: this process offers no sandbox slots; with a ``HOST:PORT`` address it first starts its own
    zero-resource node (see the module docstring). Raises RuntimeError when that node cannot start.
    """
    if ray.is_initialized():
        return
    # Keep Ray's own log noise and usage reporting out of a teaching server's console.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"namespace": namespace, "include_dashboard": False, "log_to_driver": False}
    if address:
        if edge and address != "auto" and not address.startswith("ray://") and not _local_node_running():
            done = subprocess.run(edge_node_command(address), capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
                raise RuntimeError(f"could not start this edge's Ray node joining {address}: {' '.join(tail)}")
        ray.init(address=address, **kwargs)
    else:
        cpus = num_cpus if num_cpus is not None else max(2, os.cpu_count() or 2)
        resources: dict[str, float] = {SLOT_RESOURCE: slots, EDGE_RESOURCE: EDGE_UNITS}
        ray.init(address="local", num_cpus=cpus, resources=resources, **kwargs)
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
