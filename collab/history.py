"""Rebuild a room's document as it was at a past state vector or time, by replaying the durable log.

Used to show exactly what a run ran: a run stores the document's state vector when it was submitted. The log
keeps every update in arrival order, so the replay stops at the first prefix whose state vector covers the
target (``at``: the last update received at or before that time). Caveat: deletions do not advance a state
vector, so deletions that arrived after the target but before the next insertion are included.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pycrdt import Doc

from collab.files import LAYOUT_UPDATE
from collab.protocol import covers
from collab.store import DocumentStore


async def rebuild(
    store: DocumentStore, room_id: str, *, state_vector: bytes | None = None, at: datetime | None = None
) -> Doc[Any]:
    """The room's document at ``state_vector`` and/or ``at`` (both: whichever comes first); neither: now."""
    doc: Doc[Any] = Doc()
    doc.apply_update(LAYOUT_UPDATE)
    for entry in await store.history(room_id):
        if at is not None and entry.at > at:
            break
        if state_vector is not None and covers(doc.get_state(), state_vector):
            break
        doc.apply_update(entry.data)
    return doc
