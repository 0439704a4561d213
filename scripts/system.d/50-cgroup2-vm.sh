# shellcheck shell=bash
# What scripts/cgroup2_vm.sh needs to run the sandbox tests under a real cgroup v2 hierarchy on a cgroup v1 host
# (tests/execution/test_cgroup2_vm.py): qemu, and Debian's kernel and busybox-static unpacked (not installed) in
# $VM_DIR. Only where the host itself has no v2 hierarchy with the memory controller: elsewhere the suite already
# runs on v2. Sourced by scripts/install-system.sh (apt_install, install_failed). Idempotent and quick when done.

cgroup2_vm_dir=${CLASSROOM_VM_DIR:-/var/cache/classroom/vm}
if ! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
  apt_install qemu-system-x86 || install_failed "50-cgroup2-vm: could not install qemu-system-x86 (no cgroup v2 run)"
  if [ ! -x "$cgroup2_vm_dir/bb/bin/busybox" ] || ! ls "$cgroup2_vm_dir"/k/boot/vmlinuz-* >/dev/null 2>&1; then
    (
      set -e
      mkdir -p "$cgroup2_vm_dir/dl"
      cd "$cgroup2_vm_dir/dl"
      kernel=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
      [ -n "$kernel" ]
      chown _apt: . 2>/dev/null || true
      apt-get download -qq "$kernel" busybox-static
      rm -rf ../k ../bb ../modules.list
      dpkg-deb -x linux-image-*.deb ../k
      dpkg-deb -x busybox-static_*.deb ../bb
      rm -f ./*.deb
    ) || install_failed "50-cgroup2-vm: could not fetch Debian's kernel and busybox-static into $cgroup2_vm_dir"
  fi
fi
