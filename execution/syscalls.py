"""The sandbox's system calls as data: what a boxed Python program may call, by group, and what stays refused.

Derived with ``scripts/derive_seccomp.py``: ``strace -f`` around real bwrap sandboxes running the start-up
self-test, every program of the sample course (code blocks, starter files, hidden tests) and the exploit
corpus. 78 distinct syscalls were made inside the box (67 sandboxes). The 66 an ordinary program makes are
allowed below (marked ``seen``); the 11 the exploits attack with (ptrace, mount, pivot_root, chroot, unshare,
keyctl, add_key, bpf, perf_event_open, io_uring_setup, sethostname) are refused; clone3, tried by glibc, gets
ENOSYS on purpose (glibc then uses clone, whose flags the filter can see). A few calls the workloads did not
make but the standard library makes on ordinary paths (``shutil.copyfile`` → ``sendfile``, ``time.sleep`` →
``nanosleep``, threads → ``exit``/``madvise``, ``subprocess`` → ``dup3``, file management → ``unlink``,
``rename``, ...) are added with the reason. The last derivation run is in ``docs/seccomp-derivation.txt``.

Everything not listed fails with ``ENOSYS`` ("Function not implemented": libc falls back where it can, and a
program gets an ``OSError`` it can read, never a hang); :data:`REFUSED_EPERM` fail with ``EPERM`` as before.
``clone`` is allowed without namespace flags only, ``socket`` for AF_UNIX/AF_INET/AF_INET6 only (no netlink,
no packet sockets), ``ioctl`` for the terminal/fd requests the runtime makes only.
"""

from __future__ import annotations


def _names(*blocks: str) -> tuple[str, ...]:
    return tuple(name for block in blocks for name in block.split())


ALLOWED: dict[str, tuple[str, ...]] = {
    # The interpreter starting: exec, the loader mapping libpython and the extension modules, TLS, rseq. (seen)
    "process start": _names(
        """
        execve arch_prctl set_tid_address set_robust_list rseq prlimit64 getrandom sysinfo uname prctl
        """
    ),
    # Memory: the allocator and mmap'd modules (seen); madvise/mremap/mincore/membarrier by malloc and threads.
    "memory": _names(
        """
        brk mmap munmap mprotect madvise mremap mincore membarrier
        """
    ),
    # Reading modules and files, writing output and the program's files in /work and /tmp. (seen)
    "files": _names(
        """
        read write readv writev pread64 pwrite64 lseek openat open close close_range newfstatat fstat stat lstat
        statx statfs fstatfs access faccessat faccessat2 readlink readlinkat getdents64 getcwd chdir fchdir
        mkdir mkdirat symlink symlinkat
        """,
        # not seen, everyday os/shutil/tempfile/pathlib calls of a program managing its own files:
        """
        unlink unlinkat rmdir rename renameat renameat2 link linkat ftruncate truncate fsync fdatasync fchmod
        fchmodat chmod umask utimensat flock fadvise64 sendfile copy_file_range
        """,
    ),
    # File descriptors: pipes, dup, fcntl (seen); dup3 by subprocess.
    "descriptors": _names(
        """
        fcntl dup dup2 dup3 pipe pipe2 ioctl
        """
    ),
    # Processes: fork (clone without namespace flags), wait, exit, signals to its own processes. (seen)
    "processes": _names(
        """
        clone vfork wait4 waitid exit exit_group kill tgkill tkill getpid getppid gettid setsid setpgid getpgid
        getpgrp getsid
        """
    ),
    # Identity queries (os.getuid, getpass, pwd); changing it is refused.
    "identity": _names(
        """
        getuid geteuid getgid getegid getgroups getresuid getresgid
        """
    ),
    # Signals: handlers and masks (seen); sigaltstack by faulthandler, the rest by signal.* functions.
    "signals": _names(
        """
        rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack rt_sigsuspend rt_sigpending rt_sigtimedwait
        restart_syscall pause alarm setitimer getitimer
        """
    ),
    # Time and waiting: sleep (seen), clocks where the vDSO falls back, select/poll/epoll for selectors.
    "time and waiting": _names(
        """
        clock_nanosleep nanosleep clock_gettime clock_getres gettimeofday time poll ppoll select pselect6
        epoll_create1 epoll_ctl epoll_wait epoll_pwait eventfd2 futex sched_yield sched_getaffinity getrusage
        times getpriority getcpu
        """
    ),
    # The stub confining itself further with Landlock (/proc and /sys unreadable), before the program runs;
    # a program may only ever restrict itself more.
    "self-confinement": _names(
        """
        landlock_create_ruleset landlock_add_rule landlock_restrict_self
        """
    ),
    # Sockets: the box has no network (a down loopback in its own namespace) but programs may try, and
    # socketpair/AF_UNIX serve multiprocessing; socket() is limited by domain below. (seen)
    "sockets": _names(
        """
        socket socketpair connect bind listen accept accept4 getsockname getpeername getsockopt setsockopt
        sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg shutdown
        """
    ),
}

# Refused with EPERM (the kernel's attack surface; the exploit corpus tries each): kept explicit so that a
# program learns "Operation not permitted", as it did under the old deny list.
REFUSED_EPERM: tuple[str, ...] = _names(
    """
    ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd mount umount2 pivot_root chroot fsopen fsmount
    fsconfig fspick move_mount open_tree mount_setattr unshare setns keyctl add_key request_key io_uring_setup
    io_uring_enter io_uring_register bpf perf_event_open userfaultfd fanotify_init kexec_load kexec_file_load
    init_module finit_module delete_module reboot swapon swapoff acct quotactl syslog vhangup lookup_dcookie
    open_by_handle_at name_to_handle_at iopl ioperm uselib settimeofday clock_settime clock_adjtime adjtimex
    sethostname setdomainname move_pages migrate_pages setuid setgid setreuid setregid setresuid setresgid
    setgroups setfsuid setfsgid capset personality mknod mknodat
    """
)

# clone(2) flags that create namespaces: clone with any of them is refused; clone3 gets ENOSYS so libc
# falls back to clone, whose flags a filter can see.
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
# socket(2) domains: AF_UNIX, AF_INET, AF_INET6.
SOCKET_DOMAINS = (1, 2, 10)
# ioctl(2) requests the runtime makes: TCGETS (isatty), TIOCGWINSZ (terminal size), FIONREAD, FIONBIO,
# FIOCLEX, FIONCLEX. A terminal-injecting TIOCSTI or any device ioctl is refused.
IOCTL_REQUESTS = (0x5401, 0x5413, 0x541B, 0x5421, 0x5451, 0x5450)
# Syscalls whose arguments are filtered (the rules above), allowed only with those arguments.
ARG_FILTERED = ("clone", "socket", "ioctl")


def allowed_names() -> list[str]:
    """Every allowed syscall name (the arg-filtered ones included), sorted, each once."""
    return sorted({name for group in ALLOWED.values() for name in group})
