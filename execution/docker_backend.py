"""``docker`` backend: one hardened container per sandbox through the ``docker`` SDK.

``--network none``, ``--cap-drop ALL``, ``no-new-privileges``, our seccomp profile, read-only root, small tmpfs
``/tmp``, ``/work`` and ``/dev/shm``, pids/memory (= memory+swap)/cpu limits, rlimits, uid ``nobody``, no log
driver, killed on timeout and removed after the run. The image is built locally (:mod:`execution.docker_image`).
gVisor: the ``docker-gvisor`` backend is the same with ``--runtime runsc`` (a user-space kernel between the
program and the host). It needs gVisor installed and registered with dockerd
(``/etc/docker/daemon.json``: ``{"runtimes": {"runsc": {"path": "/usr/local/bin/runsc"}}}``, restart dockerd).
It is ranked LAST by ``auto`` (strength 0) while the test suite does not run it: scripts/install-system.sh does
not install it (Debian's ``runsc`` is a 2022 build whose sandbox panicked under docker's ``--pids-limit``, whose
KVM platform hung and whose ptrace platform took ~550 ms per box), so a pass of its self-test is all we know of it.
Name it explicitly to use it.
``CLASSROOM_EXEC_DOCKER_RUNTIME`` overrides the runtime of the plain ``docker`` backend.

The container's stdin/stdout/stderr are one attach socket (docker's multiplexed stream); docker API calls are
blocking HTTP and run in threads.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from execution import leftovers, seccomp
from execution.bwrap_backend import box_command
from execution.docker_image import IMAGE, build_image, image_exists
from execution.docker_sandbox import DockerSandbox
from execution.languages import get_language
from execution.runtime import BOX_ENV, BOX_PACKAGES_DIR, BOX_STUB_DIR, BOX_WORKDIR, SANDBOX_GID, SANDBOX_UID, stub_dir
from execution.types import Limits

RUNTIME = os.environ.get("CLASSROOM_EXEC_DOCKER_RUNTIME") or None
LABEL = "classroom.sandbox"
log = logging.getLogger(__name__)

__all__ = ["IMAGE", "DockerBackend", "DockerSandbox", "build_image"]


def _client() -> Any:
    import docker

    return docker.from_env(timeout=30)


class DockerBackend:
    def __init__(self, name: str = "docker", runtime: str | None = RUNTIME) -> None:
        self.name = name
        self.runtime = runtime
        self._client: Any = None
        self._driver: str | None = None
        # gVisor would be the strongest isolation, but an untested backend must not win `auto` (see above)
        self.strength = 0 if runtime == "runsc" else 1

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _client()
        return self._client

    def unavailable_reason(self) -> tuple[str, str] | None:
        try:
            self.client.ping()
        except Exception as e:
            return (
                f"docker daemon not reachable: {type(e).__name__}",
                "apt-get install docker.io and start dockerd (scripts/install-system.sh)",
            )
        if not image_exists(self.client):
            return f"runtime image {IMAGE} missing", "classroom sandbox build-image"
        if self.runtime and self.runtime not in self.client.info().get("Runtimes", {}):
            return (
                f"docker runtime {self.runtime!r} is not registered with dockerd",
                "install gVisor (runsc) and register it in /etc/docker/daemon.json",
            )
        return None

    def cgroup_driver(self) -> str:
        if self._driver is None:
            self._driver = str(self.client.info().get("CgroupDriver", "cgroupfs"))
        return self._driver

    def _containers(self, owner: int | None = None) -> list[dict[str, Any]]:
        """Our containers, running or not, in one API call (listing does not inspect each one: a container
        removed meanwhile by its own server must not fail the listing)."""
        flt = f"{LABEL}.owner={owner}" if owner is not None else LABEL
        return list(self.client.api.containers(all=True, filters={"label": flt}))

    def leftovers(self, owner: int | None = None) -> list[str]:
        """Containers and per-run cgroup folders (any hierarchy) that exist now (of server process ``owner`` only,
        if given)."""
        names = [str((c.get("Names") or [c["Id"]])[0]).lstrip("/") for c in self._containers(owner)]
        return names + leftovers.existing_groups(owner=owner)

    def reap_stale(self) -> list[str]:
        """Remove containers, then cgroup folders (every hierarchy), left by server processes that are gone."""
        import docker.errors

        removed = []
        for c in self._containers():
            owner = str((c.get("Labels") or {}).get(f"{LABEL}.owner", ""))
            if owner.isdigit() and leftovers.owner_gone(int(owner), float(c.get("Created", 0))):
                try:
                    self.client.api.remove_container(c["Id"], force=True)
                except docker.errors.NotFound:
                    pass  # its own server or another sweep was quicker
                except docker.errors.APIError as e:
                    log.warning("could not remove stale sandbox container %s: %s", c["Id"][:12], e)
                    continue
                removed.append(str((c.get("Names") or [c["Id"]])[0]).lstrip("/"))
        return removed + leftovers.reap_stale()

    def create_kwargs(self, limits: Limits, language: str, cgroup_parent: str | None = None) -> dict[str, Any]:
        from docker.types import LogConfig, Ulimit

        lang = get_language(language)
        cpu = max(1, int(limits.cpu_seconds + 0.999))
        tmpfs = f"size={limits.tmpfs_bytes},uid={SANDBOX_UID},gid={SANDBOX_GID},nosuid,nodev"
        return {
            "image": IMAGE,
            "command": box_command(language),
            "user": f"{SANDBOX_UID}:{SANDBOX_GID}",
            "network_mode": "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true", f"seccomp={seccomp.docker_profile()}"],
            "read_only": True,
            "tmpfs": {"/tmp": tmpfs, BOX_WORKDIR: tmpfs},
            "shm_size": limits.tmpfs_bytes,
            "volumes": {
                str(stub_dir()): {"bind": BOX_STUB_DIR, "mode": "ro"},
                **{p: {"bind": f"{BOX_PACKAGES_DIR}/{i}", "mode": "ro"} for i, p in enumerate(lang.packages)},
            },
            "mem_limit": limits.memory_bytes,
            "memswap_limit": limits.memory_bytes,
            "pids_limit": limits.pids,
            "nano_cpus": int(limits.cpu_cores * 1e9),
            "ulimits": [
                Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
                Ulimit(name="core", soft=0, hard=0),
                Ulimit(name="fsize", soft=limits.file_size_bytes, hard=limits.file_size_bytes),
                Ulimit(name="nofile", soft=256, hard=256),
            ],
            "log_config": LogConfig(type="none"),
            "environment": dict(BOX_ENV),
            "working_dir": BOX_WORKDIR,
            "hostname": "sandbox",
            "stdin_open": True,
            "tty": False,
            "ipc_mode": "private",
            "cgroup_parent": cgroup_parent,
            "runtime": self.runtime,
            "labels": {LABEL: "1", f"{LABEL}.owner": str(os.getpid())},
            "name": f"classroom-{os.getpid()}-{uuid.uuid4().hex[:12]}",
        }

    def sandbox(self, limits: Limits, language: str = "python") -> DockerSandbox:
        return DockerSandbox(self, limits, language)
