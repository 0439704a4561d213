"""The layout of a room's document: a ``Y.Map`` named ``files`` of file name -> ``Y.Text``; ``main.py`` by default.

Browser clients read ``doc.getMap("files").get(name)``. The default file is created by a fixed update written
with a fixed client id, so every replica and every reload produces the *same* item: applying it again is a no-op
and two replicas creating a room at once cannot produce two competing ``main.py`` texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pycrdt import Doc, Map, Text

FILES = "files"
DEFAULT_FILE = "main.py"
# Client id 1 is reserved for the layout update; random Yjs client ids are 32-bit and practically never 1.
_LAYOUT_CLIENT_ID = 1


def _layout_update() -> bytes:
    doc: Doc[Any] = Doc(client_id=_LAYOUT_CLIENT_ID)
    doc.get(FILES, type=Map)[DEFAULT_FILE] = Text("")
    return doc.get_update()


LAYOUT_UPDATE = _layout_update()


def files_map(doc: Doc[Any]) -> Map[Text]:
    files: Map[Text] = doc.get(FILES, type=Map)
    return files


def read_files(doc: Doc[Any]) -> dict[str, str]:
    """file name -> current text (entries that are not texts are skipped: a client may have put junk there)."""
    return {name: str(value) for name, value in files_map(doc).items() if isinstance(value, Text)}


def write_files(doc: Doc[Any], files: Mapping[str, str], *, replace: bool = False) -> None:
    """Set each file's whole text (a minimal edit when the text exists); ``replace`` also deletes other files.

    Call inside one transaction so that peers see one update.
    """
    target = files_map(doc)
    with doc.transaction():
        if replace:
            for name in set(target.keys()).difference(files):
                del target[name]
        for name, content in files.items():
            text = target.get(name)
            if not isinstance(text, Text):
                target[name] = Text(content)
            elif str(text) != content:
                _replace_text(text, content)


def _replace_text(text: Text, content: str) -> None:
    """Replace only the differing middle so that concurrent edits at the ends survive."""
    old = str(text)
    start = 0
    limit = min(len(old), len(content))
    while start < limit and old[start] == content[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == content[-1 - end]:
        end += 1
    # pycrdt indexes Text by UTF-8 byte offsets, not by str positions.
    first = len(old[:start].encode())
    del text[first : len(old.encode()) - len(old[len(old) - end :].encode())]
    text.insert(first, content[start : len(content) - end])
