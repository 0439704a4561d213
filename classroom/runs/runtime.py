"""What runs inside the sandboxes, as API clients are told (Judge0's language name, Piston's runtime version)."""

from __future__ import annotations

import functools
import platform
import subprocess


@functools.cache
def python_version() -> str:
    """The version of the Python inside the sandboxes (the language file's interpreter, which may differ from
    the server's own Python); the server's when the interpreter cannot be asked."""
    from execution.languages import get_language

    try:
        interpreter = get_language("python").interpreter
        out = subprocess.run([interpreter, "--version"], capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.split()[-1]
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return platform.python_version()
