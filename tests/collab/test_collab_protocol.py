"""The pure protocol: decoding, refusing truncated/malformed frames, and the awareness stale-clock filter."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Text

from collab import ProtocolError, UnsupportedData, protocol
from collab.awareness import AwarenessTable


def test_sync_messages_round_trip() -> None:
    doc: Doc[Any] = Doc()
    doc.get("t", type=Text).insert(0, "hi")
    message = protocol.decode(protocol.sync_message(protocol.SYNC_STEP1, b"\x00"))
    assert message == protocol.Sync(protocol.SYNC_STEP1, b"\x00")
    assert isinstance(message, protocol.Sync)
    reply = protocol.handle_sync_message(message, doc)
    assert reply is not None
    step2 = protocol.decode(reply)
    assert isinstance(step2, protocol.Sync)
    assert step2.step == protocol.SYNC_STEP2
    other: Doc[Any] = Doc()
    assert protocol.handle_sync_message(step2, other) is None
    assert str(other.get("t", type=Text)) == "hi"


@pytest.mark.parametrize(
    "frame",
    [
        b"",  # nothing
        b"\x00",  # sync without a step
        b"\x00\x02",  # update without its length
        b"\x00\x02\x05ab",  # 5 bytes announced, 2 present
        b"\x00\x07\x00",  # unknown sync step
        b"\x01\x05\x01",  # awareness update truncated
        b"\x01\x03\xff\xff\xff",  # an endless number inside
        b"\x80" * 20,  # a number longer than 64 bits
        b"\x01\x04\x01\x01\x01\x05",  # awareness entry whose state runs past the end
    ],
)
def test_truncated_or_malformed_frames_raise_protocol_error(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(frame)


def test_unknown_message_types_are_unsupported() -> None:
    with pytest.raises(UnsupportedData):
        protocol.decode(b"\x09\x00")


def test_an_undecodable_update_leaves_the_document_untouched() -> None:
    doc: Doc[Any] = Doc()
    doc.get("t", type=Text).insert(0, "keep")
    with pytest.raises(ProtocolError):
        protocol.apply_update(doc, b"\x05\x01garbage")
    assert str(doc.get("t", type=Text)) == "keep"


def test_awareness_round_trip() -> None:
    entries = [(1, 3, '{"user":{"name":"Ada"}}'), (2**31, 1, "null")]
    frame = protocol.awareness_message(protocol.encode_awareness(entries))
    assert protocol.decode(frame) == protocol.Awareness(entries)


def test_stale_and_echoed_awareness_is_dropped() -> None:
    table = AwarenessTable()
    a, b = object(), object()
    assert table.accept([(7, 1, '{"c":1}')], a) == [(7, 1, '{"c":1}')]
    # b re-broadcasts what it received (as y-websocket does): same clock, not news.
    assert table.accept([(7, 1, '{"c":1}')], b) == []
    assert table.accept([(7, 0, '{"c":0}')], b) == []
    assert table.accept([(7, 2, '{"c":2}'), (8, 1, "{}")], b) == [(7, 2, '{"c":2}'), (8, 1, "{}")]
    # Removal at an equal clock is news (Yjs's rule), once.
    assert table.accept([(8, 1, "null")], b) == [(8, 1, "null")]
    assert table.accept([(8, 1, "null")], b) == []
    assert table.snapshot() == [(7, 2, '{"c":2}')]


def test_a_leaving_connection_removes_the_states_it_spoke_for() -> None:
    table = AwarenessTable()
    a, b = object(), object()
    table.accept([(7, 4, "{}")], a)
    table.accept([(8, 1, "{}")], b)
    assert table.release(a) == [(7, 5, "null")]
    assert table.snapshot() == [(8, 1, "{}")]


def test_covers_compares_state_vectors() -> None:
    doc: Doc[Any] = Doc()
    text = doc.get("t", type=Text)
    text.insert(0, "a")
    before = doc.get_state()
    text.insert(1, "b")
    assert protocol.covers(doc.get_state(), before)
    assert not protocol.covers(before, doc.get_state())
