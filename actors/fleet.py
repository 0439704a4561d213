"""The execution slots a dispatcher may use, behind one small interface.

:class:`RayFleet` keeps one slot actor per unit of ``sandbox_slot`` the cluster offers (reconciled every tick:
nodes come and go), probes each until it reports a working sandbox backend, and turns any Ray failure of a
slot (process killed, node removed) into :class:`SlotFailure` so the dispatcher can retry the run elsewhere.
:class:`LocalFleet` runs the same :class:`~actors.slot.ExecutionSlot` class in this process (no Ray): tests of
the dispatcher's logic use it; production always uses Ray.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from actors.slot import ExecutionSlot

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 60.0
CONTROL_TIMEOUT_SECONDS = 5.0


class SlotFailure(Exception):
    """The slot could not finish the run (its process or node died, or its sandbox failed to start)."""


class Fleet(Protocol):
    """Contract: ``ready()`` names the slots that can take a run now (busy or not; the dispatcher tracks
    busy). ``stream`` yields the slot's items (see :mod:`actors.slot`) and raises :class:`SlotFailure` if the
    slot fails. ``unusable_reason()`` says why no slot can serve (no backend, no capacity), or None."""

    def ready(self) -> list[str]: ...

    def unusable_reason(self) -> str | None: ...

    async def reconcile(self) -> None: ...

    def stream(self, slot: str, run_id: str, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]: ...

    async def send_stdin(self, slot: str, run_id: str, data: str) -> bool: ...

    async def close_stdin(self, slot: str, run_id: str) -> bool: ...

    async def cancel(self, slot: str, run_id: str) -> bool: ...

    async def close(self) -> None: ...


@dataclass
class _Slot:
    name: str
    handle: Any
    ok: bool = False
    reason: str = "starting"
    info: dict[str, Any] = field(default_factory=dict)
    probe: asyncio.Task[None] | None = None


class RayFleet:
    """Slot actors owned by this process (they die with it: no orphans), one per ``sandbox_slot`` unit."""

    def __init__(self, slot_args: dict[str, Any], on_change: Callable[[], None] = lambda: None) -> None:
        self.slot_args = slot_args
        self.on_change = on_change
        self.prefix = f"slot-{uuid.uuid4().hex[:6]}"
        self._slots: dict[str, _Slot] = {}
        self._serial = 0
        self._capacity = 0.0

    def ready(self) -> list[str]:
        return [s.name for s in self._slots.values() if s.ok]

    def slots(self) -> dict[str, dict[str, Any]]:
        return {s.name: {"ok": s.ok, "reason": s.reason, **s.info} for s in self._slots.values()}

    def unusable_reason(self) -> str | None:
        if any(s.ok for s in self._slots.values()):
            return None
        if self._capacity <= 0:
            return "no node offers a sandbox_slot: add one with `classroom worker --address HEAD --slots N`"
        reasons = {s.reason for s in self._slots.values() if s.reason != "starting"}
        if reasons and all("starting" not in r for r in reasons):
            return "no execution slot can run code: " + "; ".join(sorted(reasons))
        return None  # still starting: runs wait in the queue

    async def reconcile(self) -> None:
        import ray

        from actors.cluster import SLOT_RESOURCE
        from actors.options import remote

        total = await asyncio.to_thread(ray.cluster_resources)
        self._capacity = float(total.get(SLOT_RESOURCE, 0.0))
        desired = int(self._capacity)
        while len(self._slots) < desired:
            self._serial += 1
            name = f"{self.prefix}-{self._serial}"
            handle = remote("slot").options(name=name).remote(name, **self.slot_args)
            self._slots[name] = _Slot(name, handle)
            log.info("fleet: created %s", name)
        if len(self._slots) > desired:
            # Capacity left (a node was removed): drop slots that cannot serve; Ray would keep them pending.
            for slot in [s for s in self._slots.values() if not s.ok][: len(self._slots) - desired]:
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
        except Exception as exc:
            slot.ok, slot.reason = False, f"{type(exc).__name__}: {exc}"[:300]
            return
        slot.ok, slot.reason, slot.info = bool(info.get("ok")), str(info.get("reason", "")), info
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
            entry.ok, entry.reason = False, f"{type(exc).__name__}"
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
        for slot in list(self._slots.values()):
            self._drop(slot)


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

    async def reconcile(self) -> None:
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

    async def close(self) -> None:
        for slot in self.slots.values():
            await slot.close()
