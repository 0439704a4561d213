"""A room's awareness table: the newest clock and state per client id, and the filter that keeps relays linear.

y-websocket clients re-broadcast every awareness change they *receive* (their ``update`` handler does not look at
the origin). A relay that forwards everything therefore turns one cursor move into N² messages and saturates a
CPU at ~50 clients (pycrdt-websocket 0.16.5's YRoom does). This table drops every entry whose clock is not newer
than the one already seen, so an echo costs one decode and nothing is forwarded.
"""

from __future__ import annotations

NULL_STATE = "null"

Entry = tuple[int, int, str]


class AwarenessTable:
    """Latest (clock, state) per client id, and which connection spoke for it (to clean up when it leaves)."""

    __slots__ = ("_clocks", "_owners", "_states")

    def __init__(self) -> None:
        self._clocks: dict[int, int] = {}
        self._states: dict[int, str] = {}
        self._owners: dict[int, object] = {}

    def accept(self, entries: list[Entry], owner: object) -> list[Entry]:
        """Record and return the entries that are news; the rest are stale echoes and are dropped.

        The rule is Yjs's own: newer clock wins; an equal clock is news only when it removes a live state.
        """
        fresh: list[Entry] = []
        for client_id, clock, state in entries:
            known = self._clocks.get(client_id)
            if known is not None and (
                clock < known or (clock == known and not (state == NULL_STATE and client_id in self._states))
            ):
                continue
            self._clocks[client_id] = clock
            if state == NULL_STATE:
                self._states.pop(client_id, None)
                self._owners.pop(client_id, None)
            else:
                self._states[client_id] = state
                self._owners.setdefault(client_id, owner)
            fresh.append((client_id, clock, state))
        return fresh

    def snapshot(self, excluding: object = None) -> list[Entry]:
        """Every live state, for a client that just joined or asked; with ``excluding``, only the states not
        spoken for by that owner (e.g. the bus's sentinel: the states of this replica's own connections)."""
        return [
            (client_id, self._clocks[client_id], state)
            for client_id, state in self._states.items()
            if excluding is None or self._owners.get(client_id) is not excluding
        ]

    def release(self, owner: object) -> list[Entry]:
        """Remove the states ``owner`` spoke for and return the removal entries to broadcast."""
        gone = [client_id for client_id, who in self._owners.items() if who is owner]
        removals = [(client_id, self._clocks[client_id] + 1, NULL_STATE) for client_id in gone]
        return self.accept(removals, owner)

    def __len__(self) -> int:
        return len(self._states)
