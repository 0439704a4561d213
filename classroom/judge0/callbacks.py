"""Judge0's ``callback_url``: when a submission's run finishes, its result is sent there once, signed.

Off unless ``CLASSROOM_JUDGE0_CALLBACK_HOSTS`` names the hosts a callback may reach (the service refuses other
URLs at submission, so a client cannot make the server call into its own network). Like Judge0, the finished
submission (all fields, base64) is sent with ``PUT``, tried up to 3 times with a 5 s timeout each. Each request
carries ``X-Classroom-Signature: t=<unix seconds>,sha256=<hex>``: HMAC-SHA256 with
``CLASSROOM_JUDGE0_CALLBACK_SECRET`` over ``"<t>." + body``, so the receiver can check origin and freshness.

The hook runs in the process whose dispatcher recorded the result; a row's ``callback_status`` goes
``pending -> sending -> sent | failed`` with a conditional update, so each callback is sent by one process.
Redirects are not followed (a redirect could leave the allowlist).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx
from starlette.applications import Starlette

from classroom.components import Health
from classroom.judge0.service import ALL_FIELDS, CALLBACK_TIMEOUT, CALLBACK_TRIES, serialize
from classroom.runs.service import RunService
from classroom.settings import Settings
from classroom.tables import Judge0Submission, Run

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Classroom-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


class Callbacks:
    """The ``judge0-callbacks`` component: hooks the run service's finished runs while callbacks are on."""

    name = "judge0-callbacks"
    required = False

    def __init__(self, settings: Settings, runs: RunService, *, retry_delay: float = 1.0) -> None:
        self.settings = settings
        self.runs = runs
        self.retry_delay = retry_delay
        self.sent = 0
        self.failed = 0
        self._tasks: set[asyncio.Task[bool | None]] = set()
        self._client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.judge0_callback_hosts)

    async def start(self) -> None:
        if self.enabled:
            self._client = httpx.AsyncClient(timeout=CALLBACK_TIMEOUT, follow_redirects=False)
            self.runs.on_finished.append(self._finished)

    async def stop(self) -> None:
        if self._finished in self.runs.on_finished:
            self.runs.on_finished.remove(self._finished)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def check(self) -> Health:
        if not self.enabled:
            return Health(True, "off (CLASSROOM_JUDGE0_CALLBACK_HOSTS is empty)")
        return Health(True, f"{self.sent} sent, {self.failed} failed", {"sent": self.sent, "failed": self.failed})

    def _finished(self, run_id: str, result: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self.deliver(run_id), name=f"judge0-callback-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, run_id: str) -> bool | None:
        """Send the callback of ``run_id`` if it has one still pending; True sent, False failed, None none."""
        rid = uuid.UUID(run_id)
        claimed = (
            await Judge0Submission.update({Judge0Submission.callback_status: "sending"})
            .where((Judge0Submission.id == rid) & (Judge0Submission.callback_status == "pending"))
            .returning(Judge0Submission.id)
            .run()
        )
        if not claimed:
            return None
        sub = await Judge0Submission.objects().where(Judge0Submission.id == rid).first().run()
        run = await Run.objects().where(Run.id == rid).first().run()
        if sub is None or run is None or not sub.callback_url:
            return None
        body = json.dumps(serialize(run, sub, ALL_FIELDS, base64_encoded=True)).encode()
        ok = await self._send(sub.callback_url, body)
        await (
            Judge0Submission.update({Judge0Submission.callback_status: "sent" if ok else "failed"})
            .where(Judge0Submission.id == rid)
            .run()
        )
        if ok:
            self.sent += 1
        else:
            self.failed += 1
        return ok

    async def _send(self, url: str, body: bytes) -> bool:
        assert self._client is not None
        for attempt in range(1, CALLBACK_TRIES + 1):
            now = int(time.time())
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(self.settings.judge0_callback_secret, now, body),
            }
            try:
                response = await self._client.put(url, content=body, headers=headers)
                if response.status_code < 300:
                    return True
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}"
            log.warning("judge0 callback to %s failed (try %d of %d): %s", url, attempt, CALLBACK_TRIES, reason)
            if attempt < CALLBACK_TRIES:
                await asyncio.sleep(self.retry_delay * attempt)
        return False


def install(app: Starlette, settings: Settings, parts: list[Any]) -> Callbacks:
    """Add the callback sender as a component hooked into ``app.state.runs``; call after the run service's."""
    callbacks = Callbacks(settings, app.state.runs)
    parts.append(callbacks)
    return callbacks
