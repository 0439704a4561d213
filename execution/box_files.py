"""What of the host a box needs to run Python: the interpreter, its standard library, the shared libraries they
link, and a few tools. The bwrap and nsjail boxes bind exactly these read-only (not all of ``/usr``); the
docker image (:mod:`execution.docker_image`) is built from the same list.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache

PYTHON = "/usr/bin/python3.11"
STDLIB = "/usr/lib/python3.11"
TOOLS = ("/usr/bin/dash", "/usr/bin/true", "/usr/bin/cat", "/usr/bin/id", "/usr/bin/ls", "/usr/bin/head")
# Loaded with dlopen, so ldd does not name it: glibc's thread cancellation and unwinding need it.
DLOPENED = ("libgcc_s.so.1",)
# In-box symlinks: name -> target (relative, as on Debian).
SYMLINKS = {"/usr/bin/python3": "python3.11", "/usr/bin/sh": "dash"}


def linked_libraries(paths: list[str]) -> set[str]:
    """Every shared library (as ldd names it) that ``paths`` (executables, extension modules) link."""
    libs: set[str] = set()
    for chunk in range(0, len(paths), 50):
        out = subprocess.run(["ldd", *paths[chunk : chunk + 50]], capture_output=True, text=True).stdout
        # "name => /path (addr)" and "\t/lib64/ld-linux... (addr)"; not the "file:" headers of several files
        libs |= set(re.findall(r"^\s+(?:\S+ => )?(/\S+\.so[.\d]*) \(", out, re.M))
    return libs


def extension_modules() -> list[str]:
    found = []
    for root, _dirs, files in os.walk(STDLIB):
        found += [os.path.join(root, f) for f in files if f.endswith(".so")]
    return found


def canonical(path: str) -> str:
    """``path`` with its directory resolved (``/lib64/x`` -> ``/usr/lib64/x``): where it sits in a box whose
    ``/lib``, ``/lib64`` and ``/bin`` are symlinks into ``/usr``."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


@cache
def binds() -> tuple[tuple[str, str], ...]:
    """``(host source, box destination)`` pairs to bind read-only: files, plus the standard library directory."""
    binaries = [PYTHON, *(t for t in TOOLS if os.path.exists(t))]
    libs = linked_libraries(binaries + extension_modules())
    for name in DLOPENED:
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
            if os.path.exists(os.path.join(d, name)):
                libs.add(os.path.join(d, name))
                break
    pairs = {(b, b) for b in binaries} | {(STDLIB, STDLIB)}
    pairs |= {(os.path.realpath(lib), canonical(lib)) for lib in libs if not canonical(lib).startswith(STDLIB + "/")}
    return tuple(sorted(pairs, key=lambda p: p[1]))
