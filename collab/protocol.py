"""The y-websocket wire protocol as pure functions: decode a frame into a message, encode replies.

No I/O and no state here (STYLE principle 8). A frame is ``varuint type`` followed by a type-specific body:
``0`` sync (``varuint step`` + ``varbytes``), ``1`` awareness (``varbytes`` awareness update), ``2`` auth,
``3`` query awareness. Anything truncated or otherwise undecodable raises :class:`ProtocolError`; bytes after a
complete message are ignored, as the reference server (``@y/websocket-server``) ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from collab.errors import ProtocolError, UnsupportedData

MESSAGE_SYNC = 0
MESSAGE_AWARENESS = 1
MESSAGE_AUTH = 2
MESSAGE_QUERY_AWARENESS = 3
SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2
AUTH_PERMISSION_DENIED = 0


@dataclass(frozen=True, slots=True)
class Sync:
    """A sync message: ``step`` is SYNC_STEP1 (payload = state vector) or SYNC_STEP2 / SYNC_UPDATE (update)."""

    step: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Awareness:
    """An awareness update: ``entries`` are (client id, clock, state JSON text; ``"null"`` = gone)."""

    entries: list[tuple[int, int, str]]


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """A request for every known awareness state."""


Message = Sync | Awareness | QueryAwareness


class Reader:
    """A cursor over lib0-encoded bytes that raises ProtocolError instead of reading past the end."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uint(self) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise ProtocolError("truncated message: a number runs past the end")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:  # lib0 numbers fit 53 bits; longer runs are garbage meant to burn CPU
                raise ProtocolError("malformed message: a number is longer than 64 bits")

    def varbytes(self) -> bytes:
        length = self.uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError(f"truncated message: {length} bytes announced, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def string(self) -> str:
        try:
            return self.varbytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("malformed message: a string is not UTF-8") from exc


def write_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_varbytes(data: bytes) -> bytes:
    return write_uint(len(data)) + data


def decode(frame: bytes) -> Message:
    """Decode one binary frame; raise ProtocolError (malformed) or UnsupportedData (unknown type)."""
    reader = Reader(frame)
    kind = reader.uint()
    if kind == MESSAGE_SYNC:
        step = reader.uint()
        if step not in (SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE):
            raise ProtocolError(f"malformed message: unknown sync step {step}")
        return Sync(step, reader.varbytes())
    if kind == MESSAGE_AWARENESS:
        return Awareness(decode_awareness(reader.varbytes()))
    if kind == MESSAGE_QUERY_AWARENESS:
        return QueryAwareness()
    raise UnsupportedData(f"unsupported message type {kind}")


def decode_awareness(update: bytes) -> list[tuple[int, int, str]]:
    """The entries of an awareness update (the JSON states are not parsed: the relay never needs them)."""
    reader = Reader(update)
    count = reader.uint()
    if count > len(update):  # each entry takes at least 3 bytes: refuse absurd counts before looping
        raise ProtocolError(f"malformed awareness update: {count} entries announced")
    return [(reader.uint(), reader.uint(), reader.string()) for _ in range(count)]


def encode_awareness(entries: list[tuple[int, int, str]]) -> bytes:
    """An awareness update body from (client id, clock, state JSON) entries."""
    parts = [write_uint(len(entries))]
    for client_id, clock, state in entries:
        parts += (write_uint(client_id), write_uint(clock), write_varbytes(state.encode()))
    return b"".join(parts)


def awareness_message(update: bytes) -> bytes:
    return bytes([MESSAGE_AWARENESS]) + write_varbytes(update)


def sync_message(step: int, payload: bytes) -> bytes:
    return bytes([MESSAGE_SYNC, step]) + write_varbytes(payload)


def update_message(update: bytes) -> bytes:
    return sync_message(SYNC_UPDATE, update)


def permission_denied_message(reason: str) -> bytes:
    """The standard auth message y-websocket clients report as "Permission denied" with the reason."""
    return bytes([MESSAGE_AUTH, AUTH_PERMISSION_DENIED]) + write_varbytes(reason.encode())


def apply_update(doc: Doc[Any], update: bytes) -> None:
    """Apply ``update`` to ``doc``; an undecodable update is a ProtocolError and leaves ``doc`` untouched."""
    try:
        doc.apply_update(update)
    except ValueError as exc:
        raise ProtocolError(f"malformed update: {exc}") from exc


def handle_sync_message(message: Sync, doc: Doc[Any]) -> bytes | None:
    """Answer a sync message as any peer does: step 1 gets the missing updates, updates are applied.

    Used by Python clients; the server's room applies writes itself (it checks permissions first).
    """
    if message.step == SYNC_STEP1:
        try:
            return sync_message(SYNC_STEP2, doc.get_update(message.payload))
        except ValueError as exc:
            raise ProtocolError(f"malformed state vector: {exc}") from exc
    apply_update(doc, message.payload)
    return None


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """client id -> clock (the number of items seen from that client)."""
    reader = Reader(state_vector)
    return {reader.uint(): reader.uint() for _ in range(reader.uint())}


def covers(state_vector: bytes, target: bytes) -> bool:
    """True when a document at ``state_vector`` has seen everything a document at ``target`` had."""
    have = decode_state_vector(state_vector)
    return all(have.get(client, 0) >= clock for client, clock in decode_state_vector(target).items())
