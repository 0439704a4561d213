"""Languages as data: one TOML file per language with its interpreter, flags and a self-test program."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from execution.errors import UnknownLanguage

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class SelfTest:
    files: dict[str, str]
    stdin: str
    expect_stdout: str


@dataclass(frozen=True)
class Language:
    """A runtime: interpreter inside the box, flags, curated read-only packages and a self-test."""

    name: str
    interpreter: str
    flags: tuple[str, ...]
    packages: tuple[str, ...]
    preload: tuple[str, ...]
    selftest: SelfTest
    docker_interpreter: str = "/usr/local/bin/python3"
    extra: dict[str, object] = field(default_factory=dict)


def available() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.toml"))


@cache
def get_language(name: str) -> Language:
    """Load ``execution/languages/<name>.toml``; raise :class:`UnknownLanguage` if there is none."""
    path = _HERE / f"{name}.toml"
    if name not in available():
        raise UnknownLanguage(f"no language {name!r}; known: {', '.join(available())}")
    data = tomllib.loads(path.read_text())
    packages = list(data.get("packages", []))
    env_pkgs = os.environ.get(f"CLASSROOM_EXEC_{name.upper()}_PACKAGES", "")
    packages += [p for p in env_pkgs.split(":") if p]
    st = data["selftest"]
    return Language(
        name=data["name"],
        interpreter=data["interpreter"],
        flags=tuple(data.get("flags", [])),
        packages=tuple(packages),
        preload=tuple(data.get("preload", [])),
        selftest=SelfTest(files=dict(st["files"]), stdin=st.get("stdin", ""), expect_stdout=st["expect_stdout"]),
        docker_interpreter=data.get("docker_interpreter", "/usr/local/bin/python3"),
    )
