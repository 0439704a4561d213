"""The backends' cgroup tests and their confinement self-tests under a real cgroup v2 hierarchy.

Production hosts run cgroup v2; a host like this one (v1, its controllers bound to v1 hierarchies) cannot offer
a v2 hierarchy with the memory, pids and cpu controllers to a process or a container. So, on such a host, this
boots Debian's kernel under qemu with only cgroup2 mounted (``scripts/cgroup2_vm.sh``: the host's root shared
read-only, writes kept in the VM) and runs, in there, ``test_cgroups.py`` and the bwrap, nsjail and docker
self-tests (docker with a dockerd of the VM's own, cgroupfs driver) — limits written, read back and enforced by
the v2 kernel, canaries planted and hidden. Where the host itself is
v2, the rest of the suite already covers it and this skips. Under CI=true a missing qemu or kernel fails.

Slow (software emulation: nested KVM hangs on these machines): a few minutes, one boot for everything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from must_work import in_ci

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
VM_DIR = Path(os.environ.get("CLASSROOM_VM_DIR", "/var/cache/classroom/vm"))
# In there: a dockerd of the VM's own (cgroupfs driver on cgroup v2, overlay2 on the VM's tmpfs, no network
# set-up: sandboxes have none), then the tests with bwrap, nsjail and docker all required (a failing self-test
# fails, never skips).
INNER = """
mkdir -p /var/lib/docker && mount -t tmpfs tmpfs /var/lib/docker  # overlay2 cannot sit on the VM's overlay root
dockerd --storage-driver=overlay2 --iptables=false --ip-masq=false --bridge=none > /tmp/dockerd.log 2>&1 &
for i in $(seq 1 120); do docker info > /dev/null 2>&1 && break; sleep 1; done
docker info --format 'dockerd: cgroup {{.CgroupVersion}} {{.CgroupDriver}}' || tail -20 /tmp/dockerd.log
.venv/bin/python -m classroom sandbox build-image  # the runtime image, imported from the host's files
CLASSROOM_TEST_REQUIRE_BACKENDS=bwrap,nsjail,docker .venv/bin/python -m pytest -q -p no:cacheprovider --color=no \
  -rfEs tests/execution/test_cgroups.py tests/execution/test_selftest.py -k 'not gvisor'
"""


def host_has_v2_memory() -> bool:
    try:
        return "memory" in Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
    except OSError:
        return False


def vm_missing() -> str | None:
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is not installed (scripts/system.d/50-cgroup2-vm.sh installs it)"
    if not list(VM_DIR.glob("k/boot/vmlinuz-*")) or not (VM_DIR / "bb/bin/busybox").exists():
        return f"no kernel/busybox unpacked in {VM_DIR} (scripts/system.d/50-cgroup2-vm.sh fetches them)"
    return None


def test_cgroup_and_self_tests_pass_under_a_real_cgroup_v2_hierarchy() -> None:
    if host_has_v2_memory():
        pytest.skip("this host is cgroup v2 already: the whole suite runs on v2 here")
    missing = vm_missing()
    if missing is not None:
        if in_ci():
            pytest.fail(f"CI=true and the cgroup v2 VM cannot run: {missing}", pytrace=False)
        pytest.skip(missing)
    env = {**os.environ, "VM_DIR": str(VM_DIR)}
    done = subprocess.run(
        ["scripts/cgroup2_vm.sh", str(ROOT), INNER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=1400,
    )
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", done.stdout + done.stderr)  # the VM's console is a terminal
    tail = out[-4000:]
    header = re.search(r"== vm: kernel (\S+), /sys/fs/cgroup: (.*)", out)
    assert header is not None, f"the VM did not come up:\n{tail}"
    assert {"memory", "pids", "cpu"} <= set(header[2].split()), header[0]  # a real v2 hierarchy, its controllers
    summary = re.search(r"^=*\s*(\d+ passed.*?)\s*=*$|^(\d+ passed.*)$", out, re.M)
    assert done.returncode == 0 and summary is not None, f"exit {done.returncode}:\n{tail}"
    line = summary[1] or summary[2]
    assert not re.search(r"failed|error|skipped", line), line  # nothing skipped: bwrap and nsjail both ran
    assert "dockerd: cgroup 2 cgroupfs" in out, tail  # docker's own containers on the v2 hierarchy too
    assert int(line.split()[0]) >= 7, line  # 3 cgroup tests + the probe + bwrap's, nsjail's and docker's self-tests
