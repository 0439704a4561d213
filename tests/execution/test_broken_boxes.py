"""A green suite must mean confinement holds: against deliberately broken boxes the relevant tests FAIL.

Each case runs pytest on the real test files in a subprocess, with a plugin (written here) that breaks the bwrap
backend's flags the way a mistake would: ``--share-net`` (the host's network), or the server's data directory bound
into the box. The backend is declared required (``CLASSROOM_TEST_REQUIRE_BACKENDS``, as CI does), so a skip would
be a hole; nsjail missing under ``CI=true`` must stop the run at start. A positive control (the same plugin, no
broken flag) passes, so a failure below is the breakage being caught, not the harness. "Trusted" cases pretend the
self-test passed, to prove the exploit corpus catches the same breakage on its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from exec_helpers import usable_backend

from execution.bwrap_backend import BwrapBackend
from execution.selftest import self_test
from execution.types import Limits

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = '''
"""Breaks the bwrap backend as BROKEN_BWRAP_FLAGS says (flags joined by newlines, put before --remount-ro)."""
import os

from execution.bwrap_backend import BwrapBackend

_argv = BwrapBackend.argv
_extra = [f for f in os.environ.get("BROKEN_BWRAP_FLAGS", "").split("\\n") if f]


def _broken(self, limits, language, fds):
    argv, fds = _argv(self, limits, language, fds)
    i = argv.index("--remount-ro")
    return [*argv[:i], *_extra, *argv[i:]], fds


BwrapBackend.argv = _broken


def pytest_runtest_setup(item):
    if os.environ.get("BROKEN_TRUST_SELFTEST"):
        import exec_helpers  # the tests' own module: pretend bwrap's self-test passed

        exec_helpers._passed.add("bwrap")
'''


@dataclass
class Outcome:
    returncode: int
    cases: dict[str, str]  # test id -> passed | failed | error | skipped
    output: str

    def of(self, outcome: str) -> list[str]:
        return [name for name, got in self.cases.items() if got == outcome]


@pytest.fixture
def inner(tmp_path: Path) -> Callable[..., Outcome]:
    """Runs pytest on ``files`` with the breaking plugin; returns what happened to each test."""
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "broken_box.py").write_text(PLUGIN)
    data_dir = tmp_path / "data"

    def run(files: Sequence[str], select: str, flags: Sequence[str] = (), **env: str) -> Outcome:
        report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.xml"
        base = {k: v for k, v in os.environ.items() if k not in ("CI", "CLASSROOM_TEST_REQUIRE_BACKENDS")}
        full_env = {
            **base,
            "PYTHONPATH": os.pathsep.join([str(tmp_path / "plugin"), base.get("PYTHONPATH", "")]),
            "CLASSROOM_TEST_DATA_DIR": str(data_dir),
            "BROKEN_BWRAP_FLAGS": "\n".join(f.format(data_dir=data_dir) for f in flags),
            **env,
        }
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "broken_box", "-p", "no:cacheprovider", "-k", select]
        argv += ["--basetemp", str(tmp_path / "inner"), "--junitxml", str(report), *files]
        done = subprocess.run(argv, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=1200)
        cases: dict[str, str] = {}
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
                cases[case.get("name", "?")] = {"failure": "failed"}.get(kinds[0], kinds[0]) if kinds else "passed"
        return Outcome(done.returncode, cases, done.stdout[-4000:] + done.stderr[-2000:])

    return run


SELFTEST = ["tests/execution/test_selftest.py"]
CORPUS = ["tests/execution/test_exploits.py"]
SHARE_NET = ["--share-net"]
DATA_DIR_BOUND = ["--ro-bind", "{data_dir}", "{data_dir}"]


def test_positive_control_the_plugin_alone_breaks_nothing(inner: Callable[..., Outcome]) -> None:
    got = inner(SELFTEST, "bwrap or probe", CLASSROOM_TEST_REQUIRE_BACKENDS="bwrap")
    assert got.returncode == 0 and got.cases and set(got.cases.values()) == {"passed"}, got.output
    trusted = inner(CORPUS, "bwrap and (host_canaries or host_listener)", BROKEN_TRUST_SELFTEST="1")
    assert trusted.returncode == 0 and len(trusted.of("passed")) == 2, trusted.output


@pytest.mark.parametrize("flags", [SHARE_NET, DATA_DIR_BOUND], ids=["share-net", "data-dir-bound"])
def test_a_broken_required_backend_fails_its_tests_and_never_skips(
    inner: Callable[..., Outcome], flags: list[str]
) -> None:
    got = inner(SELFTEST, "bwrap or probe", flags, CLASSROOM_TEST_REQUIRE_BACKENDS="bwrap")
    assert got.returncode == 1, got.output
    assert got.cases and not got.of("passed") and not got.of("skipped"), got.cases
    assert "self-test" in got.output


@pytest.mark.parametrize(
    ("flags", "exploit"),
    [(SHARE_NET, "host_listener"), (DATA_DIR_BOUND, "host_canaries")],
    ids=["share-net", "data-dir-bound"],
)
def test_the_corpus_catches_the_breakage_on_its_own(
    inner: Callable[..., Outcome], flags: list[str], exploit: str
) -> None:
    got = inner(CORPUS, f"bwrap and {exploit}", flags, BROKEN_TRUST_SELFTEST="1")
    assert got.returncode == 1 and len(got.of("failed")) == 1, got.output


def test_under_ci_a_broken_backend_stops_the_run_at_start(inner: Callable[..., Outcome]) -> None:
    got = inner(SELFTEST, "bwrap", SHARE_NET, CI="true")
    assert got.returncode == 1 and not got.cases, got.output
    assert "bwrap: confinement self-test failed" in got.output


def test_nsjail_missing_under_ci_fails_the_run(inner: Callable[..., Outcome]) -> None:
    got = inner(SELFTEST, "nsjail", CI="true", CLASSROOM_EXEC_NSJAIL="/nonexistent/nsjail")
    assert got.returncode == 1 and not got.cases, got.output
    assert "nsjail: nsjail binary not found" in got.output
    # and without the start-up check, the tests of a required missing backend fail, one by one
    got = inner(SELFTEST, "nsjail or probe", CLASSROOM_TEST_REQUIRE_BACKENDS="nsjail", CLASSROOM_EXEC_NSJAIL="/x")
    assert got.returncode == 1 and got.cases and not got.of("passed") and not got.of("skipped"), got.cases


class _ShareNet(BwrapBackend):
    """bwrap with the host's network until repaired: a backend that fails its self-test, then passes it."""

    name = "bwrap-share-net"
    broken = True

    def argv(self, limits: Limits, language: str, fds: list[int]) -> tuple[list[str], list[int]]:
        argv, fds = super().argv(limits, language, fds)
        if self.broken:
            i = argv.index("--remount-ro")
            argv = [*argv[:i], "--share-net", *argv[i:]]
        return argv, fds


def test_only_a_passing_self_test_is_cached() -> None:
    usable_backend("bwrap")  # skips (or fails where required) when bwrap is not usable here
    asyncio.run(_fail_then_repair(_ShareNet()))


async def _fail_then_repair(box: _ShareNet) -> None:
    first = await self_test(box)
    assert not first.ok and "no loopback" in " ".join(first.failures)
    assert await self_test(box) is not first  # a failure is tried afresh
    box.broken = False
    repaired = await self_test(box)
    assert repaired.ok, repaired.failures
    assert await self_test(box) is repaired  # a pass is kept
