"""Measure a session shard's cost: process RSS when idle, start time, and RSS per loaded class session.

Run: ``.venv/bin/python tests/actors/measure_session_capacity.py [classes] [students] [rooms]`` (not a test:
it starts its own Ray and takes ~1 min). Prints one line per figure for docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

import psutil
import ray

from actors.cluster import EDGE_RESOURCE, EDGE_UNITS
from actors.session_client import RaySessions
from classroom import db
from classroom.stores import PiccoloStores
from classroom.tables import Class, Enrollment, Room, User


async def populate(classes: int, students: int, rooms: int) -> list[str]:
    now = datetime.now(UTC)
    owner = User(id=uuid.uuid4(), display_name="Owner", role="instructor", created_at=now)
    await owner.save().run()
    ids = []
    for c in range(classes):
        klass = Class(
            id=uuid.uuid4(), name=f"Class {c}", owner=owner.id, join_code=uuid.uuid4().hex[:12], created_at=now
        )
        users = [User(id=uuid.uuid4(), display_name=f"Student {c}-{s}", created_at=now) for s in range(students)]
        await Class.insert(klass).run()
        await User.insert(*users).run()
        await Enrollment.insert(
            *[Enrollment(id=uuid.uuid4(), klass=klass.id, user=u.id, created_at=now) for u in users]
        ).run()
        await Room.insert(
            *[
                Room(
                    id=uuid.uuid4(), klass=klass.id, name=f"Room {r}", kind="pair", created_by=owner.id, created_at=now
                )
                for r in range(rooms)
            ]
        ).run()
        ids.append(str(klass.id))
    return ids


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def uss_mib(pid: int) -> float:
    """Memory only this process holds (RSS counts Ray's shared libraries too)."""
    return psutil.Process(pid).memory_full_info().uss / 2**20


@ray.remote(num_cpus=0)
class Bare:
    def pid(self) -> int:
        return os.getpid()


async def main(classes: int, students: int, rooms: int) -> None:
    path = os.path.join(tempfile.mkdtemp(), "measure.sqlite")
    engine = db.engine_from_url(f"sqlite:///{path}")
    await db.migrate(engine)
    ids = await populate(classes, students, rooms)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        namespace="measure",
        resources={EDGE_RESOURCE: EDGE_UNITS},
    )
    started = time.monotonic()
    bare = ray.get(Bare.remote().pid.remote())
    print(
        f"bare actor: start {time.monotonic() - started:.2f} s, "
        f"RSS {rss_mib(bare):.1f} MiB, USS {uss_mib(bare):.1f} MiB"
    )
    plane = RaySessions(PiccoloStores(f"sqlite:///{path}"), "measure", shards=1)
    started = time.monotonic()
    pid = await plane.handle(0).ready.remote()
    print(f"shard start (create + first reply): {time.monotonic() - started:.2f} s")
    print(f"shard, empty: RSS {rss_mib(pid):.1f} MiB, USS {uss_mib(pid):.1f} MiB")
    await plane.call(ids[0], "view")
    one = rss_mib(pid)
    print(f"shard RSS, 1 class loaded: {one:.1f} MiB")
    started = time.monotonic()
    for cid in ids[1:]:
        await plane.call(cid, "view")
    took = time.monotonic() - started
    full = rss_mib(pid)
    per = (full - one) * 1024 / max(1, classes - 1)
    print(f"shard USS with all loaded: {uss_mib(pid):.1f} MiB")
    print(
        f"shard RSS, {classes} classes x {students} students x {rooms} rooms: {full:.1f} MiB "
        f"(~{per:.0f} KiB per class; loads at {(classes - 1) / took:.0f} classes/s)"
    )
    ray.shutdown()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] + [500, 30, 10][len(sys.argv) - 1 :]
    asyncio.run(main(*args[:3]))
