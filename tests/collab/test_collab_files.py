"""The document layout: the shared default file, and whole-file writes that edit only what changed."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Map, Text

from collab import Limits, read_files, write_files
from collab.files import LAYOUT_UPDATE


def _doc() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(LAYOUT_UPDATE)
    return doc


def test_the_default_file_is_the_same_item_everywhere() -> None:
    a, b = _doc(), _doc()
    a.get("files", type=Map)["main.py"].insert(0, "from a ")
    b.get("files", type=Map)["main.py"].insert(0, "from b ")
    a.apply_update(b.get_update())
    b.apply_update(a.get_update())
    assert read_files(a) == read_files(b)
    assert "from a" in read_files(a)["main.py"] and "from b" in read_files(a)["main.py"]  # no competing texts


@pytest.mark.parametrize(
    ("old", "new"),
    [("a😀b", "a😀c"), ("é😀x", "😀"), ("", "print('ünïcode')\n"), ("same", "same"), ("abc", "")],
)
def test_write_files_handles_any_text(old: str, new: str) -> None:
    doc = _doc()
    write_files(doc, {"main.py": old})
    write_files(doc, {"main.py": new})
    assert read_files(doc) == {"main.py": new}


def test_a_whole_file_write_keeps_a_concurrent_edit_elsewhere() -> None:
    server, student = _doc(), _doc()
    write_files(server, {"main.py": "line 1\nline 2\n"})
    student.apply_update(server.get_update())
    student.get("files", type=Map)["main.py"].insert(0, "# mine\n")
    write_files(server, {"main.py": "line 1\nline two\n"})
    server.apply_update(student.get_update())
    assert read_files(server) == {"main.py": "# mine\nline 1\nline two\n"}


def test_replace_removes_other_files_and_non_texts_are_ignored() -> None:
    doc = _doc()
    write_files(doc, {"a.py": "a", "b.py": "b"})
    doc.get("files", type=Map)["junk"] = Map()
    assert read_files(doc) == {"main.py": "", "a.py": "a", "b.py": "b"}
    write_files(doc, {"b.py": "B"}, replace=True)
    assert read_files(doc) == {"b.py": "B"}
    assert isinstance(doc.get("files", type=Map)["b.py"], Text)


def test_limits_refuse_values_that_break_the_contract() -> None:
    with pytest.raises(ValueError, match="1 MiB"):
        Limits(max_message_bytes=2 * 1024 * 1024)
    with pytest.raises(ValueError, match="200 ms"):
        Limits(flush_interval_seconds=0.5)
