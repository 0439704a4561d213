"""scripts/install-system.sh: under CI=true a piece that cannot be set up fails the run (never a quiet skip later)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def fake_scripts(tmp_path: Path) -> Path:
    """The real install-system.sh running two pieces: one whose install fails, one after it."""
    shutil.copy(SCRIPTS / "install-system.sh", tmp_path / "install-system.sh")
    (tmp_path / "system.d").mkdir()
    (tmp_path / "system.d" / "10-broken.sh").write_text('false || install_failed "10-broken: could not install x"\n')
    (tmp_path / "system.d" / "20-next.sh").write_text("echo next-piece-ran\n")
    return tmp_path


def run(scripts: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        ["bash", str(scripts / "install-system.sh")], env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def test_a_failed_install_is_fatal_under_ci(fake_scripts: Path) -> None:
    done = run(fake_scripts, CI="true")
    assert done.returncode != 0
    assert "10-broken: could not install x" in done.stderr and "fatal" in done.stderr
    assert "next-piece-ran" not in done.stdout


def test_a_failed_install_is_reported_and_not_fatal_on_a_developers_machine(fake_scripts: Path) -> None:
    done = run(fake_scripts)
    assert done.returncode == 0, done.stderr
    assert "10-broken: could not install x" in done.stderr
    assert "next-piece-ran" in done.stdout


@pytest.mark.parametrize("piece", sorted((SCRIPTS / "system.d").glob("*.sh")), ids=lambda p: p.name)
def test_every_install_step_of_the_real_pieces_reports_through_install_failed(piece: Path) -> None:
    """A bare `|| echo ... >&2` would swallow the failure under CI too."""
    text = piece.read_text()
    assert "|| echo" not in text.replace("\\\n", " ")
    assert "install_failed" in text
