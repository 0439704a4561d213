"""The probe ``classroom doctor`` shows, and the self-test on every usable backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from must_work import is_required

from execution import Backend, backend_names, probe_backends
from execution.selftest import self_test

pytestmark = [pytest.mark.sandbox, pytest.mark.anyio]


async def test_probe_lists_every_backend_with_a_reason_or_a_passing_self_test() -> None:
    reports = await probe_backends()
    assert [r.name for r in reports] == backend_names()
    assert {"bwrap", "nsjail", "docker"} <= set(backend_names())
    for r in reports:
        assert r.available or not is_required(r.name), f"{r.name} is required here but: {r.reason}"
        if r.available:
            assert r.selftest is not None and r.selftest.ok and not r.reason
        else:
            assert r.reason, f"{r.name} is unavailable without saying why"


async def test_self_test_checks_every_canary_and_reads_limits_back(backend: Backend, server_data_dir: Path) -> None:
    report = await self_test(backend, fresh=True, guard=(server_data_dir,))
    assert report.ok, report.failures
    for check in (
        "language",
        "no ip",
        "no name",
        "no loopback",
        "no file",
        "clean env",
        "unprivileged",
        "memory limit",
        "pids limit",
        "cgroup memory",
        "cgroup pids",
    ):
        assert report.checks[check].startswith("ok"), (check, report.checks)
    assert report.cgroup_limits["memory"] == str(64 * 1024 * 1024)
    hidden = report.checks["no file"]
    for place in (str(server_data_dir), "/etc", "/root", "/home", "/var"):
        assert place in hidden, (place, hidden)
