"""The docker backend's container settings (no daemon needed): every hardening flag the issue names."""

from __future__ import annotations

import json

from execution import Limits
from execution.docker_backend import DockerBackend
from execution.types import MiB


def test_container_is_hardened() -> None:
    lim = Limits(memory_bytes=128 * MiB, pids=32, cpu_cores=0.5, tmpfs_bytes=8 * MiB)
    kw = DockerBackend().create_kwargs(lim, "python", "/classroom/run-1-abc")
    assert kw["network_mode"] == "none"
    assert kw["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in kw["security_opt"]
    profile = next(o for o in kw["security_opt"] if o.startswith("seccomp="))
    assert "ptrace" in json.loads(profile.removeprefix("seccomp="))["syscalls"][0]["names"]
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


def test_gvisor_variant_uses_runsc_and_ranks_strongest() -> None:
    plain, gvisor = DockerBackend(runtime=None), DockerBackend("docker-gvisor", runtime="runsc")
    assert gvisor.create_kwargs(Limits(), "python")["runtime"] == "runsc"
    assert gvisor.strength > plain.strength
