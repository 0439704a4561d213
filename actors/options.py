"""The one place where ``ray.remote`` is applied: a table of actor classes and their Ray options.

Actors are plain classes (testable without Ray). To add one, add a :class:`ActorKind` to :data:`ACTORS`; callers
create handles with :func:`remote` (``remote("slot").options(name=...).remote(...)``) and never call
``ray.remote`` themselves.

Why these options:

- ``slot``: one actor per unit of the custom resource ``sandbox_slot``, so Ray places exactly as many slots as
  the nodes declare. ``num_cpus=0``: the sandboxes' CPU is bounded by cgroups, not by Ray's CPU accounting.
  ``max_restarts=-1``: a slot whose process dies (kill -9, OOM) comes back and re-warms; ``max_task_retries=0``
  because a run is retried by the dispatcher (bounded attempts, recorded in the runs table), never blindly by
  Ray. ``max_concurrency``: stdin / cancel / ready calls must get through while a run streams.
- ``session`` (class-session shards, :mod:`actors.session_actor`): ``num_cpus=0``, they mostly wait on the
  database. ``lifetime="detached"``: a shard is shared by every web replica, so it must not die with the replica
  that happened to create it (it exits by itself when idle). ``max_restarts=3``: a crashed shard reloads from the
  database; ``max_task_retries=0`` because the client retries once itself (operations are repeat-safe).
- ``analytics`` (:mod:`actors.analytics_actor`): one detached actor per deployment, ``num_cpus=0``;
  ``max_restarts=-1``: it reloads its aggregates from the database, and the dispatcher's handle stays valid.
- ``session`` and ``analytics`` ask a sliver of ``classroom_edge``: they run on edge nodes only (see
  :mod:`actors.cluster`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from actors.cluster import EDGE_RESOURCE, SLOT_RESOURCE

# Session and analytics actors talk to the database: they stay on edge nodes (the web replicas' own Ray nodes, or
# the single node of a one-machine install), never on sandbox workers, which may not reach the database.
_ON_EDGE = {EDGE_RESOURCE: 0.001}

# Names of the long-lived named actors other components look up (``ray.get_actor(NAME)``).
ANALYTICS_ACTOR_NAME = "analytics"


@dataclass(frozen=True)
class ActorKind:
    """An actor class (``module:Class``) and the options ``ray.remote`` gets for it."""

    target: str
    options: dict[str, Any] = field(default_factory=dict)


ACTORS: dict[str, ActorKind] = {
    "slot": ActorKind(
        "actors.slot:ExecutionSlot",
        {
            "num_cpus": 0,
            "resources": {SLOT_RESOURCE: 1},
            "max_restarts": -1,
            "max_task_retries": 0,
            "max_concurrency": 16,
        },
    ),
    "session": ActorKind(
        "actors.session_actor:SessionShardActor",
        {"num_cpus": 0, "resources": _ON_EDGE, "lifetime": "detached", "max_restarts": 3, "max_task_retries": 0},
    ),
    "analytics": ActorKind(
        "actors.analytics_actor:AnalyticsActor",
        {"num_cpus": 0, "resources": _ON_EDGE, "lifetime": "detached", "max_restarts": -1, "max_task_retries": 0},
    ),
}

_cache: dict[str, Any] = {}


def actor_class(kind: str) -> type:
    """The plain class of ``kind``."""
    module, _, name = ACTORS[kind].target.partition(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def remote(kind: str) -> Any:
    """The Ray actor class of ``kind``, with its options applied (cached per process)."""
    if kind not in _cache:
        import ray

        _cache[kind] = ray.remote(**ACTORS[kind].options)(actor_class(kind))
    return _cache[kind]
