"""When a missing or broken piece of the machine may skip its tests, and when it must fail them.

A green run must mean the confinement holds. So:
- under ``CI=true`` the sandbox backends of :data:`CI_BACKENDS` and Chromium are required;
- ``CLASSROOM_TEST_REQUIRE_BACKENDS=bwrap,nsjail,docker[,docker-gvisor][,chromium]`` requires them anywhere;
- a required piece that is missing or whose self-test fails FAILS the tests that need it; outside CI, an optional
  one that is not installed skips them (with the probe's reason and fix);
- an installed backend whose self-test fails fails its tests when required, and skips (saying so loudly)
  only on a developer's machine where nobody asked for it.
``docker-gvisor`` is optional even in CI: it is not installed by ``scripts/install-system.sh`` and not ranked
first by ``auto`` (see docs/architecture.md); declare it to test it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

CI_BACKENDS = ("bwrap", "nsjail", "docker")
CI_PIECES = (*CI_BACKENDS, "chromium")
CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def required_pieces() -> set[str]:
    """The backends (and ``chromium``) whose absence or failure fails the run."""
    declared = {p.strip() for p in os.environ.get("CLASSROOM_TEST_REQUIRE_BACKENDS", "").split(",") if p.strip()}
    return declared | (set(CI_PIECES) if in_ci() else set())


def is_required(piece: str) -> bool:
    """``piece``: a backend name, ``chromium``, or ``sandbox`` (some backend: required once any backend is)."""
    required = required_pieces()
    if piece == "sandbox":
        return bool(required - {"chromium"})
    return piece in required


def unusable(piece: str, why: str) -> NoReturn:
    """Fail the test if ``piece`` is required here, else skip it; ``why`` says what is wrong and how to fix it."""
    if is_required(piece):
        pytest.fail(f"{piece} is required here (CI=true or CLASSROOM_TEST_REQUIRE_BACKENDS) but: {why}", pytrace=False)
    pytest.skip(why)


def machine_problems() -> list[str]:
    """What is wrong with the required pieces of this machine (``[]``: every one is usable): a backend must be
    available and pass its confinement self-test, Chromium must start and render a page."""
    problems = []
    for piece in sorted(required_pieces()):
        if piece == "chromium":
            problems += _chromium_problems()
            continue
        from execution import get_backend, self_test

        try:
            backend = get_backend(piece)
            missing = backend.unavailable_reason()
            if piece.startswith("docker") and missing is not None and missing[0].startswith("runtime image"):
                from execution.docker_backend import build_image

                build_image()  # a fresh clone: install-system.sh ran before .venv existed; built locally
                missing = backend.unavailable_reason()
        except Exception as exc:  # an unknown name or a broken docker SDK: one line each
            problems.append(f"{piece}: {type(exc).__name__}: {exc}")
            continue
        if missing is not None:
            problems.append(f"{piece}: {missing[0]} (fix: {missing[1]})")
            continue
        report = asyncio.run(self_test(backend))
        if not report.ok:
            problems.append(f"{piece}: confinement self-test failed: {'; '.join(report.failures)}")
    return problems


def _chromium_problems() -> list[str]:
    if not CHROMIUM.exists():
        return [f"chromium: {CHROMIUM} is not installed (fix: scripts/install-system.sh)"]
    argv = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "data:text/html,<p>ok</p>"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        return ["chromium: did not render a page within 120 s"]
    if "<p>ok</p>" not in done.stdout:
        return [f"chromium: could not render a page (exit {done.returncode}): {done.stderr[-300:]}"]
    return []
