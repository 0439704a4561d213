"""The docker backend's container settings (no daemon needed): every hardening flag the issue names."""

from __future__ import annotations

import json

from execution import Limits, get_backend
from execution.docker_backend import DockerBackend
from execution.types import MiB


def test_container_is_hardened() -> None:
    lim = Limits(memory_bytes=128 * MiB, pids=32, cpu_cores=0.5, tmpfs_bytes=8 * MiB)
    kw = DockerBackend().create_kwargs(lim, "python", "/classroom/run-1-abc")
    assert kw["network_mode"] == "none"
    assert kw["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in kw["security_opt"]
    profile = next(o for o in kw["security_opt"] if o.startswith("seccomp="))
    rules = json.loads(profile.removeprefix("seccomp="))["syscalls"]
    allowed = {n for r in rules if r["action"] == "SCMP_ACT_ALLOW" for n in r["names"]}
    refused = {n for r in rules if r["action"] == "SCMP_ACT_ERRNO" and r.get("errnoRet") == 1 for n in r["names"]}
    assert "read" in allowed and "ptrace" in refused and "ptrace" not in allowed  # an allow list
    assert kw["read_only"] is True
    assert kw["user"] == "65534:65534"
    assert kw["mem_limit"] == kw["memswap_limit"] == 128 * MiB, "no swap beyond the memory limit"
    assert kw["pids_limit"] == 32 and kw["nano_cpus"] == 500_000_000
    assert kw["log_config"]["Type"] == "none"
    assert set(kw["tmpfs"]) == {"/tmp", "/work"} and all("size=8388608" in o for o in kw["tmpfs"].values())
    assert kw["shm_size"] == 8 * MiB
    assert kw["cgroup_parent"] == "/classroom/run-1-abc"
    assert all(v["mode"] == "ro" for v in kw["volumes"].values())
    assert {u["Name"] for u in kw["ulimits"]} >= {"cpu", "fsize", "core", "nofile"}
    assert set(kw["environment"]) == {"PATH", "HOME", "LANG", "LC_ALL", "TERM"}


def test_gvisor_variant_uses_runsc_and_ranks_last_while_the_suite_does_not_test_it() -> None:
    """scripts/install-system.sh does not install runsc, so no test runs it: `auto` must not prefer it."""
    plain, gvisor = DockerBackend(runtime=None), DockerBackend("docker-gvisor", runtime="runsc")
    assert gvisor.create_kwargs(Limits(), "python")["runtime"] == "runsc"
    assert gvisor.strength < min(plain.strength, get_backend("bwrap").strength, get_backend("nsjail").strength)
