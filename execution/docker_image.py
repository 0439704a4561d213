"""The docker runtime image, built locally with no registry: a minimal root filesystem holding the host's
Debian ``python3.11`` (binary, standard library, the shared libraries it links, a few tools: the list of
:mod:`execution.box_files` that the bwrap and nsjail boxes bind), and ``nobody``.
Imported with ``docker import`` as :data:`IMAGE`.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from execution.box_files import PYTHON, STDLIB, TOOLS
from execution.box_files import linked_libraries as _linked_libraries
from execution.runtime import SANDBOX_GID, SANDBOX_UID

IMAGE = os.environ.get("CLASSROOM_EXEC_DOCKER_IMAGE", "classroom-sandbox:py311")
_SKIP_DIRS = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "dist-packages", "site-packages"}


def rootfs_tar() -> bytes:
    """The image's root filesystem as an uncompressed tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        names: set[str] = set()
        _addfile, _add = tar.addfile, tar.add

        def addfile(info: tarfile.TarInfo, fileobj: io.BytesIO | None = None) -> None:
            if info.name not in names:
                names.add(info.name)
                _addfile(info, fileobj)

        def add(path: str, arcname: str, recursive: bool = True) -> None:
            if arcname not in names:
                names.add(arcname)
                _add(path, arcname=arcname, recursive=recursive)

        def add_dir(path: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.mode = tarfile.DIRTYPE, mode
            addfile(info)

        def add_link(path: str, target: str) -> None:
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.linkname = tarfile.SYMTYPE, target
            addfile(info)

        def add_text(path: str, text: str) -> None:
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o644
            addfile(info, io.BytesIO(data))

        for d in (
            "/usr",
            "/usr/bin",
            "/usr/lib",
            "/usr/lib64",
            "/etc",
            "/opt",
            "/opt/classroom",
            "/work",
            "/proc",
            "/sys",
            "/dev",
        ):
            add_dir(d)
        add_dir("/tmp", 0o1777)
        for name, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/bin")):
            add_link(name, target)
        add_text("/etc/passwd", f"root:x:0:0::/root:/bin/sh\nnobody:x:{SANDBOX_UID}:{SANDBOX_GID}::/tmp:/bin/sh\n")
        add_text("/etc/group", f"root:x:0:\nnogroup:x:{SANDBOX_GID}:\n")

        binaries = [PYTHON, *TOOLS]
        add(PYTHON, arcname=PYTHON.lstrip("/"))
        add_link("/usr/bin/python3", "python3.11")
        for tool in TOOLS:
            if os.path.exists(tool):
                add(tool, arcname=tool.lstrip("/"))
        add_link("/usr/bin/sh", "dash")
        extensions: list[str] = []
        for root, dirs, files in os.walk(STDLIB):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith("config-")]
            for f in files:
                full = os.path.join(root, f)
                if f.endswith(".so"):
                    extensions.append(full)
                if not os.path.islink(full):
                    add(full, arcname=full.lstrip("/"), recursive=False)
        for lib in sorted(_linked_libraries(binaries + extensions)):
            real = os.path.realpath(lib)
            arc = real.lstrip("/")
            add(real, arcname=arc)
            link = os.path.join(os.path.realpath(os.path.dirname(lib)), os.path.basename(lib))
            if link != real:
                add_link(link, os.path.relpath(real, os.path.dirname(link)))
    return buf.getvalue()


def image_exists(client: object, tag: str = IMAGE) -> bool:
    import docker.errors

    try:
        client.images.get(tag)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return False
    return True


def build_image(tag: str = IMAGE, *, force: bool = False) -> str:
    """Build (or keep) the runtime image; returns its tag. Backs ``classroom sandbox build-image``."""
    import docker

    client = docker.from_env()
    if not force and image_exists(client, tag):
        return tag
    repo, _, version = tag.partition(":")
    client.api.import_image_from_data(rootfs_tar(), repository=repo, tag=version or "latest")
    if not image_exists(client, tag):
        raise RuntimeError(f"docker import did not produce {tag}")
    return tag


if __name__ == "__main__":
    print(build_image(force=True), Path(STDLIB))
