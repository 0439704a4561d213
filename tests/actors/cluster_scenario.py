"""The multi-node scenario, run as its own process (one process holds one Ray connection): a head without slots
and two worker nodes with one ``sandbox_slot`` each (``ray.cluster_utils.Cluster``), a SQLite queue, the real
dispatcher and slot actors. Prints one JSON object; ``test_cluster_multinode.py`` asserts on it.

1. spread: 6 runs of 0.5 s land on both nodes;
2. node loss: two 3 s runs, one per node; the node of one is removed mid-run; it completes on the other node;
3. nothing lost: every submitted run is finished exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import ray
from ray.cluster_utils import Cluster

from actors.cluster import EDGE_RESOURCE, EDGE_UNITS, SLOT_RESOURCE
from actors.dispatcher import Dispatcher, NullEvents
from actors.fleet import RayFleet
from actors.queue import QueuedRun
from classroom import db
from classroom.stores.run_queue import PiccoloRunQueue
from classroom.tables import Run, User


class Counter(NullEvents):
    def __init__(self) -> None:
        self.count: dict[str, int] = {}

    def finished(self, run_id: str, result: dict[str, Any], run: Any) -> None:
        self.count[run_id] = self.count.get(run_id, 0) + 1


async def submit(dispatcher: Dispatcher, user: str, code: str) -> str:
    run_id, now = uuid.uuid4(), datetime.now(UTC)
    files = {"main.py": code}
    await PiccoloRunQueue().insert(Run(id=run_id, user=uuid.UUID(user), files=files, created_at=now))
    spec = {"files": files, "entry": "main.py", "stdin": "", "args": [], "interactive": False}
    dispatcher.accept(QueuedRun(str(run_id), user, None, None, 0, now), spec)
    return str(run_id)


async def wait(ids: list[str], within: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = await Run.select().where(Run.id.is_in([uuid.UUID(i) for i in ids]) & (Run.status == "finished")).run()
        if len(rows) == len(ids):
            return list(rows)
        await asyncio.sleep(0.1)
    raise TimeoutError(f"runs not finished in {within}s")


async def scenario(cluster: Cluster, workers: list[Any]) -> dict[str, Any]:
    engine = db.engine_from_url(f"sqlite:///{tempfile.mkdtemp()}/q.sqlite")
    await db.migrate(engine)
    counter = Counter()
    fleet = RayFleet({"warm": 1})
    dispatcher = Dispatcher(fleet, PiccoloRunQueue(), events=counter, lease_seconds=5, tick_seconds=0.2)
    fleet.on_change = dispatcher.wake
    await dispatcher.start()
    try:
        for _ in range(600):
            if len(fleet.ready()) == 2:
                break
            await asyncio.sleep(0.1)
        slots = fleet.slots()
        node_of = {name: info.get("node_id") for name, info in slots.items()}
        users = []
        for i in range(8):
            user = User(id=uuid.uuid4(), display_name=f"u{i}", created_at=datetime.now(UTC))
            await user.save().run()
            users.append(str(user.id))
        spread_ids = [await submit(dispatcher, users[i], "import time; time.sleep(0.5); print('ok')") for i in range(6)]
        rows = await wait(spread_ids, 120)
        spread_nodes = sorted({node_of.get(str(r["slot"]).split("/")[1]) for r in rows})

        long_ids = [
            await submit(dispatcher, users[6 + i], "import time; time.sleep(3); print('done')") for i in range(2)
        ]
        for _ in range(200):
            flights = [f for f in dispatcher._flights.values() if f.started]
            if len(flights) == 2:
                break
            await asyncio.sleep(0.05)
        victim = flights[0]
        victim_node = node_of[victim.slot]
        node = next(w for w in workers if w.node_id == victim_node)
        cluster.remove_node(node, allow_graceful=False)
        rows = await wait(long_ids, 120)
        moved = next(r for r in rows if str(r["id"]) == victim.run.id)
        all_ids = spread_ids + long_ids
        return {
            "nodes_with_slots": len({n for n in node_of.values() if n}),
            "spread_nodes": len([n for n in spread_nodes if n]),
            "victim_node_removed": victim_node,
            "moved_run": {
                "verdict": moved["verdict"],
                "stdout": moved["stdout"],
                "attempts": moved["attempts"],
                "final_node": node_of.get(str(moved["slot"]).split("/")[1], "a new slot"),
            },
            "finished": len(await wait(all_ids, 5)),
            "submitted": len(all_ids),
            "recorded": sorted(counter.count.get(i, 0) for i in all_ids),
        }
    finally:
        await dispatcher.stop()


def main() -> int:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    head_resources = {SLOT_RESOURCE: 0, EDGE_RESOURCE: EDGE_UNITS}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": head_resources})
    workers = [cluster.add_node(num_cpus=1, resources={SLOT_RESOURCE: 1}) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="classroom-multinode", log_to_driver=False)
    try:
        result = asyncio.run(scenario(cluster, workers))
    finally:
        ray.shutdown()
        cluster.shutdown()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
