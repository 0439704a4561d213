"""The execution slots a dispatcher may use, behind one small interface.

:class:`RayFleet` keeps this replica's share of the cluster's ``sandbox_slot`` units as slot actors (reconciled
every tick: nodes and replicas come and go), probes each until it reports a working sandbox backend, and turns
any Ray failure of a slot (process killed, node removed) into :class:`SlotFailure` so the dispatcher can retry the
run elsewhere. :class:`LocalFleet` runs the same :class:`~actors.slot.ExecutionSlot` class in this process (no
Ray): tests of the dispatcher's logic use it; production always uses Ray.

Ownership (docs/architecture.md, "Slots and replicas"): each web replica owns its slot actors (they die with it:
no orphans, and a slot only ever has one dispatcher, so two dispatchers never race for it). The cluster's units
are split between the live edge nodes by :func:`fair_share` (the shares add up to the capacity exactly), so
after a node is lost the replica holding more than its share gives back idle slots and the other one's restarting
actors are placed. Which replica's slots run a run does not matter: the queue is shared, and every dispatcher
serves every replica's queued runs. A replica with no placed slot of its own is therefore not "unusable" while the
cluster offers slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from actors.slot import ExecutionSlot

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 60.0
CONTROL_TIMEOUT_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 15.0
PROBE_ERRORS_BROKEN = 3


class SlotFailure(Exception):
    """The slot could not finish the run (its process or node died, or its sandbox failed to start)."""


class Fleet(Protocol):
    """Contract: ``ready()`` names the slots that can take a run now (busy or not; the dispatcher tracks
    busy). ``stream`` yields the slot's items (see :mod:`actors.slot`) and raises :class:`SlotFailure` if the
    slot fails. ``unusable_reason()`` says why no slot in the cluster can serve (no backend, no capacity), or
    None. ``reconcile(busy)`` may remove slots, never one named in ``busy`` (a live view of the slots with a run:
    it is read after the reconcile's awaits, so a run launched meanwhile is seen). ``restart`` takes a slot that
    stopped answering out of ``ready()`` and starts it afresh (a new process): it comes back once its probe passes
    again."""

    def ready(self) -> list[str]: ...

    def unusable_reason(self) -> str | None: ...

    async def reconcile(self, busy: Collection[str] = ()) -> None: ...

    def stream(self, slot: str, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]: ...

    async def send_stdin(self, slot: str, run_id: str, data: str) -> bool: ...

    async def close_stdin(self, slot: str, run_id: str) -> bool: ...

    async def cancel(self, slot: str, run_id: str) -> bool: ...

    async def restart(self, slot: str, reason: str) -> None: ...

    async def close(self) -> None: ...


@dataclass
class _Slot:
    name: str
    handle: Any
    ok: bool = False
    failed: bool = False  # it cannot run code (its self-test said so, or it keeps dying), not just unplaced
    errors: int = 0  # probes in a row that raised
    reason: str = "starting"
    info: dict[str, Any] = field(default_factory=dict)
    probe: asyncio.Task[None] | None = None


def fair_share(capacity: int, edges: list[str], me: str) -> int:
    """How many of ``capacity`` slot units the replica on edge node ``me`` keeps: an equal split over the sorted
    ``edges`` (the live edge nodes), the remainder to the first ones. The shares add up to ``capacity`` exactly,
    so no replica's slots wait for units another holds. A node that is not an edge (a driver attached to a
    worker) counts as one more edge, last."""
    ordered = sorted(set(edges))
    if me not in ordered:
        ordered.append(me)
    base, extra = divmod(max(0, capacity), len(ordered))
    return base + (1 if ordered.index(me) < extra else 0)


class RayFleet:
    """This replica's slot actors (they die with it: no orphans): its :func:`fair_share` of ``sandbox_slot``."""

    def __init__(self, slot_args: dict[str, Any], on_change: Callable[[], None] = lambda: None) -> None:
        self.slot_args = slot_args
        self.on_change = on_change
        self.prefix = f"slot-{uuid.uuid4().hex[:6]}"
        self._slots: dict[str, _Slot] = {}
        self._serial = 0
        self._capacity = 0.0
        self.share = 0

    def ready(self) -> list[str]:
        return [s.name for s in self._slots.values() if s.ok]

    def slots(self) -> dict[str, dict[str, Any]]:
        return {s.name: {"ok": s.ok, "reason": s.reason, **s.info} for s in self._slots.values()}

    def unusable_reason(self) -> str | None:
        if any(s.ok for s in self._slots.values()):
            return None
        if self._capacity <= 0:
            return "no node offers a sandbox_slot: add one with `classroom worker --address HEAD --slots N`"
        if self._slots and all(s.failed for s in self._slots.values()):
            return "no execution slot can run code: " + "; ".join(sorted({s.reason for s in self._slots.values()}))
        # Starting, restarting, waiting to be placed, or no share of our own: the cluster has slots, and other
        # replicas' dispatchers serve this replica's queued runs from the shared queue meanwhile.
        return None

    async def reconcile(self, busy: Collection[str] = ()) -> None:
        import ray

        from actors.cluster import EDGE_RESOURCE, SLOT_RESOURCE
        from actors.options import remote

        nodes = [n for n in await asyncio.to_thread(ray.nodes) if n.get("Alive")]
        me = ray.get_runtime_context().get_node_id()
        self._capacity = sum(float(n.get("Resources", {}).get(SLOT_RESOURCE, 0.0)) for n in nodes)
        edges = [str(n["NodeID"]) for n in nodes if n.get("Resources", {}).get(EDGE_RESOURCE)]
        self.share = fair_share(int(self._capacity), edges, me)
        # A ready slot on a node Ray has declared dead will not answer (Ray restarts it elsewhere, or holds it until
        # a unit is free): nothing calls an idle slot, so nothing else would notice. It leaves ready() and its probe
        # says when the new process serves.
        alive = {str(n["NodeID"]) for n in nodes}
        for slot in self._slots.values():
            if slot.ok and slot.info.get("node_id") and str(slot.info["node_id"]) not in alive:
                slot.ok, slot.reason = False, "its node is gone: waiting for Ray to start it again"
                log.warning("fleet: %s was on node %s, which is gone", slot.name, slot.info["node_id"])
        # No await from here on: ``busy`` is current while slots are chosen for removal.
        while len(self._slots) < self.share:
            self._serial += 1
            name = f"{self.prefix}-{self._serial}"
            handle = remote("slot").options(name=name).remote(name, **self.slot_args)
            self._slots[name] = _Slot(name, handle)
            log.info("fleet: created %s (share %d of %g)", name, self.share, self._capacity)
        if len(self._slots) > self.share:
            # More than our share (a node was lost, a replica joined): give back what cannot serve first (not
            # placed, restarting, failed), then idle ready ones; a slot with a run goes at a later tick. Ray places
            # the other replicas' waiting actors on the units freed.
            idle = [s for s in self._slots.values() if s.name not in busy]
            idle.sort(key=lambda s: s.ok)
            for slot in idle[: len(self._slots) - self.share]:
                self._drop(slot)
        for slot in self._slots.values():
            if not slot.ok and (slot.probe is None or slot.probe.done()):
                slot.probe = asyncio.create_task(self._probe(slot), name=f"probe-{slot.name}")

    def _drop(self, slot: _Slot) -> None:
        import ray

        if slot.probe is not None:
            slot.probe.cancel()
        with contextlib.suppress(Exception):
            ray.kill(slot.handle, no_restart=True)
        self._slots.pop(slot.name, None)
        log.info("fleet: dropped %s (%s)", slot.name, slot.reason)

    async def _probe(self, slot: _Slot) -> None:
        try:
            info = await asyncio.wait_for(slot.handle.ready.remote(), PROBE_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            # Not placed (every unit is held) or still restarting after its node went: not a fault of the slot.
            slot.ok, slot.failed, slot.reason = False, False, "waiting for a node with a free sandbox_slot"
            return
        except Exception as exc:
            # Its process died during the call (Ray restarts it) or it cannot even be created: only a slot that
            # keeps failing counts as broken (its replica then fails waiting runs with the reason).
            slot.errors += 1
            slot.ok, slot.failed = False, slot.errors >= PROBE_ERRORS_BROKEN
            slot.reason = f"{type(exc).__name__}: {exc}"[:300]
            return
        slot.ok, slot.reason, slot.info = bool(info.get("ok")), str(info.get("reason", "")), info
        slot.failed, slot.errors = not slot.ok, 0
        if slot.ok:
            log.info("fleet: %s ready on %s (%s)", slot.name, info.get("node_ip") or info.get("host"), info["backend"])
            self.on_change()
        else:
            log.error("fleet: %s cannot run code: %s", slot.name, slot.reason)

    async def stream(self, slot: str, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        import ray.exceptions

        entry = self._slots.get(slot)
        if entry is None:
            raise SlotFailure(f"slot {slot} is gone")
        try:
            gen = entry.handle.run.options(num_returns="streaming").remote(run_id, spec)
            async for ref in gen:
                yield await ref
        except (ray.exceptions.RayError, ConnectionError) as exc:
            # Ray restarts the actor (on another node if its node went): the next probe finds it again.
            entry.ok, entry.failed, entry.reason = False, False, f"restarting after {type(exc).__name__}"
            self.on_change()
            raise SlotFailure(f"slot {slot} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None

    async def _control(self, slot: str, method: str, *args: Any) -> bool:
        entry = self._slots.get(slot)
        if entry is None:
            return False
        try:
            return bool(await asyncio.wait_for(getattr(entry.handle, method).remote(*args), CONTROL_TIMEOUT_SECONDS))
        except Exception as exc:
            log.warning("fleet: %s.%s failed: %s", slot, method, exc)
            return False

    async def send_stdin(self, slot: str, run_id: str, data: str) -> bool:
        return await self._control(slot, "send_stdin", run_id, data)

    async def close_stdin(self, slot: str, run_id: str) -> bool:
        return await self._control(slot, "close_stdin", run_id)

    async def cancel(self, slot: str, run_id: str) -> bool:
        return await self._control(slot, "cancel", run_id)

    async def restart(self, slot: str, reason: str) -> None:
        entry = self._slots.get(slot)
        if entry is not None:
            self._kill_for_restart(entry, reason)

    def _kill_for_restart(self, slot: _Slot, reason: str) -> None:
        """Kill the slot's process and let Ray start a new one (``max_restarts=-1``); the next reconcile
        probes it. Its warm sandboxes are left to the next start's sweep of stale boxes."""
        import ray

        log.warning("fleet: restarting %s: %s", slot.name, reason)
        slot.ok, slot.failed, slot.reason = False, False, f"restarting: {reason}"[:300]
        with contextlib.suppress(Exception):
            ray.kill(slot.handle, no_restart=False)
        self.on_change()

    async def pool_stats(self) -> dict[str, int]:
        """The warm pools' counters summed over the ready slots (a slot that does not answer in 1 s is skipped)."""
        total = {"warm": 0, "warm_hits": 0, "cold_starts": 0, "warm_failures": 0}
        refs = [s.handle.stats.remote() for s in self._slots.values() if s.ok]
        for ref in refs:
            try:
                stats = await asyncio.wait_for(ref, 1.0)
            except Exception:
                continue
            for key in total:
                total[key] += int(stats.get(key, 0))
        return total

    async def pid(self, slot: str) -> int:
        return int(await self._slots[slot].handle.pid.remote())

    async def close(self) -> None:
        """Let every ready slot close its warm pool (removing its containers and cgroup folders), then kill
        every slot, also when this call is cancelled (the server's shutdown bound ran out).

        A slot that never answered ``ready`` is killed at once: on a loaded host its process may not even be
        placed yet, and a close call would wait for its creation and its pool's start, eating the shutdown
        bound the rooms need to flush. A slot killed outright leaves its warm sandboxes behind until the next
        start sweeps them."""
        slots = list(self._slots.values())
        ready = [s for s in slots if s.ok]
        try:
            if ready:
                closing = [asyncio.ensure_future(_awaited(s.handle.close.remote())) for s in ready]
                done, _ = await asyncio.wait(closing, timeout=CLOSE_TIMEOUT_SECONDS)
                closed = sum(1 for t in done if not t.exception())
                log.info("fleet: %d of %d ready slots closed their sandboxes", closed, len(ready))
        finally:
            for slot in slots:
                self._drop(slot)


async def _awaited(ref: Any) -> Any:
    return await ref


class LocalFleet:
    """``n`` :class:`ExecutionSlot` objects in this process (tests of the dispatcher without Ray)."""

    def __init__(self, n: int, slot_args: dict[str, Any], on_change: Callable[[], None] = lambda: None) -> None:
        self.slots = {f"local-{i}": ExecutionSlot(f"local-{i}", **slot_args) for i in range(n)}
        self.on_change = on_change
        self._ok: dict[str, bool] = {}
        self._reason: str | None = None

    def ready(self) -> list[str]:
        return [name for name, ok in self._ok.items() if ok]

    def unusable_reason(self) -> str | None:
        return None if any(self._ok.values()) else self._reason

    async def reconcile(self, busy: Collection[str] = ()) -> None:
        for name, slot in self.slots.items():
            if not self._ok.get(name):
                info = await slot.ready()
                self._ok[name] = bool(info["ok"])
                self._reason = None if info["ok"] else str(info["reason"])
        self.on_change()

    async def stream(self, slot: str, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        async for item in self.slots[slot].run(run_id, spec):
            yield item

    async def send_stdin(self, slot: str, run_id: str, data: str) -> bool:
        return await self.slots[slot].send_stdin(run_id, data)

    async def close_stdin(self, slot: str, run_id: str) -> bool:
        return await self.slots[slot].close_stdin(run_id)

    async def cancel(self, slot: str, run_id: str) -> bool:
        return await self.slots[slot].cancel(run_id)

    async def restart(self, slot: str, reason: str) -> None:
        old = self.slots[slot]
        self._ok[slot] = False
        self.slots[slot] = ExecutionSlot(slot, old.backend, old.warm, dataclasses.asdict(old.limits))
        with contextlib.suppress(Exception):
            await old.close()
        self.on_change()

    async def close(self) -> None:
        for slot in self.slots.values():
            await slot.close()
