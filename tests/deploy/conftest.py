"""The project's image, built once per test session (Docker's layer cache and the cached base rootfs make a
rebuild with no change take seconds)."""

from __future__ import annotations

import shutil

import pytest

from load.box import build_image


@pytest.fixture(scope="session")
def image() -> str:
    if shutil.which("docker") is None:
        pytest.fail("docker is needed to build the image (make install)")
    return build_image("classroom:test")
