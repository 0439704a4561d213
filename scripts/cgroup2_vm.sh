#!/bin/bash
# Run commands under a real cgroup v2 hierarchy (memory, pids, cpu controllers) on a cgroup v1 host.
#
# Why a VM: a controller bound to a v1 hierarchy cannot join v2 on the same kernel. On the v1 host this was
# written on, `echo +memory > /sys/fs/cgroup/unified/cgroup.subtree_control` fails with ENOENT ("No such file
# or directory"), a fresh `mount -t cgroup2` in a new mount namespace offers only `hugetlb`, and a docker
# container with `--cgroupns=private` still sees the host's v1 hierarchies. So this boots Debian's kernel
# (linux-image-*-amd64, unpacked, not installed) under qemu, with the host's root filesystem shared read-only over
# 9p, tmpfs for /tmp and /run, and cgroup2 alone mounted at /sys/fs/cgroup, then runs the command as root in it.
#
#   scripts/cgroup2_vm.sh WORKDIR 'command ...'       (output on stdout; exit status of the command)
#
# Needs: qemu-system-x86 (apt), and in $VM_DIR (default $CLASSROOM_VM_DIR, else /var/cache/classroom/vm) an
# unpacked kernel package (k/) and busybox-static (bb/): scripts/system.d/50-cgroup2-vm.sh puts them there. Emulated (TCG) by default: nested
# KVM hangs on the machine this was written on; VM_ACCEL='-enable-kvm -cpu host' where KVM works (much faster).
set -euo pipefail
WORKDIR=$1
CMD=$2
VM_DIR=${VM_DIR:-${CLASSROOM_VM_DIR:-/var/cache/classroom/vm}}
KVER=$(ls "$VM_DIR/k/lib/modules" | head -1)
if [ ! -f "$VM_DIR/modules.list" ]; then  # the 9p/virtio/overlay modules and their dependencies, in load order
  python3 - "$VM_DIR" "$KVER" > "$VM_DIR/modules.list" <<'DEPS'
import os, re, sys
vm, kver = sys.argv[1], sys.argv[2]
index = {}
for root, _, files in os.walk(f"{vm}/k/lib/modules/{kver}/kernel"):
    index.update({f[:-3].replace("-", "_"): os.path.relpath(os.path.join(root, f), vm) for f in files if f.endswith(".ko")})
order = []
def visit(name):
    if name not in order:
        m = re.search(rb"depends=([^\0]*)", open(os.path.join(vm, index[name]), "rb").read())
        for dep in (m[1].decode().split(",") if m else []):
            if dep:
                visit(dep.replace("-", "_"))
        order.append(name)
for name in ("virtio_pci", "9pnet_virtio", "9p", "overlay"):
    visit(name)
print("\n".join(index[n] for n in order))
DEPS
fi
INITRD=$(mktemp -d)
trap 'rm -rf "$INITRD"' EXIT
mkdir -p "$INITRD"/{bin,proc,sys,dev,host,lib/modules}
cp "$VM_DIR/bb/bin/busybox" "$INITRD/bin/busybox"
i=0
while read -r ko; do cp "$VM_DIR/$ko" "$INITRD/lib/modules/$(printf %02d $i)-$(basename "$ko")"; i=$((i + 1)); done < "$VM_DIR/modules.list"
printf '%s\n' "$CMD" > "$INITRD/cmd"
printf '%s\n' "$WORKDIR" > "$INITRD/workdir"
cat > "$INITRD/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in /lib/modules/*.ko; do insmod "$m"; done
# The host's root, read-only over 9p, under a tmpfs overlay: the sandboxes' self-test plants canaries in /etc,
# /root, /home, /var and the project folder, and every write stays in the VM.
mkdir -p /lower /upper
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower
mount -t tmpfs -o mode=755 tmpfs /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /host
# /run fresh (the host's pid files and sockets are not the VM's); /tmp stays the host's, through the overlay:
# the work directory may be under it (a CI clone in /tmp).
for d in run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs /host/$d; done
mount --move /proc /host/proc; mount --move /sys /host/sys; mount --move /dev /host/dev
mkdir -p /host/dev/shm /host/dev/pts; mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
mount -t cgroup2 none /host/sys/fs/cgroup
{
  echo "cd $(cat /workdir) || exit 1"
  echo 'export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONDONTWRITEBYTECODE=1'
  echo 'echo "== vm: kernel $(uname -r), /sys/fs/cgroup: $(cat /sys/fs/cgroup/cgroup.controllers)"'
  echo '(. /tmp/.vm-cmd); echo "== vm: exit $?"'
  echo 'echo o > /proc/sysrq-trigger'
} > /host/tmp/.vm-run
cp /cmd /host/tmp/.vm-cmd
# switch_root, not chroot: a chrooted process may not create user namespaces (bwrap, nsjail need them)
exec switch_root /host /bin/sh /tmp/.vm-run
INIT
chmod +x "$INITRD/init"
python3 - "$INITRD" <<'CPIO' | gzip -1 > "$INITRD.cpio.gz"
import os, sys
root = sys.argv[1]
out = sys.stdout.buffer
def entry(name, mode, data=b""):
    head = "070701" + "".join(f"{v:08X}" for v in (0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    rec = head.encode() + name.encode() + b"\0"
    rec += b"\0" * (-len(rec) % 4) + data
    out.write(rec + b"\0" * (-len(rec) % 4))
for d, dirs, files in os.walk(root):
    rel = os.path.relpath(d, root)
    if rel != ".":
        entry(rel, 0o040755)
    for f in files:
        path = os.path.join(d, f)
        entry(os.path.relpath(path, root), 0o100755, open(path, "rb").read())
entry("TRAILER!!!", 0)
CPIO
qemu-system-x86_64 ${VM_ACCEL:--accel tcg,thread=multi -cpu max} -smp 2 -m 6144 -nographic -no-reboot \
  -kernel "$VM_DIR/k/boot/vmlinuz-$KVER" -initrd "$INITRD.cpio.gz" \
  -append "console=ttyS0 ${VM_QUIET:-quiet} panic=-1 systemd.unified_cgroup_hierarchy=1" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  | tee "$INITRD.log" | grep -v '^\[' || true
rm -f "$INITRD.cpio.gz"
grep -q '^== vm: exit 0' "$INITRD.log"
