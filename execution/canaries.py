"""Host canaries: secrets planted where a confinement mistake would expose the host, and how to judge what a box saw.

Every backend replaces ``/tmp`` with a tmpfs of its own, so a canary there alone proves little. Canaries go where a
wrong bind or a missing mount namespace would show something that matters: the server's data directory (the
database and the secret key; given by the caller, the library does not know it), this project checkout, ``/etc``,
``/root``, ``/home``, ``/var``, and a fresh directory under ``/tmp``. Each canary is a world-readable (0644) file
holding a random secret, so the box, not the file's mode, has to stop the read.

Two kinds of place:
- *unique* places exist only on this host (the data directory, the checkout, the ``/tmp`` directory): a box must not
  even see the directory. A read-only bind of the data directory is a leak although its 0600 files stay unreadable
  to the sandbox uid.
- *system* places (``/etc`` ...) exist in a docker image too: the box may have its own, but our file must not be
  in it (neither readable nor visible).

A place we cannot write to (not root) is listed in :attr:`HostCanaries.unplanted`, never silently skipped.
Each name carries the planting process's pid, so a process killed between planting and removing leaves files the
next planting sweeps (:func:`sweep_stale`: only those whose process is gone).

The in-box side is :data:`PROBE` (a Python program given :meth:`HostCanaries.probe_arg` as its first argument, it
prints one JSON object); :meth:`HostCanaries.leaks` turns that object into a list of findings (empty: nothing seen).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from execution.leftovers import owner_gone

CHECKOUT = Path(__file__).resolve().parent.parent
SYSTEM_PLACES = ("/etc", "/root", "/home", "/var")
_PREFIX = ".classroom-canary-"
_TMP_PREFIX = "classroom-canary-"
# A canary named before names carried a pid: stale once older than any self-test could take.
_UNOWNED_STALE_SECONDS = 3600.0

PROBE = r"""
import json, os, sys
seen = {}
for place, path in json.loads(sys.argv[1]):
    out = {}
    try:
        os.lstat(place)
        out["place"] = "visible"
    except OSError as e:
        out["place"] = type(e).__name__
    try:
        os.lstat(path)
        out["file"] = "visible"
        with open(path) as f:
            out["file"] = "READ " + f.read()
    except OSError as e:
        out.setdefault("file", type(e).__name__)
    seen[path] = out
print(json.dumps(seen))
"""


@dataclass(frozen=True)
class Canary:
    """One planted file: ``place`` is the directory, ``unique`` whether the directory itself must be invisible."""

    place: str
    path: str
    secret: str
    unique: bool


@dataclass
class HostCanaries:
    """Plants canaries on ``__enter__`` and removes every one on ``__exit__`` (whatever happened between).

    ``unique_places``: extra host-only directories to guard (the server's data directory); the checkout and a
    fresh ``/tmp`` directory are always added, and the :data:`SYSTEM_PLACES`.
    """

    unique_places: tuple[Path, ...] = ()
    planted: list[Canary] = field(default_factory=list)
    unplanted: dict[str, str] = field(default_factory=dict)
    _tmpdir: str | None = None

    def __enter__(self) -> HostCanaries:
        sweep_stale((*self.unique_places, CHECKOUT, *map(Path, SYSTEM_PLACES)))
        self._tmpdir = tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-")
        os.chmod(self._tmpdir, 0o755)
        places = [(str(p), True) for p in (*self.unique_places, CHECKOUT, Path(self._tmpdir))]
        places += [(p, False) for p in SYSTEM_PLACES]
        seen: set[str] = set()
        for place, unique in places:
            place = os.path.realpath(place)
            if place in seen:
                continue
            seen.add(place)
            self._plant(place, unique)
        return self

    def _plant(self, place: str, unique: bool) -> None:
        secret = "canary-" + secrets.token_hex(12)
        path = os.path.join(place, f"{_PREFIX}{os.getpid()}-{secrets.token_hex(6)}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as f:
                f.write(secret)
            os.chmod(path, 0o644)  # whatever the umask: only the box may stop the read
        except OSError as e:
            self.unplanted[place] = f"{type(e).__name__}: {e.strerror}"
            return
        self.planted.append(Canary(place, path, secret, unique))

    def __exit__(self, *exc: object) -> None:
        for c in self.planted:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(c.path)
        self.planted = []
        if self._tmpdir is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self._tmpdir)
            self._tmpdir = None

    def secrets(self) -> list[str]:
        return [c.secret for c in self.planted]

    def places(self) -> list[str]:
        return [c.place for c in self.planted]

    def probe_arg(self) -> str:
        """The one argv item :data:`PROBE` (or any program of the exploit corpus) takes: ``[[place, file], ...]``."""
        return json.dumps([[c.place, c.path] for c in self.planted], separators=(",", ":"))

    def leaks(self, seen: dict[str, dict[str, str]]) -> list[str]:
        """What the box should not have seen, from :data:`PROBE`'s output (``[]``: nothing)."""
        found = []
        for c in self.planted:
            got = seen.get(c.path)
            if got is None:
                found.append(f"{c.path}: the probe did not report it")
                continue
            file = got.get("file", "")
            if file == "visible" or file.startswith("READ"):
                found.append(f"{c.path}: the canary file is {'visible' if file == 'visible' else 'read'} in the box")
            elif c.unique and got.get("place") == "visible":
                found.append(f"{c.place}: this host directory is visible in the box")
        return found


def sweep_stale(places: tuple[Path, ...] = ()) -> list[str]:
    """Remove canaries a dead process left in ``places`` (and its ``/tmp`` directories); never a live one's.
    Returns what was removed."""
    removed: list[str] = []
    for place in places:
        with contextlib.suppress(OSError), os.scandir(place) as entries:
            for entry in entries:
                ours = entry.name.startswith(_PREFIX) and entry.is_file(follow_symlinks=False)
                if ours and _stale(entry.name[len(_PREFIX) :], entry):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed.append(entry.path)
    with contextlib.suppress(OSError), os.scandir(tempfile.gettempdir()) as entries:
        for entry in entries:
            ours = entry.name.startswith(_TMP_PREFIX) and entry.is_dir(follow_symlinks=False)
            if ours and _stale(entry.name[len(_TMP_PREFIX) :], entry):
                with contextlib.suppress(OSError):
                    for inner in os.scandir(entry.path):
                        os.unlink(inner.path)
                    os.rmdir(entry.path)
                    removed.append(entry.path)
    return removed


def _stale(rest: str, entry: os.DirEntry[str]) -> bool:
    made = entry.stat(follow_symlinks=False).st_mtime
    pid, _, tail = rest.partition("-")
    if pid.isdigit() and tail:
        return owner_gone(int(pid), made)
    return time.time() - made > _UNOWNED_STALE_SECONDS
